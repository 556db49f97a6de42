"""The leaders' dashboard (领导看板) as data: for one round and an as-of date, where the city stands (score rates and
their change since the previous round of the same kind, findings open and overdue, 整改率 and 按期整改率), who is
behind (rankings of streets, units and point types, with deltas and the bottom ones marked), what to fix first (the
standards losing most points), how it moves (score rate and rectification rate across rounds), where (the round's
points, with their result and open findings), and the drill-downs: a ranking row to its points and findings, a point
to its history across rounds.

Every figure comes from the rules in civeval.scoring, civeval.metrics and civeval.losses; this module only gathers
them. The actor's permissions apply throughout (``view_scores`` and ``view_findings``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace

import sqlalchemy as sa

from civeval import archive, audit, losses, rounds, scoring
from civeval.metrics import (
    FindingFacts,
    RectificationMetrics,
    by_group,
    finding_facts_series,
    open_by_point,
    rectification,
    rectification_totals,
)
from civeval.models import Actor, Answer, FindingStatus, Result
from civeval.permissions import Action, reach, require
from civeval.registers import point_units, unit_subtree
from civeval.store import repo
from civeval.store import schema as t

BOTTOM_N = 3  # rankings mark the last three (后三名) when more than three groups are ranked
BOTTOM_MARK = "后三名"
TREND_ROUNDS = 12  # rounds of the same kind shown in the trend, the chosen one last
TOP_LOSSES = 10

# Map colours: a point's score rate in the round (result), or its open findings on the as-of date.
RESULT_BANDS: tuple[tuple[float, str], ...] = ((0.95, "得分率≥95%"), (0.85, "85%–95%"), (0.0, "得分率<85%"))
OPEN_BANDS: tuple[tuple[int, str], ...] = ((3, "未销号≥3个"), (1, "未销号1–2个"), (0, "无未销号问题"))
NO_RESULT = "未测评"


class DashboardError(Exception):
    """A dashboard that cannot be shown; the message is Chinese."""


def bottom_keys(groups: Sequence[scoring.RankedGroup], n: int = BOTTOM_N) -> set[Hashable]:
    """The last ``n`` ranked groups, when more than ``n`` are ranked (else no one is singled out)."""
    ranked = [g for g in groups if g.rank is not None]
    return {g.key for g in ranked[-n:]} if len(ranked) > n else set()


@dataclass(frozen=True)
class RankRow:
    """A place in a ranking, with the change since the previous round and, for streets and units, how the group's
    findings of this round stand on the as-of date."""

    rank: int | None
    name: str
    rate: float | None
    score: float
    full: float
    findings: int  # failed observations
    observations: int
    delta: float | None  # rate − the same group's rate in the previous round
    bottom: bool
    rectification: RectificationMetrics | None = None


def rank_rows(
    groups: Sequence[scoring.RankedGroup],
    previous: dict[str, float | None] | None,
    rect: dict[Hashable, RectificationMetrics] | None = None,
) -> list[RankRow]:
    """A ranking's rows; ``previous`` maps each group of the previous round to its rate (for the deltas)."""
    bottom = bottom_keys(groups)
    before = previous or {}
    return [
        RankRow(
            rank=g.rank,
            name=str(g.key),
            rate=g.rate,
            score=g.group.score,
            full=g.group.full,
            findings=g.findings,
            observations=g.group.observations,
            delta=scoring.delta(g.rate, before.get(str(g.key))) if previous is not None else None,
            bottom=g.key in bottom,
            rectification=(rect or {}).get(g.key),
        )
        for g in groups
    ]


@dataclass(frozen=True)
class TrendPoint:
    """One round in the trend: its score rates, and the rectification rates of all findings as they stood at the
    round's end (or on the as-of date, if earlier)."""

    round_id: int
    name: str
    start_date: dt.date
    end_date: dt.date
    field_rate: float | None
    overall_rate: float | None
    rectification_on: dt.date
    rectification_rate: float | None
    on_time_rate: float | None


@dataclass(frozen=True)
class MapPoint:
    code: str
    name: str
    point_type: str
    street: str | None
    lat: float | None
    lon: float | None
    rate: float | None  # the point's score rate in the round
    failures: int  # standards not met at the point in the round
    open_findings: int  # findings at the point not closed on the as-of date (any round)
    result_band: str
    open_band: str


