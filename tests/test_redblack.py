"""Red and black lists (红黑榜) on a hand-built set of findings and the hand-computed round of tests/test_rounds.py.

Findings (all reported on 2 Nov, as of 10 Nov, calendar-day deadlines):
- 县城市管理局: 4 findings (deadline 5 Nov), all closed on 4 Nov → 整改率 100%, no overdue: red.
- 县卫生健康委员会: 6 findings to fix at once (deadline 2 Nov), never touched → 6 overdue: black.
- 县教育局: 2 findings, both closed → 100% but only 2 due (fewer than 3): not red.
- 环境整治组: 3 findings, 2 closed, 1 overdue → neither.
Round scores by unit (tests/test_rounds.py): 县卫生健康委员会 1.0 and 县城市管理局 1.0 (tied, by name), 和平社区 0.66,
县市场监督管理局 0.5833, 县教育局 0 → the bottom three are 和平社区, 县市场监督管理局, 县教育局.
"""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from civeval import audit, auth, findings, redblack, rounds
from civeval.findings import FindingAction, NewFinding
from civeval.models import FindingSource, Role, RoundKind, Severity
from civeval.redblack import Rules, RulesError, parse_rules
from tests import seed
from tests.test_findings import CAL, Clock, jpeg
from tests.test_rounds import START, answer_everything, draw_and_assign

A = FindingAction
AS_OF = dt.date(2026, 11, 10)


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(audit, "now", lambda: c.now)
    return c


@pytest.fixture
def world(engine, clock):
    seed.seed(engine)
    seed.add_users(engine, {"insp2": (Role.inspector, None)})
    with engine.connect() as conn:
        actors = {u: auth.load_actor(conn, auth.get_user(conn, u).id) for u in ("tester", "insp", "insp2", "liai")}
    admin = actors["tester"]
    clock.day(2)
    rid = rounds.create_round(
        engine,
        admin,
        name="十一月模拟测评",
        kind=RoundKind.mock,
        index_id=seed.index_id(engine),
        start=START,
        end=START + dt.timedelta(days=4),
    )
    answer_everything(engine, actors, rid, draw_and_assign(engine, actors, rid))

    def new(unit: str, severity=Severity.normal) -> str:
        return findings.create_finding(
            engine,
            admin,
            NewFinding(FindingSource.patrol, "问题", unit=unit, severity=severity),
            calendar=CAL,
        )

    def close(code: str) -> None:
        findings.transition(engine, admin, code, A.submit, reason="已整改", photos_data=[jpeg()])
        findings.transition(engine, actors["insp"], code, A.pass_reinspection)

    city = [new("县城市管理局") for _ in range(4)]
    for _ in range(6):
        new("县卫生健康委员会", Severity.immediate)
    edu = [new("县教育局") for _ in range(2)]
    group = [new("环境整治组") for _ in range(3)]
    clock.day(4)
    for code in city + edu + group[:2]:
        close(code)
    return engine, actors, rid


def units(entries) -> list[str]:
    return [e.unit for e in entries]


def test_red_and_black_by_rectification(world):
    engine, actors, _ = world
    rb = redblack.red_black(engine, actors["tester"], as_of=AS_OF)
    assert units(rb.red) == ["县城市管理局"]
    assert rb.red[0].reasons == ("整改率 100%，无逾期",)
    assert rb.red[0].metrics.due == 4 and rb.red[0].metrics.closed_due == 4
    assert units(rb.black) == ["县卫生健康委员会"]
    assert rb.black[0].reasons == ("逾期 6 件",) and rb.black[0].score_rate is None
    assert rb.units == 4 and rb.round_name is None


def test_black_by_the_bottom_three_score_rates_of_a_round(world):
    engine, actors, rid = world
    rb = redblack.red_black(engine, actors["tester"], as_of=AS_OF, round_id=rid)
    assert units(rb.red) == ["县城市管理局"]
    assert rb.red[0].score_rank == 2 and rb.red[0].score_rate == 1.0
    # most overdue first, then the worst score
    assert units(rb.black) == ["县卫生健康委员会", "县教育局", "县市场监督管理局", "和平社区"]
    by = {e.unit: e for e in rb.black}
    assert by["县教育局"].reasons == ("得分率 0%，排名倒数第 1（共 5 个单位）",)
    assert by["县教育局"].metrics.due == 2  # 100% fixed, yet black by its score
    assert by["县市场监督管理局"].metrics is None  # no findings, named by its score alone
    assert by["县市场监督管理局"].score_rate == pytest.approx(3.5 / 6)
    assert by["县市场监督管理局"].reasons == ("得分率 58.33%，排名倒数第 2（共 5 个单位）",)
    assert by["和平社区"].score_rank == 3 and by["和平社区"].ranked == 5
    assert rb.round_name == "十一月模拟测评" and rb.units == 6


