"""Offline fallback (离线测评表): when the network is down, inspectors score on paper or in Excel.

``write_round_sheets`` writes one workbook per inspector with the points assigned to them: a cover sheet (round,
inspector, dates, how to fill, the list of points) and one protected sheet 测评表 with a row per (point, applicable
standard), prefilled with the answers already given in the app. Only the answer cells (结果, 问题处数, 说明) are
unlocked. Hidden columns carry the round id, point code, standard code, the answer's version when the sheet was
written and a check code over them; a very hidden sheet carries the marker that makes the workbook ours.

``import_round_sheet`` reads a filled workbook back. Every cell is checked and every problem reported at once,
located (``FILE:SHEET:R<row>:C<col>: message``); nothing is stored while any problem remains. An answer changed in
the app after the sheet was written is never overwritten silently: it is reported as a conflict and left alone,
unless ``overwrite`` is given (then stored with the reason "纸质表覆盖", so the audit log keeps both). The other
answers are stored together in one audited transaction (``rounds.save_answers``) with source "paper".

The check code is a plain hash, not a secret: it catches hidden columns edited by hand or rows copied between
sheets. Who may score which point is still decided by ``civeval.rounds`` and ``civeval.permissions``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
import xlsxwriter

from civeval import audit, limits, rounds, scoring
from civeval.models import Actor, Answer, Result, RoundKind, RoundStatus, ScoringMode, Standard
from civeval.permissions import Action, PermissionDenied, allowed, assigned_only, require
from civeval.rounds import RoundError
from civeval.store import schema as t
from civeval.workbook import Book, Column, Problems, WorkbookInvalid, clean, parse_int

MARKER = "civeval 离线测评表"
FORMAT_VERSION = 1
COVER_SHEET = "封面"
SHEET = "测评表"
META_SHEET = "civeval"
SOURCE = "paper"
IMPORT_REASON = "纸质表导入"
OVERWRITE_REASON = "纸质表覆盖"

# Visible columns, then the hidden ones (their headers must not collide with the visible ones after header_key,
# which drops a trailing "(…)": hence "系统-…").
COLUMNS: tuple[Column, ...] = (
    Column("point_code", "点位编码", required=True, width=10),
    Column("point_name", "点位名称", width=16, wrap=True),
    Column("point_type", "点位类型", width=10, wrap=True),
    Column("address", "地址", width=18, wrap=True),
    Column("standard_code", "标准编码", required=True, width=10),
    Column("standard_text", "测评标准", width=40, wrap=True),
    Column("instructions", "操作提示", width=28, wrap=True),
    Column("full_marks", "分值", width=6),
    Column("mode", "计分方式", width=12, wrap=True),
    Column("result", "结果", required=True, width=9),
    Column("instances", "问题处数", required=True, width=9),
    Column("note", "说明", required=True, width=28, wrap=True),
    Column("h_round", "系统-轮次", required=True, width=8),
    Column("h_point", "系统-点位", required=True, width=10),
    Column("h_standard", "系统-标准", required=True, width=10),
    Column("h_version", "系统-版本", required=True, width=6),
    Column("h_check", "系统-校验", required=True, width=18),
)
VISIBLE = sum(not c.key.startswith("h_") for c in COLUMNS)
ANSWER_KEYS = ("result", "instances", "note")
_COL = {c.key: i for i, c in enumerate(COLUMNS)}

PASS_FAIL_CHOICES = (Result.passed, Result.failed, Result.na)
GRADED_CHOICES = (Result.A, Result.B, Result.C, Result.D, Result.na)


def result_choices(standard: Standard) -> tuple[Result, ...]:
    """What the 结果 drop-down offers for a standard (a deduction standard adds the 问题处数 column)."""
    return GRADED_CHOICES if standard.scoring_mode is ScoringMode.graded else PASS_FAIL_CHOICES


def mode_text(standard: Standard) -> str:
    if standard.scoring_mode is ScoringMode.graded:
        return "等级 A/B/C/D"
    if standard.scoring_mode is ScoringMode.deduction:
        return f"按处扣分：每处扣{_num(standard.per_instance)}分，最多扣{_num(standard.cap)}分"
    return "符合/不符合"


def _num(x: float | None) -> str:
    return "" if x is None else (str(int(x)) if float(x).is_integer() else str(x))


def check_code(round_id: int, inspector: str, point_code: str, standard_code: str, version: int) -> str:
    """The hidden check code of one row: ties the row to its round, inspector, point, standard and version."""
    text = f"{MARKER}|{FORMAT_VERSION}|{round_id}|{inspector}|{point_code}|{standard_code}|{version}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def answer_text(answer: Answer | None) -> str:
    """An answer in words, as a conflict is shown: 不符合 3处（说明：积水）."""
    if answer is None:
        return "未作答"
    text = answer.result.label
    if answer.instances:
        text += f" {answer.instances}处"
    if answer.note:
        text += f"（说明：{answer.note}）"
    return text


# --- writing ------------------------------------------------------------------------------------


@dataclass
class _Stored:
    answer: Answer
    version: int
    answered_by: str
    answered_at: dt.datetime | None
    source: str


def _stored_answers(conn: sa.Connection, round_id: int) -> dict[tuple[str, str], _Stored]:
    """The round's field answers by (point code, standard code)."""
    o = t.observations
    q = (
        sa.select(
            t.points.c.code.label("point"),
            t.standards.c.code.label("standard"),
            o.c.result,
            o.c.instances,
            o.c.note,
            o.c.version,
            o.c.answered_by,
            o.c.answered_at,
            o.c.source,
        )
        .join(t.points, t.points.c.id == o.c.point_id)
        .join(t.standards, t.standards.c.id == o.c.standard_id)
        .where(o.c.round_id == round_id)
    )
    return {
        (r.point, r.standard): _Stored(
            Answer(result=Result(r.result), instances=r.instances, note=r.note or ""),
            r.version,
            r.answered_by,
            r.answered_at,
            r.source,
        )
        for r in conn.execute(q)
    }