def result_band(rate: float | None) -> str:
    if rate is None:
        return NO_RESULT
    return next(label for floor, label in RESULT_BANDS if rate >= floor - 1e-12)


def open_band(n: int) -> str:
    return next(label for floor, label in OPEN_BANDS if n >= floor)


@dataclass(frozen=True)
class Dashboard:
    round: rounds.RoundInfo
    as_of: dt.date
    previous: rounds.RoundInfo | None  # the latest earlier round of the same kind with observations
    scores: rounds.RoundScores
    previous_scores: archive.Summary | None  # that round's rates (overall, field, by group)
    round_findings: list[FindingFacts]  # the round's findings as they stood on the as-of date
    rectification: RectificationMetrics  # of the round's findings
    city_rectification: RectificationMetrics  # of all findings
    by_street: list[RankRow]
    by_unit: list[RankRow]
    by_point_type: list[RankRow]
    losses: list[losses.StandardLoss]  # the standards losing most points, most first
    trend: list[TrendPoint]
    points: list[MapPoint]

    @property
    def field_delta(self) -> float | None:
        return scoring.delta(self.scores.field.rate, self.previous_scores.field_rate if self.previous_scores else None)

    @property
    def overall_delta(self) -> float | None:
        return scoring.delta(
            self.scores.overall.rate, self.previous_scores.overall_rate if self.previous_scores else None
        )

    def ranking(self, dim: str) -> list[RankRow]:
        return {"street": self.by_street, "unit": self.by_unit, "point_type": self.by_point_type}[dim]


DIMENSIONS = {"street": "街道/镇", "unit": "责任单位", "point_type": "点位类型"}


def build(conn: sa.Connection, actor: Actor, round_id: int, as_of: dt.date | None = None) -> Dashboard:
    """Everything the dashboard shows for one round, as it stood at the end of ``as_of`` (default today)."""
    require(actor, Action.view_scores)
    as_of = as_of or audit.today()
    scores = rounds.round_scores(conn, actor, round_id)
    info = scores.round
    history = trend_rounds(conn, info)
    prev_id = rounds.previous_round(conn, round_id)
    stored = archive.for_actor(conn, actor, [i.id for i in history] + ([prev_id] if prev_id is not None else []))
    prev_info, prev = None, None
    if prev_id is not None:
        prev = stored.get(prev_id) or archive.summarize(rounds.round_scores(conn, actor, prev_id))
        if prev.observations:
            prev_info = rounds._round_row(conn, prev_id)
        else:
            prev = None
    in_round = finding_facts_series(conn, actor, [as_of], round_id=round_id)[as_of]
    city = rectification_totals(conn, actor, [as_of])
    groups = prev.groups if prev else {}
    return Dashboard(
        round=info,
        as_of=as_of,
        previous=prev_info,
        scores=scores,
        previous_scores=prev,
        round_findings=in_round,
        rectification=rectification(in_round, as_of),
        city_rectification=city[as_of],
        by_street=rank_rows(
            scores.by_street, groups.get("street") if prev else None, by_group(in_round, as_of, "street")
        ),
        by_unit=rank_rows(scores.by_unit, groups.get("unit") if prev else None, by_group(in_round, as_of, "unit")),
        by_point_type=rank_rows(
            scores.by_point_type, groups.get("point_type") if prev else None, by_group(in_round, as_of, "point_type")
        ),
        losses=losses.standard_losses(scores.records, limit=TOP_LOSSES),
        trend=_trend(conn, actor, history, scores, stored, as_of, city),
        points=_map_points(conn, scores, open_by_point(conn, actor, as_of)),
    )


# --- trend -------------------------------------------------------------------------------------------------------


def trend_rounds(conn: sa.Connection, info: rounds.RoundInfo, limit: int = TREND_ROUNDS) -> list[rounds.RoundInfo]:
    """The chosen round and the earlier rounds of the same kind, oldest first, at most ``limit``."""
    rows = conn.execute(
        sa.select(t.rounds.c.id)
        .where(
            t.rounds.c.kind == info.kind.value,
            sa.or_(
                t.rounds.c.start_date < info.start_date,
                sa.and_(t.rounds.c.start_date == info.start_date, t.rounds.c.id <= info.id),
            ),
        )
        .order_by(t.rounds.c.start_date.desc(), t.rounds.c.id.desc())
        .limit(limit)
    ).scalars()
    return [rounds._round_row(conn, rid) for rid in reversed(list(rows))]


