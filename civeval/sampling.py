"""Drawing the points of a round (抽样), sharing them among inspectors (分组) and spreading visits over days.

Pure functions: the round service loads the register and the plan, calls these, and stores what they return.

Drawing (``draw``):

- A point is eligible when it is active, its point type has a quota, it lies in one of ``plan.streets`` (when that
  list is not empty) and, when ``plan.exclude_last_rounds > 0``, it is not among ``recently_drawn`` (the codes the
  caller found in the last N rounds).
- Fixed points (``plan.fixed_points``) are always drawn, whatever the filters, and count against their type's quota:
  a quota of 5 with 2 fixed points draws 3 more. A type's eligible points include its fixed points.
- Target per type: the quota's count, or its share of the type's eligible points rounded half up (四舍五入; a share
  above 0 draws at least one point when any is eligible); capped at the eligible points, with a warning.
- Stratified by street: the points still to draw are shared among the streets in proportion to each street's
  eligible points not yet drawn (largest-remainder method; equal remainders go to the street whose name sorts
  first); points without a street form their own stratum (未指定街道).
- Within a stratum the candidates, sorted by code, are shuffled by ``random.Random(f"{seed}:{type}:{street}")`` and
  the first ones taken. So the draw does not depend on the order of the input; a change in one street leaves the
  other streets' draws as they were (as long as their allocations are unchanged); and raising a quota only adds
  points.

Assigning (``assign``): whole streets go, largest workload first, to the least-loaded inspector; a street whose
workload exceeds 1.25 × the fair share (total / inspectors) is first cut into runs of consecutive points (by code)
of about one fair share each. When few streets still leave loads uneven (max/min above 1.25), points are moved from
the most to the least loaded inspector: a whole street where one fits, else the last points (by code) of a street,
until the loads are within 1.25 of each other or no move helps.

Visit dates (``visit_dates``): each inspector's points are split over the days of the round so that day counts
differ by at most one, cutting the inspector's route (streets in a seeded order, points by code) where streets
change whenever the counts allow; the runs are then given to days in a seeded order.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from civeval.models import EvaluationIndex, Point, Quota, SamplePlan

NO_STREET = "未指定街道"
# A street heavier than this many fair shares is cut up; loads within this ratio of each other are balanced enough.
SPLIT_FACTOR = 1.25
BALANCE_TOLERANCE = 1.25


class SampleError(ValueError):
    """A plan that cannot be drawn, or an assignment that cannot be made (message in Chinese, for the user)."""


@dataclass(frozen=True)
class DrawnPoint:
    code: str
    point_type: str
    street: str | None
    fixed: bool = False
    stratum: str = ""  # e.g. "农贸市场 × 城关街道"
    name: str = ""


@dataclass(frozen=True)
class StratumSummary:
    point_type: str
    street: str | None
    eligible: int  # eligible points of this type in this street, fixed ones included
    drawn: int  # points drawn, fixed ones included
    fixed: int = 0

    @property
    def label(self) -> str:
        return stratum_label(self.point_type, self.street)


@dataclass
class Draw:
    points: list[DrawnPoint] = field(default_factory=list)
    strata: list[StratumSummary] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.points]

    def counts_by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.points:
            counts[p.point_type] = counts.get(p.point_type, 0) + 1
        return counts


def street_label(street: str | None) -> str:
    return street if street else NO_STREET


def stratum_label(point_type: str, street: str | None) -> str:
    return f"{point_type} × {street_label(street)}"


def _street_key(street: str | None) -> tuple[bool, str]:
    """Streets by name, points without a street last."""
    return (not street, street or "")


def largest_remainder(total: int, weights: Mapping[Hashable, int], *, key: Callable | None = None) -> dict:
    """Share ``total`` among ``weights`` in proportion (Hamilton's largest-remainder method).

    Each gets floor(total × w / Σw); the units left over go one each to the largest remainders, equal remainders
    broken by ``key`` (default: the keys themselves, ascending). Exact integer arithmetic; no one gets more than
    its weight when ``total`` ≤ Σw.
    """
    if total < 0 or any(w < 0 for w in weights.values()):
        raise ValueError("分配数量和权重不能为负")
    whole = sum(weights.values())
    if whole == 0:
        if total:
            raise ValueError("权重全为零，无法分配")
        return dict.fromkeys(weights, 0)
    shares = {k: divmod(total * w, whole) for k, w in weights.items()}
    result = {k: q for k, (q, _) in shares.items()}
    left = total - sum(result.values())
    tie = key or (lambda k: k)
    order = sorted(weights, key=lambda k: (-shares[k][1], tie(k)))
    for k in order[:left]:
        result[k] += 1
    return result


def _share_target(share: float, eligible: int) -> int:
    if eligible == 0 or share <= 0:
        return 0
    n = int((Decimal(str(share)) * eligible).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return max(1, n)


def draw(points: Sequence[Point], plan: SamplePlan, *, recently_drawn: AbstractSet[str] = frozenset()) -> Draw:
    """Draw the points of a round from the register ``points`` following ``plan`` (see the module docstring)."""
    by_code: dict[str, Point] = {}
    errors: list[str] = []
    for p in points:
        if p.code in by_code:
            errors.append(f"点位编码重复：{p.code}")
        by_code[p.code] = p
    register_types = {p.point_type for p in points}

    quota_of: dict[str, Quota] = {}
    for q in plan.quotas:
        if q.point_type in quota_of:
            errors.append(f"点位类型「{q.point_type}」的配额重复")
        elif q.point_type not in register_types:
            errors.append(f"点位类型「{q.point_type}」在点位库中没有点位，无法抽取")
        quota_of[q.point_type] = q

    fixed_codes = list(dict.fromkeys(plan.fixed_points))
    for code in fixed_codes:
        p = by_code.get(code)
        if p is None:
            errors.append(f"固定点位「{code}」不在点位库中")
        elif not p.active:
            errors.append(f"固定点位「{code}（{p.name}）」已停用，不能抽取")
    if errors:
        raise SampleError("；".join(dict.fromkeys(errors)))

    warnings: list[str] = []
    streets = set(plan.streets)
    if streets:
        known = {street_label(p.street) for p in points}
        warnings += [f"抽样范围中的街道「{s}」在点位库中没有点位" for s in plan.streets if s not in known]
    excluded = set(recently_drawn) if plan.exclude_last_rounds > 0 else set()
    fixed = set(fixed_codes)

    def eligible(p: Point) -> bool:
        return (
            p.active
            and p.point_type in quota_of
            and (not streets or street_label(p.street) in streets)
            and p.code not in excluded
        )

    # Pools per type, then per street: eligible points plus fixed points (always drawn, quota or not).
    pools: dict[str, dict[str | None, list[Point]]] = {}
    for p in sorted(by_code.values(), key=lambda p: p.code):
        if p.code in fixed or eligible(p):
            pools.setdefault(p.point_type, {}).setdefault(p.street, []).append(p)

    drawn: list[DrawnPoint] = []
    strata: list[StratumSummary] = []
    for point_type in sorted(set(pools) | set(quota_of)):
        by_street = pools.get(point_type, {})
        pool_size = sum(len(ps) for ps in by_street.values())
        n_fixed = sum(1 for ps in by_street.values() for p in ps if p.code in fixed)
        quota = quota_of.get(point_type)
        if quota is None:
            target = n_fixed
        else:
            wanted = quota.count if quota.count is not None else _share_target(quota.share, pool_size)
            target = min(wanted, pool_size)
            if wanted > pool_size:
                short = wanted - pool_size
                warnings.append(
                    f"「{point_type}」计划抽取 {wanted} 个点位，符合条件的只有 {pool_size} 个，少抽 {short} 个"
                )
            if n_fixed > target:
                warnings.append(f"「{point_type}」固定点位 {n_fixed} 个，多于配额 {target} 个，已全部纳入")
        candidates = {s: [p for p in ps if p.code not in fixed] for s, ps in by_street.items()}
        allocation = largest_remainder(
            max(0, target - n_fixed), {s: len(c) for s, c in candidates.items()}, key=_street_key
        )
        for street in sorted(by_street, key=_street_key):
            label = stratum_label(point_type, street)
            rng = random.Random(f"{plan.seed}:{point_type}:{street_label(street)}")
            shuffled = list(candidates[street])
            rng.shuffle(shuffled)
            chosen = [p for p in by_street[street] if p.code in fixed] + shuffled[: allocation[street]]
            drawn += [DrawnPoint(p.code, p.point_type, p.street, p.code in fixed, label, p.name) for p in chosen]
            strata.append(
                StratumSummary(
                    point_type,
                    street,
                    eligible=len(by_street[street]),
                    drawn=len(chosen),
                    fixed=len(by_street[street]) - len(candidates[street]),
                )
            )
    drawn.sort(key=lambda d: (_street_key(d.street), d.point_type, d.code))
    strata.sort(key=lambda s: (_street_key(s.street), s.point_type))
    return Draw(points=drawn, strata=strata, warnings=warnings)


# --- assigning points to inspectors --------------------------------------------------------------------------


@dataclass
class _Unit:
    street: str | None
    points: list[DrawnPoint]
    load: int


def assign(
    drawn: Sequence[DrawnPoint], inspectors: Sequence[str], *, workload: Callable[[DrawnPoint], int]
) -> dict[str, list[str]]:
    """Share the drawn points among inspectors (or teams), balancing the standards to check and keeping streets
    together (see the module docstring). Returns inspector → point codes, by street then code."""
    if not inspectors:
        raise SampleError("至少需要一名测评员（或测评组）才能分配点位")
    if len(set(inspectors)) != len(inspectors):
        raise SampleError(
            "测评员名单中有重复：" + "、".join(sorted({i for i in inspectors if inspectors.count(i) > 1}))
        )
    codes = [p.code for p in drawn]
    if len(set(codes)) != len(codes):
        raise SampleError("待分配的点位编码重复：" + "、".join(sorted({c for c in codes if codes.count(c) > 1})))
    weight = {p.code: workload(p) for p in drawn}
    if any(w < 0 for w in weight.values()):
        raise SampleError("点位工作量不能为负")
    if not any(weight.values()):  # nothing to weigh by: balance the number of points
        weight = dict.fromkeys(weight, 1)

    k = len(inspectors)
    fair = sum(weight.values()) / k
    streets: dict[str | None, list[DrawnPoint]] = {}
    for p in sorted(drawn, key=lambda p: (_street_key(p.street), p.code)):
        streets.setdefault(p.street, []).append(p)

    units: list[_Unit] = []
    for street, ps in streets.items():
        load = sum(weight[p.code] for p in ps)
        if load > fair * SPLIT_FACTOR:
            units += [_Unit(street, chunk, sum(weight[p.code] for p in chunk)) for chunk in _chunks(ps, weight, fair)]
        else:
            units.append(_Unit(street, ps, load))

    holding: list[list[DrawnPoint]] = [[] for _ in inspectors]
    totals = [0] * k
    units.sort(key=lambda u: (-u.load, -len(u.points), _street_key(u.street), u.points[0].code))
    for u in units:
        i = min(range(k), key=lambda i: (totals[i], len(holding[i]), i))
        holding[i] += u.points
        totals[i] += u.load

    _rebalance(holding, totals, weight, limit=4 * len(drawn) + 10)
    return {
        name: [p.code for p in sorted(ps, key=lambda p: (_street_key(p.street), p.code))]
        for name, ps in zip(inspectors, holding, strict=True)
    }


def _chunks(points: list[DrawnPoint], weight: Mapping[str, int], size: float) -> list[list[DrawnPoint]]:
    """Cut points (in order) into consecutive runs whose loads come as close to ``size`` as they can."""
    chunks: list[list[DrawnPoint]] = []
    current: list[DrawnPoint] = []
    load = 0
    for p in points:
        w = weight[p.code]
        if current and abs(load + w - size) > abs(load - size):
            chunks.append(current)
            current, load = [], 0
        current.append(p)
        load += w
    if current:
        chunks.append(current)
    return chunks


def _balanced(totals: list[int]) -> bool:
    low, high = min(totals), max(totals)
    return high == 0 or (low > 0 and high / low <= BALANCE_TOLERANCE)


def _rebalance(holding: list[list[DrawnPoint]], totals: list[int], weight: Mapping[str, int], *, limit: int) -> None:
    """Move points from the most to the least loaded inspector while that narrows the gap (each move strictly
    lowers Σ load², so this ends); prefer whole streets, then the last points (by code) of a street."""
    k = len(totals)
    for _ in range(limit):
        if k < 2 or _balanced(totals):
            return
        hi = max(range(k), key=lambda i: (totals[i], -i))
        lo = min(range(k), key=lambda i: (totals[i], i))
        gap = totals[hi] - totals[lo]
        lo_streets = {p.street for p in holding[lo]}
        groups: dict[str | None, list[DrawnPoint]] = {}
        for p in sorted(holding[hi], key=lambda p: (_street_key(p.street), p.code)):
            groups.setdefault(p.street, []).append(p)
        best: tuple | None = None
        for street, ps in groups.items():
            moved = 0
            for t in range(1, len(ps) + 1):  # the last t points of this street
                moved += weight[ps[-t].code]
                if moved >= gap:
                    break
                if moved == 0:
                    continue
                whole = t == len(ps)
                rank = (abs(2 * moved - gap), not whole, street not in lo_streets, _street_key(street), t)
                if best is None or rank < best[0]:
                    best = (rank, ps[-t:], moved)
        if best is None:
            return
        _, move, moved = best
        codes = {p.code for p in move}
        holding[hi][:] = [p for p in holding[hi] if p.code not in codes]
        holding[lo] += move
        totals[hi] -= moved
        totals[lo] += moved


def loads(assignment: Mapping[str, Sequence[str]], workload: Mapping[str, int] | Callable[[str], int]) -> dict:
    """Each inspector's total workload; ``workload`` maps a point code to its workload (``{p.code: w(p)}``)."""
    get = workload if callable(workload) else workload.__getitem__
    return {name: sum(get(c) for c in codes) for name, codes in assignment.items()}


def imbalance(assignment: Mapping[str, Sequence[str]], workload: Mapping[str, int] | Callable[[str], int]) -> float:
    """Most loaded / least loaded inspector (1.0 = even; inf when someone has nothing while others have work)."""
    values = list(loads(assignment, workload).values())
    if not values or max(values) == 0:
        return 1.0
    if min(values) == 0:
        return math.inf
    return max(values) / min(values)


# --- visit dates ---------------------------------------------------------------------------------------------


def round_days(start: date, end: date, *, skip_weekends: bool = False) -> list[date]:
    if end < start:
        raise SampleError(f"结束日期（{end:%Y-%m-%d}）早于开始日期（{start:%Y-%m-%d}）")
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    if skip_weekends:
        days = [d for d in days if d.weekday() < 5]
        if not days:
            raise SampleError("测评期间没有工作日")
    return days


def visit_dates(
    assignment: Mapping[str, Sequence[str]],
    start: date,
    end: date,
    *,
    seed: int | str,
    streets: Mapping[str, str | None] | None = None,
    skip_weekends: bool = False,
) -> dict[str, date]:
    """A visit date for every assigned point (code → date), for unannounced rounds.

    Each inspector's points are spread over the days from ``start`` to ``end`` (inclusive; weekdays only with
    ``skip_weekends``) so that the inspector's day counts differ by at most one, and a street's points share a day
    where the counts allow. ``streets`` (code → street) tells where streets change; without it the order of the
    assignment's lists (``assign`` lists points by street) is kept and cut into even runs. Deterministic for
    ``seed``.
    """
    days = round_days(start, end, skip_weekends=skip_weekends)
    result: dict[str, date] = {}
    for inspector, codes in assignment.items():
        if not codes:
            continue
        rng = random.Random(f"{seed}:{inspector}")
        if streets is None:
            route = list(codes)
            street_of = dict.fromkeys(route)
        else:
            street_of = {c: streets.get(c) for c in codes}
            groups: dict[str | None, list[str]] = {}
            for c in sorted(codes):
                groups.setdefault(street_of[c], []).append(c)
            order = sorted(groups, key=_street_key)
            rng.shuffle(order)
            route = [c for s in order for c in groups[s]]
        runs = _even_runs(route, [street_of[c] for c in route], len(days))
        rng.shuffle(runs)
        for day, run in zip(days, runs, strict=True):
            for c in run:
                result[c] = day
    return result


def _even_runs(route: list[str], street: list[str | None], d: int) -> list[list[str]]:
    """Cut ``route`` into ``d`` consecutive runs of ⌊n/d⌋ or ⌈n/d⌉ items, with as few (run, street) pairs as can be
    (dynamic programming over how many long runs have been used)."""
    n = len(route)
    q, r = divmod(n, d)
    # change[i] = number of street changes between positions < i; distinct streets in route[a:b] = 1 + changes inside
    change = [0] * (n + 1)
    for i in range(1, n):
        change[i + 1] = change[i] + (street[i] != street[i - 1])

    def cost(a: int, b: int) -> int:
        return 0 if a == b else 1 + change[b] - change[a + 1]

    inf = math.inf
    # best[i][j]: least cost for the first i runs, j of them long (position i*q + j); choice[i][j]: last run long?
    best = [[inf] * (r + 1) for _ in range(d + 1)]
    choice: list[list[bool]] = [[False] * (r + 1) for _ in range(d + 1)]
    best[0][0] = 0
    for i in range(d):
        for j in range(min(i, r) + 1):
            if best[i][j] == inf:
                continue
            pos = i * q + j
            if i - j < d - r:  # a short run
                c = best[i][j] + cost(pos, pos + q)
                if c < best[i + 1][j]:
                    best[i + 1][j], choice[i + 1][j] = c, False
            if j < r:  # a long run
                c = best[i][j] + cost(pos, pos + q + 1)
                if c < best[i + 1][j + 1]:
                    best[i + 1][j + 1], choice[i + 1][j + 1] = c, True
    runs: list[list[str]] = []
    j, end = r, n
    for i in range(d, 0, -1):
        size = q + 1 if choice[i][j] else q
        runs.append(route[end - size : end])
        end -= size
        j -= choice[i][j]
    runs.reverse()
    return runs


# --- workload ------------------------------------------------------------------------------------------------


def workload_by_type(index: EvaluationIndex) -> dict[str, int]:
    """Field standards applicable to each point type (the index's point types first, with 0 where none apply)."""
    result = {pt.name: 0 for pt in index.point_types}
    for _, _, standard in index.standards():
        if standard.is_field:
            for name in dict.fromkeys(standard.point_types):
                result[name] = result.get(name, 0) + 1
    return result