def safe_filename(text: str, *, limit: int = 80) -> str:
    """A file name part with safe characters only: letters (Chinese included), digits, - _ ( ) （ ）."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[^\w\-()（）]+", "_", text).strip("_.")
    return text[:limit] or "测评表"


def _width(text: str) -> int:
    """Display width in Excel character units: a Chinese character counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _lines(text: str, width: float) -> int:
    per_line = max(1.0, width - 1)
    return sum(max(1, math.ceil(_width(line) / per_line)) for line in str(text).split("\n")) if text else 1


def _header_text(text: str) -> str:
    return text.replace("&", "&&")


@dataclass
class _SheetRow:
    point: rounds.RoundPoint
    standard: Standard
    stored: _Stored | None


def write_round_sheets(engine: sa.Engine, actor: Actor, round_id: int, out_dir: str | Path) -> list[Path]:
    """Write one offline scoring workbook per inspector of the round into ``out_dir``; returns the files written.

    The office (who may manage rounds) gets every inspector's sheet; an inspector gets their own (in an unannounced
    round only the points of today, as in the app). Points not yet assigned to anybody get no sheet.
    """
    out = Path(out_dir)
    with engine.connect() as conn:
        info = rounds.get_round(conn, actor, round_id)
        if info.status is RoundStatus.closed:
            raise RoundError(f"“{info.name}”已结束，不再写出离线测评表")
        if allowed(actor, Action.manage_rounds):
            points = [p for p in rounds.round_points(conn, actor, round_id) if p.inspector]
        else:
            require(actor, Action.score_points)
            today = audit.today()
            points = [
                p
                for p in rounds.round_points(conn, actor, round_id)
                if p.inspector == actor.username and (info.kind is not RoundKind.unannounced or p.visit_date == today)
            ]
        index, _ = rounds.round_index(conn, info.index_id)
        stored = _stored_answers(conn, round_id)
        names = dict(
            conn.execute(
                sa.select(t.users.c.username, t.users.c.display_name).where(
                    t.users.c.username.in_({p.inspector for p in points})
                )
            ).all()
        )
    if not points:
        raise RoundError(f"“{info.name}”还没有分配给测评员的点位，请先分配点位")
    by_inspector: dict[str, list[rounds.RoundPoint]] = {}
    for p in sorted(points, key=lambda p: (p.visit_date or dt.date.max, p.point.street or "", p.point.code)):
        by_inspector.setdefault(p.inspector, []).append(p)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    used: set[str] = set()
    for username in sorted(by_inspector):
        person = names.get(username) or username
        stem = safe_filename(f"{info.name}-{person}")
        if stem in used:
            stem = safe_filename(f"{info.name}-{person}-{username}")
        used.add(stem)
        rows = [
            _SheetRow(rp, s, stored.get((rp.point.code, s.code)))
            for rp in by_inspector[username]
            for _, _, s in rounds.applicable_standards(index, rp.point.point_type)
        ]
        path = out / f"{stem}.xlsx"
        _write_workbook(path, info, username, person, by_inspector[username], rows)
        written.append(path)
    return written


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"border": 1, "valign": "top", "font_size": 10}
        self.header = wb.add_format(
            {**base, "bold": True, "bg_color": "#DDEBF7", "text_wrap": True, "valign": "vcenter"}
        )
        self.cell = wb.add_format(base)
        self.wrap = wb.add_format({**base, "text_wrap": True})
        self.answer = wb.add_format({**base, "locked": False, "bg_color": "#FFF2CC"})
        self.answer_wrap = wb.add_format({**base, "locked": False, "bg_color": "#FFF2CC", "text_wrap": True})
        self.greyed = wb.add_format({**base, "bg_color": "#EDEDED"})
        self.hidden = wb.add_format({"font_size": 8, "font_color": "#808080"})
        self.title = wb.add_format({"bold": True, "font_size": 16})
        self.label = wb.add_format({"bold": True, "valign": "top", "font_size": 11})
        self.value = wb.add_format({"valign": "top", "text_wrap": True, "font_size": 11})