@dataclass(frozen=True)
class RoundRates:
    field_rate: float | None
    overall_rate: float | None
    observations: int


def round_rates(conn: sa.Connection, round_ids: Sequence[int]) -> dict[int, RoundRates]:
    """Field and overall score rates of whole rounds (city-wide), aggregated in the database: one row per round,
    standard, kind of observation, result and count, scored once and weighted by how often it occurs."""
    if not round_ids:
        return {}
    is_field = t.observations.c.point_id.is_not(None)
    rows = conn.execute(
        sa.select(
            t.observations.c.round_id,
            t.observations.c.standard_id,
            is_field.label("field"),
            t.observations.c.result,
            t.observations.c.instances,
            sa.func.count().label("n"),
        )
        .where(t.observations.c.round_id.in_(list(round_ids)))
        .group_by(
            t.observations.c.round_id,
            t.observations.c.standard_id,
            is_field,
            t.observations.c.result,
            t.observations.c.instances,
        )
    ).all()
    index_of = {
        rid: iid
        for rid, iid in conn.execute(sa.select(t.rounds.c.id, t.rounds.c.index_id).where(t.rounds.c.id.in_(round_ids)))
    }
    indexes: dict[int, dict[int, tuple]] = {}
    per_round: dict[int, list] = {rid: [] for rid in round_ids}
    for r in rows:
        iid = index_of[r.round_id]
        if iid not in indexes:
            index, ids = rounds.round_index(conn, iid)
            indexes[iid] = {ids[s.code]: (i, s) for _, i, s in index.standards()}
        item, standard = indexes[iid][r.standard_id]
        scored = scoring.score_observation(standard, Answer(result=Result(r.result), instances=r.instances))
        per_round[r.round_id].append((bool(r.field), item.code, scored, r.n))
    out = {}
    for rid, entries in per_round.items():
        applicable = [(f, i, s, n) for f, i, s, n in entries if s.applicable]
        score = math.fsum(s.score * n for _, _, s, n in applicable)
        full = math.fsum(s.full * n for _, _, s, n in applicable)
        field = scoring.round_field_score(
            scoring.FieldRecord(replace(s, score=s.score * n, full=s.full * n), i) for f, i, s, n in entries if f
        )
        out[rid] = RoundRates(field.rate, scoring.rate(score, full), sum(n for *_, n in entries))
    return out


def _trend(
    conn: sa.Connection,
    actor: Actor,
    history: list[rounds.RoundInfo],
    current: rounds.RoundScores,
    stored: dict[int, archive.Summary],
    as_of: dt.date,
    live: dict[dt.date, RectificationMetrics],
) -> list[TrendPoint]:
    """``live``: rectification metrics already computed, by date (the as-of date's)."""
    rates: dict[int, RoundRates] = {}
    for i in history:
        if i.id == current.round.id:
            rates[i.id] = RoundRates(current.field.rate, current.overall.rate, len(current.records))
        elif i.id in stored:
            s = stored[i.id]
            rates[i.id] = RoundRates(s.field_rate, s.overall_rate, s.observations)
    missing = [i.id for i in history if i.id not in rates]
    if missing and reach(actor, Action.view_scores) is None:
        rates.update(round_rates(conn, missing))
    else:  # a scoped view: only the records within reach count, and responsibility is decided per record
        for rid in missing:
            s = rounds.round_scores(conn, actor, rid)
            rates[rid] = RoundRates(s.field.rate, s.overall.rate, len(s.records))
    shown = [i for i in history if rates.get(i.id) and rates[i.id].observations]
    recorded = {}
    for i in shown:
        s = stored.get(i.id)
        on = min(i.end_date, as_of)
        if s is not None and s.rectification_on == on:
            recorded[i.id] = (s.rectification_rate, s.on_time_rate)
    needed = {min(i.end_date, as_of) for i in shown if i.id not in recorded} - set(live)
    live = {**live, **rectification_totals(conn, actor, needed)}
    out = []
    for i in shown:
        r = rates[i.id]
        on = min(i.end_date, as_of)
        rect, on_time = recorded[i.id] if i.id in recorded else (live[on].rectification_rate, live[on].on_time_rate)
        out.append(TrendPoint(i.id, i.name, i.start_date, i.end_date, r.field_rate, r.overall_rate, on, rect, on_time))
    return out


