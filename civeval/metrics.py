"""Rectification metrics (DOMAIN.md, "Rectification definitions") for any as-of date, overall and by group.

Each finding's state on date T is rebuilt from its events up to the end of T (the event log is append-only),
so the rates of a past date do not change when findings move on later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from civeval import audit
from civeval.models import Actor, FindingSource
from civeval.permissions import Action, reach, require
from civeval.registers import unit_subtree
from civeval.store import repo
from civeval.store import schema as t

DEFINITIONS: dict[str, str] = {
    "应整改": (
        "截至统计日期，整改期限已到（期限不晚于统计日期）的问题，加上统计日期前已销号的问题（不论期限）；"
        "长效整改问题不计入。"
    ),
    "整改率": "统计日期前已销号且属于应整改的问题数 ÷ 应整改问题数。逾期未整改的问题仍计入分母。",
    "按期整改率": "在整改期限当天或之前销号的问题数 ÷ 应整改问题数。",
    "逾期": "统计日期时仍未销号、且整改期限早于统计日期的问题数。",
    "销号率": "统计日期前已销号的问题数 ÷ 统计日期前登记的全部问题数（已作废的不计）。",
    "一次复查通过率": "第一次复查即通过销号的问题数 ÷ 至少复查过一次的问题数。",
    "平均整改时长": "已销号问题从交办到销号的平均天数。",
    "反弹率": "已销号的问题中，同一点位同一标准在之后的测评中再次不符合的问题数 ÷ 已销号问题数。",
    "长效整改": "按其性质无法在期限内整改完毕的问题，单独列示，不计为已整改。",
}


@dataclass(frozen=True)
class FindingFacts:
    """One finding as it stood at the end of the as-of date."""

    id: int
    code: str
    source: str
    unit: str
    street: str | None
    point_type: str | None
    standard: str | None
    category: str | None
    round_id: int | None
    assigned_at: dt.datetime
    deadline: dt.date
    status: str
    closed_at: dt.datetime | None
    reinspections: int
    first_reinspection_passed: bool | None
    recurred: bool
    point_code: str | None = None
    point_name: str | None = None
    closed_on: dt.date | None = None  # the office's date of closed_at

    @property
    def closed(self) -> bool:
        return self.status == "closed"

    @property
    def long_term(self) -> bool:
        return self.status == "long_term"

    @property
    def open(self) -> bool:
        return self.status in ("assigned", "in_progress", "submitted")


def finding_facts(
    conn: sa.Connection, actor: Actor, as_of: dt.date, *, round_id: int | None = None
) -> list[FindingFacts]:
    """Every finding created by the end of ``as_of`` that the actor may see, as it stood then (voided ones left out)."""
    return finding_facts_series(conn, actor, [as_of], round_id=round_id)[as_of]


def _scope(conn: sa.Connection, actor: Actor) -> set[str] | None:
    """Names of the units within the actor's reach for findings; None for city-wide."""
    where = reach(actor, Action.view_findings)
    return None if where is None else unit_subtree(repo.list_units(conn), where)


def finding_facts_series(
    conn: sa.Connection,
    actor: Actor,
    dates: Iterable[dt.date],
    *,
    round_id: int | None = None,
    point_id: int | None = None,
) -> dict[dt.date, list[FindingFacts]]:
    """``finding_facts`` for several as-of dates, reading the findings once (for trends); only one round's or one
    point's findings when asked.

    A finding whose last event (``changed_at``) came before the end of a date stood then as it stands now, so its
    facts are its current columns; only the findings that moved after the earliest date have their events read and
    replayed (the two ways agree: tests/test_metrics_facts.py)."""
    require(actor, Action.view_findings)
    f = t.findings.c
    only = []
    if round_id is not None:
        only.append(f.round_id == round_id)
    if point_id is not None:
        only.append(f.point_id == point_id)
    return _series(conn, actor, dates, only)


