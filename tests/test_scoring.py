"""Scoring (civeval.scoring) against examples computed by hand; the arithmetic is written out in comments."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civeval.models import Answer, Method, Result, ScoringMode, Standard, Veto
from civeval.scoring import (
    FieldRecord,
    GroupRate,
    ScoringError,
    delta,
    field_record,
    group_rate,
    group_rates,
    ranking,
    rate_deltas,
    round_field_score,
    score_observation,
)

approx = pytest.approx


def std(
    code: str = "S",
    mode: ScoringMode = ScoringMode.pass_fail,
    full: float = 2,
    per: float | None = None,
    cap: float | None = None,
    veto: Veto = Veto.none,
) -> Standard:
    return Standard(
        code=code,
        text="标准",
        methods=[Method.field],
        point_types=["社区"],
        full_marks=full,
        scoring_mode=mode,
        per_instance=per,
        cap=cap,
        veto=veto,
    )


def ans(result: str, instances: int | None = None) -> Answer:
    return Answer(result=Result(result), instances=instances)


PF = ScoringMode.pass_fail
GR = ScoringMode.graded
DE = ScoringMode.deduction


# --- one observation ------------------------------------------------------------------------------


def test_pass_fail():
    s = std(full=2)
    ok = score_observation(s, ans("pass"))  # pass → full = 2
    assert (ok.score, ok.full, ok.failed, ok.applicable) == (2, 2, False, True)
    bad = score_observation(s, ans("fail"))  # fail → 0 of 2
    assert (bad.score, bad.full, bad.failed, bad.applicable) == (0, 2, True, True)
    assert bad.standard_code == "S" and bad.result is Result.failed


@pytest.mark.parametrize(
    ("grade", "expected", "failed"),
    [
        ("A", 3.0, False),  # 1.00 × 3
        ("B", 1.98, True),  # 0.66 × 3
        ("C", 0.99, True),  # 0.33 × 3
        ("D", 0.0, True),  # 0.00 × 3
    ],
)
def test_graded(grade, expected, failed):
    o = score_observation(std(mode=GR, full=3), ans(grade))
    assert o.score == approx(expected)
    assert o.full == 3 and o.failed is failed


@pytest.mark.parametrize(
    ("result", "instances", "expected"),
    [
        ("pass", 0, 2.0),  # 2 − min(2, 0.5×0 = 0)
        ("pass", None, 2.0),  # pass without a count = 0 instances
        ("fail", 1, 1.5),  # 2 − min(2, 0.5×1 = 0.5)
        ("fail", 3, 0.5),  # 2 − min(2, 0.5×3 = 1.5)
        ("fail", 5, 0.0),  # 2 − min(2, 0.5×5 = 2.5) = 2 − 2
    ],
)
def test_deduction(result, instances, expected):
    o = score_observation(std(mode=DE, full=2, per=0.5, cap=2), ans(result, instances))
    assert o.score == approx(expected)
    assert o.full == 2
    assert o.failed is (expected < 2)


def test_deduction_cap_smaller_than_full():
    # full 3, 0.5 per instance, cap 2, 10 instances: 3 − min(2, 0.5×10 = 5) = 3 − 2 = 1 (the cap leaves 1 point)
    o = score_observation(std(mode=DE, full=3, per=0.5, cap=2), ans("fail", 10))
    assert o.score == approx(1.0) and o.failed


def test_deduction_never_below_zero():
    # full 1, 0.5 per instance, cap 5, 4 instances: max(0, 1 − min(5, 2)) = 0
    assert score_observation(std(mode=DE, full=1, per=0.5, cap=5), ans("fail", 4)).score == 0


@pytest.mark.parametrize("standard", [std(mode=PF, full=2), std(mode=GR, full=3), std(mode=DE, full=2, per=0.5, cap=2)])
def test_not_applicable_counts_nowhere(standard):
    o = score_observation(standard, ans("na"))
    assert (o.score, o.full, o.failed, o.applicable) == (0, 0, False, False)
    assert o.full_marks == standard.full_marks and o.rate is None


def test_result_as_plain_value():
    # rows from the database may carry the enum's value rather than the enum
    o = score_observation(std(mode=GR, full=3), SimpleNamespace(result="B", instances=None))
    assert o.score == approx(1.98) and o.result is Result.B


@pytest.mark.parametrize(
    ("standard", "answer", "words"),
    [
        (std("III-1-1", PF), ans("A"), "等级"),  # a grade on a pass/fail standard
        (std("III-1-2", GR, 3), ans("pass"), "等级"),  # pass on a graded standard
        (std("III-1-2", GR, 3), ans("fail"), "等级"),  # fail on a graded standard
        (std("III-1-3", DE, 2, 0.5, 2), ans("fail"), "处数"),  # deduction, fail, no count
        (std("III-1-3", DE, 2, 0.5, 2), ans("C"), "等级"),  # a grade on a deduction standard
        (std("III-1-3", DE, 2, 0.5, 2), ans("pass", 3), "符合"),  # pass with 3 instances
        (std("III-1-3", DE, 2, 0.5, 2), ans("fail", 0), "0"),  # fail with 0 instances
        (std("III-1-1", PF), SimpleNamespace(result="maybe", instances=None), "maybe"),
    ],
)
def test_errors_name_the_standard(standard, answer, words):
    with pytest.raises(ScoringError) as e:
        score_observation(standard, answer)
    assert standard.code in str(e.value) and words in str(e.value)
    assert e.value.code == standard.code
    assert isinstance(e.value, ValueError)


def test_deduction_without_rule_is_an_error():
    # a standard-like row (not the validated model) lacking its cap
    row = SimpleNamespace(code="X-1", full_marks=2, scoring_mode=DE, per_instance=0.5, cap=None, veto=Veto.none)
    with pytest.raises(ScoringError, match="X-1"):
        score_observation(row, ans("fail", 1))


# --- groups, rankings, deltas ---------------------------------------------------------------------


def mixed_group():
    """A point with four applicable observations and one not applicable:
    pass/fail full 3 pass        → 3     of 3
    graded full 3 B              → 1.98  of 3   (finding)
    deduction full 2, 0.5, 1 inst→ 1.5   of 2   (finding)
    deduction full 2, 0.5, 2 inst→ 1.0   of 2   (finding)
    pass/fail full 5 na          → 0     of 0
    Σ score 7.48 / Σ full 10 = 0.748, 3 findings, 4 observations."""
    return [
        score_observation(std("a", PF, 3), ans("pass")),
        score_observation(std("b", GR, 3), ans("B")),
        score_observation(std("c", DE, 2, 0.5, 2), ans("fail", 1)),
        score_observation(std("d", DE, 2, 0.5, 2), ans("fail", 2)),
        score_observation(std("e", PF, 5), ans("na")),
    ]


def test_group_rate_mixed_modes():
    g = group_rate(mixed_group(), key="点位1")
    assert g.score == approx(7.48) and g.full == approx(10) and g.rate == approx(0.748)
    assert (g.key, g.findings, g.observations) == ("点位1", 3, 4)


def test_group_rates_on_any_record():
    # records of the dashboard kind: street + scored observation; accessors read through them
    obs = mixed_group()
    rows = [SimpleNamespace(street="东城街道", obs=o) for o in obs] + [
        SimpleNamespace(street="西城街道", obs=score_observation(std("a", PF, 3), ans("fail"))),  # 0 of 3
        SimpleNamespace(street="南城街道", obs=score_observation(std("a", PF, 3), ans("na"))),  # nothing applicable
    ]
    rates = group_rates(
        rows,
        key=lambda r: r.street,
        score=lambda r: r.obs.score,
        full=lambda r: r.obs.full,
        failed=lambda r: r.obs.failed,
        applicable=lambda r: r.obs.applicable,
    )
    assert [g.key for g in rates] == ["东城街道", "西城街道", "南城街道"]  # order of first appearance
    east, west, south = rates
    assert east.rate == approx(0.748) and east.findings == 3 and east.observations == 4
    assert (west.score, west.full, west.rate, west.findings) == (0, 3, 0, 1)
    assert (south.full, south.rate, south.observations) == (0, None, 0)


def test_group_rates_default_accessors():
    # ScoredObservation carries score/full/failed/applicable itself; group by standard code
    rates = group_rates(mixed_group(), key=lambda o: o.scoring_mode)
    by = {g.key: g for g in rates}
    assert by[DE].score == approx(2.5) and by[DE].full == approx(4)  # 1.5 + 1.0 of 2 + 2
    assert by[PF].rate == approx(1.0) and by[PF].observations == 1  # 3 of 3; the na one is not counted


def g(key, score, full, findings):
    return GroupRate(key, score, full, score / full if full else None, findings, 5)


def test_ranking_ties_by_findings_then_name():
    rates = [
        g("街道4", 1.98, 3, 1),  # 0.66 (1.98/3 ≠ 0.66 in floating point, but ties with it)
        g("街道3", 0.66, 1, 2),  # 0.66, 2 findings
        g("街道2", 0.66, 1, 1),  # 0.66, 1 finding: ties 街道4 → by name: 街道2 before 街道4
        g("街道1", 0.5, 1, 0),  # 0.50
        g("街道5", 0.9, 1, 3),  # 0.90
        g("街道0", 0, 0, 0),  # no rate: last, no rank
    ]
    ranked = ranking(rates)
    assert [(r.rank, r.key) for r in ranked] == [
        (1, "街道5"),
        (2, "街道2"),
        (3, "街道4"),
        (4, "街道3"),
        (5, "街道1"),
        (None, "街道0"),
    ]
    assert ranked[0].rate == approx(0.9) and ranked[0].findings == 3


def test_ranking_accepts_an_iterator_and_a_name():
    ranked = ranking(iter([g(2, 1, 2, 0), g(1, 1, 2, 0)]), name=lambda k: f"{k:03d}")
    assert [r.key for r in ranked] == [1, 2]


def test_delta():
    assert delta(0.748, 0.701) == approx(0.047)  # 74.8% this round, 70.1% last round: +4.7 points
    assert delta(0.5, 0.625) == approx(-0.125)
    assert delta(None, 0.5) is None and delta(0.5, None) is None and delta(None, None) is None


def test_rate_deltas():
    now = [g("东城", 3, 4, 1), g("西城", 1, 2, 1), g("新区", 1, 1, 0)]  # 0.75, 0.5, 1.0
    before = [g("东城", 1, 2, 1), g("西城", 0, 0, 0)]  # 0.5, no rate
    assert rate_deltas(now, before) == {"东城": approx(0.25), "西城": None, "新区": None}


# --- round field score ----------------------------------------------------------------------------


def test_standard_at_three_points_scores_full_times_half():
    # S1 pass/fail full 2 at three points: pass (2 of 2), fail (0 of 2), na (left out)
    # → full × Σscore/Σfull = 2 × 2/4 = 1.0; field 1 of 2
    s1 = std("S1", PF, 2)
    fs = round_field_score(
        [field_record(s1, ans(r), "I1", point=p) for r, p in [("pass", "P1"), ("fail", "P2"), ("na", "P3")]]
    )
    assert fs.score == approx(1.0) and fs.full == approx(2) and fs.rate == approx(0.5)
    (only,) = fs.by_standard
    assert (only.code, only.observations, only.not_applicable, only.findings) == ("S1", 2, 1, 1)
    assert only.rate == approx(0.5) and only.raw_score == approx(1.0)
    assert fs.vetoes == [] and fs.alerts == []


def test_round_field_score_counts_each_standard_once():
    # S1 pass/fail full 2, 3 points: pass, fail, na      → 2 × (2/4)          = 1.0
    # S2 graded full 3, 2 points: A (3), C (0.99)        → 3 × (3.99/6)       = 1.995
    # S3 deduction full 2, 0.5, cap 2: 0 inst, 3 inst   → 2 × ((2+0.5)/4)    = 1.25
    # S4 pass/fail full 4, 2 points, both na             → not counted (0 of 0)
    # field score 1 + 1.995 + 1.25 = 4.245 of 2 + 3 + 2 = 7 → 0.606428…
    s1, s2, s3, s4 = std("S1", PF, 2), std("S2", GR, 3), std("S3", DE, 2, 0.5, 2), std("S4", PF, 4)
    recs = [
        field_record(s1, ans("pass"), "I1"),
        field_record(s2, ans("A"), "I1"),
        field_record(s1, ans("fail"), "I1"),
        field_record(s3, ans("pass", 0), "I2"),
        field_record(s2, ans("C"), "I1"),
        field_record(s4, ans("na"), "I2"),
        field_record(s1, ans("na"), "I1"),
        field_record(s3, ans("fail", 3), "I2"),
        field_record(s4, ans("na"), "I2"),
    ]
    fs = round_field_score(recs)
    assert fs.score == approx(4.245) and fs.full == approx(7) and fs.rate == approx(4.245 / 7)
    by = {s.code: s for s in fs.by_standard}
    assert [s.code for s in fs.by_standard] == ["S1", "S2", "S3", "S4"]
    assert by["S1"].score == approx(1.0)
    assert by["S2"].score == approx(1.995) and by["S2"].findings == 1
    assert by["S3"].score == approx(1.25)
    assert (by["S4"].full, by["S4"].score, by["S4"].rate, by["S4"].full_marks) == (0, 0, None, 4)
    # the same observations pooled as one group give a different figure (Σ 8.49 / Σ 14): not the field score
    assert group_rate(r.observation for r in recs).rate == approx(8.49 / 14)


def test_veto_zeroes_its_item():
    # I1: V1 pass/fail full 2 veto zero_item, fails at P2 of 2 points → raw 2 × 2/4 = 1.0
    #     S2 graded full 3, A                                         → raw 3
    # I2: S3 pass/fail full 2, pass                                   → 2
    # V1 failed → I1 counts 0 of 5; field 0 + 0 + 2 = 2 of 7
    v1, s2, s3 = std("V1", PF, 2, veto=Veto.zero_item), std("S2", GR, 3), std("S3", PF, 2)
    fs = round_field_score(
        [
            field_record(v1, ans("pass"), "I1", "P1"),
            field_record(v1, ans("fail"), "I1", "P2"),
            field_record(s2, ans("A"), "I1", "P1"),
            field_record(s3, ans("pass"), "I2", "P1"),
        ]
    )
    assert fs.score == approx(2) and fs.full == approx(7) and fs.rate == approx(2 / 7)
    by = {s.code: s for s in fs.by_standard}
    assert by["V1"].vetoed and by["V1"].score == 0 and by["V1"].raw_score == approx(1.0)
    assert by["S2"].vetoed and by["S2"].score == 0 and by["S2"].raw_score == approx(3)
    assert not by["S3"].vetoed and by["S3"].score == approx(2)
    (hit,) = fs.vetoes
    assert (hit.standard_code, hit.item_code, hit.veto, hit.findings, hit.points) == (
        "V1",
        "I1",
        Veto.zero_item,
        1,
        ("P2",),
    )
    assert fs.zeroed_items == ["I1"] and fs.alerts == []


def test_veto_not_triggered_when_it_passes():
    # V1 passes everywhere (na elsewhere): nothing zeroed; field 2 + 3 = 5 of 5
    v1, s2 = std("V1", PF, 2, veto=Veto.zero_item), std("S2", GR, 3)
    fs = round_field_score(
        [field_record(v1, ans("pass"), "I1"), field_record(v1, ans("na"), "I1"), field_record(s2, ans("A"), "I1")]
    )
    assert fs.score == approx(5) and fs.vetoes == [] and fs.zeroed_items == []


def test_alert_is_listed_not_scored():
    # A1 deduction full 2, 0.5, cap 2, veto alert: 1 instance at P1 → 1.5, 0 at P2 → 2 → 2 × 3.5/4 = 1.75
    # S2 pass/fail full 2 pass → 2;  field 3.75 of 4, nothing zeroed
    a1, s2 = std("A1", DE, 2, 0.5, 2, veto=Veto.alert), std("S2", PF, 2)
    fs = round_field_score(
        [
            field_record(a1, ans("fail", 1), "I1", "P1"),
            field_record(a1, ans("pass", 0), "I1", "P2"),
            field_record(s2, ans("pass"), "I1", "P1"),
        ]
    )
    assert fs.score == approx(3.75) and fs.full == approx(4)
    assert fs.vetoes == [] and not any(s.vetoed for s in fs.by_standard)
    (alert,) = fs.alerts
    assert (alert.standard_code, alert.veto, alert.points) == ("A1", Veto.alert, ("P1",))


def test_empty_round():
    fs = round_field_score([])
    assert (fs.score, fs.full, fs.rate, fs.by_standard) == (0, 0, None, [])
    assert group_rate([]).rate is None


@pytest.mark.parametrize(
    "other",
    [
        std("S1", PF, 3),  # other full marks
        std("S1", PF, 2, veto=Veto.alert),  # other veto
    ],
)
def test_inconsistent_standard_in_a_round(other):
    with pytest.raises(ScoringError, match="S1"):
        round_field_score([field_record(std("S1", PF, 2), ans("pass"), "I1"), field_record(other, ans("pass"), "I1")])


def test_inconsistent_item_in_a_round():
    s1 = std("S1", PF, 2)
    with pytest.raises(ScoringError, match="S1"):
        round_field_score([field_record(s1, ans("pass"), "I1"), field_record(s1, ans("pass"), "I2")])


def test_field_record_built_by_hand():
    o = score_observation(std("S1", GR, 3), ans("B"))
    fs = round_field_score([FieldRecord(o, "I1")])
    assert fs.score == approx(1.98) and fs.by_standard[0].item_code == "I1"


# --- property -------------------------------------------------------------------------------------

marks_ = st.floats(min_value=0, max_value=100, allow_nan=False, allow_infinity=False)


@st.composite
def standard_and_answer(draw):
    mode = draw(st.sampled_from(list(ScoringMode)))
    full = draw(marks_)
    if mode is PF:
        s = std(mode=PF, full=full)
        a = ans(draw(st.sampled_from(["pass", "fail", "na"])))
    elif mode is GR:
        s = std(mode=GR, full=full)
        a = ans(draw(st.sampled_from(["A", "B", "C", "D", "na"])))
    else:
        s = std(mode=DE, full=full, per=draw(marks_), cap=draw(marks_))
        n = draw(st.integers(min_value=0, max_value=1000))
        a = ans("na") if draw(st.booleans()) and n == 0 else ans("pass" if n == 0 else "fail", n)
    return s, a


@given(standard_and_answer())
def test_score_between_zero_and_full(pair):
    s, a = pair
    o = score_observation(s, a)
    assert 0 <= o.score <= o.full
    assert o.full == (s.full_marks if o.applicable else 0)
    assert o.failed == (o.applicable and o.score < o.full)