def _write_workbook(
    path: Path,
    info: rounds.RoundInfo,
    username: str,
    person: str,
    points: Sequence[rounds.RoundPoint],
    rows: Sequence[_SheetRow],
) -> None:
    wb = xlsxwriter.Workbook(str(path))
    fmt = _Formats(wb)
    inspector = f"{person}（{username}）" if person != username else username
    _write_cover(wb, fmt, info, inspector, points, rows)
    _write_sheet(wb, fmt, info, username, inspector, rows)
    _write_meta(wb, info, username, len(rows))
    wb.close()


def _write_cover(wb, fmt: _Formats, info: rounds.RoundInfo, inspector: str, points, rows) -> None:
    ws = wb.add_worksheet(COVER_SHEET)
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 16)
    ws.set_column(2, 2, 22)
    ws.set_column(3, 3, 12)
    ws.set_column(4, 4, 12)
    ws.set_column(5, 5, 30)
    ws.set_column(6, 7, 11)
    ws.merge_range(0, 0, 0, 7, f"{info.name} 离线测评表", fmt.title)
    ws.set_row(0, 26)
    prefilled = sum(r.stored is not None for r in rows)
    facts = [
        ("测评轮次", f"{info.name}（{info.kind.label}，编号 {info.id}）"),
        ("测评员", inspector),
        ("测评日期", f"{info.start_date.isoformat()} 至 {info.end_date.isoformat()}"),
        ("工作量", f"点位 {len(points)} 个，测评标准 {len(rows)} 条；已在系统中作答并预填 {prefilled} 条"),
        ("写出时间", f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}"),
    ]
    r = 2
    for label, value in facts:
        ws.write_string(r, 0, label, fmt.label)
        ws.merge_range(r, 1, r, 7, value, fmt.value)
        r += 1
    how = [
        "1. 只在“测评表”中黄色的“结果”“问题处数”“说明”三列填写；其他单元格已锁定，请勿改动、增删行列或复制到别的表。",
        "2. 结果从下拉列表选择：按“符合/不符合”计分的填 符合、不符合 或 不适用；按等级计分的填 A、B、C、D 或 不适用；"
        "按处扣分的填 符合、不符合 或 不适用，判“不符合”时须在“问题处数”填写发现的问题处数（正整数）。",
        "3. 不符合的请在“说明”中写明问题和位置；照片请在网络恢复后在系统中补传，再在系统中提交点位。",
        "4. 结果留空的行视为未测评，导入时跳过。已在系统中作答的结果已预先填入，可以修改。",
        "5. 填好后交回测评办导入（命令 python -m civeval round import-sheet 文件）。"
        "导入时逐格核对，有任何问题会逐条列出（工作表、行、列），一条也不导入；若本表写出后系统中的答案又被改过，会列为冲突，不会覆盖，由测评办确认。",
    ]
    if info.kind is RoundKind.unannounced:
        how.append("6. 暗访轮次：每个点位只在下表所列的测评日期前往测评。")
    ws.write_string(r + 1, 0, "填写说明", fmt.label)
    r += 1
    for line in how:
        ws.merge_range(r, 1, r, 7, line, fmt.value)
        ws.set_row(r, 15 * _lines(line, 110) + 4)
        r += 1
    r += 1
    ws.write_string(r, 0, "点位清单", fmt.label)
    r += 1
    headers = ("点位编码", "点位名称", "地址", "点位类型", "街道/镇", "包保单位", "测评日期", "测评标准数")
    for c, h in enumerate(headers):
        ws.write_string(r, c, h, fmt.header)
    ws.repeat_rows(r)
    per_point: dict[str, int] = {}
    for row in rows:
        per_point[row.point.point.code] = per_point.get(row.point.point.code, 0) + 1
    for rp in points:
        r += 1
        p = rp.point
        values = (
            p.code,
            p.name,
            p.address,
            p.point_type,
            p.street or "",
            p.custodian_unit or "",
            rp.visit_date.isoformat() if rp.visit_date else "",
        )
        for c, v in enumerate(values):
            ws.write_string(r, c, v, fmt.wrap)
        ws.write_number(r, 7, per_point.get(p.code, 0), fmt.cell)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})
    ws.activate()


