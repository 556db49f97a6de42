"""Fuzzed workbooks (hypothesis): index, units, points and users files, each a valid export or template mutated.

Every reader either accepts the file (and a re-export reads back the same) or refuses it with WorkbookInvalid
whose problems are all located (a sheet, and its row and column when the problem is a cell's) and written in
Chinese; never another exception. The import through the real import functions on a SQLite copy of a seeded
database leaves every table's row count unchanged when it refuses.

Examples are derandomized (the same ones on every run) and few, so that the file runs in well under a minute.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from openpyxl.utils.exceptions import IllegalCharacterError

from civeval import audit, criteria, imports, registers, users_workbook
from civeval.models import Actor
from civeval.store import create_engine, open_engine, repo
from civeval.store import schema as t
from civeval.workbook import WorkbookInvalid
from tests import seed
from tests.conftest import ADMIN

EXAMPLES = int(os.environ.get("CIVEVAL_FUZZ_EXAMPLES", "20"))  # more for a longer hunt: CIVEVAL_FUZZ_EXAMPLES=500
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure shows its example as generated
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ_INDEX = settings(FUZZ, max_examples=max(1, EXAMPLES * 3 // 5))  # the index workbook is the slowest
CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"[A-Za-z]{2,}[ ,.:]+[A-Za-z]{2,}[ ,.:]+[A-Za-z]{2,}")  # three English words in a row
LONGEST_MESSAGE = 600  # a problem quotes its cell, shortened: never the whole 100,000 characters

# --- the valid files mutated -------------------------------------------------------------------------------


def _bytes_of(write: Callable[[Path], object], name: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        write(path)
        return path.read_bytes()


def _users_file(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = users_workbook.USERS_SHEET
    ws.append([c.header for c in users_workbook.USER_COLUMNS])
    ws.append(["zhang", "张三", "测评员", None, "13800000000", "zhang@example.cn", None])
    ws.append(["zhang", "张三", "街道协调员", "城关街道", None, None, None])
    ws.append(["li", "李四", "单位联络员", "县城市管理局", None, None, "Li-pass-2025"])
    ws.append(["wang", "王五", "领导", None, None, None, None])
    wb.save(path)


POINT_TYPES = seed.index().point_types
TEMPLATES: dict[str, bytes] = {
    "index": _bytes_of(lambda p: criteria.write_workbook(seed.index(), p, units=seed.UNITS[:9]), "测评体系.xlsx"),
    "units": _bytes_of(lambda p: registers.write_units(seed.UNITS, p), "单位名录.xlsx"),
    "points": _bytes_of(
        lambda p: registers.write_points(seed.POINTS[:4], p, point_types=POINT_TYPES[:3], units=seed.UNITS[:4]),
        "点位名录.xlsx",
    ),
    "users": _bytes_of(_users_file, "用户.xlsx"),
}
FILENAMES = {"index": "测评体系.xlsx", "units": "单位名录.xlsx", "points": "点位名录.xlsx", "users": "用户.xlsx"}

# --- mutations ---------------------------------------------------------------------------------------------

TOKENS = [
    "=1/0",
    "=A1",
    "=SUM(A:A)",
    "#DIV/0!",
    "２分",
    "ＡＢＣ１２３",
    "　",
    "\n\n",
    " x ",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "是",
    "否",
    "街道",
    "部门",
    "扣分",
    "实地考察",
    "不存在的单位",
    "县城市管理局",
    "城关街道",
    "农贸市场",
    "测评员",
    "单位联络员",
    "P001",
    "D19",
    "III-1-1",
    "-1",
    "1e400",
    "nan",
    "２０２４年",
    "10000000000000000000000",
    "99999999999",
    "名称",
    "单位编码",
    "点位编码",
    "测评标准",
    "用户名",
    "_x000D_",
    "\u202e\u200b",
    "a\tb",
]
VALUES = st.one_of(
    st.none(),
    st.sampled_from(TOKENS),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)),
    st.times(),
    st.text(max_size=20),
    st.integers(min_value=201, max_value=100_000).map(lambda n: "长" * n),
)
SHEET_NAMES = st.sampled_from(
    ["测评体系", "测评标准", "点位类型", "单位", "点位", "用户", "Sheet1", "单 位", "填写说明"]
)
ROW = st.integers(min_value=1, max_value=14)
COL = st.integers(min_value=1, max_value=22)
SHEET = st.integers(min_value=0, max_value=4)

OPS = st.one_of(
    st.tuples(st.just("set"), SHEET, ROW, COL, VALUES),
    st.tuples(st.just("set"), SHEET, ROW, COL, VALUES),
    st.tuples(st.just("set"), SHEET, st.just(1), COL, VALUES),  # a header cell
    st.tuples(st.just("insert_rows"), SHEET, ROW, st.integers(1, 3)),
    st.tuples(st.just("delete_rows"), SHEET, ROW, st.integers(1, 3)),
    st.tuples(st.just("insert_cols"), SHEET, COL),
    st.tuples(st.just("delete_cols"), SHEET, COL),
    st.tuples(st.just("copy_cell"), SHEET, ROW, COL, ROW, COL),  # a duplicated header or code
    st.tuples(st.just("copy_row"), SHEET, ROW, ROW),
    st.tuples(st.just("merge"), SHEET, ROW, COL, st.integers(0, 3), st.integers(0, 2)),
    st.tuples(st.just("remove_sheet"), SHEET),
    st.tuples(st.just("rename_sheet"), SHEET, SHEET_NAMES),
)
DAMAGED = st.one_of(
    st.tuples(st.just("truncate"), st.floats(min_value=0.0, max_value=0.99)),
    st.tuples(st.just("garbage"), st.binary(max_size=200)),
    st.tuples(st.just("member"), st.integers(0, 30), st.binary(max_size=40)),
    st.tuples(st.just("text"), st.sampled_from([b"%PDF-1.4\n%\xe2\xe3\n1 0 obj", b"hello\n", b"", b"PK\x03\x04"])),
)
# about one file in five damaged: the others stay sound, so that their cells get read
DAMAGE = st.integers(min_value=0, max_value=4).flatmap(lambda n: DAMAGED if n == 4 else st.none())


def _apply(wb: openpyxl.Workbook, op: tuple) -> None:
    kind, index, *args = op
    if not wb.worksheets:
        return
    ws = wb.worksheets[index % len(wb.worksheets)]
    if kind == "set":
        row, col, value = args
        ws.cell(row=row, column=col).value = value
    elif kind == "insert_rows":
        ws.insert_rows(*args)
    elif kind == "delete_rows":
        ws.delete_rows(*args)
    elif kind == "insert_cols":
        ws.insert_cols(*args)
    elif kind == "delete_cols":
        ws.delete_cols(*args)
    elif kind == "copy_cell":
        r1, c1, r2, c2 = args
        ws.cell(row=r2, column=c2).value = ws.cell(row=r1, column=c1).value
    elif kind == "copy_row":
        source, target = args
        for c in range(1, (ws.max_column or 1) + 1):
            ws.cell(row=target, column=c).value = ws.cell(row=source, column=c).value
    elif kind == "merge":
        row, col, down, right = args
        ws.merge_cells(start_row=row, start_column=col, end_row=row + down, end_column=col + right)
    elif kind == "remove_sheet":
        if len(wb.worksheets) > 1:
            wb.remove(ws)
    elif kind == "rename_sheet":
        if args[0] not in wb.sheetnames:
            ws.title = args[0]


def _damage(data: bytes, damage: tuple | None) -> bytes:
    if damage is None:
        return data
    kind, *args = damage
    if kind == "truncate":
        return data[: int(len(data) * args[0])]
    if kind == "garbage":
        return args[0]
    if kind == "text":
        return args[0]
    index, junk = args  # one member of the zip replaced by junk (broken XML inside a valid zip)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        names = src.namelist()
        victim = names[index % len(names)]
        for name in names:
            dst.writestr(name, junk if name == victim else src.read(name))
    return out.getvalue()


def mutated(kind: str, ops: list[tuple], damage: tuple | None) -> bytes:
    """The template of ``kind`` with ``ops`` applied (an op openpyxl itself refuses is skipped), then damaged."""
    wb = openpyxl.load_workbook(io.BytesIO(TEMPLATES[kind]))
    for op in ops:
        try:
            _apply(wb, op)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, IllegalCharacterError):  # openpyxl's
            continue
    out = io.BytesIO()
    try:
        wb.save(out)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        return TEMPLATES[kind]
    return _damage(out.getvalue(), damage)


# --- what every refusal must look like -----------------------------------------------------------------------


def assert_located(error: WorkbookInvalid, filename: str) -> None:
    assert error.problems, "WorkbookInvalid without any problem"
    for p in error.problems:
        text = str(p)
        assert p.file == filename, text
        assert CJK.search(p.message), f"not Chinese: {text!r}"
        assert "Traceback" not in p.message, text
        unquoted = re.sub(r"“[^”]*”", "", p.message)  # what the message says, without the cells it quotes
        assert not ENGLISH.search(unquoted), f"English in a message: {text!r}"
        assert len(p.message) <= LONGEST_MESSAGE, f"{len(p.message)} characters: {p.message[:200]}…"
        if p.row is not None or p.col is not None:
            assert p.sheet, f"a cell without its sheet: {text}"
        if p.sheet is None:  # only the file as a whole: it could not be opened, or is not of this kind
            assert p.row is None and p.col is None, text


def read_or_refuse(read: Callable[[], object], filename: str) -> object | None:
    """What ``read`` returns, or None after checking its WorkbookInvalid. Any other exception fails the test."""
    try:
        found = read()
    except WorkbookInvalid as e:
        assert_located(e, filename)
        unreadable = any(p.message.startswith("无法打开工作簿") for p in e.problems)
        event("unreadable file" if unreadable else "refused with located problems")
        return None
    event("accepted")
    return found


# --- the database each example imports into -------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory) -> Path:
    """A migrated, seeded SQLite file; each example imports into a fresh copy of it."""
    path = tmp_path_factory.mktemp("fuzz") / "seeded.db"
    engine = open_engine(f"sqlite:///{path}")
    with audit.writing(engine, Actor.system("测试数据")) as conn:
        repo.save_units(conn, seed.UNITS)
        repo.save_index(conn, seed.index())
        repo.save_points(conn, seed.POINTS)
    engine.dispose()
    return path


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in t.metadata.sorted_tables
        }


class Copy:
    """A copy of the seeded database and a scratch directory, for one example."""

    def __init__(self, seeded: Path):
        self.dir = Path(tempfile.mkdtemp(prefix="civeval-fuzz-"))
        shutil.copy(seeded, self.dir / "civeval.db")
        self.engine = create_engine(f"sqlite:///{self.dir / 'civeval.db'}")  # already migrated

    def file(self, name: str, data: bytes) -> Path:
        path = self.dir / name
        path.write_bytes(data)
        return path

    def close(self) -> None:
        self.engine.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)


def import_or_refuse(copy: Copy, run: Callable[[], object], filename: str) -> None:
    """Run a real import: it succeeds, or refuses with located problems and writes nothing."""
    before = counts(copy.engine)
    try:
        run()
    except WorkbookInvalid as e:
        assert_located(e, filename)
    else:
        event("imported")
        return
    event("import refused")
    assert counts(copy.engine) == before, "a refused import wrote something"


def upload_or_refuse(copy: Copy, kind: str, filename: str, data: bytes) -> None:
    """The upload page's path (imports.apply_upload, which runs the real import functions): a result to show,
    never an exception; a refusal located (or, for the store, one Chinese message) and nothing written."""
    before = counts(copy.engine)
    result = imports.apply_upload(copy.engine, ADMIN, kind, filename, data, replace=kind == "index")
    if result.ok:
        event("imported")
        return
    event("import refused")
    if result.problems:
        assert_located(WorkbookInvalid(result.problems), filename)
    else:  # a refusal of the store's: never a value the reader let through that does not fit a column
        assert CJK.search(result.error) and "过长" not in result.error and "数值过大" not in result.error, result
    assert counts(copy.engine) == before, "a refused import wrote something"


MUTATIONS = st.lists(OPS, min_size=1, max_size=6)

# --- the four kinds of workbook --------------------------------------------------------------------------------


@FUZZ
@given(ops=MUTATIONS, damage=DAMAGE)
def test_fuzzed_units_workbook(seeded_db, ops, damage):
    name = FILENAMES["units"]
    copy = Copy(seeded_db)
    try:
        data = mutated("units", ops, damage)
        path = copy.file(name, data)
        with copy.engine.connect() as conn:
            stored = repo.list_units(conn)
        units = read_or_refuse(lambda: registers.read_units(path, existing=stored), name)
        if units is not None:
            again = copy.dir / "again.xlsx"
            registers.write_units(units, again)
            assert registers.read_units(again, existing=stored) == units
        upload_or_refuse(copy, "units", name, data)
    finally:
        copy.close()


@FUZZ
@given(ops=MUTATIONS, damage=DAMAGE)
def test_fuzzed_points_workbook(seeded_db, ops, damage):
    name = FILENAMES["points"]
    copy = Copy(seeded_db)
    try:
        data = mutated("points", ops, damage)
        path = copy.file(name, data)
        with copy.engine.connect() as conn:
            units, types = repo.list_units(conn), [pt.name for pt in repo.list_point_types(conn)]
        found = read_or_refuse(lambda: registers.read_points(path, units=units, point_types=types), name)
        if found is not None:
            again = copy.dir / "again.xlsx"
            registers.write_points(found.points, again, point_types=found.point_types, units=found.units)
            back = registers.read_points(again, units=units, point_types=types)
            assert (back.points, back.point_types, back.units) == (found.points, found.point_types, found.units)
        upload_or_refuse(copy, "points", name, data)
    finally:
        copy.close()


@FUZZ_INDEX
@given(ops=MUTATIONS, damage=DAMAGE)
def test_fuzzed_index_workbook(seeded_db, ops, damage):
    name = FILENAMES["index"]
    copy = Copy(seeded_db)
    try:
        data = mutated("index", ops, damage)
        path = copy.file(name, data)
        with copy.engine.connect() as conn:
            units = repo.list_units(conn)
            types = {pt.name for pt in repo.list_point_types(conn)}
        known = {u.name for u in units}

        def read(p: Path) -> criteria.IndexFile:
            return criteria.read_index(p, known_units=known, known_point_types=types, existing_units=units)

        found = read_or_refuse(lambda: read(path), name)
        if found is not None:
            again = copy.dir / "again.xlsx"
            criteria.write_workbook(found.index, again, units=found.units)
            back = read(again)
            assert back.index == found.index and back.units == found.units
        upload_or_refuse(copy, "index", name, data)
    finally:
        copy.close()


@FUZZ
@given(ops=MUTATIONS, damage=DAMAGE)
def test_fuzzed_users_workbook(seeded_db, ops, damage):
    name = FILENAMES["users"]
    copy = Copy(seeded_db)
    try:
        path = copy.file(name, mutated("users", ops, damage))
        with copy.engine.connect() as conn:
            units = repo.list_units(conn)
        read_or_refuse(lambda: users_workbook.read_users(path, units=units, existing_usernames={"old"}), name)
        import_or_refuse(copy, lambda: users_workbook.import_users(copy.engine, ADMIN, path), name)
    finally:
        copy.close()


LONG = "长" * 100_000  # openpyxl keeps the 32,767 characters a cell may hold
# (kind, mutation, the located problem expected): cells longer than the store keeps, and numbers it cannot hold
TARGETED = [
    ("units", ("set", 0, 2, 2, LONG), "单位名录.xlsx:单位:R2:C2: 「单位名称」过长：最多 200 个字，现有 32767 个字"),
    ("units", ("set", 0, 3, 6, "1" * 51), "单位名录.xlsx:单位:R3:C6: 「联系电话」过长：最多 50 个字"),
    ("points", ("set", 0, 2, 5, LONG), "点位名录.xlsx:点位:R2:C5: 「地址」过长：最多 300 个字，现有 32767 个字"),
    ("points", ("set", 1, 2, 2, "类" * 101), "点位名录.xlsx:点位类型:R2:C2: 「名称」过长：最多 100 个字"),
    ("index", ("set", 1, 2, 1, LONG), "测评体系.xlsx:测评标准:R2:C1: 「测评项目」过长：最多 200 个字"),
    ("index", ("set", 1, 2, 7, "III-" + "1" * 100), "测评体系.xlsx:测评标准:R2:C7: 「标准编码」过长：最多 64 个字"),
    ("index", ("set", 1, 2, 21, 10**10), "测评体系.xlsx:测评标准:R2:C21: 整改天数不能超过 365 天"),
    ("index", ("set", 0, 4, 2, 10**12), "测评体系.xlsx:测评体系:R4:C2: 年份“1000000000000”不在 1900～2100 之间"),
    ("index", ("set", 0, 3, 2, "版" * 51), "测评体系.xlsx:测评体系:R3:C2: 「版本」过长：最多 50 个字"),
    ("users", ("set", 0, 2, 2, LONG), "用户.xlsx:用户:R2:C2: 「姓名」过长：最多 100 个字，现有 32767 个字"),
    ("users", ("set", 0, 5, 6, "a@" + "b" * 200 + ".cn"), "用户.xlsx:用户:R5:C6: 「邮箱」过长：最多 200 个字"),
]


@pytest.mark.parametrize(("kind", "op", "expected"), TARGETED, ids=[f"{k}{i}" for i, (k, _, _) in enumerate(TARGETED)])
def test_too_long_cells_are_refused_at_their_cell(seeded_db, kind, op, expected):
    """What SQLite would store and PostgreSQL refuse with a DataError: refused by the reader, at its cell."""
    copy = Copy(seeded_db)
    try:
        data = mutated(kind, [op], None)
        before = counts(copy.engine)
        if kind == "users":
            with pytest.raises(WorkbookInvalid) as e:
                users_workbook.import_users(copy.engine, ADMIN, copy.file(FILENAMES[kind], data))
            lines = [str(p) for p in e.value.problems]
        else:
            lines = imports.apply_upload(copy.engine, ADMIN, kind, FILENAMES[kind], data, replace=True).lines
        assert any(line.startswith(expected) for line in lines), lines
        assert all(len(line) < 300 for line in lines), "a long cell is quoted by its beginning only"
        assert counts(copy.engine) == before
    finally:
        copy.close()


def test_the_unmutated_files_are_accepted(seeded_db):
    """The starting points are valid: the fuzzing starts from files that import."""
    copy = Copy(seeded_db)
    try:
        with copy.engine.connect() as conn:
            units = repo.list_units(conn)
            types = [pt.name for pt in repo.list_point_types(conn)]
        assert registers.read_units(copy.file("u.xlsx", TEMPLATES["units"]), existing=units)
        assert registers.read_points(copy.file("p.xlsx", TEMPLATES["points"]), units=units, point_types=types).points
        found = criteria.read_index(
            copy.file("i.xlsx", TEMPLATES["index"]), known_units={u.name for u in units}, known_point_types=set(types)
        )
        assert len(found.index.standards()) == len(seed.index().standards())
        users = users_workbook.read_users(
            copy.file("x.xlsx", TEMPLATES["users"]), units=units, existing_usernames=set()
        )
        assert [u.username for u in users] == ["zhang", "li", "wang"]
    finally:
        copy.close()