def _series(
    conn: sa.Connection, actor: Actor, dates: Iterable[dt.date], only: list, *, moving_only: bool = False
) -> dict[dt.date, list]:
    """The facts of the findings that ``only`` selects at each date; with ``moving_only``, on each date only those
    that moved after it (the ones ``rectification_totals`` replays; the others it counts in the database)."""
    dates = sorted(set(dates))
    if not dates:
        return {}
    ends = {d: audit.local_day_start(d + dt.timedelta(days=1)) for d in dates}
    first, last = ends[dates[0]], ends[dates[-1]]
    street = t.units.alias("street")
    f = t.findings.c
    q = (
        sa.select(
            f.id,
            f.code,
            f.source,
            f.round_id,
            f.created_at,
            f.status,
            f.deadline,
            f.closed_at,
            f.closed_on,
            f.reinspections,
            f.changed_at,
            t.units.c.name.label("unit"),
            street.c.name.label("street"),
            t.point_types.c.name.label("point_type"),
            t.standards.c.code.label("standard"),
            t.categories.c.name.label("category"),
            t.points.c.code.label("point_code"),
            t.points.c.name.label("point_name"),
        )
        .select_from(
            t.findings.join(t.units, t.units.c.id == f.unit_id)
            .outerjoin(t.points, t.points.c.id == f.point_id)
            .outerjoin(street, street.c.id == t.points.c.street_id)
            .outerjoin(t.point_types, t.point_types.c.id == t.points.c.point_type_id)
            .outerjoin(t.standards, t.standards.c.id == f.standard_id)
            .outerjoin(t.items, t.items.c.id == t.standards.c.item_id)
            .outerjoin(t.categories, t.categories.c.id == t.items.c.category_id)
        )
        .where(f.created_at < last)
    )
    rows = {r.id: r for r in conn.execute(q.where(*only).order_by(f.id))}
    inside = _scope(conn, actor)
    if inside is not None:
        rows = {k: r for k, r in rows.items() if r.unit in inside or (r.street and r.street in inside)}
    recurrences = []
    later = sa.select(f.recurrence_of, f.created_at).where(f.recurrence_of.is_not(None), f.created_at < last)
    if only and len(rows) <= 20_000:  # the recurrences of these findings only, by the recurrence_of index
        for ids in repo.chunked(list(rows)):
            recurrences += conn.execute(later.where(f.recurrence_of.in_(ids))).all()
    else:
        recurrences = conn.execute(later).all()
    moving = [fid for fid, r in rows.items() if r.changed_at is None or r.changed_at >= first]
    events: dict[int, list] = {}
    ev = t.finding_events.c
    for ids in repo.chunked(moving):  # by the finding_id index, a few thousand at a time
        for e in conn.execute(
            sa.select(ev.finding_id, ev.action, ev.to_status, ev.detail, ev.at)
            .where(ev.finding_id.in_(ids), ev.at < last)
            .order_by(ev.finding_id, ev.id)
        ):
            events.setdefault(e.finding_id, []).append(e)
    return {d: _facts_at(rows, events, recurrences, ends[d], moving_only) for d in dates}


def _facts_at(
    rows: dict, events: dict[int, list], recurrences: list, end: dt.datetime, moving_only: bool = False
) -> list[FindingFacts]:
    """Each finding created before ``end`` as it stood then: its current columns when its last event came before
    ``end`` (left out with ``moving_only``), else what its events up to ``end`` leave it."""
    recurred = {of for of, at in recurrences if at < end}
    out = []
    for fid, r in rows.items():
        if r.created_at >= end:
            continue
        if r.changed_at is not None and r.changed_at < end:  # nothing happened to it since
            if moving_only:
                continue
            status = r.status
            if status == "voided":
                continue
            n = r.reinspections
            # a passed re-inspection closes a finding for good, so the first one passed iff it was the only one
            first = None if not n else (n == 1 and status == "closed")
            facts = (r.created_at, r.deadline, status, r.closed_at, n, first, r.closed_on)
        else:
            facts = _replayed(events.get(fid, ()), end)
            if facts is None:
                continue
        assigned_at, deadline, status, closed_at, n, first, closed_on = facts
        out.append(
            FindingFacts(
                fid, r.code, r.source, r.unit, r.street, r.point_type, r.standard, r.category, r.round_id,
                assigned_at, deadline, status, closed_at, n, first, fid in recurred and status == "closed",
                r.point_code, r.point_name, closed_on,
            )
        )  # fmt: skip
    return out