def _write_sheet(wb, fmt: _Formats, info: rounds.RoundInfo, username: str, inspector: str, rows) -> None:
    ws = wb.add_worksheet(SHEET)
    for i, col in enumerate(COLUMNS):
        if col.key.startswith("h_"):
            ws.set_column(i, i, col.width, fmt.hidden, {"hidden": True})
        else:
            ws.set_column(i, i, col.width)
        ws.write_string(0, i, col.header, fmt.header)
    ws.set_row(0, 30)
    ws.freeze_panes(1, 0)
    c = _COL
    groups: list[tuple[int, int]] = []  # first and last sheet row of each point
    for n, row in enumerate(rows):
        r = n + 1
        p, s, stored = row.point.point, row.standard, row.stored
        if groups and rows[groups[-1][0] - 1].point.point.code == p.code:
            groups[-1] = (groups[-1][0], r)
        else:
            groups.append((r, r))
        version = stored.version if stored else 0
        deduction = s.scoring_mode is ScoringMode.deduction
        ws.write_string(r, c["standard_code"], s.code, fmt.cell)
        ws.write_string(r, c["standard_text"], s.text, fmt.wrap)
        ws.write_string(r, c["instructions"], s.instructions, fmt.wrap)
        ws.write_number(r, c["full_marks"], s.full_marks, fmt.cell)
        ws.write_string(r, c["mode"], mode_text(s), fmt.wrap)
        answer = stored.answer if stored else None
        if answer is not None:
            ws.write_string(r, c["result"], answer.result.label, fmt.answer)
        else:
            ws.write_blank(r, c["result"], None, fmt.answer)
        count_fmt = fmt.answer if deduction else fmt.greyed
        if deduction and answer is not None and answer.instances is not None:
            ws.write_number(r, c["instances"], answer.instances, count_fmt)
        else:
            ws.write_blank(r, c["instances"], None, count_fmt)
        if answer is not None and answer.note:
            ws.write_string(r, c["note"], answer.note, fmt.answer_wrap)
        else:
            ws.write_blank(r, c["note"], None, fmt.answer_wrap)
        ws.write_number(r, c["h_round"], info.id, fmt.hidden)
        ws.write_string(r, c["h_point"], p.code, fmt.hidden)
        ws.write_string(r, c["h_standard"], s.code, fmt.hidden)
        ws.write_number(r, c["h_version"], version, fmt.hidden)
        ws.write_string(r, c["h_check"], check_code(info.id, username, p.code, s.code, version), fmt.hidden)
        height = max(
            _lines(s.text, COLUMNS[c["standard_text"]].width),
            _lines(s.instructions, COLUMNS[c["instructions"]].width),
            _lines(mode_text(s), COLUMNS[c["mode"]].width),
            _lines(answer.note if answer else "", COLUMNS[c["note"]].width),
        )
        ws.set_row(r, max(30, 14 * height + 4))
    # The point's own columns, written once per point (merged down its standards).
    for first, last in groups:
        p = rows[first - 1].point.point
        for key, value in (
            ("point_code", p.code),
            ("point_name", p.name),
            ("point_type", p.point_type),
            ("address", p.address),
        ):
            style = fmt.cell if key == "point_code" else fmt.wrap
            if last > first:
                ws.merge_range(first, c[key], last, c[key], value, style)
            else:
                ws.write_string(first, c[key], value, style)
    _validations(ws, rows)
    last_row = max(1, len(rows))
    ws.autofilter(0, 0, last_row, VISIBLE - 1)
    ws.protect(
        "",
        {
            "select_locked_cells": True,
            "select_unlocked_cells": True,
            "format_rows": True,
            "autofilter": True,
        },
    )
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.print_area(0, 0, last_row, VISIBLE - 1)
    ws.set_margins(left=0.3, right=0.3, top=0.7, bottom=0.6)
    ws.set_header(f"&L{_header_text(info.name[:60])}&C离线测评表&R测评员 {_header_text(inspector[:60])}")
    ws.set_footer("&C第 &P 页，共 &N 页")