# --- map ---------------------------------------------------------------------------------------------------------


def _map_points(conn: sa.Connection, scores: rounds.RoundScores, open_at: dict[str, int]) -> list[MapPoint]:
    rates = {g.key: g.group for g in scores.by_point}  # keyed "code name"
    drawn = sa.select(t.round_points.c.point_id).where(t.round_points.c.round_id == scores.round.id)
    coords = {
        r.code: r
        for r in conn.execute(
            sa.select(t.points.c.code, t.points.c.lat, t.points.c.lon).where(t.points.c.id.in_(drawn))
        )
    }
    seen: dict[str, MapPoint] = {}
    for r in scores.records:
        if r.point_code is None or r.point_code in seen:
            continue
        g = rates.get(f"{r.point_code} {r.point_name}")  # none when nothing applied there
        rate, failures = (g.rate, g.findings) if g else (None, 0)
        c = coords.get(r.point_code)
        n_open = open_at.get(r.point_code, 0)
        seen[r.point_code] = MapPoint(
            r.point_code, r.point_name or "", r.point_type or "", r.street, c.lat if c else None, c.lon if c else None,
            rate, failures, n_open, result_band(rate), open_band(n_open),
        )  # fmt: skip
    return sorted(seen.values(), key=lambda p: p.code)


# --- drill-down --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointRow:
    code: str
    name: str
    point_type: str
    street: str | None
    rate: float | None
    score: float
    full: float
    failures: int
    lost: float
    failed_standards: tuple[str, ...]


@dataclass(frozen=True)
class Drill:
    dim: str
    key: str
    points: list[PointRow]  # worst first
    findings: list[FindingFacts]  # the round's findings in the group, open and overdue first
    losses: list[losses.StandardLoss]


def _in_group(dim: str, key: str, record) -> bool:
    return {"street": record.street, "unit": record.unit, "point_type": record.point_type}[dim] == key


def drill(d: Dashboard, dim: str, key: str) -> Drill:
    """A ranking row opened: the points of the round in that street, unit or point type (for a unit, the points
    where it answers for a standard, and only those standards), worst first, and the round's findings in it."""
    if dim not in DIMENSIONS:
        raise DashboardError(f"无法按“{dim}”展开")
    records = [r for r in d.scores.records if r.applicable and r.point_code and _in_group(dim, key, r)]
    by_point: dict[str, list] = {}
    for r in records:
        by_point.setdefault(r.point_code, []).append(r)
    rows = []
    for code, rs in by_point.items():
        score, full = math.fsum(r.score for r in rs), math.fsum(r.full for r in rs)
        rows.append(
            PointRow(
                code, rs[0].point_name or "", rs[0].point_type or "", rs[0].street, scoring.rate(score, full), score,
                full, sum(r.failed for r in rs), full - score, tuple(r.standard.code for r in rs if r.failed),
            )
        )  # fmt: skip
    rows.sort(key=lambda p: (p.rate if p.rate is not None else 2.0, -p.failures, p.code))
    findings = [f for f in d.round_findings if _in_group(dim, key, f)]
    findings.sort(key=lambda f: (not (f.open and f.deadline < d.as_of), not f.open, f.deadline, f.code))
    return Drill(dim, key, rows, findings, losses.standard_losses(records))


@dataclass(frozen=True)
class PointRound:
    round_id: int
    name: str
    kind_label: str
    start_date: dt.date
    rate: float | None
    score: float
    full: float
    failures: int
    failed_standards: tuple[str, ...]


@dataclass(frozen=True)
class PointHistory:
    code: str
    name: str
    point_type: str
    street: str | None
    rounds: list[PointRound]  # oldest first
    findings: list[FindingFacts]  # every finding at the point, as it stood on the as-of date, newest first