def _replayed(events, end: dt.datetime) -> tuple | None:
    """(assigned_at, deadline, status, closed_at, reinspections, first passed, closed_on) as the events up to
    ``end`` leave a finding; None when it did not exist yet or was voided."""
    status, deadline, assigned_at, closed_at, n, first = None, None, None, None, 0, None
    for ev in events:
        if ev.at >= end:
            continue
        detail = ev.detail or {}
        if ev.action == "create":
            deadline, assigned_at = dt.date.fromisoformat(detail["deadline"]), ev.at
        elif ev.action == "grant_extension":
            deadline = dt.date.fromisoformat(detail["to"])
        elif ev.action == "reassign" and "deadline" in detail:
            deadline = dt.date.fromisoformat(detail["deadline"])
        elif ev.action in ("pass_reinspection", "fail_reinspection"):
            n += 1
            if n == 1:
                first = ev.action == "pass_reinspection"
            if ev.action == "pass_reinspection":
                closed_at = ev.at
        status = ev.to_status
    if status is None or status == "voided":
        return None
    closed_on = audit.local_date(closed_at) if closed_at is not None else None
    return assigned_at, deadline, status, closed_at, n, first, closed_on


@dataclass(frozen=True)
class RectificationMetrics:
    as_of: dt.date
    created: int  # 登记（不含作废）
    due: int  # 应整改
    closed: int  # 已销号
    closed_due: int  # 应整改中已销号
    closed_on_time: int  # 按期销号
    overdue: int  # 逾期
    open: int  # 未销号（不含长效）
    long_term: int  # 长效整改
    reinspected: int  # 至少复查一次
    first_pass: int  # 一次复查通过
    recurred: int  # 反弹
    mean_days_to_fix: float | None
    rectification_rate: float | None  # 整改率
    on_time_rate: float | None  # 按期整改率
    closure_rate: float | None  # 销号率
    first_pass_rate: float | None  # 一次复查通过率
    recurrence_rate: float | None  # 反弹率

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["as_of"] = self.as_of.isoformat()
        return d


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


@dataclass
class Tally:
    """The counts behind RectificationMetrics, which add up: findings counted in SQL and findings replayed in Python
    are two tallies summed."""

    created: int = 0
    due: int = 0
    closed: int = 0
    closed_due: int = 0
    closed_on_time: int = 0
    overdue: int = 0
    open: int = 0
    long_term: int = 0
    reinspected: int = 0
    first_pass: int = 0
    recurred: int = 0
    days: float = 0.0  # Σ days from assignment to closing of the closed ones

    def __add__(self, other: Tally) -> Tally:
        return Tally(**{k: getattr(self, k) + getattr(other, k) for k in self.__dataclass_fields__})

    def metrics(self, as_of: dt.date) -> RectificationMetrics:
        return RectificationMetrics(
            as_of=as_of,
            created=self.created,
            due=self.due,
            closed=self.closed,
            closed_due=self.closed_due,
            closed_on_time=self.closed_on_time,
            overdue=self.overdue,
            open=self.open,
            long_term=self.long_term,
            reinspected=self.reinspected,
            first_pass=self.first_pass,
            recurred=self.recurred,
            mean_days_to_fix=self.days / self.closed if self.closed else None,
            rectification_rate=_ratio(self.closed_due, self.due),
            on_time_rate=_ratio(self.closed_on_time, self.due),
            closure_rate=_ratio(self.closed, self.created),
            first_pass_rate=_ratio(self.first_pass, self.reinspected),
            recurrence_rate=_ratio(self.recurred, self.closed),
        )