def _validations(ws, rows: Sequence[_SheetRow]) -> None:
    """The 结果 drop-down per run of rows with the same choices; a whole-number check on deduction counts."""
    c = _COL
    start = 0
    while start < len(rows):
        s = rows[start].standard
        choices, deduction = result_choices(s), s.scoring_mode is ScoringMode.deduction
        end = start
        while (
            end + 1 < len(rows)
            and result_choices(rows[end + 1].standard) == choices
            and (rows[end + 1].standard.scoring_mode is ScoringMode.deduction) == deduction
        ):
            end += 1
        labels = [r.label for r in choices]
        hint = "判“不符合”时须填写问题处数" if deduction else ""
        ws.data_validation(
            start + 1,
            c["result"],
            end + 1,
            c["result"],
            {
                "validate": "list",
                "source": labels,
                "error_type": "stop",
                "error_title": "结果",
                "error_message": "请从下拉列表中选择：" + "、".join(labels),
                "input_title": "结果",
                "input_message": ("可选：" + "、".join(labels) + ("；" + hint if hint else ""))[:250],
            },
        )
        if deduction:
            ws.data_validation(
                start + 1,
                c["instances"],
                end + 1,
                c["instances"],
                {
                    "validate": "integer",
                    "criteria": ">=",
                    "value": 0,
                    "error_type": "stop",
                    "error_title": "问题处数",
                    "error_message": "问题处数须为 0 或正整数",
                    "input_title": "问题处数",
                    "input_message": "发现的问题处数（整数）；判“不符合”时必填",
                },
            )
        start = end + 1


def _meta_check(round_id: int, inspector: str) -> str:
    return hashlib.sha256(f"{MARKER}|{FORMAT_VERSION}|{round_id}|{inspector}".encode()).hexdigest()[:16]


def _write_meta(wb, info: rounds.RoundInfo, username: str, n_rows: int) -> None:
    ws = wb.add_worksheet(META_SHEET)
    values = [
        ("标记", MARKER),
        ("格式", FORMAT_VERSION),
        ("轮次编号", info.id),
        ("轮次名称", info.name),
        ("测评员", username),
        ("行数", n_rows),
        ("写出时间", audit.now().isoformat(timespec="seconds")),
        ("校验", _meta_check(info.id, username)),
    ]
    for r, (k, v) in enumerate(values):
        ws.write_string(r, 0, k)
        ws.write(r, 1, v)
    ws.protect()
    ws.very_hidden()


