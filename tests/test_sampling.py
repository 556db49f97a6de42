"""Sampling: drawing points by quota and street, assigning them to inspectors, spreading visits over days."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civeval.models import Category, EvaluationIndex, Item, Method, Point, PointType, Quota, SamplePlan, Standard
from civeval.sampling import (
    NO_STREET,
    DrawnPoint,
    SampleError,
    assign,
    draw,
    imbalance,
    largest_remainder,
    loads,
    visit_dates,
    workload_by_type,
)

STREETS = ["城关街道", "东城街道", "西城街道", "南湖镇", "北山镇"]
TYPES = ["社区", "农贸市场", "主次干道", "背街小巷", "公园广场", "学校周边"]
WORKLOAD = {"社区": 30, "农贸市场": 22, "主次干道": 12, "背街小巷": 10, "公园广场": 9, "学校周边": 7}


def register() -> list[Point]:
    """5 streets × 6 types of uneven sizes (4–12 per cell), every 7th point inactive, plus 3 points without a street."""
    points: list[Point] = []
    n = 0
    for i, street in enumerate(STREETS):
        for j, point_type in enumerate(TYPES):
            for _ in range(4 + (3 * i + 5 * j) % 9):
                n += 1
                points.append(
                    Point(code=f"P{n:04d}", name=f"点位{n}", point_type=point_type, street=street, active=n % 7 != 0)
                )
    for k in range(3):
        points.append(Point(code=f"Q{k:03d}", name=f"无街道{k}", point_type="背街小巷"))
    return points


def plan(*quotas: Quota, seed: int = 7, **kw) -> SamplePlan:
    return SamplePlan(quotas=list(quotas), seed=seed, **kw)


def pts(spec: dict[str | None, int], point_type: str = "农贸市场", prefix: str = "M") -> list[Point]:
    out: list[Point] = []
    for street, n in spec.items():
        tag = street or "none"
        out += [Point(code=f"{prefix}-{tag}-{k:02d}", name="p", point_type=point_type, street=street) for k in range(n)]
    return out


def eligible_count(points: list[Point], point_type: str) -> int:
    return sum(1 for p in points if p.active and p.point_type == point_type)


REALISTIC_QUOTAS = (
    Quota(point_type="社区", count=20),
    Quota(point_type="农贸市场", count=8),
    Quota(point_type="主次干道", count=15),
    Quota(point_type="背街小巷", count=20),
    Quota(point_type="公园广场", count=7),
    Quota(point_type="学校周边", count=8),
)


# --- draw ----------------------------------------------------------------------------------------------------


def test_quota_by_count_draws_that_many_active_points_of_the_type():
    points = register()
    result = draw(points, plan(Quota(point_type="社区", count=12), Quota(point_type="公园广场", count=5)))
    assert result.counts_by_type() == {"社区": 12, "公园广场": 5}
    active = {p.code for p in points if p.active}
    assert all(d.code in active for d in result.points)
    assert result.warnings == []


def test_quota_by_share_rounds_half_up_and_draws_at_least_one():
    points = pts({"A": 6, "B": 4})  # 10 eligible
    assert draw(points, plan(Quota(point_type="农贸市场", share=0.25))).counts_by_type() == {"农贸市场": 3}  # 2.5 → 3
    assert draw(points, plan(Quota(point_type="农贸市场", share=0.01))).counts_by_type() == {"农贸市场": 1}
    assert draw(points, plan(Quota(point_type="农贸市场", share=0))).points == []
    assert len(draw(points, plan(Quota(point_type="农贸市场", share=1))).points) == 10

    big = register()
    result = draw(big, plan(Quota(point_type="社区", share=0.3)))
    assert len(result.points) == int(eligible_count(big, "社区") * 0.3 + 0.5)


def test_allocation_across_streets_is_largest_remainder():
    # 4 over 7/5/3: exact shares 1.867 / 1.333 / 0.8 → floors 1/1/0, the 2 left go to A (.867) then C (.8).
    points = pts({"A街道": 7, "B街道": 5, "C街道": 3})
    result = draw(points, plan(Quota(point_type="农贸市场", count=4)))
    by_street = Counter(p.street for p in result.points)
    assert by_street == {"A街道": 2, "B街道": 1, "C街道": 1}
    assert [(s.street, s.eligible, s.drawn) for s in result.strata] == [
        ("A街道", 7, 2),
        ("B街道", 5, 1),
        ("C街道", 3, 1),
    ]
    assert {p.stratum for p in result.points} == {"农贸市场 × A街道", "农贸市场 × B街道", "农贸市场 × C街道"}


def test_largest_remainder_breaks_ties_by_name_and_never_exceeds_a_weight():
    assert largest_remainder(2, {"乙": 3, "甲": 3, "丙": 3}) == {
        "丙": 1,
        "乙": 1,
        "甲": 0,
    }  # 丙 < 乙 < 甲 by code point
    assert largest_remainder(10, {"a": 1, "b": 9}) == {"a": 1, "b": 9}
    assert largest_remainder(0, {"a": 0}) == {"a": 0}
    assert sum(largest_remainder(17, {"a": 5, "b": 11, "c": 2, "d": 0}).values()) == 17


def test_points_without_a_street_form_their_own_stratum():
    points = pts({"A街道": 4, None: 4})
    result = draw(points, plan(Quota(point_type="农贸市场", count=8)))
    assert [s.label for s in result.strata] == ["农贸市场 × A街道", f"农贸市场 × {NO_STREET}"]
    assert result.points[-1].street is None  # streets by name, no street last


def test_draw_is_sorted_by_street_type_code():
    result = draw(register(), plan(*REALISTIC_QUOTAS))
    key = [(p.street is None, p.street or "", p.point_type, p.code) for p in result.points]
    assert key == sorted(key)


def test_same_points_in_any_order_same_plan_same_draw():
    points = register()
    shuffled = list(points)
    random.Random(1).shuffle(shuffled)
    p = plan(*REALISTIC_QUOTAS, seed=42)
    first = draw(points, p)
    assert draw(shuffled, p) == first
    assert draw(points, p) == first
    assert draw(points, plan(*REALISTIC_QUOTAS, seed=43)).codes != first.codes


def test_adding_a_point_in_one_street_leaves_the_other_streets_alone():
    points = pts({"A街道": 10, "B街道": 10})
    p = plan(Quota(point_type="农贸市场", count=4))
    before = draw(points, p)
    after = draw([*points, Point(code="M-A街道-99", name="新", point_type="农贸市场", street="A街道")], p)
    in_b = lambda d: [x.code for x in d.points if x.street == "B街道"]
    assert len(in_b(before)) == 2 and in_b(after) == in_b(before)  # 4×11/21 = 2.10, 4×10/21 = 1.90 → still 2 / 2


def test_raising_a_quota_only_adds_points():
    points = pts({"A街道": 12})
    small = set(draw(points, plan(Quota(point_type="农贸市场", count=3))).codes)
    large = set(draw(points, plan(Quota(point_type="农贸市场", count=6))).codes)
    assert small < large


def test_recently_drawn_points_are_left_out_only_when_the_plan_says_so():
    points = pts({"A街道": 6})
    recent = {"M-A街道-00", "M-A街道-01", "M-A街道-02"}
    q = Quota(point_type="农贸市场", count=6)
    excluded = draw(points, plan(q, exclude_last_rounds=2), recently_drawn=recent)
    assert set(excluded.codes).isdisjoint(recent) and len(excluded.points) == 3
    assert "少抽 3 个" in excluded.warnings[0]
    assert len(draw(points, plan(q), recently_drawn=recent).points) == 6  # exclude_last_rounds = 0


def test_streets_limit_the_draw():
    points = register()
    result = draw(points, plan(Quota(point_type="社区", share=1), streets=["东城街道", "南湖镇", "无此街道"]))
    assert {p.street for p in result.points} == {"东城街道", "南湖镇"}
    assert any("无此街道" in w for w in result.warnings)


def test_inactive_points_are_never_drawn():
    points = register()
    result = draw(points, plan(*(Quota(point_type=t, share=1) for t in TYPES)))
    assert len(result.points) == sum(p.active for p in points)


def test_fixed_points_are_included_marked_and_counted_against_the_quota():
    points = pts({"A街道": 6, "B街道": 6}) + pts({"A街道": 2}, point_type="医院", prefix="H")
    fixed = ["M-A街道-03", "M-B街道-05", "H-A街道-01"]  # the hospital has no quota: included all the same
    result = draw(points, plan(Quota(point_type="农贸市场", count=5), fixed_points=fixed), recently_drawn=set(fixed))
    assert result.counts_by_type() == {"农贸市场": 5, "医院": 1}
    assert {p.code for p in result.points if p.fixed} == set(fixed)
    assert sum(s.fixed for s in result.strata) == 3
    # more fixed points than the quota: all kept, with a warning
    over = draw(points, plan(Quota(point_type="农贸市场", count=1), fixed_points=fixed[:2]))
    assert over.counts_by_type() == {"农贸市场": 2} and "固定点位 2 个" in over.warnings[0]


def test_fixed_points_are_drawn_even_when_recently_drawn_or_outside_the_streets():
    points = pts({"A街道": 3, "B街道": 3})
    p = plan(
        Quota(point_type="农贸市场", count=2), streets=["A街道"], exclude_last_rounds=1, fixed_points=["M-B街道-00"]
    )
    result = draw(points, p, recently_drawn={"M-B街道-00", "M-A街道-00"})
    assert "M-B街道-00" in result.codes and "M-A街道-00" not in result.codes
    assert len(result.points) == 2


def test_shortfall_is_warned_in_chinese():
    points = pts({"A街道": 2, "B街道": 1})
    result = draw(points, plan(Quota(point_type="农贸市场", count=5)))
    assert len(result.points) == 3
    assert result.warnings == ["「农贸市场」计划抽取 5 个点位，符合条件的只有 3 个，少抽 2 个"]
    # a type whose points are all filtered out is short by the whole quota
    result = draw(points, plan(Quota(point_type="农贸市场", count=2), streets=["C街道"]))
    assert result.points == [] and "少抽 2 个" in result.warnings[-1]


def test_impossible_plans_are_refused_with_every_reason():
    points = register()
    points[0] = points[0].model_copy(update={"active": False})
    with pytest.raises(SampleError) as err:
        draw(points, plan(Quota(point_type="医院", count=2), fixed_points=["NOPE", points[0].code]))
    message = str(err.value)
    assert "点位类型「医院」在点位库中没有点位" in message
    assert "固定点位「NOPE」不在点位库中" in message
    assert f"固定点位「{points[0].code}" in message and "已停用" in message
    with pytest.raises(SampleError, match="配额重复"):
        draw(points, plan(Quota(point_type="社区", count=1), Quota(point_type="社区", share=0.5)))
    with pytest.raises(SampleError, match="编码重复"):
        draw([*points, points[1]], plan(Quota(point_type="社区", count=1)))


# --- property: every drawn point is eligible, no duplicates, counts equal the capped targets -------------------

point_strategy = st.tuples(
    st.sampled_from(["社区", "农贸市场", "医院"]),
    st.sampled_from(["A", "B", "C", None]),
    st.booleans(),  # active
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(point_strategy, min_size=1, max_size=40),
    counts=st.dictionaries(st.sampled_from(["社区", "农贸市场", "医院"]), st.integers(0, 15), min_size=1),
    shares=st.booleans(),
    seed=st.integers(0, 10**6),
    exclude=st.sets(st.integers(0, 39), max_size=10),
    fixed=st.sets(st.integers(0, 39), max_size=4),
    streets=st.lists(st.sampled_from(["A", "B", "C"]), max_size=2, unique=True),
)
def test_property_draw(specs, counts, shares, seed, exclude, fixed, streets):
    points = [Point(code=f"X{i:02d}", name="p", point_type=t, street=s, active=a) for i, (t, s, a) in enumerate(specs)]
    types = {p.point_type for p in points}
    quotas = [
        Quota(point_type=t, share=min(1.0, c / 15)) if shares else Quota(point_type=t, count=c)
        for t, c in counts.items()
        if t in types
    ]
    if not quotas:
        return
    fixed_codes = [points[i].code for i in sorted(fixed) if i < len(points) and points[i].active]
    recent = {points[i].code for i in exclude if i < len(points)}
    p = SamplePlan(quotas=quotas, seed=seed, streets=streets, exclude_last_rounds=1, fixed_points=fixed_codes)
    result = draw(points, p, recently_drawn=recent)

    assert len(result.codes) == len(set(result.codes))
    by_code = {x.code: x for x in points}
    quota_types = {q.point_type for q in quotas}
    for d in result.points:
        x = by_code[d.code]
        assert d.fixed == (d.code in fixed_codes)
        if not d.fixed:
            assert x.active and x.point_type in quota_types and d.code not in recent
            assert not streets or x.street in streets
    assert set(fixed_codes) <= set(result.codes)
    counts_drawn = result.counts_by_type()
    for q in quotas:
        pool = [
            x
            for x in points
            if x.code in fixed_codes
            or (
                x.active
                and x.point_type == q.point_type
                and x.code not in recent
                and (not streets or x.street in streets)
            )
        ]
        pool = [x for x in pool if x.point_type == q.point_type]
        n_fixed = sum(1 for x in pool if x.code in fixed_codes)
        if q.count is not None:
            wanted = q.count
        else:  # a share of nothing is nothing; otherwise half up, at least one
            wanted = max(1, int(q.share * len(pool) + 0.5)) if q.share and pool else 0
        assert counts_drawn.get(q.point_type, 0) == max(n_fixed, min(wanted, len(pool)))
        short = [w for w in result.warnings if w.startswith(f"「{q.point_type}」计划抽取")]
        assert len(short) == (wanted > len(pool))
    assert sum(s.drawn for s in result.strata) == len(result.points)
    # deterministic whatever the input order
    assert draw(list(reversed(points)), p, recently_drawn=recent) == result


# --- assign --------------------------------------------------------------------------------------------------


def dp(code: str, street: str | None, point_type: str = "社区") -> DrawnPoint:
    return DrawnPoint(code=code, point_type=point_type, street=street)


def street_points(sizes: dict[str, int], point_type: str = "社区") -> list[DrawnPoint]:
    return [dp(f"{s}-{k:02d}", s, point_type) for s, n in sizes.items() for k in range(n)]


def weight(p: DrawnPoint) -> int:
    return WORKLOAD.get(p.point_type, 10)


def code_weights(points: list[DrawnPoint]) -> dict[str, int]:
    return {p.code: weight(p) for p in points}


def streets_of(assignment: dict[str, list[str]], points: list[DrawnPoint]) -> dict[str, set[str | None]]:
    street = {p.code: p.street for p in points}
    return {name: {street[c] for c in codes} for name, codes in assignment.items()}


def assert_each_point_once(assignment: dict[str, list[str]], points: list[DrawnPoint]) -> None:
    every = [c for codes in assignment.values() for c in codes]
    assert sorted(every) == sorted(p.code for p in points)


def test_assign_keeps_streets_together_when_they_balance():
    points = street_points({"甲": 4, "乙": 4, "丙": 3, "丁": 3, "戊": 2, "己": 2})
    result = assign(points, ["张", "李", "王"], workload=weight)
    assert_each_point_once(result, points)
    owners = Counter(s for streets in streets_of(result, points).values() for s in streets)
    assert all(n == 1 for n in owners.values())  # every street with one inspector
    assert imbalance(result, code_weights(points)) == pytest.approx(1.0)
    assert loads(result, code_weights(points)) == {"张": 180, "李": 180, "王": 180}


def test_assign_splits_an_oversized_street_into_runs_of_consecutive_points():
    points = street_points({"大街道": 30, "小街道1": 5, "小街道2": 5})
    result = assign(points, ["A", "B", "C", "D"], workload=weight)
    assert_each_point_once(result, points)
    holders = [name for name, codes in result.items() if any(c.startswith("大街道") for c in codes)]
    assert len(holders) >= 3
    ordered = [p.code for p in points if p.street == "大街道"]
    for name in holders:
        mine = [c for c in result[name] if c.startswith("大街道")]
        first = ordered.index(mine[0])
        assert mine == ordered[first : first + len(mine)]  # a run of consecutive codes
    assert imbalance(result, code_weights(points)) <= 1.25
    owners = Counter(s for streets in streets_of(result, points).values() for s in streets)
    assert owners["小街道1"] == 1 and owners["小街道2"] == 1


def test_assign_balances_a_realistic_round_78_points_6_inspectors():
    result_draw = draw(register(), plan(*REALISTIC_QUOTAS, seed=2019))
    points = result_draw.points
    assert len(points) == 78
    inspectors = [f"第{i}组" for i in range(1, 7)]
    result = assign(points, inspectors, workload=weight)
    assert_each_point_once(result, points)
    assert imbalance(result, code_weights(points)) <= 1.3
    # streets stay mostly together: far fewer (inspector, street) pairs than points
    pairs = sum(len(s) for s in streets_of(result, points).values())
    assert pairs <= len(STREETS) + len(inspectors) + 2
    # deterministic, and independent of the order the points come in
    assert assign(list(reversed(points)), inspectors, workload=weight) == result


def test_assign_with_fewer_streets_than_inspectors_still_balances():
    points = street_points({"甲": 13, "乙": 13, "丙": 13, "丁": 13, "戊": 13})
    result = assign(points, list("ABCDEF"), workload=weight)
    assert_each_point_once(result, points)
    assert imbalance(result, code_weights(points)) <= 1.3


def test_assign_refuses_no_inspectors_and_handles_edge_cases():
    with pytest.raises(SampleError, match="至少需要一名测评员"):
        assign(street_points({"甲": 2}), [], workload=weight)
    with pytest.raises(SampleError, match="重复"):
        assign(street_points({"甲": 2}), ["A", "A"], workload=weight)
    assert assign([], ["A", "B"], workload=weight) == {"A": [], "B": []}
    one = assign(street_points({"甲": 1}), ["A", "B"], workload=weight)
    assert one == {"A": ["甲-00"], "B": []}
    assert imbalance(one, code_weights(street_points({"甲": 1}))) == float("inf")
    zero = assign(street_points({"甲": 4}), ["A", "B"], workload=lambda p: 0)
    assert sorted(len(v) for v in zero.values()) == [2, 2]  # no standards at all: balanced by point count


# --- visit dates ---------------------------------------------------------------------------------------------


def day_counts(dates: dict[str, date], codes: list[str], start: date, end: date) -> list[int]:
    counter = Counter(dates[c] for c in codes)
    return [counter.get(start + timedelta(days=i), 0) for i in range((end - start).days + 1)]


def test_visit_dates_spread_each_inspectors_points_evenly_within_the_round():
    points = draw(register(), plan(*REALISTIC_QUOTAS, seed=5)).points
    assignment = assign(points, [f"第{i}组" for i in range(1, 7)], workload=weight)
    start, end = date(2025, 6, 2), date(2025, 6, 6)
    streets = {p.code: p.street for p in points}
    dates = visit_dates(assignment, start, end, seed=9, streets=streets)
    assert set(dates) == {p.code for p in points}
    assert all(start <= d <= end for d in dates.values())
    for codes in assignment.values():
        counts = day_counts(dates, codes, start, end)
        assert max(counts) - min(counts) <= 1
    assert visit_dates(assignment, start, end, seed=9, streets=streets) == dates
    assert visit_dates(assignment, start, end, seed=10, streets=streets) != dates


def test_visit_dates_keep_a_street_on_one_day_when_the_counts_allow():
    assignment = {"张": ["甲-1", "甲-2", "甲-3", "乙-1", "乙-2", "乙-3"]}
    streets = {c: c.split("-")[0] for c in assignment["张"]}
    dates = visit_dates(assignment, date(2025, 6, 2), date(2025, 6, 3), seed=1, streets=streets)
    assert len({dates[c] for c in assignment["张"][:3]}) == 1
    assert len({dates[c] for c in assignment["张"][3:]}) == 1
    # 2 + 2 + 1 over 2 days: sizes 3/2, street of 2 and the street of 1 share a day
    assignment = {"张": ["甲-1", "甲-2", "乙-1", "乙-2", "丙-1"]}
    streets = {c: c.split("-")[0] for c in assignment["张"]}
    dates = visit_dates(assignment, date(2025, 6, 2), date(2025, 6, 3), seed=3, streets=streets)
    assert dates["甲-1"] == dates["甲-2"] and dates["乙-1"] == dates["乙-2"]


def test_visit_dates_with_fewer_points_than_days_use_distinct_days_and_refuse_backward_ranges():
    dates = visit_dates({"张": ["a", "b", "c"]}, date(2025, 6, 1), date(2025, 6, 10), seed=0)
    assert len(set(dates.values())) == 3
    weekdays = visit_dates({"张": list("abcdefgh")}, date(2025, 6, 2), date(2025, 6, 8), seed=0, skip_weekends=True)
    assert all(d.weekday() < 5 for d in weekdays.values())
    with pytest.raises(SampleError, match="早于开始日期"):
        visit_dates({"张": ["a"]}, date(2025, 6, 2), date(2025, 6, 1), seed=0)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 9), min_size=1, max_size=6),
    days=st.integers(1, 9),
    inspectors=st.integers(1, 4),
    seed=st.integers(0, 1000),
)
def test_property_assign_and_dates(sizes, days, inspectors, seed):
    points = [dp(f"S{i}-{k}", f"街道{i}", TYPES[(i + k) % len(TYPES)]) for i, n in enumerate(sizes) for k in range(n)]
    names = [f"组{i}" for i in range(inspectors)]
    assignment = assign(points, names, workload=weight)
    assert_each_point_once(assignment, points)
    start = date(2025, 1, 1)
    end = start + timedelta(days=days - 1)
    dates = visit_dates(assignment, start, end, seed=seed, streets={p.code: p.street for p in points})
    for codes in assignment.values():
        counts = day_counts(dates, codes, start, end)
        assert max(counts) - min(counts) <= 1


# --- workload ------------------------------------------------------------------------------------------------


def test_workload_by_type_counts_field_standards_per_point_type():
    def std(code: str, methods: list[Method], types: list[str]) -> Standard:
        return Standard(code=code, text="t", methods=methods, full_marks=1, point_types=types)

    index = EvaluationIndex(
        name="测试",
        version="1",
        year=2025,
        point_types=[PointType(code="T1", name="社区"), PointType(code="T2", name="医院")],
        categories=[
            Category(
                code="I",
                name="公共环境",
                items=[
                    Item(
                        code="I-1",
                        name="环境卫生",
                        standards=[
                            std("1", [Method.field], ["社区", "农贸市场"]),
                            std("2", [Method.field, Method.materials], ["社区", "社区"]),
                            std("3", [Method.materials], []),
                            std("4", [Method.survey], []),
                        ],
                    )
                ],
            )
        ],
    )
    assert workload_by_type(index) == {"社区": 2, "医院": 0, "农贸市场": 1}