def test_rules_from_text_change_the_lists(world):
    engine, actors, rid = world
    admin = actors["tester"]
    # YAML: a lower bar for red lets 县教育局 (2 due, both fixed) in; bottom 0 switches scores off
    rules = parse_rules("red:\n  min_rate: 95%\n  min_due: 2\nblack:\n  bottom: 0\n  overdue_more_than: 6\n")
    assert rules == Rules(red_min_rate=0.95, red_min_due=2, black_bottom=0, black_overdue_more_than=6)
    rb = redblack.red_black(engine, admin, as_of=AS_OF, round_id=rid, rules=rules)
    assert units(rb.red) == ["县城市管理局", "县教育局"] and rb.black == []  # 6 overdue is not more than 6
    # TOML: the bottom four reach 县城市管理局 (rank 2 of 5): a unit meeting both is listed black only
    rb = redblack.red_black(engine, admin, as_of=AS_OF, round_id=rid, rules=parse_rules("[black]\nbottom = 4\n"))
    assert rb.red == [] and "县城市管理局" in units(rb.black)
    # not enough units ranked for the bottom N: nobody is named by score, and the sheet says why
    rb = redblack.red_black(engine, admin, as_of=AS_OF, round_id=rid, rules=Rules(black_bottom=5))
    assert units(rb.black) == ["县卫生健康委员会"] and "只有 5 个" in rb.notes[0]
    # a period that starts after the findings were reported: nothing to judge
    rb = redblack.red_black(engine, admin, as_of=AS_OF, period_start=dt.date(2026, 11, 3))
    assert rb.red == [] and rb.black == []


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("red:\n  min_rate: 1.5\n", "red.min_rate"),
        ("red:\n  min_rate: 九成\n", "red.min_rate"),
        ("black:\n  bottom: -1\n", "black.bottom"),
        ("[black]\noverdue_more_than = 2.5\n", "black.overdue_more_than"),
        ("red:\n  min_due: yes\n", "red.min_due"),
        ("red:\n  minrate: 0.9\n", "red.minrate"),
    ],
)
def test_bad_rule_text_is_refused_naming_the_key(text, key):
    with pytest.raises(RulesError, match=rf"“{key}”"):
        parse_rules(text)


def test_rule_text_that_is_not_a_table_is_refused():
    with pytest.raises(RulesError, match="键值表"):
        parse_rules("- 0.98\n")
    with pytest.raises(RulesError, match="YAML"):
        parse_rules("red: [unclosed\n")
    assert parse_rules("") == Rules() == parse_rules(redblack.RULES_EXAMPLE)


def test_every_problem_is_reported_at_once(tmp_path):
    path = tmp_path / "规则.yaml"
    path.write_text("red:\n  min_rate: 2\nblack:\n  bottom: x\n", encoding="utf-8")
    with pytest.raises(RulesError) as err:
        redblack.read_rules(path)
    assert str(err.value).startswith("规则.yaml：") and "red.min_rate" in str(err.value)
    assert "black.bottom" in str(err.value)


def test_the_excel_export_states_the_rules(world, tmp_path):
    engine, actors, rid = world
    rb = redblack.red_black(engine, actors["tester"], as_of=AS_OF, round_id=rid)
    out = tmp_path / "红黑榜.xlsx"
    redblack.write_red_black(rb, out)
    ws = openpyxl.load_workbook(out)["红黑榜"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    texts = [v for row in rows for v in row if isinstance(v, str)]
    assert any("整改率不低于 98%，无逾期问题，且应整改问题不少于 3 件" in t for t in texts)
    assert any("得分率排名倒数 3 名" in t for t in texts)
    assert any(t.startswith("整改率：") for t in texts)  # the definitions next to the figures
    red_at = next(i for i, r in enumerate(rows) if r[0] == "红榜")
    black_at = next(i for i, r in enumerate(rows) if r[0] == "黑榜")
    assert rows[red_at + 1][: len(redblack.COLUMNS)] == list(redblack.COLUMNS)
    listed = lambda lo, hi: [r[1] for r in rows[lo + 2 : hi] if isinstance(r[0], int)]
    assert listed(red_at, black_at) == ["县城市管理局"]
    assert listed(black_at, len(rows)) == units(rb.black)
    red_row = rows[red_at + 2]
    assert red_row[2:6] == [4, 4, 1, 0] and red_row[8] == "整改率 100%，无逾期"
    assert ws.page_setup.paperSize == 9 and "&P" in ws.oddFooter.center.text


def test_the_actors_permissions_apply(world):
    engine, actors, rid = world
    from civeval.permissions import PermissionDenied

    rb = redblack.red_black(engine, actors["liai"], as_of=AS_OF)  # a liaison sees its own unit only
    assert units(rb.red) == ["县城市管理局"] and rb.black == []
    with pytest.raises(PermissionDenied):  # and no round scores
        redblack.red_black(engine, actors["liai"], as_of=AS_OF, round_id=rid)