# --- reading back -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperConflict:
    """An answer changed in the app after the sheet was written, that differs from the paper one."""

    row: int
    point_code: str
    standard_code: str
    app: Answer | None
    paper: Answer
    app_by: str
    app_at: dt.datetime | None
    written_version: int
    app_version: int
    overwritten: bool = False

    def __str__(self) -> str:
        by = f"，{self.app_by} {self.app_at:%Y-%m-%d %H:%M}" if self.app_at else ""
        done = "（已按纸质表覆盖）" if self.overwritten else ""
        return (
            f"R{self.row} {self.point_code} {self.standard_code}：系统 {answer_text(self.app)}"
            f"（第 {self.app_version} 版{by}）≠ 纸质 {answer_text(self.paper)}{done}"
        )


@dataclass(frozen=True)
class PaperImport:
    """What an import did. ``saved`` includes the overwritten conflicts; a conflict not overwritten is not stored."""

    file: str
    round_id: int
    round_name: str
    inspector: str
    saved: int
    unchanged: int
    skipped_blank: int
    conflicts: list[PaperConflict] = field(default_factory=list)

    @property
    def overwritten(self) -> int:
        return sum(c.overwritten for c in self.conflicts)

    @property
    def pending(self) -> list[PaperConflict]:
        """Conflicts left for the office to decide (not stored)."""
        return [c for c in self.conflicts if not c.overwritten]

    def summary(self) -> str:
        return (
            f"已保存 {self.saved} 条（其中覆盖 {self.overwritten} 条），未变 {self.unchanged} 条，"
            f"空白跳过 {self.skipped_blank} 条，冲突 {len(self.conflicts)} 条"
        )


@dataclass(frozen=True)
class _Meta:
    round_id: int
    round_name: str
    inspector: str


def _read_meta(book: Book, problems: Problems) -> _Meta | None:
    foreign = "不是本系统写出的离线测评表（缺少识别标记），拒绝导入；请用“round sheets”写出的测评表填写"
    ws = book.sheet(META_SHEET)
    if ws is None:
        problems.add(None, None, None, foreign)
        return None
    values = {clean(r[0]): r[1] for r in ws.iter_rows(max_col=2, values_only=True) if r and r[0] is not None}
    if clean(values.get("标记")) != MARKER:
        problems.add(None, None, None, foreign)
        return None
    try:
        fmt = parse_int(values.get("格式"), "格式")
        rid = parse_int(values.get("轮次编号"), "轮次编号")
    except ValueError:
        fmt = rid = None
    inspector = clean(values.get("测评员"))
    if fmt != FORMAT_VERSION or rid is None or clean(values.get("校验")) != _meta_check(rid, inspector):
        problems.add(None, None, None, "测评表的识别标记被改动或版本不符，拒绝导入；请重新写出测评表")
        return None
    return _Meta(rid, clean(values.get("轮次名称")), inspector)


def _drawn(conn: sa.Connection, round_id: int) -> dict[str, tuple[str | None, str]]:
    """point code -> (inspector username, point type) for every point of the round."""
    q = (
        sa.select(t.points.c.code, t.users.c.username, t.point_types.c.name)
        .select_from(
            t.round_points.join(t.points, t.points.c.id == t.round_points.c.point_id)
            .join(t.point_types, t.point_types.c.id == t.points.c.point_type_id)
            .outerjoin(t.users, t.users.c.id == t.round_points.c.inspector_id)
        )
        .where(t.round_points.c.round_id == round_id)
    )
    return {r.code: (r.username, r.name) for r in conn.execute(q)}


def _same(standard: Standard, a: Answer, b: Answer) -> bool:
    """Whether two answers say the same: a deduction pass with no count is a count of 0, other standards have no
    count, notes are compared cleaned."""

    def count(x: Answer) -> int | None:
        if standard.scoring_mode is not ScoringMode.deduction:
            return None  # not part of the answer (the sheet has no count for these)
        return (x.instances or 0) if x.result is Result.passed else x.instances

    note = lambda x: clean(x.note, punctuation=False, multiline=True)
    return a.result == b.result and count(a) == count(b) and note(a) == note(b)


def _choices_message(standard: Standard, text: str, result: Result | None) -> str:
    labels = "、".join(r.label for r in result_choices(standard))
    if result is None:
        return f"结果“{text}”无法识别，可选：{labels}"
    if standard.scoring_mode is ScoringMode.graded:
        return f"标准 {standard.code} 按等级计分，结果须为 {labels}（填的是“{text}”）"
    if standard.scoring_mode is ScoringMode.deduction:
        return f"标准 {standard.code} 按处扣分，不能填等级“{text}”，可选：{labels}"
    return f"标准 {standard.code} 按“符合/不符合”计分，不能填等级“{text}”，可选：{labels}"


