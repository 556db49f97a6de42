"""The composite mock score (civeval.composite) on hand-computed examples, and for a stored round on SQLite and
PostgreSQL (the hand-computed round of tests/test_rounds.py plus one materials answer)."""

from __future__ import annotations

import pytest

from civeval import composite, rounds
from civeval.composite import CompositeError, Settings
from civeval.models import Answer, Result
from civeval.permissions import PermissionDenied
from tests.test_rounds import answer_everything, draw_and_assign, world  # noqa: F401 - fixture


def test_parts_are_weighted_40_40_20_by_default():
    c = composite.combine({"field": 0.85, "materials": 0.9, "survey": 0.8})
    assert c.complete and c.total_weight == 100
    assert (c.points("field"), c.points("materials"), c.points("survey")) == pytest.approx((34, 36, 16))
    assert c.score == pytest.approx(86) and c.scaled == pytest.approx(86)
    assert c.sentence().startswith("综合模拟得分 86.00 / 100：实地考察 34.00（得分率 85.0% × 40）")


def test_a_missing_part_adds_nothing_and_the_scaled_score_says_so():
    c = composite.combine({"field": 0.85, "materials": 0.9, "survey": None})
    assert c.missing == ["survey"] and not c.complete
    assert c.score == pytest.approx(70)  # 34 + 36, out of 100
    assert c.scaled == pytest.approx(87.5)  # 70 / 80 × 100
    assert "问卷调查尚无得分，按已有部分折算为 87.50" in c.sentence()
    assert composite.combine({"field": None, "materials": None, "survey": None}).scaled is None


def test_configured_weights():
    c = composite.combine({"field": 0.5, "materials": 1.0, "survey": 1.0}, {"field": 60, "materials": 20, "survey": 20})
    assert c.score == pytest.approx(70)
    assert composite.parse_weights("40/40/20", 3) == (40, 40, 20)
    assert composite.parse_weights("15%，25%，60%", 3) == (15, 25, 60)
    with pytest.raises(CompositeError, match="须有 3 个数字"):
        composite.parse_weights("50/50", 3)
    with pytest.raises(CompositeError, match="无法识别"):
        composite.parse_weights("四十/40/20", 3)
    with pytest.raises(CompositeError, match="不能为负数"):
        Settings(part_weights={"field": -1, "materials": 40, "survey": 20})
    with pytest.raises(CompositeError, match="0 与 1"):
        composite.combine({"field": 1.5, "materials": None, "survey": None})


def test_years_of_a_cycle_are_weighted_15_25_60():
    assert composite.cycle_score([80, 85, 90]) == pytest.approx(87.25)  # (1200 + 2125 + 5400) / 100
    assert composite.cycle_score([None, 85, 90]) == pytest.approx((25 * 85 + 60 * 90) / 85)  # years present only
    assert composite.cycle_score([None, None, None]) is None
    assert composite.cycle_score([70, 80], weights=(40, 60)) == pytest.approx(76)
    with pytest.raises(CompositeError, match="周期有 3 年"):
        composite.cycle_score([1, 2])


def test_a_round_composite_from_its_field_and_materials_scores(world):  # noqa: F811 - the fixture
    engine, actors, rid = world
    admin = actors["tester"]
    plan = draw_and_assign(engine, actors, rid)
    answer_everything(engine, actors, rid, plan)
    rounds.save_unit_answer(engine, admin, rid, "县文明办", "III-4-1", Answer(result=Result.passed))
    with engine.connect() as conn:
        c = composite.round_composite(conn, admin, rid)
        cyc = composite.cycle(conn, admin)
    field = (1.25 + 2 / 3 + 1.98 + 0 + 1) / 9  # tests/test_rounds.py's hand-computed field score
    assert c.rates["field"] == pytest.approx(field)
    assert c.rates["materials"] == 1.0  # III-4-1 passed at 县文明办
    with engine.connect() as conn:
        s = rounds.round_scores(conn, admin, rid)
    assert s.materials.rate == composite.materials_rate(s.records) == 1.0  # summed with the rankings, same rule
    rounds.save_unit_answer(engine, admin, rid, "县文明办", "III-4-1", Answer(result=Result.failed))
    with engine.connect() as conn:
        s = rounds.round_scores(conn, admin, rid)
        assert s.materials.rate == composite.materials_rate(s.records) == 0.0
        assert composite.round_composite(conn, admin, rid).rates["materials"] == 0.0
    rounds.save_unit_answer(engine, admin, rid, "县文明办", "III-4-1", Answer(result=Result.passed))
    assert c.rates["survey"] is None  # no questionnaire for this round
    assert c.score == pytest.approx(40 * field + 40)
    # stored weights
    composite.save_settings(engine, admin, Settings({"field": 50, "materials": 30, "survey": 20}, (20, 30, 50)))
    with engine.connect() as conn:
        assert composite.load_settings(conn).year_weights == (20, 30, 50)
        assert composite.round_composite(conn, admin, rid).score == pytest.approx(50 * field + 30)
    # the cycle: 2024–2026 with the round in 2026 only
    assert [y.year for y in cyc.years] == [2024, 2025, 2026] and cyc.missing_years == [2024, 2025]
    assert cyc.score == pytest.approx(40 * field + 40)
    assert cyc.sentence().endswith("2024、2025 年尚无模拟测评，按已有年度折算。")
    with pytest.raises(PermissionDenied):
        composite.save_settings(engine, actors["coord"], Settings())
