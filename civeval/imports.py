"""Uploads from the 数据导入 page: check a file against the store, import it, build templates and exports.

The page hands over what the browser sent (file name and bytes); this module saves it under its base name in
a temporary directory (so located problems name the user's file), runs the same readers and import functions
as the CLI, and turns every refusal into a result the page can show: located problems (``WorkbookInvalid``),
or one Chinese message (``StoreError``, ``PermissionDenied``). Imports stay all or nothing: that is the
import functions' guarantee, this module only calls them.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import TypeVar
from xml.etree import ElementTree

import sqlalchemy as sa

from civeval import criteria, logs, registers
from civeval.models import Actor, EvaluationIndex
from civeval.permissions import Action, PermissionDenied, require
from civeval.store import repo
from civeval.workbook import Problem, WorkbookInvalid

T = TypeVar("T")
_BROKEN_XML: tuple[type[Exception], ...] = (ElementTree.ParseError,)
try:  # openpyxl parses with lxml when it is installed
    from lxml.etree import XMLSyntaxError

    _BROKEN_XML += (XMLSyntaxError,)
except ImportError:  # pragma: no cover - depends on the environment
    pass


class Kind(StrEnum):
    """What an upload holds."""

    index = "index"
    units = "units"
    points = "points"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def suffixes(self) -> tuple[str, ...]:
        """File types accepted (with the dot)."""
        return (".xlsx", ".yaml", ".yml") if self is Kind.index else (".xlsx",)

    @property
    def action(self) -> Action:
        return {Kind.index: Action.manage_index, Kind.units: Action.manage_units, Kind.points: Action.manage_points}[
            self
        ]


_LABELS = {Kind.index: "测评体系", Kind.units: "单位名录", Kind.points: "点位名录"}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking or importing one file.

    ``problems``: every located problem (the file is invalid); ``error``: a refusal not about a cell
    (permission, the store: "已存在"); ``summary``: what the file holds, or, after an import, what was
    added and updated; ``warning``: a valid file with something to know before importing.
    """

    filename: str
    problems: tuple[Problem, ...] = ()
    error: str = ""
    summary: str = ""
    warning: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and not self.error

    @property
    def lines(self) -> list[str]:
        """The problems as ``FILE:SHEET:R<row>:C<col>: message`` lines."""
        return [str(p) for p in self.problems]


# --- file names --------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")  # and direction overrides
_MAX_NAME_BYTES = 200


def safe_name(name: str, kind: Kind) -> str:
    """The base name of an uploaded file (no directories, no control characters, not too long)."""
    base = PurePosixPath(_CONTROL.sub("", name or "").replace("\\", "/")).name.strip()
    if base in ("", ".", ".."):
        base = f"{kind.label}{kind.suffixes[0]}"
    stem, suffix = (base[: -len(Path(base).suffix)], Path(base).suffix) if Path(base).suffix else (base, "")
    while len((stem + suffix).encode()) > _MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    return stem + suffix


@contextmanager
def _saved(kind: Kind, filename: str, data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="civeval-upload-") as tmp:
        path = Path(tmp) / safe_name(filename, kind)
        path.write_bytes(data)
        yield path


def _unsupported(kind: Kind, name: str) -> tuple[Problem, ...]:
    allowed = "、".join(kind.suffixes)
    suffix = Path(name).suffix or "（无扩展名）"
    return (Problem(name, None, None, None, f"不支持的文件类型“{suffix}”，{kind.label}请使用 {allowed} 文件"),)


def _guarded(name: str, call: Callable[[], CheckResult]) -> CheckResult:
    """Run ``call``, turning the refusals of the civeval functions into a result."""
    try:
        return call()
    except WorkbookInvalid as e:
        return CheckResult(name, problems=tuple(e.problems))
    except (repo.StoreError, PermissionDenied) as e:
        return CheckResult(name, error=str(e))
    except _BROKEN_XML:  # a damaged .xlsx: workbook.Book only catches the errors of opening the zip
        message = "无法打开工作簿：文件已损坏（XML 格式错误）"
        return CheckResult(name, problems=(Problem(name, None, None, None, message),))


