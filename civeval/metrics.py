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


def finding_facts_series(
    conn: sa.Connection,
    actor: Actor,
    dates: Iterable[dt.date],
    *,
    round_id: int | None = None,
    point_id: int | None = None,
) -> dict[dt.date, list[FindingFacts]]:
    """``finding_facts`` for several as-of dates, reading the findings and their events once (for trends);
    only one round's or one point's findings when asked."""
    require(actor, Action.view_findings)
    dates = sorted(set(dates))
    if not dates:
        return {}
    ends = {d: audit.local_day_start(d + dt.timedelta(days=1)) for d in dates}
    last = ends[dates[-1]]
    street = t.units.alias("street")
    q = (
        sa.select(
            t.findings.c.id,
            t.findings.c.code,
            t.findings.c.source,
            t.findings.c.round_id,
            t.findings.c.created_at,
            t.units.c.name.label("unit"),
            street.c.name.label("street"),
            t.point_types.c.name.label("point_type"),
            t.standards.c.code.label("standard"),
            t.categories.c.name.label("category"),
            t.points.c.code.label("point_code"),
            t.points.c.name.label("point_name"),
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
        .where(t.findings.c.created_at < last)
    )
    only = []
    if round_id is not None:
        only.append(t.findings.c.round_id == round_id)
    if point_id is not None:
        only.append(t.findings.c.point_id == point_id)
    q = q.where(*only)
    rows = {r.id: r for r in conn.execute(q)}
    where = reach(actor, Action.view_findings)
    if where is not None:
        inside = unit_subtree(repo.list_units(conn), where)
        rows = {k: r for k, r in rows.items() if r.unit in inside or (r.street and r.street in inside)}
    recurrences = conn.execute(
        sa.select(t.findings.c.recurrence_of, t.findings.c.created_at).where(
            t.findings.c.recurrence_of.is_not(None), t.findings.c.created_at < last
        )
    ).all()
    events: dict[int, list] = {}
    ev_q = sa.select(
        t.finding_events.c.finding_id,
        t.finding_events.c.action,
        t.finding_events.c.to_status,
        t.finding_events.c.detail,
        t.finding_events.c.at,
    ).where(t.finding_events.c.at < last)
    if only:
        ev_q = ev_q.where(t.finding_events.c.finding_id.in_(sa.select(t.findings.c.id).where(*only)))
    for ev in conn.execute(ev_q.order_by(t.finding_events.c.finding_id, t.finding_events.c.id)):
        if ev.finding_id in rows:
            events.setdefault(ev.finding_id, []).append(ev)
    return {d: _replay(rows, events, recurrences, ends[d]) for d in dates}


def _replay(rows: dict, events: dict[int, list], recurrences: list, end: dt.datetime) -> list[FindingFacts]:
    """Each finding created before ``end`` as its events up to ``end`` leave it."""
    recurred = {of for of, at in recurrences if at < end}
    out = []
    for fid, r in rows.items():
        if r.created_at >= end:
            continue
        status, deadline, assigned_at, closed_at, n, first = None, None, None, None, 0, None
        for ev in events.get(fid, ()):
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
                r.point_code,
                r.point_name,
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
    end = audit.local_day_start(as_of + dt.timedelta(days=1))
    closed = [f for f in facts if f.closed and f.closed_at is not None and f.closed_at < end]
    due = [f for f in facts if not f.long_term and (f.deadline <= as_of or f in closed)]
    closed_due = [f for f in due if f in closed]
    on_time = [f for f in closed_due if audit.local_date(f.closed_at) <= f.deadline]
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
    fc = forecast.forecast(s.records)

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
