"""civeval.forecast: the stratified bootstrap forecast of the official field score.

- Coverage on a synthetic city whose true score rate is known: over 100 seeds the 95 % interval covers it at least
  90 times, and is not trivially wide.
- Small examples: identical points collapse the interval, a single-point stratum stays fixed, fewer than 2 points
  give None, the same seed gives the same forecast, the estimate is ``scoring.round_field_score``'s rate, and the
  weighted statistic equals ``round_field_score`` on records duplicated by integer weights (vetoes, alerts, N/A).
- ``forecast_round`` on a scored round in the database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pytest

from civeval import auth, forecast, rounds, scoring
from civeval.forecast import Forecast, forecast_round
from civeval.models import Answer, Method, Result, Role, RoundKind, RoundStatus, ScoringMode, Standard, Veto
from tests import seed
from tests.test_rounds import PLAN, answer_everything


@dataclass(frozen=True)
class Rec:
    """The fields a forecast reads of a record (``rounds.ScoredRecord`` carries them too)."""

    scored: scoring.ScoredObservation
    item_code: str
    point_code: str | None
    point_type: str | None


def std(code, full=1.0, mode=ScoringMode.pass_fail, veto=Veto.none, per_instance=None, cap=None) -> Standard:
    if mode is ScoringMode.deduction:
        per_instance = 0.5 if per_instance is None else per_instance
        cap = full if cap is None else cap
    return Standard(
        code=code,
        text=code,
        methods=[Method.field],
        full_marks=full,
        scoring_mode=mode,
        per_instance=per_instance,
        cap=cap,
        point_types=["x"],
        veto=veto,
    )


def rec(standard: Standard, result: Result, point: str | None, type_: str | None, item="I1", instances=None) -> Rec:
    return Rec(scoring.score_observation(standard, Answer(result=result, instances=instances)), item, point, type_)


def field_rate(records) -> float | None:
    return scoring.round_field_score(scoring.FieldRecord(r.scored, r.item_code, r.point_code) for r in records).rate


# --- a synthetic city -----------------------------------------------------------------------------

TYPES = 8
POINTS_PER_TYPE = 150
OFFICIAL = [6, 7, 8, 9, 10, 6, 8, 10]  # points per type the official evaluation draws
COMMON, SPECIFIC = 5, 20  # standards every type has, standards of one type


def synthetic_city(seed_: int = 2025) -> dict[str, list[Rec]]:
    """Records of every point of the population, by point code (point codes are "T<type>-<n>").

    Standards: 5 common to all types and 20 per type; modes pass/fail, graded (A/B/C/D) and deduction; full marks
    0.5–3; one alert veto per type (scores as usual). Each standard has its own failure probability and each point
    its own quality (a logit shift), so points differ and failures cluster at bad points. No ``zero_item`` veto: an
    item zeroed by one point in 1,200 is not a level a sample can estimate.
    """
    rng = np.random.default_rng(seed_)
    modes = [ScoringMode.pass_fail] * 3 + [ScoringMode.graded, ScoringMode.deduction]

    def make(code: str, i: int) -> tuple[Standard, float, float]:
        mode = modes[i % len(modes)]
        full = float(rng.choice([0.5, 1.0, 1.5, 2.0, 3.0]))
        veto = Veto.alert if i == 1 else Veto.none
        base = float(rng.uniform(0.03, 0.45))  # failure probability at an average point
        na = 0.0 if code.startswith("C") else 0.05
        return std(code, full, mode, veto), base, na

    common = [make(f"C-{i}", i) for i in range(COMMON)]
    per_type = [[make(f"T{h}-{i}", i) for i in range(SPECIFIC)] for h in range(TYPES)]
    graded_bad = [Result.B, Result.C, Result.D]
    city: dict[str, list[Rec]] = {}
    for h in range(TYPES):
        for n in range(POINTS_PER_TYPE):
            code = f"T{h}-{n:03d}"
            shift = rng.normal(0.0, 0.8)
            out = []
            for s, base, na in common + per_type[h]:
                if rng.random() < na:
                    out.append(rec(s, Result.na, code, f"类型{h}", item=s.code[:-1]))
                    continue
                p = 1 / (1 + math.exp(-(math.log(base / (1 - base)) + shift)))
                bad = rng.random() < p
                if s.scoring_mode is ScoringMode.graded:
                    result, k = (graded_bad[rng.integers(3)] if bad else Result.A), None
                elif s.scoring_mode is ScoringMode.deduction:
                    k = int(1 + rng.poisson(1.5)) if bad else 0
                    result = Result.failed if bad else Result.passed
                else:
                    result, k = (Result.failed if bad else Result.passed), None
                out.append(rec(s, result, code, f"类型{h}", item=s.code[:-1], instances=k))
            city[code] = out
    return city


@pytest.fixture(scope="module")
def city() -> dict[str, list[Rec]]:
    return synthetic_city()


def true_rate(city: dict[str, list[Rec]]) -> float:
    """The rate an official sample gives in the large-sample limit: the statistic on the whole population with each
    type weighted n_h / N_h. Every type has N_h = 150 points, so weighting by n_h is duplicating each point's
    records n_h times — and then it is ``round_field_score`` itself."""
    records = []
    for code, rs in city.items():
        records.extend(rs * OFFICIAL[int(code[1 : code.index("-")])])
    return field_rate(records)


def official_sample(city: dict[str, list[Rec]], seed_: int) -> list[Rec]:
    rng = np.random.default_rng(10_000 + seed_)
    out = []
    for h, n in enumerate(OFFICIAL):
        for i in rng.choice(POINTS_PER_TYPE, size=n, replace=False):
            out.extend(city[f"T{h}-{i:03d}"])
    return out


def test_the_95_interval_covers_the_true_rate_of_a_synthetic_city(city):
    truth = true_rate(city)
    covered, widths, estimates = 0, [], []
    for s in range(100):
        f = forecast.forecast(official_sample(city, s), replicates=500, seed=s)
        assert f is not None and f.points == sum(OFFICIAL) and f.strata == TYPES and f.fixed_points == 0
        covered += f.low <= truth <= f.high
        widths.append(f.high - f.low)
        estimates.append(f.estimate)
    # The truth is what official samples give on average: the mean of 100 sampled rates (SE ≈ 0.2 pp) is near it.
    assert abs(np.mean(estimates) - truth) < 0.01
    assert covered >= 90, f"covered {covered} of 100"
    # Not trivially wide: the sampled rates' spread is ~2 pp here, so a 95 % interval is ~8 pp wide.
    assert np.mean(widths) < 0.15
    assert np.mean(widths) > 2 * np.std(estimates)  # nor so narrow it could only cover by luck


# --- small examples -------------------------------------------------------------------------------

A = std("A", 2.0)
B = std("B", 1.0, ScoringMode.graded)
D = std("D", 3.0, ScoringMode.deduction, per_instance=1.0, cap=2.0)


def same_point(code: str, type_: str) -> list[Rec]:
    return [
        rec(A, Result.failed, code, type_),
        rec(B, Result.B, code, type_),
        rec(D, Result.failed, code, type_, instances=1),
    ]


def test_identical_points_give_a_zero_width_interval():
    records = [r for i in range(6) for r in same_point(f"P{i}", "市场" if i < 3 else "道路")]
    f = forecast.forecast(records, replicates=200)
    assert f.estimate == pytest.approx((0 + 0.66 + 2) / 6)
    assert f.low == pytest.approx(f.estimate) and f.high == pytest.approx(f.estimate)
    assert f.std_error == pytest.approx(0, abs=1e-12)
    assert (f.points, f.strata, f.fixed_points) == (6, 2, 0)


def test_a_single_point_stratum_stays_in_every_replicate_with_its_own_weight():
    # Three identical markets and one different school, sharing standard A: the interval can only collapse if the
    # school keeps weight 1 in every replicate (dropped, or reweighted, A's rate would move).
    records = [r for i in range(3) for r in same_point(f"M{i}", "市场")]
    records += [rec(A, Result.passed, "S1", "学校")]
    f = forecast.forecast(records, replicates=300)
    assert f.estimate == pytest.approx((2 * 2 / 8 + 0.66 + 2) / 6)
    assert f.low == pytest.approx(f.estimate) and f.high == pytest.approx(f.estimate)
    assert (f.points, f.strata, f.fixed_points) == (4, 2, 1)
    assert "1 个点位所在点位类型本轮只抽了 1 个" in f.caveat


def test_rao_wu_weights_sum_to_each_stratum_size():
    records = [rec(A, Result.passed, f"P{i}", "甲" if i < 2 else ("乙" if i < 7 else "丙")) for i in range(8)]
    design = forecast._Design(records, lambda r: r.point_type)
    w = np.concatenate(list(design.weights(np.random.default_rng(1), 400)))
    assert w.shape == (400, 8)
    # points by stratum (丙 < 乙 < 甲 by code point), then by code
    assert design.point_codes == ["P7", "P2", "P3", "P4", "P5", "P6", "P0", "P1"]
    assert design.strata == [(0, 1), (1, 6), (6, 8)]
    for a, b in design.strata:
        np.testing.assert_allclose(w[:, a:b].sum(axis=1), b - a)
    assert (w[:, 0] == 1).all()  # the single-point stratum is fixed
    assert set(np.unique(w[:, 6:8])) == {0.0, 2.0}  # 2 points: one drawn, weight 2
    assert set(np.unique(w[:, 1:6])) == {0.0, 1.25, 2.5, 3.75, 5.0}  # 4 draws of 5, each weighing 5/4


def test_a_triggered_veto_is_counted_and_replicates_without_its_point_score_higher():
    v = std("V", 1.0, veto=Veto.zero_item)
    records = []
    for i in range(4):
        records += [
            rec(A, Result.passed, f"P{i}", "市场", item="I1"),
            rec(v, Result.failed if i == 0 else Result.passed, f"P{i}", "市场", item="I1"),
            rec(B, Result.A, f"P{i}", "市场", item="I2"),
        ]
    f = forecast.forecast(records, replicates=500)
    assert f.estimate == pytest.approx(1 / 4)  # item I1 (3 of 4 marks) zeroed, B full
    assert f.vetoed_items == 1 and "1 项测评内容因一票否决记 0 分" in f.caveat
    # A replicate keeps P0 (item zeroed, rate 1/4) with probability 1 − (3/4)³ ≈ 58 %, else scores 100 %.
    assert f.low == pytest.approx(1 / 4) and f.high == pytest.approx(1.0)


def test_fewer_than_two_points_or_nothing_to_score_gives_none():
    assert forecast.forecast([]) is None
    assert forecast.forecast(same_point("P1", "市场")) is None
    materials = [rec(A, Result.passed, None, None)]  # no point: not a field record
    assert forecast.forecast(same_point("P1", "市场") + materials) is None
    na = [rec(A, Result.na, f"P{i}", "市场") for i in range(5)]
    assert forecast.forecast(na) is None
    assert "不足 2 个" in forecast.UNAVAILABLE


def test_the_same_seed_gives_the_same_forecast_and_the_estimate_is_the_round_field_score(city):
    records = official_sample(city, 7)
    first = forecast.forecast(records, seed=3)
    assert forecast.forecast(list(reversed(records)), seed=3) == first  # record order does not matter either
    assert forecast.forecast(records, seed=4) != first
    observed = scoring.round_field_score(scoring.FieldRecord(r.scored, r.item_code, r.point_code) for r in records)
    assert first.estimate == observed.rate and first.score == observed.score and first.full == observed.full
    assert first.low < first.estimate < first.high
    assert first.low_score == pytest.approx(first.low * first.full)
    assert first.high_score == pytest.approx(first.high * first.full)
    assert (first.replicates, first.seed, first.level) == (1000, 3, 0.95)


def test_the_weighted_statistic_is_round_field_score_on_duplicated_records():
    """Integer point weights (0 = not drawn) against ``round_field_score`` on each point's records repeated that
    many times, on data with a zero_item veto, an alert, N/A answers and every scoring mode."""
    rng = np.random.default_rng(11)
    standards = [
        (std("A", 2.0), "I1"),
        (std("B", 1.0, ScoringMode.graded), "I1"),
        (std("D", 3.0, ScoringMode.deduction, per_instance=1.0, cap=2.0), "I2"),
        (std("V", 1.0, veto=Veto.zero_item), "I2"),
        (std("W", 1.5, veto=Veto.alert), "I3"),
        (std("Z", 0.0), "I3"),  # no marks at all
    ]
    records = []
    for p in range(12):
        for s, item in standards:
            if rng.random() < 0.3:
                continue  # not checked at this point
            if rng.random() < 0.1:
                result, k = Result.na, None
            elif s.scoring_mode is ScoringMode.graded:
                result, k = [Result.A, Result.B, Result.C, Result.D][rng.integers(4)], None
            elif s.scoring_mode is ScoringMode.deduction:
                k = int(rng.integers(0, 4))
                result = Result.failed if k else Result.passed
            else:
                result, k = (Result.failed if rng.random() < (0.1 if s.code == "V" else 0.4) else Result.passed), None
            records.append(rec(s, result, f"P{p:02d}", "甲" if p < 5 else "乙", item=item, instances=k))
    field = [r for r in records if r.scored.applicable]
    design = forecast._Design(field, lambda r: r.point_type)
    order = design.point_codes
    assert sorted(order) == sorted({r.point_code for r in field})
    vetoed = 0
    for trial in range(200):
        weights = rng.integers(0, 3, size=len(order))
        if trial == 0:
            weights[:] = 1
        duplicated = [r for r in field for _ in range(int(weights[order.index(r.point_code)]))]
        expected = scoring.round_field_score(
            scoring.FieldRecord(r.scored, r.item_code, r.point_code) for r in duplicated
        )
        score, full = design.totals(weights[None, :].astype(float))
        assert score[0] == pytest.approx(expected.score, abs=1e-9)
        assert full[0] == pytest.approx(expected.full, abs=1e-9)
        vetoed += bool(expected.vetoes)
    assert 0 < vetoed < 200  # both with and without the veto triggered
    assert field_rate(field) == forecast.forecast(records).estimate


def test_the_sentence_says_what_it_means():
    f = Forecast(
        estimate=0.87,
        low=0.842,
        high=0.896,
        level=0.95,
        score=87.0,
        full=100.0,
        low_score=84.2,
        high_score=89.6,
        points=58,
        strata=29,
        replicates=1000,
        seed=0,
        fixed_points=0,
        std_error=0.014,
    )
    assert f.sentence == (
        "按本轮抽取的 58 个点位推算：若正式测评按同样方式（按点位类型）抽取点位，"
        "本市实地考察得分率有 95% 的把握在 84.2% 至 89.6% 之间（约 84.2 至 89.6 分 / 100 分），"
        "本轮实测为 87.0%（87.0 分）。"
    )
    assert f.sentence.count("。") == 1
    assert "抽样" in f.caveat and "测评员" in f.caveat
    assert "只抽了 1 个" not in f.caveat and "一票否决记" not in f.caveat


def test_bad_arguments_are_refused():
    records = [r for i in range(3) for r in same_point(f"P{i}", "市场")]
    with pytest.raises(ValueError):
        forecast.forecast(records, level=1.0)
    with pytest.raises(ValueError):
        forecast.forecast(records, replicates=0)


# --- a round in the database ----------------------------------------------------------------------


def test_forecast_of_a_scored_round(engine):
    seed.seed(engine)
    seed.add_users(engine, {"insp2": (Role.inspector, None)})
    with engine.connect() as conn:
        actors = {u: auth.load_actor(conn, auth.get_user(conn, u).id) for u in ("tester", "insp", "insp2")}
    start = dt.date(2026, 11, 2)
    rid = rounds.create_round(
        engine,
        actors["tester"],
        name="十一月模拟测评",
        kind=RoundKind.mock,
        index_id=seed.index_id(engine),
        start=start,
        end=start + dt.timedelta(days=4),
    )
    rounds.confirm_draw(engine, actors["tester"], rid, PLAN)
    plan = rounds.assign(engine, actors["tester"], rid, ["insp", "insp2"])
    rounds.set_status(engine, actors["tester"], rid, RoundStatus.in_progress)
    answer_everything(engine, actors, rid, plan)

    with engine.connect() as conn:
        scores = rounds.round_scores(conn, actors["tester"], rid)
        by_type = forecast_round(conn, actors["tester"], rid)
        pooled = forecast_round(conn, actors["tester"], rid, strata=lambda r: "全部", strata_name="全部点位", seed=5)
    assert forecast.of_scores(scores) == forecast.forecast(scores.records) == by_type  # the field score reused
    for f in (by_type, pooled):
        assert f.low <= f.estimate <= f.high
        assert f.estimate == scores.field.rate and f.full == scores.field.full == 9
        assert f.points == 6
    # 农贸市场 has 2 points, the other four types 1 each (fixed); pooled, all six vary.
    assert (by_type.strata, by_type.fixed_points) == (5, 4)
    assert (pooled.strata, pooled.fixed_points) == (1, 0)
    assert pooled.high - pooled.low > by_type.high - by_type.low > 0
    assert "按全部点位" in pooled.sentence