def point_history(conn: sa.Connection, actor: Actor, point_code: str, as_of: dt.date | None = None) -> PointHistory:
    """A point across rounds: its score rate and the standards it failed in every round it was scored, and its
    findings (any round, any source) as they stood on ``as_of``."""
    require(actor, Action.view_scores)
    as_of = as_of or audit.today()
    point = repo.get_point(conn, point_code)
    if point is None:
        raise DashboardError(f"没有编号为“{point_code}”的点位")
    where = reach(actor, Action.view_scores)
    if where is not None:
        inside = unit_subtree(repo.list_units(conn), where)
        if not point_units(point) & inside:
            require(actor, Action.view_scores, within=point_units(point))
    pid = conn.execute(sa.select(t.points.c.id).where(t.points.c.code == point_code)).scalar_one()
    rows = conn.execute(
        sa.select(
            t.observations.c.round_id,
            t.observations.c.standard_id,
            t.observations.c.result,
            t.observations.c.instances,
            t.rounds.c.index_id,
        )
        .select_from(t.observations.join(t.rounds, t.rounds.c.id == t.observations.c.round_id))
        .where(t.observations.c.point_id == pid)
    ).all()
    indexes: dict[int, dict[int, object]] = {}
    per_round: dict[int, list[scoring.ScoredObservation]] = {}
    for r in rows:
        if r.index_id not in indexes:
            index, ids = rounds.round_index(conn, r.index_id)
            indexes[r.index_id] = {ids[s.code]: s for _, _, s in index.standards()}
        s = indexes[r.index_id][r.standard_id]
        per_round.setdefault(r.round_id, []).append(
            scoring.score_observation(s, Answer(result=Result(r.result), instances=r.instances))
        )
    history = []
    for rid, obs in per_round.items():
        info = rounds._round_row(conn, rid)
        applicable = [o for o in obs if o.applicable]
        score, full = math.fsum(o.score for o in applicable), math.fsum(o.full for o in applicable)
        history.append(
            PointRound(
                rid, info.name, info.kind.label, info.start_date, scoring.rate(score, full), score, full,
                sum(o.failed for o in applicable), tuple(o.standard_code for o in applicable if o.failed),
            )
        )  # fmt: skip
    history.sort(key=lambda h: (h.start_date, h.round_id))
    findings = finding_facts_series(conn, actor, [as_of], point_id=pid)[as_of]
    findings.sort(key=lambda f: (f.assigned_at or dt.datetime.min, f.id), reverse=True)
    return PointHistory(point.code, point.name, point.point_type, point.street, history, findings)


def status_label(f: FindingFacts) -> str:
    return FindingStatus(f.status).label


# --- in words ------------------------------------------------------------------------------------------------------


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _pp(delta: float | None) -> str:
    return "" if delta is None else f"，较上轮{'持平' if abs(delta) < 5e-4 else f' {delta * 100:+.1f} 个百分点'}"


def headlines(d: Dashboard) -> list[str]:
    """Three sentences for a leader: where we stand, who is behind, what to fix first."""
    m = d.rectification
    stand = (
        f"实地考察得分率 {_pct(d.scores.field.rate)}{_pp(d.field_delta)}；本轮问题 {m.created} 件，"
        f"未销号 {m.open} 件，其中逾期 {m.overdue} 件；整改率 {_pct(m.rectification_rate)}，"
        f"按期整改率 {_pct(m.on_time_rate)}。"
    )
    behind = []
    for rows, what in ((d.by_street, "街道/镇"), (d.by_unit, "单位")):
        last = [r for r in rows if r.bottom]
        if last:
            behind.append(f"{what}：" + "、".join(f"{r.name}（{_pct(r.rate)}）" for r in reversed(last)))
    behind_text = ("排名靠后的" + "；".join(behind) + "。") if behind else "参与排名的不足四个，不标后三名。"
    if d.losses:
        top = d.losses[:3]
        fix = (
            "先改失分最多的："
            + "；".join(
                f"{x.code}（失分 {x.lost:.1f}，不符合 {x.failures} 处，涉及 {x.unit_count} 个单位）" for x in top
            )
            + "。"
        )
    else:
        fix = "本轮没有失分。"
    return [stand, behind_text, fix]