def tally(facts: Iterable[FindingFacts], as_of: dt.date) -> Tally:
    """The definitions (DEFINITIONS) counted over findings as they stood at the end of ``as_of``."""
    end = audit.local_day_start(as_of + dt.timedelta(days=1))
    out = Tally()
    for f in facts:
        out.created += 1
        closed = f.status == "closed" and f.closed_at is not None and f.closed_at < end
        if f.status in _OPEN_STATES:
            out.open += 1
            out.overdue += f.deadline < as_of
        elif f.status == "long_term":
            out.long_term += 1
        if f.status != "long_term" and (f.deadline <= as_of or closed):
            out.due += 1
            if closed:
                out.closed_due += 1
                on = f.closed_on or audit.local_date(f.closed_at)
                out.closed_on_time += on <= f.deadline
        if closed:
            out.closed += 1
            out.recurred += f.recurred
            out.days += (f.closed_at - f.assigned_at).total_seconds() / 86400
        if f.reinspections > 0:
            out.reinspected += 1
            out.first_pass += bool(f.first_reinspection_passed)
    return out


def rectification(facts: Iterable[FindingFacts], as_of: dt.date) -> RectificationMetrics:
    return tally(facts, as_of).metrics(as_of)


_OPEN_STATES = frozenset({"assigned", "in_progress", "submitted"})


def _days_between(later: sa.ColumnElement, earlier: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    if dialect == "sqlite":
        return sa.func.julianday(later) - sa.func.julianday(earlier)
    return sa.extract("epoch", later - earlier) / 86400.0


def rectification_totals(
    conn: sa.Connection, actor: Actor, dates: Iterable[dt.date], *, round_id: int | None = None
) -> dict[dt.date, RectificationMetrics]:
    """``rectification(finding_facts(…, d), d)`` for each date, counted in the database: the findings that did not
    move after a date are counted from their current columns by one aggregate query per date, and only the others are
    replayed from their events. For the dashboard's city-wide figures and trend (100,000 findings)."""
    require(actor, Action.view_findings)
    dates = sorted(set(dates))
    if not dates:
        return {}
    f = t.findings.c
    source, where = _settled_source(conn, actor)
    if round_id is not None:
        where.append(f.round_id == round_id)
    rec = t.findings.alias("rec")
    dialect = conn.dialect.name
    moving_facts = _moving_facts(conn, actor, dates, round_id)
    out = {}
    for d in dates:
        end = audit.local_day_start(d + dt.timedelta(days=1))
        closed = f.status == "closed"
        is_open = f.status.in_(sorted(_OPEN_STATES))
        recurred = sa.exists().where(rec.c.recurrence_of == f.id, rec.c.created_at < end)

        def count(cond):
            return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)

        row = conn.execute(
            sa.select(
                sa.func.count(),
                count(sa.and_(f.status != "long_term", sa.or_(f.deadline <= d, closed))),
                count(closed),
                count(sa.and_(closed, f.closed_on <= f.deadline)),
                count(sa.and_(is_open, f.deadline < d)),
                count(is_open),
                count(f.status == "long_term"),
                count(f.reinspections > 0),
                count(sa.and_(closed, f.reinspections == 1)),
                count(sa.and_(closed, recurred)),
                sa.func.coalesce(sa.func.sum(sa.case((closed, _days_between(f.closed_at, f.created_at, dialect)))), 0),
            )
            .select_from(source)
            .where(f.created_at < end, f.changed_at < end, f.status != "voided", *where)
        ).one()
        created, due, n_closed, on_time, overdue, n_open, long_term, reinspected, first_pass, n_rec, days = row
        settled = Tally(
            created, due, n_closed, n_closed, on_time, overdue, n_open, long_term, reinspected, first_pass, n_rec,
            float(days),
        )  # fmt: skip
        out[d] = (settled + tally(moving_facts[d], d)).metrics(d)
    return out


def _settled_source(conn: sa.Connection, actor: Actor, *, points: bool = False) -> tuple[sa.FromClause, list]:
    """The findings, joined to their points when ``points`` or when the actor sees part of the city, and the
    conditions that keep those within the actor's reach (as ``finding_facts`` does: the finding's unit or its point's
    street is within reach). For the whole city the points are left out unless asked for (joining them took a tenth
    of the time of the city's count)."""
    f = t.findings.c
    inside = _scope(conn, actor)
    source = t.findings.outerjoin(t.points, t.points.c.id == f.point_id)
    if inside is None:
        return (source if points else t.findings), []
    ids = list(conn.execute(sa.select(t.units.c.id).where(t.units.c.name.in_(inside))).scalars())
    return source, [sa.or_(f.unit_id.in_(ids), t.points.c.street_id.in_(ids))]