# --- summaries ---------------------------------------------------------------------------------


def index_summary(index: EvaluationIndex) -> str:
    items = sum(len(c.items) for c in index.categories)
    text = f"{index.title}：{len(index.categories)} 个测评项目、{items} 项测评内容、{len(index.standards())} 条测评标准"
    if index.point_types:
        text += f"、{len(index.point_types)} 种点位类型"
    return text


def _new_and_updated(codes: list[str], stored: set[str]) -> str:
    new = sum(1 for c in codes if c not in stored)
    return f"新增 {new} 个，更新 {len(codes) - new} 个"


# --- checking ----------------------------------------------------------------------------------


def _check_index(conn: sa.Connection, path: Path) -> CheckResult:
    units = repo.list_units(conn)
    found = criteria.read_index(
        path,
        known_units={u.name for u in units},
        known_point_types={t.name for t in repo.list_point_types(conn)},
        existing_units=units,
    )
    summary = index_summary(found.index)
    if found.units:
        changes = _new_and_updated([u.code for u in found.units], {u.code for u in units})
        summary += f"；单位表 {len(found.units)} 个单位（{changes}）"
    warning = ""
    if repo.find_index(conn, found.index.name, found.index.version) is not None:
        warning = f"已存在同名同版本的测评体系“{found.index.title}”：勾选“替换同名同版本”后导入将替换它，否则不会导入。"
    return CheckResult(path.name, summary=summary, warning=warning)


def _check_units(conn: sa.Connection, path: Path) -> CheckResult:
    stored = repo.list_units(conn)
    codes = [u.code for u in registers.read_units(path, existing=stored)]
    return CheckResult(path.name, summary=f"{len(codes)} 个单位（{_new_and_updated(codes, {u.code for u in stored})}）")


def _check_points(conn: sa.Connection, path: Path) -> CheckResult:
    types = [t.name for t in repo.list_point_types(conn)]
    found = registers.read_points(path, units=repo.list_units(conn), point_types=types)
    codes = [p.code for p in found.points]
    summary = f"{len(codes)} 个点位（{_new_and_updated(codes, {p.code for p in repo.list_points(conn)})}）"
    extra = []
    if found.units:
        extra.append(f"单位表 {len(found.units)} 个单位")
    if found.point_types:
        extra.append(f"点位类型表 {len(found.point_types)} 种点位类型")
    if extra:
        summary += "；另含" + "、".join(extra)
    return CheckResult(path.name, summary=summary)


_CHECKS: dict[Kind, Callable[[sa.Connection, Path], CheckResult]] = {
    Kind.index: _check_index,
    Kind.units: _check_units,
    Kind.points: _check_points,
}


def check_upload(engine: sa.Engine, actor: Actor, kind: Kind | str, filename: str, data: bytes) -> CheckResult:
    """Check an uploaded file as its import would (same readers, against the store), storing nothing."""
    kind = Kind(kind)
    name = safe_name(filename, kind)
    if Path(name).suffix.lower() not in kind.suffixes:
        return CheckResult(name, problems=_unsupported(kind, name))

    def check() -> CheckResult:
        require(actor, kind.action)
        with _saved(kind, name, data) as path, engine.connect() as conn:
            return _CHECKS[kind](conn, path)

    return _guarded(name, check)


# --- importing ---------------------------------------------------------------------------------