def _read_answer(
    row, standard: Standard, cols: dict[str, int], problems: Problems, sheet: str
) -> tuple[Answer | None, bool]:
    """The paper answer of one row: (answer, blank). Problems are added located; answer None then."""
    r = row.number
    text = row.text("result")
    note = row.text("note", punctuation=False, multiline=True)
    if message := limits.too_long(note, limits.NOTE, "说明"):
        problems.add(sheet, r, cols["note"], message)
        return None, False
    bad = False
    try:
        count = parse_int(row.get("instances"), "问题处数")
    except ValueError as e:
        problems.add(sheet, r, cols["instances"], str(e))
        count, bad = None, True
    if not text:
        if count is not None or note:
            problems.add(sheet, r, cols["result"], "填写了问题处数或说明，却没有选择结果")
            return None, False
        return None, not bad
    result = Result.parse(text)
    if result not in result_choices(standard):
        problems.add(sheet, r, cols["result"], _choices_message(standard, text, result))
        return None, False
    if bad:
        return None, False
    if standard.scoring_mode is not ScoringMode.deduction:
        if count is not None:
            problems.add(sheet, r, cols["instances"], f"标准 {standard.code} 不按处扣分，不填问题处数")
            return None, False
    else:
        message = None
        if result is Result.failed and count is None:
            message = "按处扣分，判为“不符合”须填写问题处数"
        elif result is Result.failed and count == 0:
            message = "判为“不符合”，问题处数须大于 0"
        elif result is Result.passed and count:
            message = f"判为“符合”，却填写了 {count} 处问题"
        elif result is Result.na and count:
            message = "判为“不适用”，不应填写问题处数"
        if message:
            problems.add(sheet, r, cols["instances"], message)
            return None, False
        if result is Result.passed:
            count = 0
    answer = Answer(result=result, instances=count, note=note)
    try:
        scoring.score_observation(standard, answer)
    except scoring.ScoringError as e:
        problems.add(sheet, r, cols["result"], str(e))
        return None, False
    return answer, False