def open_by_point(conn: sa.Connection, actor: Actor, as_of: dt.date) -> dict[str, int]:
    """How many findings (of any round or source) were not closed at each point at the end of ``as_of``, by point
    code; counted in the database like ``rectification_totals``."""
    require(actor, Action.view_findings)
    f = t.findings.c
    end = audit.local_day_start(as_of + dt.timedelta(days=1))
    source, where = _settled_source(conn, actor, points=True)
    out = dict(
        conn.execute(
            sa.select(t.points.c.code, sa.func.count())
            .select_from(source)
            .where(
                f.point_id.is_not(None),
                f.status.in_(sorted(_OPEN_STATES)),
                f.created_at < end,
                f.changed_at < end,
                *where,
            )
            .group_by(t.points.c.code)
        ).all()
    )
    for x in _moving_facts(conn, actor, [as_of], None)[as_of]:
        if x.open and x.point_code:
            out[x.point_code] = out.get(x.point_code, 0) + 1
    return out


def _moving_facts(
    conn: sa.Connection, actor: Actor, dates: list[dt.date], round_id: int | None
) -> dict[dt.date, list[FindingFacts]]:
    """For each date, the facts of the findings that moved after it (the ones ``rectification_totals`` replays)."""
    f = t.findings.c
    first = audit.local_day_start(dates[0] + dt.timedelta(days=1))
    last = audit.local_day_start(dates[-1] + dt.timedelta(days=1))
    only = [f.created_at < last, sa.or_(f.changed_at.is_(None), f.changed_at >= first)]
    if round_id is not None:
        only.append(f.round_id == round_id)
    # Which findings moved after a date is decided on the rows read here, once. (A finding moving between this read
    # and a date's count in the database is left out of that count until the figures are computed again, as any
    # write makes the dashboard do.)
    return _series(conn, actor, dates, only, moving_only=True)


GROUPS: dict[str, Callable[[FindingFacts], Hashable]] = {
    "unit": lambda f: f.unit,
    "street": lambda f: f.street,
    "point_type": lambda f: f.point_type,
    "standard": lambda f: f.standard,
    "category": lambda f: f.category,
    "source": lambda f: FindingSource(f.source).label,
}


def by_group(facts: Iterable[FindingFacts], as_of: dt.date, group: str) -> dict[Hashable, RectificationMetrics]:
    """Metrics per unit, street, point type, standard, category or source (findings without that key left out)."""
    key = GROUPS[group]
    buckets: dict[Hashable, list[FindingFacts]] = {}
    for f in facts:
        k = key(f)
        if k is not None:
            buckets.setdefault(k, []).append(f)
    return {k: rectification(v, as_of) for k, v in sorted(buckets.items(), key=lambda kv: str(kv[0]))}


# --- a round's figures in one report (CLI `metrics --json`, bulletins) -------------------------------------------

REPORT_VERSION = 1  # bumped when a key of round_report changes meaning or goes away (README, "metrics --json")

SCORE_DEFINITION = (
    "得分之和 ÷ 满分之和（不适用的不计）；实地考察得分中每条测评标准只计一次：分值 × 该标准在各点位的得分率。"
)


def percent(rate: float | None) -> str:
    """A rate as a percentage with at most two decimals: 0.98 → "98%", 0.99834 → "99.83%"; None → "—"."""
    if rate is None:
        return "—"
    return f"{rate * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _rectification_dict(m: RectificationMetrics) -> dict:
    d = m.as_dict()
    del d["as_of"]  # stated once, at the top of the report
    return d


