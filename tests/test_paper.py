"""Offline paper/Excel sheets (civeval.paper): write per inspector, fill with openpyxl, import back.

DB tests run on SQLite and PostgreSQL (the ``engine`` fixture); the refusal tests need no second database.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from civeval import audit, auth, paper, rounds
from civeval.models import Answer, Result, RoundKind, RoundStatus, ScoringMode
from civeval.permissions import PermissionDenied
from civeval.workbook import WorkbookInvalid
from tests import seed
from tests.conftest import ADMIN
from tests.test_rounds import PLAN, START

ROOT = Path(__file__).resolve().parents[1]
ROUND = "十一月模拟测评"
# The plan's draw split between the two inspectors (sampling.assign is deterministic).
ASSIGNED = {"insp": ["P001", "P003", "P004"], "insp2": ["P002", "P005", "P007"]}
SINGLE_DB = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
NO_GRADE = "按“符合/不符合”计分，不能填等级“A”，可选：符合、不符合、不适用"
TAMPERED = "隐藏列被改动：本行的轮次、点位、标准或版本与写出时的校验码不符"


def make_round(engine) -> int:
    seed.seed(engine)
    seed.add_users(engine, {"insp2": (seed.Role.inspector, None)})
    rid = rounds.create_round(
        engine, ADMIN, name=ROUND, kind=RoundKind.mock, index_id=seed.index_id(engine), start=START,
        end=START + dt.timedelta(days=4),
    )  # fmt: skip
    rounds.confirm_draw(engine, ADMIN, rid, PLAN)
    assert rounds.assign(engine, ADMIN, rid, ["insp", "insp2"]) == ASSIGNED
    rounds.set_status(engine, ADMIN, rid, RoundStatus.in_progress)
    return rid


@pytest.fixture
def world(engine):
    return engine, make_round(engine)


def actor(engine, username):
    with engine.connect() as conn:
        return auth.load_actor(conn, auth.get_user(conn, username).id)


class Sheet:
    """A written workbook opened with openpyxl, its 测评表 rows found by the hidden point/standard columns."""

    def __init__(self, path: Path):
        self.path = path
        self.wb = openpyxl.load_workbook(path)
        self.ws = self.wb[paper.SHEET]
        self.col = {c.value: c.column for c in self.ws[1]}
        self.rows = {(self.value(r, "系统-点位"), self.value(r, "系统-标准")): r for r in range(2, self.ws.max_row + 1)}

    def value(self, row: int, header: str):
        return self.ws.cell(row, self.col[header]).value

    def cell(self, key: tuple[str, str], header: str):
        return self.ws.cell(self.rows[key], self.col[header])

    def fill(self, answers: dict[tuple[str, str], dict[str, object]]) -> Sheet:
        for key, values in answers.items():
            for header, v in values.items():
                self.cell(key, header).value = v
        self.wb.save(self.path)
        return self

    def at(self, key: tuple[str, str], header: str) -> str:
        """The location prefix of a cell as problems print it."""
        return f"{self.path.name}:{paper.SHEET}:R{self.rows[key]}:C{self.col[header]}"


def stored(engine, rid, point):
    with engine.connect() as conn:
        sheet = rounds.point_sheet(conn, ADMIN, rid, point)
    return {a.standard.code: (a.answer, a.source) for a in sheet.answers if a.answer}


def hidden_columns(ws) -> set[int]:
    return {c for d in ws.column_dimensions.values() if d.hidden for c in range(d.min, d.max + 1)}


def test_round_trip_protection_dropdowns_prefill(world, tmp_path):
    engine, rid = world
    insp, insp2 = actor(engine, "insp"), actor(engine, "insp2")
    rounds.save_answer(engine, insp, rid, "P001", "III-1-2", Answer(result=Result.failed, note="破损"))
    paths = paper.write_round_sheets(engine, ADMIN, rid, tmp_path)
    assert [p.name for p in paths] == [f"{ROUND}-insp.xlsx", f"{ROUND}-insp2.xlsx"]

    with engine.connect() as conn:
        index, _ = rounds.round_index(conn, seed.index_id(engine))
    types = {p.code: p.point_type for p in seed.POINTS}
    for path, user in zip(paths, ("insp", "insp2"), strict=True):
        s = Sheet(path)
        expected = {(p, st.code) for p in ASSIGNED[user] for _, _, st in rounds.applicable_standards(index, types[p])}
        assert set(s.rows) == expected  # only this inspector's points, only their applicable standards
        ws = s.ws
        assert ws.protection.sheet and ws.freeze_panes == "A2" and ws.print_title_rows == "$1:$1"
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
        assert s.wb[paper.META_SHEET].sheet_state == "veryHidden"
        assert hidden_columns(ws) == {
            s.col[h] for h in ("系统-轮次", "系统-点位", "系统-标准", "系统-版本", "系统-校验")
        }
        validations = {}
        for dv in ws.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                for r in range(rng.min_row, rng.max_row + 1):
                    for c in range(rng.min_col, rng.max_col + 1):
                        validations[r, c] = (dv.type, dv.formula1)
        for (point, code), r in s.rows.items():
            mode = index.standard(code).scoring_mode
            deduction = mode is ScoringMode.deduction
            unlocked = {h for h, c in s.col.items() if not ws.cell(r, c).protection.locked}
            assert unlocked == ({"结果", "问题处数", "说明"} if deduction else {"结果", "说明"}), (point, code)
            labels = '"A,B,C,D,不适用"' if mode is ScoringMode.graded else '"符合,不符合,不适用"'
            assert validations[r, s.col["结果"]] == ("list", labels)
            assert (validations.get((r, s.col["问题处数"])) or ("",))[0] == ("whole" if deduction else "")
        assert all(c.protection.locked for c in ws[1])

    s = Sheet(paths[0])
    assert (s.value(s.rows["P001", "III-1-2"], "结果"), s.value(s.rows["P001", "III-1-2"], "说明")) == (
        "不符合",
        "破损",
    )
    s.fill({
        ("P001", "III-1-1"): {"结果": "不符合", "问题处数": 3, "说明": "两个摊区积水"},
        ("P003", "III-2-1"): {"结果": "B", "说明": "杂物堆放"},
        ("P004", "III-1-2"): {"结果": "不适用"},
    })  # fmt: skip
    done = paper.import_round_sheet(engine, ADMIN, paths[0])
    assert (done.saved, done.unchanged, done.skipped_blank, done.conflicts) == (3, 1, 1, [])
    assert done.inspector == "insp" and done.round_id == rid
    assert stored(engine, rid, "P001") == {
        "III-1-1": (Answer(result=Result.failed, instances=3, note="两个摊区积水"), "paper"),
        "III-1-2": (Answer(result=Result.failed, note="破损"), "app"),
    }
    assert stored(engine, rid, "P003") == {"III-2-1": (Answer(result=Result.B, note="杂物堆放"), "paper")}
    assert stored(engine, rid, "P004") == {"III-1-2": (Answer(result=Result.na), "paper")}
    again = paper.import_round_sheet(engine, ADMIN, paths[0])  # the same file twice changes nothing
    assert (again.saved, again.unchanged, again.conflicts) == (0, 4, [])

    # An inspector may import their own sheet (a deduction pass with no count is a count of 0), not another's.
    Sheet(paths[1]).fill({("P002", "III-1-1"): {"结果": "符合"}})
    with pytest.raises(PermissionDenied, match="只能导入自己的测评表"):
        paper.import_round_sheet(engine, insp, paths[1])
    assert paper.import_round_sheet(engine, insp2, paths[1]).saved == 1
    assert stored(engine, rid, "P002") == {"III-1-1": (Answer(result=Result.passed, instances=0), "paper")}


def test_every_problem_is_located_and_nothing_is_stored(world, tmp_path):
    engine, rid = world
    mine, theirs = (Sheet(p) for p in paper.write_round_sheets(engine, ADMIN, rid, tmp_path))
    mine.fill({
        ("P004", "III-1-2"): {"结果": "好"},
        ("P003", "III-1-2"): {"结果": "A"},
        ("P001", "III-1-1"): {"结果": "不符合"},
        ("P001", "III-1-2"): {"结果": "符合"},  # fine on its own, but not stored while anything is wrong
        ("P003", "III-2-1"): {"结果": "C", "系统-点位": "P008"},
    })  # fmt: skip
    with pytest.raises(WorkbookInvalid) as err:
        paper.import_round_sheet(engine, ADMIN, mine.path)
    assert [str(p) for p in err.value.problems] == [
        f"{mine.at(('P001', 'III-1-1'), '问题处数')}: 按处扣分，判为“不符合”须填写问题处数",
        f"{mine.at(('P003', 'III-1-2'), '结果')}: 标准 III-1-2 {NO_GRADE}",
        f"{mine.at(('P003', 'III-2-1'), '系统-点位')}: 点位“P008”不在“{ROUND}”中（隐藏列被改动？）",
        f"{mine.at(('P004', 'III-1-2'), '结果')}: 结果“好”无法识别，可选：符合、不符合、不适用",
    ]
    theirs.fill({
        ("P002", "III-1-1"): {"结果": "不符合", "问题处数": -1},
        ("P002", "III-1-2"): {"结果": "符合", "系统-版本": 5},
        ("P005", "III-3-1"): {"结果": "符合", "系统-轮次": rid + 1},
        ("P007", "III-5-1"): {"结果": "符合", "问题处数": 1.5},
    })  # fmt: skip
    with pytest.raises(WorkbookInvalid) as err:
        paper.import_round_sheet(engine, ADMIN, theirs.path)
    assert [str(p) for p in err.value.problems] == [
        f"{theirs.at(('P002', 'III-1-1'), '问题处数')}: 问题处数不能为负数（填的是“-1”）",
        f"{theirs.at(('P002', 'III-1-2'), '系统-校验')}: {TAMPERED}",
        f"{theirs.at(('P005', 'III-3-1'), '系统-轮次')}: 本行属于测评轮次 {rid + 1}，"
        f"不属于本表的轮次 {rid}（{ROUND}）：不能混入其他轮次的测评表行",
        f"{theirs.at(('P007', 'III-5-1'), '问题处数')}: 问题处数“1.5”不是整数",
    ]
    assert all(stored(engine, rid, p) == {} for p in ASSIGNED["insp"] + ASSIGNED["insp2"])


def test_an_answer_changed_in_the_app_after_writing_is_a_conflict(world, tmp_path):
    engine, rid = world
    insp = actor(engine, "insp")
    rounds.save_answer(engine, insp, rid, "P001", "III-1-2", Answer(result=Result.passed))
    s = Sheet(paper.write_round_sheets(engine, ADMIN, rid, tmp_path)[0])
    assert s.value(s.rows["P001", "III-1-2"], "系统-版本") == 1
    # After the sheet was written, the app changes one answer and gives another.
    rounds.save_answer(engine, insp, rid, "P001", "III-1-2", Answer(result=Result.failed, note="遮挡"))
    rounds.save_answer(engine, insp, rid, "P004", "III-1-2", Answer(result=Result.failed, note="破损"))
    s.fill({("P004", "III-1-2"): {"结果": "符合"}, ("P003", "III-2-1"): {"结果": "A"}})  # P001 keeps 符合 on paper

    done = paper.import_round_sheet(engine, ADMIN, s.path)
    assert (done.saved, done.unchanged, done.overwritten) == (1, 0, 0)
    assert [(c.point_code, c.standard_code, c.app, c.paper) for c in done.conflicts] == [
        ("P001", "III-1-2", Answer(result=Result.failed, note="遮挡"), Answer(result=Result.passed)),
        ("P004", "III-1-2", Answer(result=Result.failed, note="破损"), Answer(result=Result.passed)),
    ]
    assert "系统 不符合（说明：遮挡）（第 2 版，insp " in str(done.conflicts[0])
    assert stored(engine, rid, "P001")["III-1-2"] == (Answer(result=Result.failed, note="遮挡"), "app")
    assert stored(engine, rid, "P003")["III-2-1"] == (Answer(result=Result.A), "paper")

    done = paper.import_round_sheet(engine, ADMIN, s.path, overwrite=True)
    assert (done.saved, done.unchanged, done.overwritten, len(done.pending)) == (2, 1, 2, 0)
    assert stored(engine, rid, "P001")["III-1-2"] == (Answer(result=Result.passed), "paper")
    assert stored(engine, rid, "P004")["III-1-2"] == (Answer(result=Result.passed), "paper")
    with engine.connect() as conn:
        entries = audit.read_log(conn, ADMIN, search=paper.OVERWRITE_REASON, table="observations")
    assert sorted((e["before"]["result"], e["before"]["note"], e["after"]["result"]) for e in entries) == [
        ("fail", "破损", "pass"),
        ("fail", "遮挡", "pass"),
    ]
    assert all(e["reason"] == "纸质表覆盖" and "导入纸质测评表" in e["context"] for e in entries)


@SINGLE_DB
def test_foreign_and_other_round_workbooks_are_refused(world, tmp_path):
    engine, rid = world
    path = paper.write_round_sheets(engine, ADMIN, rid, tmp_path / "out")[0]

    def refused(p: Path, **kw) -> str:
        with pytest.raises(WorkbookInvalid) as err:
            paper.import_round_sheet(engine, ADMIN, p, **kw)
        [problem] = err.value.problems
        assert problem.row is None
        return problem.message

    # Same sheet and headers, but not written by civeval: no marker.
    foreign = tmp_path / "自制.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = paper.SHEET
    wb.active.append([c.header for c in paper.COLUMNS])
    wb.active.append(["P001", "", "", "", "III-1-2", "", "", 1, "", "符合", None, "", rid, "P001", "III-1-2", 0, "x"])
    wb.save(foreign)
    assert "不是本系统写出的离线测评表" in refused(foreign)
    # A marker edited by hand (here: the round it claims).
    wb = openpyxl.load_workbook(path)
    wb[paper.META_SHEET]["B3"] = rid + 1
    wb.save(tampered := tmp_path / "tampered.xlsx")
    assert "识别标记被改动" in refused(tampered)
    other = rounds.create_round(
        engine, ADMIN, name="十二月", kind=RoundKind.mock, index_id=seed.index_id(engine), start=START, end=START
    )
    assert f"属于测评轮次 {rid}（{ROUND}），不是轮次 {other}" in refused(path, round_id=other)
    (text := tmp_path / "notes.xlsx").write_text("not a workbook")
    assert "无法打开工作簿" in refused(text)
    rounds.set_status(engine, ADMIN, rid, RoundStatus.closed)
    with pytest.raises(rounds.RoundError, match="已结束"):
        paper.import_round_sheet(engine, ADMIN, path)


def run(*args: str, db: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "civeval", *args, "--db", db], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_cli_round_list_sheets_import(tmp_path, capsys):
    from civeval.cli import main
    from civeval.store import open_engine

    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = open_engine(url)
    rid = make_round(engine)
    engine.dispose()

    assert main(["round", "list", "--db", url]) == 0  # in-process where a subprocess adds nothing
    assert f"{rid}\t{ROUND}\t模拟测评\t进行中\t2026-11-02 至 2026-11-06\t点位 6 个" in capsys.readouterr().out
    assert main(["round", "sheets", "九月", "--out", str(tmp_path), "--db", url]) == 1
    assert f"找不到测评轮次“九月”。已有：{rid}={ROUND}" in capsys.readouterr().err

    out = run("round", "sheets", ROUND, "--out", str(tmp_path / "纸质"), db=url)
    assert out.returncode == 0, out.stderr
    files = [Path(line.strip()) for line in out.stdout.splitlines()[1:]]
    assert out.stdout.startswith("已写出离线测评表 2 份") and [f.name for f in files] == [
        f"{ROUND}-insp.xlsx",
        f"{ROUND}-insp2.xlsx",
    ]
    s = Sheet(files[0]).fill(
        {
            ("P004", "III-1-2"): {"结果": "不符合", "说明": "广告破损", "问题处数": 2},
            ("P003", "III-2-1"): {"结果": "符合"},
        }
    )
    with pytest.raises(SystemExit, match="1"):
        main(["round", "import-sheet", str(s.path), "--db", url])
    bad = capsys.readouterr()
    assert "未导入任何内容" in bad.err
    assert bad.out.splitlines() == [
        f"{s.at(('P003', 'III-2-1'), '结果')}: 标准 III-2-1 按等级计分，结果须为 A、B、C、D、不适用（填的是“符合”）",
        f"{s.at(('P004', 'III-1-2'), '问题处数')}: 标准 III-1-2 不按处扣分，不填问题处数",
    ]
    s.fill({("P003", "III-2-1"): {"结果": "A"}, ("P004", "III-1-2"): {"问题处数": None}})
    good = run("round", "import-sheet", str(s.path), db=url)
    assert good.returncode == 0, good.stderr
    assert good.stdout.splitlines()[:2] == [
        f"{s.path.name}：{ROUND}（轮次 {rid}），测评员 insp",
        "已保存 2 条（其中覆盖 0 条），未变 0 条，空白跳过 3 条，冲突 0 条",
    ]


@pytest.mark.parametrize("argv", [["round"], ["round", "list"], ["round", "sheets"], ["round", "import-sheet"]])
def test_round_commands_have_help(argv, capsys):
    from civeval.cli import build_parser

    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([*argv, "--help"])
    assert done.value.code == 0 and "--db" in capsys.readouterr().out