def apply_upload(
    engine: sa.Engine, actor: Actor, kind: Kind | str, filename: str, data: bytes, *, replace: bool = False
) -> CheckResult:
    """Import an uploaded file, all or nothing. ``summary`` says what was added and updated.
    ``replace`` (index only): replace a stored index of the same name and version."""
    kind = Kind(kind)
    name = safe_name(filename, kind)
    if Path(name).suffix.lower() not in kind.suffixes:
        return CheckResult(name, problems=_unsupported(kind, name))

    def run() -> CheckResult:
        with _saved(kind, name, data) as path:
            if kind is Kind.index:
                with engine.connect() as conn:
                    before = {(i.name, i.version) for i in repo.list_indexes(conn)}
                _, index = criteria.import_index(engine, actor, path, replace=replace)
                what = "替换了同名同版本" if (index.name, index.version) in before else "新增"
                return CheckResult(name, summary=f"已导入测评体系（{what}）{index_summary(index)}")
            if kind is Kind.units:
                added, updated = registers.import_units(engine, actor, path)
                return CheckResult(name, summary=f"已导入单位名录：新增 {added} 个单位，更新 {updated} 个")
            added, updated = registers.import_points(engine, actor, path)
            return CheckResult(name, summary=f"已导入点位名录：新增 {added} 个点位，更新 {updated} 个")

    result = _guarded(name, run)
    refusal = result.error or "；".join(result.lines[:3]) + (f" 等 {len(result.lines)} 处问题" if result.lines else "")
    logs.event(
        "import",
        user=actor,
        action=f"导入{kind.label}",
        outcome="ok" if result.ok else "refused",
        detail=f"{name}：{result.summary if result.ok else refusal}",
    )
    return result


# --- templates and exports ---------------------------------------------------------------------

TEMPLATE_NAMES = {Kind.index: "测评体系模板.xlsx", Kind.units: "单位名录模板.xlsx", Kind.points: "点位名录模板.xlsx"}
_TEMPLATE_WRITERS: dict[Kind, Callable[[Path], None]] = {
    Kind.index: criteria.write_template,
    Kind.units: registers.write_units_template,
    Kind.points: registers.write_points_template,
}


def _built(name: str, write: Callable[[Path], T]) -> tuple[bytes, T]:
    with tempfile.TemporaryDirectory(prefix="civeval-export-") as tmp:
        path = Path(tmp) / name
        out = write(path)
        return path.read_bytes(), out


def template(kind: Kind | str) -> bytes:
    """The empty template of ``kind`` (.xlsx; its file name is ``TEMPLATE_NAMES[kind]``)."""
    kind = Kind(kind)
    return _built(TEMPLATE_NAMES[kind], _TEMPLATE_WRITERS[kind])[0]


@dataclass(frozen=True)
class Export:
    filename: str
    data: bytes
    summary: str


EXPORT_FORMATS = (".xlsx", ".yaml")


def export(
    engine: sa.Engine, actor: Actor, kind: Kind | str, *, index_id: int | None = None, fmt: str = ".xlsx"
) -> Export:
    """What is stored, as a file to download: one index (.xlsx or .yaml), the units or the points (.xlsx).
    Raises PermissionDenied (or StoreError for an index that is no longer there)."""
    kind = Kind(kind)
    if kind is Kind.index:
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"unknown export format {fmt!r}")
        if index_id is None:
            raise ValueError("index_id is required to export an index")
        require(actor, Action.view_index)
        with engine.connect() as conn:
            info = next((i for i in repo.list_indexes(conn) if i.id == index_id), None)
        if info is None:
            raise repo.StoreError("该测评体系已不存在")
        filename = safe_name(f"{info.name}_{info.version}{fmt}".replace("/", "_"), kind)
        data, index = _built(filename, lambda p: criteria.export_index(engine, actor, index_id, p))
        return Export(filename, data, index_summary(index))
    if kind is Kind.units:
        data, n = _built("单位名录.xlsx", lambda p: registers.export_units(engine, actor, p))
        return Export("单位名录.xlsx", data, f"共 {n} 个单位")
    data, n = _built("点位名录.xlsx", lambda p: registers.export_points(engine, actor, p))
    return Export("点位名录.xlsx", data, f"共 {n} 个点位")
