"""Rectification metrics (DOMAIN.md, "Rectification definitions") for any as-of date, overall and by group.

Each finding's state on date T is rebuilt from its events up to the end of T (the event log is append-only),
so the rates of a past date do not change when findings move on later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa

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
    require(actor, Action.view_findings)
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    street = t.units.alias("street")
    q = (
        sa.select(
            t.findings.c.id,
            t.findings.c.code,
            t.findings.c.source,
            t.findings.c.round_id,
            t.findings.c.recurrence_of,
            t.units.c.name.label("unit"),
            street.c.name.label("street"),
            t.point_types.c.name.label("point_type"),
            t.standards.c.code.label("standard"),
            t.categories.c.name.label("category"),
        )
        .select_from(
            t.findings.join(t.units, t.units.c.id == t.findings.c.unit_id)
            .outerjoin(t.points, t.points.c.id == t.findings.c.point_id)
            .outerjoin(street, street.c.id == t.points.c.street_id)
            .outerjoin(t.point_types, t.point_types.c.id == t.points.c.point_type_id)
            .outerjoin(t.standards, t.standards.c.id == t.findings.c.standard_id)
            .outerjoin(t.items, t.items.c.id == t.standards.c.item_id)
            .outerjoin(t.categories, t.categories.c.id == t.items.c.category_id)
        )
        .where(t.findings.c.created_at < end)
    )
    if round_id is not None:
        q = q.where(t.findings.c.round_id == round_id)
    rows = {r.id: r for r in conn.execute(q)}
    where = reach(actor, Action.view_findings)
    if where is not None:
        inside = unit_subtree(repo.list_units(conn), where)
        rows = {k: r for k, r in rows.items() if r.unit in inside or (r.street and r.street in inside)}
    recurred = set(
        conn.execute(
            sa.select(t.findings.c.recurrence_of).where(
                t.findings.c.recurrence_of.is_not(None), t.findings.c.created_at < end
            )
        ).scalars()
    )
    events: dict[int, list] = {}
    for ev in conn.execute(
        sa.select(t.finding_events)
        .where(t.finding_events.c.at < end)
        .order_by(t.finding_events.c.finding_id, t.finding_events.c.id)
    ):
        if ev.finding_id in rows:
            events.setdefault(ev.finding_id, []).append(ev)
    out = []
    for fid, r in rows.items():
        status, deadline, assigned_at, closed_at, n, first = None, None, None, None, 0, None
        for ev in events.get(fid, []):
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
            continue
        out.append(
            FindingFacts(
                fid,
                r.code,
                r.source,
                r.unit,
                r.street,
                r.point_type,
                r.standard,
                r.category,
                r.round_id,
                assigned_at,
                deadline,
                status,
                closed_at,
                n,
                first,
                fid in recurred and status == "closed",
            )
        )
    return out


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


def rectification(facts: Iterable[FindingFacts], as_of: dt.date) -> RectificationMetrics:
    facts = list(facts)
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    closed = [f for f in facts if f.closed and f.closed_at is not None and f.closed_at < end]
    due = [f for f in facts if not f.long_term and (f.deadline <= as_of or f in closed)]
    closed_due = [f for f in due if f in closed]
    on_time = [f for f in closed_due if f.closed_at.date() <= f.deadline]
    overdue = [f for f in facts if f.open and f.deadline < as_of]
    reinspected = [f for f in facts if f.reinspections > 0]
    first_pass = [f for f in reinspected if f.first_reinspection_passed]
    recurred = [f for f in closed if f.recurred]
    days = [(f.closed_at - f.assigned_at).total_seconds() / 86400 for f in closed]
    return RectificationMetrics(
        as_of=as_of,
        created=len(facts),
        due=len(due),
        closed=len(closed),
        closed_due=len(closed_due),
        closed_on_time=len(on_time),
        overdue=len(overdue),
        open=sum(f.open for f in facts),
        long_term=sum(f.long_term for f in facts),
        reinspected=len(reinspected),
        first_pass=len(first_pass),
        recurred=len(recurred),
        mean_days_to_fix=sum(days) / len(days) if days else None,
        rectification_rate=_ratio(len(closed_due), len(due)),
        on_time_rate=_ratio(len(on_time), len(due)),
        closure_rate=_ratio(len(closed), len(facts)),
        first_pass_rate=_ratio(len(first_pass), len(reinspected)),
        recurrence_rate=_ratio(len(recurred), len(closed)),
    )


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