def round_report(conn: sa.Connection, actor: Actor, round_id: int, as_of: dt.date) -> dict:
    """A round's score rates (overall, field, by street, unit and point type, with the change since the previous
    round of the same kind), the standards and units losing most points, the trend across rounds, and the
    rectification metrics of the round's findings as they stood at the end of ``as_of`` (overall, by street, unit
    and point type), as plain JSON-ready data.

    Keys are English snake_case and stable (documented in README.md, "metrics --json"); Chinese only in values;
    dates ISO; rates are fractions 0..1, None when undefined; scores are not rounded. The actor's permissions apply.
    The figures are those of the dashboard (``civeval.dashboard.build``), so the two always agree."""
    from civeval import dashboard  # dashboard → rounds → findings; keep this module importable on its own

    return dashboard_report(dashboard.build(conn, actor, round_id, as_of), conn)


def dashboard_report(d, conn: sa.Connection) -> dict:
    """``round_report`` of a dashboard already built (``civeval.dashboard.Dashboard``), for exports that need the
    dashboard's lists too (the bulletin) without building it twice."""
    from civeval import composite, dashboard, forecast, losses

    s, info, facts, as_of = d.scores, d.round, d.round_findings, d.as_of
    fc = forecast.of_scores(s)

    def ranked(rows: list[dashboard.RankRow]) -> list[dict]:
        return [
            {
                "name": r.name,
                "rank": r.rank,
                "rate": r.rate,
                "score": r.score,
                "full": r.full,
                "findings": r.findings,
                "observations": r.observations,
                "delta": r.delta,
                "bottom": r.bottom,
            }
            for r in rows
        ]

    def grouped(group: str) -> list[dict]:
        return [{"name": str(k), **_rectification_dict(m)} for k, m in by_group(facts, as_of, group).items()]

    prev = d.previous
    return {
        "report": "round",
        "version": REPORT_VERSION,
        "as_of": as_of.isoformat(),
        "round": {
            "id": info.id,
            "name": info.name,
            "kind": info.kind.value,
            "kind_label": info.kind.label,
            "status": info.status.value,
            "status_label": info.status.label,
            "start_date": info.start_date.isoformat(),
            "end_date": info.end_date.isoformat(),
            "points": info.n_points,
            "points_submitted": info.n_submitted,
        },
        "previous_round": None
        if prev is None
        else {"id": prev.id, "name": prev.name, "start_date": prev.start_date.isoformat()},
        "scores": {
            "overall": {
                "rate": s.overall.rate,
                "score": s.overall.score,
                "full": s.overall.full,
                "findings": s.overall.findings,
                "observations": s.overall.observations,
                "delta": d.overall_delta,
            },
            "field": {
                "rate": s.field.rate,
                "score": s.field.score,
                "full": s.field.full,
                "delta": d.field_delta,
                "standards": len(s.field.by_standard),
                "vetoed_items": s.field.zeroed_items,
                "alerts": [
                    {
                        "standard_code": a.standard_code,
                        "item_code": a.item_code,
                        "findings": a.findings,
                        "points": [str(p) for p in a.points],
                    }
                    for a in s.field.alerts
                ],
            },
            "by_street": ranked(d.by_street),
            "by_unit": ranked(d.by_unit),
            "by_point_type": ranked(d.by_point_type),
        },
        "losses": {
            "standards": [
                {
                    "code": x.code,
                    "text": x.text,
                    "category": x.category,
                    "lost": x.lost,
                    "full": x.full,
                    "failures": x.failures,
                    "observations": x.observations,
                    "units": list(x.units),
                }
                for x in d.losses
            ],
            "units": [
                {
                    "name": x.unit,
                    "lost": x.lost,
                    "full": x.full,
                    "failures": x.failures,
                    "observations": x.observations,
                    "standards": list(x.standards),
                }
                for x in losses.unit_losses(s.records, limit=dashboard.TOP_LOSSES)
            ],
        },
        "composite": _composite_dict(composite.of_scores(conn, s)),
        "forecast": None
        if fc is None
        else {
            "estimate": fc.estimate,
            "low": fc.low,
            "high": fc.high,
            "level": fc.level,
            "score": fc.score,
            "full": fc.full,
            "low_score": fc.low_score,
            "high_score": fc.high_score,
            "points": fc.points,
            "strata": fc.strata,
            "fixed_points": fc.fixed_points,
            "replicates": fc.replicates,
            "seed": fc.seed,
            "sentence": fc.sentence,
            "caveat": fc.caveat,
        },
        "trend": [
            {
                "round_id": p.round_id,
                "name": p.name,
                "start_date": p.start_date.isoformat(),
                "field_rate": p.field_rate,
                "overall_rate": p.overall_rate,
                "rectification_on": p.rectification_on.isoformat(),
                "rectification_rate": p.rectification_rate,
                "on_time_rate": p.on_time_rate,
            }
            for p in d.trend
        ],
        "rectification": {
            "overall": _rectification_dict(d.rectification),
            "by_street": grouped("street"),
            "by_unit": grouped("unit"),
            "by_point_type": grouped("point_type"),
        },
        "definitions": [{"term": "得分率", "text": SCORE_DEFINITION}]
        + [{"term": k, "text": v} for k, v in DEFINITIONS.items()],
    }