def import_round_sheet(
    engine: sa.Engine,
    actor: Actor,
    path: str | Path,
    *,
    overwrite: bool = False,
    round_id: int | None = None,
) -> PaperImport:
    """Read one filled offline workbook and store its answers (source "paper") through ``rounds.save_answers``.

    Raises WorkbookInvalid with every located problem (nothing stored then). Answers changed in the app since the
    sheet was written and differing from the paper are reported as conflicts and not stored, unless ``overwrite``.
    With ``round_id`` the workbook must belong to that round.
    """
    path = Path(path)
    problems = Problems(path)
    book = Book(path, problems)
    meta = _read_meta(book, problems)
    problems.raise_if_any()
    assert meta is not None
    if round_id is not None and meta.round_id != round_id:
        problems.add(
            None, None, None, f"这份测评表属于测评轮次 {meta.round_id}（{meta.round_name}），不是轮次 {round_id}"
        )
        problems.raise_if_any()
    with engine.connect() as conn:
        try:
            info = rounds.get_round(conn, actor, meta.round_id)
        except RoundError:
            problems.add(None, None, None, f"测评表所属的测评轮次 {meta.round_id}（{meta.round_name}）已不存在")
            problems.raise_if_any()
            raise
        require(actor, Action.score_points)
        if assigned_only(actor, Action.score_points) and actor.username != meta.inspector:
            raise PermissionDenied(f"这份测评表属于测评员 {meta.inspector}，{actor.name}只能导入自己的测评表")
        if info.status is RoundStatus.closed:
            raise RoundError(f"“{info.name}”已结束，不能再导入测评表")
        index, _ = rounds.round_index(conn, info.index_id)
        drawn = _drawn(conn, info.id)
        stored = _stored_answers(conn, info.id)
    table = book.table(SHEET, COLUMNS)
    problems.raise_if_any()
    assert table is not None
    sheet, cols = table.sheet, table.cols

    seen: dict[tuple[str, str], int] = {}
    answers: list[tuple[int, str, Standard, int, Answer]] = []
    skipped = 0
    for row in table.rows:
        r = row.number
        try:
            h_round = parse_int(row.get("h_round"), "隐藏列“系统-轮次”")
        except ValueError as e:
            problems.add(sheet, r, cols["h_round"], f"隐藏列被改动：{e}")
            continue
        if h_round is None:
            problems.add(sheet, r, cols["h_round"], "本行不是写出时的行（隐藏列为空）：请勿在测评表中增加行或粘贴内容")
            continue
        if h_round != info.id:
            problems.add(
                sheet,
                r,
                cols["h_round"],
                f"本行属于测评轮次 {h_round}，不属于本表的轮次 {info.id}（{info.name}）：不能混入其他轮次的测评表行",
            )
            continue
        point, code = row.text("h_point"), row.text("h_standard")
        if point not in drawn:
            problems.add(sheet, r, cols["h_point"], f"点位“{point}”不在“{info.name}”中（隐藏列被改动？）")
            continue
        owner, point_type = drawn[point]
        if owner != meta.inspector:
            now = f"现分配给 {owner}" if owner else "现未分配"
            problems.add(sheet, r, cols["h_point"], f"点位“{point}”未分配给测评员 {meta.inspector}（{now}）")
            continue
        standard = index.standard(code)
        if standard is None or not (standard.is_field and point_type in standard.point_types):
            problems.add(sheet, r, cols["h_standard"], f"标准“{code}”不适用于点位“{point}”（{point_type}）")
            continue
        try:
            version = parse_int(row.get("h_version"), "隐藏列“系统-版本”")
        except ValueError as e:
            problems.add(sheet, r, cols["h_version"], f"隐藏列被改动：{e}")
            continue
        if version is None or row.text("h_check") != check_code(info.id, meta.inspector, point, code, version):
            problems.add(sheet, r, cols["h_check"], "隐藏列被改动：本行的轮次、点位、标准或版本与写出时的校验码不符")
            continue
        if (point, code) in seen:
            problems.add(sheet, r, cols["h_point"], f"点位“{point}”标准“{code}”与第 {seen[point, code]} 行重复")
            continue
        seen[point, code] = r
        mismatch = False
        for key, expected in (("point_code", point), ("standard_code", code)):
            if row.text(key) != expected:
                problems.add(sheet, r, cols[key], f"{COLUMNS[_COL[key]].header}被改动：应为“{expected}”")
                mismatch = True
        if mismatch:
            continue
        answer, blank = _read_answer(row, standard, cols, problems, sheet)
        if blank:
            skipped += 1
        elif answer is not None:
            answers.append((r, point, standard, version, answer))
    problems.raise_if_any()

    items: list[rounds.AnswerItem] = []
    conflicts: list[PaperConflict] = []
    unchanged = 0
    for r, point, standard, version, answer in answers:
        now = stored.get((point, standard.code))
        current = now.version if now else 0
        if now is not None and _same(standard, now.answer, answer):
            unchanged += 1
        elif current == version:
            items.append(rounds.AnswerItem(point, standard.code, answer, expected_version=version))
        else:
            conflicts.append(
                PaperConflict(
                    r,
                    point,
                    standard.code,
                    now.answer if now else None,
                    answer,
                    now.answered_by if now else "",
                    now.answered_at if now else None,
                    version,
                    current,
                    overwritten=overwrite,
                )
            )
            if overwrite:
                items.append(
                    rounds.AnswerItem(point, standard.code, answer, expected_version=current, reason=OVERWRITE_REASON)
                )
    if items:
        rounds.save_answers(
            engine,
            actor,
            info.id,
            items,
            source=SOURCE,
            reason=IMPORT_REASON,
            context=f"导入纸质测评表 {path.name}（测评员 {meta.inspector}）",
        )
    return PaperImport(path.name, info.id, info.name, meta.inspector, len(items), unchanged, skipped, conflicts)


__all__ = [
    "COLUMNS",
    "PaperConflict",
    "PaperImport",
    "WorkbookInvalid",
    "answer_text",
    "check_code",
    "import_round_sheet",
    "result_choices",
    "safe_filename",
    "write_round_sheets",
]
