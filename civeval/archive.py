"""A closed round's figures, recorded when it closes (测评结果归档).

A closed round takes no more answers, and the findings' events are never written in the past, so what the trend and
the next round's deltas need of it stays as it was: its field and overall score rates, the rates of its streets,
units and point types, and the rectification rates of all findings at the end of its last day. ``record`` stores
them when the round closes (``civeval.rounds.set_status``); reopening the round removes them (``forget``). The
dashboard reads them instead of scoring every observation of twelve rounds and replaying every finding's events at
twelve dates; a round without them is computed from the observations as before (``civeval.dashboard``).

The figures are city-wide: a user who sees only part of the city gets the trend computed for that part.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import sqlalchemy as sa

from civeval import audit, metrics, rounds
from civeval.models import Actor, RoundStatus
from civeval.permissions import Action, reach
from civeval.store import schema as t

DIMENSIONS = ("street", "unit", "point_type")


@dataclass(frozen=True)
class Summary:
    """What later figures need of a round: city-wide score rates, group rates for deltas, and the rectification
    rates of all findings at the end of ``rectification_on`` (the round's last day; None when it had not passed)."""

    round_id: int
    observations: int
    field_rate: float | None
    overall_rate: float | None
    materials_rate: float | None  # the composite's materials part
    groups: dict[str, dict[str, float | None]]  # "street" | "unit" | "point_type" → name → rate
    rectification_on: dt.date | None = None
    rectification_rate: float | None = None
    on_time_rate: float | None = None


def summarize(scores: rounds.RoundScores) -> Summary:
    """The summary of a round's scores (city-wide ones for ``record``)."""
    return Summary(
        round_id=scores.round.id,
        observations=len(scores.records),
        field_rate=scores.field.rate,
        overall_rate=scores.overall.rate,
        materials_rate=scores.materials.rate if scores.materials is not None else None,
        groups={
            dim: {str(g.key): g.rate for g in getattr(scores, f"by_{dim}")}
            for dim in DIMENSIONS  # by_street, by_unit, by_point_type
        },
    )


def _system() -> Actor:
    return Actor.system("测评结果归档")


def compute(conn: sa.Connection, round_id: int, today: dt.date | None = None) -> Summary:
    """A round's summary computed from its observations and the findings' events."""
    today = today or audit.today()
    system = _system()
    s = summarize(rounds.round_scores(conn, system, round_id))
    end = rounds._round_row(conn, round_id, counts=False).end_date
    if end >= today:
        return s
    m = metrics.rectification_totals(conn, system, [end])[end]
    return replace(s, rectification_on=end, rectification_rate=m.rectification_rate, on_time_rate=m.on_time_rate)


def record(conn: sa.Connection, round_id: int, today: dt.date | None = None) -> Summary:
    """Store a closed round's summary (inside the caller's audited transaction)."""
    s = compute(conn, round_id, today)
    forget(conn, round_id)
    conn.execute(
        sa.insert(t.round_results).values(
            round_id=round_id,
            recorded_at=audit.now(),
            observations=s.observations,
            field_rate=s.field_rate,
            overall_rate=s.overall_rate,
            materials_rate=s.materials_rate,
            groups=_keyed(conn, s.groups),
            rectification_on=s.rectification_on,
            rectification_rate=s.rectification_rate,
            on_time_rate=s.on_time_rate,
        )
    )
    return s


def forget(conn: sa.Connection, round_id: int) -> None:
    conn.execute(sa.delete(t.round_results).where(t.round_results.c.round_id == round_id))


def load(conn: sa.Connection, round_ids: list[int]) -> dict[int, Summary]:
    """The stored summaries of those rounds that have one."""
    if not round_ids:
        return {}
    r = t.round_results.c
    names = _names(conn)
    return {
        row.round_id: Summary(
            row.round_id,
            row.observations,
            row.field_rate,
            row.overall_rate,
            row.materials_rate,
            {dim: {_name(names, dim, key): rate for key, rate in g.items()} for dim, g in row.groups.items()},
            row.rectification_on,
            row.rectification_rate,
            row.on_time_rate,
        )
        for row in conn.execute(sa.select(t.round_results).where(r.round_id.in_(round_ids)))
    }


def for_actor(conn: sa.Connection, actor: Actor, round_ids: list[int]) -> dict[int, Summary]:
    """``load`` for a user who sees the whole city (scores and findings); a user who sees part of it gets none:
    their figures are computed for their part."""
    city_wide = reach(actor, Action.view_scores) is None and reach(actor, Action.view_findings) is None
    return load(conn, round_ids) if city_wide else {}


def backfill(engine: sa.Engine, today: dt.date | None = None, *, again: bool = False) -> int:
    """Record the closed rounds that lack a summary, or whose last day has passed since it was recorded (rounds
    closed before this was kept, or closed early); with ``again``, every closed round (after history was loaded
    with past dates, as the demo does). Returns how many were recorded."""
    today = today or audit.today()
    rr = t.round_results.c
    missing = sa.or_(rr.round_id.is_(None), sa.and_(rr.rectification_on.is_(None), t.rounds.c.end_date < today))
    with engine.connect() as conn:
        todo = list(
            conn.execute(
                sa.select(t.rounds.c.id)
                .outerjoin(t.round_results, rr.round_id == t.rounds.c.id)
                .where(t.rounds.c.status == RoundStatus.closed.value, sa.true() if again else missing)
                .order_by(t.rounds.c.id)
            ).scalars()
        )
    for rid in todo:
        with audit.writing(engine, _system(), context=f"测评结果归档：轮次 {rid}") as conn:
            record(conn, rid, today)
    return len(todo)


# Group rates are stored by the unit's or point type's id ("id:12"), so that a unit renamed since (a town become a
# street) keeps its rate under its new name; a group that is no unit of the register keeps its name ("name:…").


def _ids(conn: sa.Connection) -> dict[str, dict[str, int]]:
    units = dict(conn.execute(sa.select(t.units.c.name, t.units.c.id)).all())
    types = dict(conn.execute(sa.select(t.point_types.c.name, t.point_types.c.id)).all())
    return {"street": units, "unit": units, "point_type": types}


def _names(conn: sa.Connection) -> dict[str, dict[str, str]]:
    return {dim: {f"id:{i}": name for name, i in ids.items()} for dim, ids in _ids(conn).items()}


def _keyed(conn: sa.Connection, groups: dict[str, dict[str, float | None]]) -> dict[str, dict[str, float | None]]:
    ids = _ids(conn)
    return {
        dim: {
            (f"id:{ids[dim][name]}" if name in ids.get(dim, {}) else f"name:{name}"): rate for name, rate in g.items()
        }
        for dim, g in groups.items()
    }


def _name(names: dict[str, dict[str, str]], dim: str, key: str) -> str:
    if key.startswith("id:"):
        return names.get(dim, {}).get(key, key)
    return key.removeprefix("name:")