def _composite_dict(c) -> dict:
    return {
        "score": c.score,
        "scaled": c.scaled,
        "complete": c.complete,
        "missing": list(c.missing),
        "parts": {p: {"rate": c.rates[p], "weight": c.weights[p], "points": c.points(p)} for p in c.weights},
        "sentence": c.sentence(),
    }


def _marks(x: float) -> str:
    return f"{round(x, 2):g}"


def report_lines(report: dict) -> list[str]:
    """``round_report`` as a readable Chinese summary, one line per string."""
    r, sc, rect = report["round"], report["scores"], report["rectification"]
    lines = [
        f"{r['name']}（{r['kind_label']}，{r['status_label']}，{r['start_date']} 至 {r['end_date']}，"
        f"点位 {r['points']} 个，已提交 {r['points_submitted']} 个）；整改情况统计截至 {report['as_of']}",
        f"总得分率 {percent(sc['overall']['rate'])}（得分 {_marks(sc['overall']['score'])} / "
        f"满分 {_marks(sc['overall']['full'])}，不符合 {sc['overall']['findings']} 条）",
        f"实地考察得分 {_marks(sc['field']['score'])} / {_marks(sc['field']['full'])}"
        f"（得分率 {percent(sc['field']['rate'])}，测评标准 {sc['field']['standards']} 条）",
    ]
    if sc["field"]["vetoed_items"]:
        lines.append(f"一票否决（该测评内容计 0 分）：{'、'.join(sc['field']['vetoed_items'])}")
    for a in sc["field"]["alerts"]:
        lines.append(f"预警：{a['standard_code']} 不符合 {a['findings']} 处（{'、'.join(a['points'])}）")
    for title, groups in (("各街道得分率", sc["by_street"]), ("各单位得分率", sc["by_unit"])):
        lines.append(f"{title}：")
        lines += [
            f"  {g['rank'] or '—'}. {g['name']} {percent(g['rate'])}"
            f"（{_marks(g['score'])} / {_marks(g['full'])}，不符合 {g['findings']} 条）"
            for g in groups
        ]
        if not groups:
            lines.append("  （无）")

    def rect_text(m: dict) -> str:
        days = "—" if m["mean_days_to_fix"] is None else f"{m['mean_days_to_fix']:.1f} 天"
        return (
            f"登记 {m['created']} 件，应整改 {m['due']} 件，已销号 {m['closed']} 件，"
            f"整改率 {percent(m['rectification_rate'])}，"
            f"按期整改率 {percent(m['on_time_rate'])}，逾期 {m['overdue']} 件，长效整改 {m['long_term']} 件，"
            f"销号率 {percent(m['closure_rate'])}，一次复查通过率 {percent(m['first_pass_rate'])}，"
            f"平均整改时长 {days}，反弹率 {percent(m['recurrence_rate'])}"
        )

    lines.append(f"本轮问题整改：{rect_text(rect['overall'])}")
    for title, groups in (("各街道整改", rect["by_street"]), ("各单位整改", rect["by_unit"])):
        lines.append(f"{title}：")
        lines += [
            f"  {g['name']}：应整改 {g['due']} 件，整改率 {percent(g['rectification_rate'])}，逾期 {g['overdue']} 件"
            for g in groups
        ]
        if not groups:
            lines.append("  （无）")
    return lines
