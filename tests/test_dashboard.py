"""The leaders' dashboard as data (civeval.dashboard) and the loss rankings (civeval.losses), on SQLite and
PostgreSQL: two mock rounds of the hand-computed example (tests/test_rounds.py), the second better, so that every
delta, mark, trend point, drill-down and history has a known value."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from civeval import archive, audit, dashboard, losses, metrics, rounds
from civeval.models import Actor, Answer, Grant, Result, Role, RoundKind, RoundStatus
from civeval.permissions import PermissionDenied
from civeval.store import schema as t
from tests import seed
from tests.test_rounds import START, answer_everything, draw_and_assign, jpeg, owner, world  # noqa: F401 - fixture

AS_OF = dt.date(2026, 12, 20)


def second_round(engine, actors) -> tuple[int, dict[str, list[str]]]:
    """December: the same draw; everything passes but III-1-2 at P002 (still blocked)."""
    admin = actors["tester"]
    rid = rounds.create_round(
        engine,
        admin,
        name="十二月模拟测评",
        kind=RoundKind.mock,
        index_id=seed.index_id(engine),
        start=START + dt.timedelta(days=30),
        end=START + dt.timedelta(days=34),
    )
    plan = draw_and_assign(engine, actors, rid)
    for user, codes in plan.items():
        for code in codes:
            with engine.connect() as conn:
                sheet = rounds.point_sheet(conn, actors[user], rid, code)
            for a in sheet.answers:
                s = a.standard
                if (code, s.code) == ("P002", "III-1-2"):
                    ans = Answer(result=Result.failed, note="仍遮挡")
                elif s.scoring_mode.value == "graded":
                    ans = Answer(result=Result.A)
                elif s.scoring_mode.value == "deduction":
                    ans = Answer(result=Result.passed, instances=0)
                else:
                    ans = Answer(result=Result.passed)
                rounds.save_answer(engine, actors[user], rid, code, s.code, ans)
    rounds.add_photo(engine, actors[owner(plan, "P002")], rid, "P002", "III-1-2", jpeg(), "P002.jpg")
    return rid, plan


def drawn(plan: dict[str, list[str]]) -> list[str]:
    return [code for codes in plan.values() for code in codes]


@pytest.fixture
def two_rounds(world):  # noqa: F811 - the fixture imported above
    engine, actors, r1 = world
    plan = draw_and_assign(engine, actors, r1)
    answer_everything(engine, actors, r1, plan)
    r2, plan2 = second_round(engine, actors)
    return engine, actors, r1, r2, plan2


def test_the_dashboard_compares_with_the_previous_round_of_the_same_kind(two_rounds):
    engine, actors, r1, r2, _ = two_rounds
    admin = actors["tester"]
    with engine.connect() as conn:
        d = dashboard.build(conn, admin, r2, AS_OF)
        s1, s2 = rounds.round_scores(conn, admin, r1), rounds.round_scores(conn, admin, r2)
        first = dashboard.build(conn, admin, r1, AS_OF)
    assert d.previous is not None and d.previous.id == r1
    assert first.previous is None and first.field_delta is None and all(r.delta is None for r in first.by_street)
    # round 1: field score 1.25 + 2/3 + 1.98 + 0 + 1 of 9 (tests/test_rounds.py)
    assert s1.field.rate == pytest.approx((1.25 + 2 / 3 + 1.98 + 1) / 9)
    assert d.scores.field.rate == s2.field.rate
    assert d.field_delta == pytest.approx(s2.field.rate - s1.field.rate)
    assert d.field_delta > 0  # December is better
    assert d.overall_delta == pytest.approx(s2.overall.rate - s1.overall.rate)
    before = {g.key: g.rate for g in s1.by_street}
    for row, g in zip(d.by_street, s2.by_street, strict=True):
        assert (row.name, row.rank, row.rate) == (g.key, g.rank, g.rate)
        assert row.delta == pytest.approx(g.rate - before[g.key])
    # five units ranked in round 1: the last three are marked; two streets: nobody singled out
    assert [r.bottom for r in first.by_unit] == [False, False, True, True, True]
    assert not any(r.bottom for r in first.by_street)


def test_trend_rates_aggregated_in_the_database_equal_the_round_scores(two_rounds):
    engine, actors, r1, r2, _ = two_rounds
    admin, coord = actors["tester"], actors["coord"]
    with engine.connect() as conn:
        d = dashboard.build(conn, admin, r2, AS_OF)
        scores = {r: rounds.round_scores(conn, admin, r) for r in (r1, r2)}
        agg = dashboard.round_rates(conn, [r1, r2])
        scoped = dashboard.build(conn, coord, r2, AS_OF)
        coord_scores = {r: rounds.round_scores(conn, coord, r) for r in (r1, r2)}
    assert [p.round_id for p in d.trend] == [r1, r2]
    for p in d.trend:
        assert p.field_rate == pytest.approx(scores[p.round_id].field.rate)
        assert p.overall_rate == pytest.approx(scores[p.round_id].overall.rate)
        assert agg[p.round_id].observations == len(scores[p.round_id].records)
    # a coordinator's trend counts only their street's records
    assert [p.field_rate for p in scoped.trend] == pytest.approx([coord_scores[r].field.rate for r in (r1, r2)])
    assert scoped.trend[0].field_rate != pytest.approx(d.trend[0].field_rate)
    # rectification in the trend: all findings as they stood at each round's end (none were submitted: no findings)
    assert [p.rectification_on for p in d.trend] == [dt.date(2026, 11, 6), dt.date(2026, 12, 6)]


def rectified_at(s: archive.Summary) -> dict:
    return {"rectification_on": s.rectification_on, "rectification_rate": s.rectification_rate,
            "on_time_rate": s.on_time_rate}  # fmt: skip


def test_a_closed_rounds_recorded_figures_give_the_same_dashboard(two_rounds):
    """Closing round 1 records its figures (civeval.archive); the dashboard of round 2 reads them for the trend and
    the deltas, and is the same as when they are computed from the observations and events. Reopening forgets them."""
    engine, actors, r1, r2, plan2 = two_rounds
    admin = actors["tester"]
    for code in drawn(plan2):
        rounds.submit_point(engine, actors[owner(plan2, code)], r2, code)  # a finding with a history
    rounds.set_status(engine, admin, r1, RoundStatus.closed)
    with engine.connect() as conn:
        stored = archive.load(conn, [r1, r2])
        recorded = dashboard.build(conn, admin, r2, AS_OF)
        live_r1 = archive.compute(conn, r1)
    assert list(stored) == [r1] and stored[r1] == live_r1
    assert stored[r1].rectification_on == dt.date(2026, 11, 6) and stored[r1].observations > 0
    with engine.begin() as conn:  # a street renamed since round 1 closed keeps its delta under its new name
        conn.execute(
            sa.update(t.units).where(t.units.c.name == "东城街道").values(name="东城新区街道")
            .execution_options(audit_exempt=True)
        )  # fmt: skip
    with engine.connect() as conn:
        recorded = dashboard.build(conn, admin, r2, AS_OF)
    with engine.begin() as conn:
        conn.execute(sa.delete(t.round_results).execution_options(audit_exempt=True))
    with engine.connect() as conn:
        computed = dashboard.build(conn, admin, r2, AS_OF)
    renamed = next(r for r in recorded.by_street if r.name == "东城新区街道")
    assert renamed.delta is not None
    assert recorded.trend == computed.trend and recorded.by_street == computed.by_street
    assert recorded.by_unit == computed.by_unit and recorded.field_delta == computed.field_delta
    assert recorded.previous_scores == replace(computed.previous_scores, **rectified_at(stored[r1]))
    with engine.connect() as conn:
        everything = metrics.rectification(metrics.finding_facts(conn, admin, AS_OF), AS_OF)
    assert recorded.city_rectification.as_dict() == pytest.approx(everything.as_dict())
    assert everything.created == 5  # every finding of both rounds
    assert archive.backfill(engine) == 1  # closed rounds without figures are recorded (e.g. by civeval init)
    rounds.set_status(engine, admin, r1, RoundStatus.in_progress, reason="补录")
    with engine.connect() as conn:
        assert archive.load(conn, [r1]) == {}


def test_findings_figures_and_map_follow_the_findings(two_rounds):
    engine, actors, _, r2, plan = two_rounds
    admin = actors["tester"]
    for code in drawn(plan):
        rounds.submit_point(engine, actors[owner(plan, code)], r2, code)
    with engine.connect() as conn:
        d = dashboard.build(conn, admin, r2, AS_OF)
        facts = metrics.finding_facts(conn, admin, AS_OF, round_id=r2)
        early = dashboard.build(conn, admin, r2, audit.today() - dt.timedelta(days=1))
    assert [f.point_code for f in d.round_findings] == ["P002"]
    assert d.rectification == metrics.rectification(facts, AS_OF)
    assert d.rectification.open == 1 and d.rectification.overdue == 1  # deadline long past on 20 Dec
    p2 = next(p for p in d.points if p.code == "P002")
    assert p2.open_findings == 1 and p2.failures == 1 and p2.open_band == "未销号1–2个"
    assert all(p.open_findings == 0 for p in d.points if p.code != "P002")
    assert {p.code for p in d.points} == set(drawn(plan))
    assert next(p for p in d.points if p.code == "P004").result_band == "得分率≥95%"
    assert early.rectification.created == 0  # the day before the submission (made on today's clock)
    street = next(r for r in d.by_street if r.name == "东城街道")
    assert street.rectification is not None and street.rectification.overdue == 1


def test_drill_down_and_point_history(two_rounds):
    engine, actors, r1, r2, plan = two_rounds
    admin = actors["tester"]
    for code in drawn(plan):
        rounds.submit_point(engine, actors[owner(plan, code)], r2, code)
    with engine.connect() as conn:
        d = dashboard.build(conn, admin, r2, AS_OF)
        h = dashboard.point_history(conn, admin, "P002", AS_OF)
        with pytest.raises(dashboard.DashboardError, match="没有编号"):
            dashboard.point_history(conn, admin, "P999", AS_OF)
    east = dashboard.drill(d, "street", "东城街道")
    assert {p.street for p in east.points} == {"东城街道"}
    assert east.points[0].code == "P002" and east.points[0].failed_standards == ("III-1-2",)  # worst first
    assert [f.point_code for f in east.findings] == ["P002"]
    west = dashboard.drill(d, "street", "城关街道")
    assert west.findings == [] and all(p.failures == 0 for p in west.points)
    unit = dashboard.drill(d, "unit", "县城市管理局")
    assert unit.points and all(p.code for p in unit.points)
    with pytest.raises(dashboard.DashboardError):
        dashboard.drill(d, "category", "x")
    # P002 in both rounds: November 2 + 0 of 3 (III-1-2 failed), December the same failure
    assert [r.round_id for r in h.rounds] == [r1, r2]
    assert h.rounds[0].rate == pytest.approx(2 / 3) and h.rounds[0].failed_standards == ("III-1-2",)
    assert h.rounds[1].failed_standards == ("III-1-2",)
    assert [f.point_code for f in h.findings] == ["P002"]


def test_the_dashboard_needs_the_right_to_see_scores(two_rounds):
    engine, _, _, r2, _ = two_rounds
    liaison = Actor(user_id=None, username="x", grants=(Grant(role=Role.liaison, scope="县教育局"),))
    with engine.connect() as conn, pytest.raises(PermissionDenied):
        dashboard.build(conn, liaison, r2, AS_OF)
    with engine.connect() as conn, pytest.raises(PermissionDenied):
        dashboard.point_history(conn, liaison, "P001", AS_OF)
    other = Actor(user_id=None, username="y", grants=(Grant(role=Role.leader, scope="东城街道"),))
    with engine.connect() as conn, pytest.raises(PermissionDenied):
        dashboard.point_history(conn, other, "P001", AS_OF)  # 城关街道's point


def test_headlines_say_where_we_stand_who_is_behind_what_to_fix(two_rounds):
    engine, actors, r1, _, _ = two_rounds
    with engine.connect() as conn:
        d = dashboard.build(conn, actors["tester"], r1, AS_OF)
    stand, behind, fix = dashboard.headlines(d)
    assert stand.startswith("实地考察得分率 54.4%")  # 4.8967 / 9
    assert "县教育局（0.0%）" in behind and "参与排名" not in behind
    assert fix.startswith("先改失分最多的：III-3-1（失分 2.0，不符合 1 处")


# --- losses, by hand ----------------------------------------------------------------------------------------------


def rec(code, unit, score, full=2.0, applicable=True, point="P1"):
    return SimpleNamespace(
        standard=SimpleNamespace(code=code, text=f"标准{code}"),
        category="公共环境",
        item_code=code.rsplit("-", 1)[0],
        unit=unit,
        point_code=point,
        score=score,
        full=full if applicable else 0.0,
        failed=applicable and score < full,
        applicable=applicable,
    )


RECORDS = [
    rec("A-1", "甲局", 0), rec("A-1", "乙局", 0), rec("A-1", "丙局", 2),  # lost 4, 2 failures, 2 units
    rec("B-1", "甲局", 1), rec("B-1", "甲局", 1), rec("B-1", "甲局", 1),  # B-1: lost 3, 3 failures, 1 unit
    rec("C-1", "乙局", 0, full=5),  # C-1: lost 5, 1 failure, 1 unit
    rec("D-1", "丙局", 2), rec("D-1", "丙局", 0, applicable=False),  # nothing lost
]  # fmt: skip


def test_standards_are_ranked_by_points_lost_failures_or_units():
    by_lost = losses.standard_losses(RECORDS)
    assert [(x.code, x.lost, x.failures, x.unit_count) for x in by_lost] == [
        ("C-1", 5, 1, 1),
        ("A-1", 4, 2, 2),
        ("B-1", 3, 3, 1),
    ]
    assert [x.code for x in losses.standard_losses(RECORDS, "failures")] == ["B-1", "A-1", "C-1"]
    assert [x.code for x in losses.standard_losses(RECORDS, losses.LossOrder.units)] == ["A-1", "C-1", "B-1"]
    assert by_lost[1].units == ("乙局", "甲局") and by_lost[1].fail_rate == pytest.approx(2 / 3)
    assert losses.standard_losses(RECORDS, limit=1)[0].code == "C-1"
    assert losses.shared_units(by_lost) == 2


def test_units_are_ranked_by_points_lost_failures_or_standards():
    units = losses.unit_losses(RECORDS)
    # 甲局: A-1 2 + B-1 3 = 5 lost, 4 failures, 2 standards; 乙局: 2 + 5 = 7, 2, 2; 丙局: nothing lost
    assert [(u.unit, u.lost, u.failures, u.standards) for u in units] == [
        ("乙局", 7, 2, ("A-1", "C-1")),
        ("甲局", 5, 4, ("A-1", "B-1")),
    ]
    assert units[1].rate == pytest.approx(3 / 8)
    assert [u.unit for u in losses.unit_losses(RECORDS, "failures")] == ["甲局", "乙局"]
    assert [u.unit for u in losses.unit_losses(RECORDS, "units")] == ["乙局", "甲局"]  # 2 each: by points lost


def test_bottom_marks_need_more_groups_than_marks():
    from civeval import scoring

    groups = scoring.ranking(
        scoring.GroupRate(k, r, 1, r, 0, 1) for k, r in zip("abcd", (0.9, 0.8, 0.7, 0.6), strict=True)
    )
    assert dashboard.bottom_keys(groups) == {"b", "c", "d"}
    assert dashboard.bottom_keys(groups[:3]) == set()
