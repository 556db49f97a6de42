"""Evaluation rounds (测评轮次): create, draw the points, assign them, score them, submit them, close the round.

Every function takes the acting user and enforces civeval.permissions; every write goes through the audit log.
An answer is stored the moment it is given (``save_answer``); the interface holds nothing that is not stored.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from civeval import audit, findings, limits, logs, photos, sampling, scoring
from civeval.models import (
    Actor,
    Answer,
    EvaluationIndex,
    Method,
    Point,
    Result,
    RoundKind,
    RoundStatus,
    SamplePlan,
    Standard,
)
from civeval.permissions import Action, PermissionDenied, assigned_only, reach, require
from civeval.registers import point_units, unit_subtree
from civeval.responsibility import responsible_unit
from civeval.store import repo
from civeval.store import schema as t


class RoundError(Exception):
    """A request the round rules refuse (closed round, unknown point, incomplete submission…); Chinese message."""


class ConflictError(RoundError):
    """Someone else changed the answer since it was read."""


@dataclass(frozen=True)
class RoundInfo:
    id: int
    name: str
    kind: RoundKind
    index_id: int
    start_date: dt.date
    end_date: dt.date
    status: RoundStatus
    sample_plan: dict | None
    drawn_by: str | None
    drawn_at: dt.datetime | None
    n_points: int = 0
    n_submitted: int = 0

    @property
    def title(self) -> str:
        return f"{self.name}（{self.kind.label}，{self.status.label}）"


# --- reading helpers ----------------------------------------------------------------------------


# Statements run on every answer saved or sheet shown are built once, with bound parameters: building and
# keying a statement costs more than running it on an indexed table (measured in benchmarks/, issue 7).


@functools.cache
def _round_row_select(counts: bool, lock: bool = False) -> sa.Select:
    """A round (``:round_id``), with its counts of drawn and submitted points when ``counts`` (both from
    ix_round_points_round_inspector alone); with ``lock``, its row held as ``_open_round`` holds it."""
    if not counts:
        q = sa.select(t.rounds).where(t.rounds.c.id == sa.bindparam("round_id"))
    else:
        mine = t.round_points.c.round_id == t.rounds.c.id
        n = sa.select(sa.func.count()).select_from(t.round_points).where(mine).scalar_subquery()
        s = sa.select(sa.func.count(t.round_points.c.submitted_at)).where(mine).scalar_subquery()
        q = sa.select(t.rounds, n.label("n"), s.label("s")).where(t.rounds.c.id == sa.bindparam("round_id"))
    return _held(q) if lock else q


def _held(q: sa.Select) -> sa.Select:
    """``q`` holding the round's row until the transaction ends, against a change of its status: PostgreSQL's
    ``FOR KEY SHARE OF rounds`` (the lock a foreign key check takes; writers do not wait for each other), which
    ``set_status``'s ``FOR UPDATE`` waits for. SQLite runs one write at a time and ignores it."""
    return q.with_for_update(read=True, key_share=True, of=t.rounds)


def _round_row(conn: sa.Connection, round_id: int, *, counts: bool = True, lock: bool = False) -> RoundInfo:
    """The round; without ``counts`` its n_points and n_submitted are left 0 (a write checking the round needs
    neither, and saving an answer is the app's most frequent write)."""
    r = conn.execute(_round_row_select(counts, lock), {"round_id": round_id}).mappings().first()
    if r is None:
        raise RoundError(f"测评轮次 {round_id} 不存在")
    return _info(r, r["n"], r["s"]) if counts else _info(r)


def _open_round(conn: sa.Connection, round_id: int, *, counts: bool = True) -> RoundInfo:
    """The round a write is about to change, refused unless it is open, and held open until the write commits: a
    round being closed waits for the writes under way, whose answers then count in the figures recorded at its
    close (``civeval.archive``) and reach its gap list; a write after that finds it closed."""
    info = _round_row(conn, round_id, counts=counts, lock=True)
    _require_open(info)
    return info


def _info(r, n: int = 0, s: int = 0) -> RoundInfo:
    return RoundInfo(
        r["id"],
        r["name"],
        RoundKind(r["kind"]),
        r["index_id"],
        r["start_date"],
        r["end_date"],
        RoundStatus(r["status"]),
        r["sample_plan"],
        r["drawn_by"],
        r["drawn_at"],
        n,
        s,
    )


_INDEX_CACHE: dict[tuple[str, int], tuple[EvaluationIndex, dict[str, int]]] = {}


def round_index(conn: sa.Connection, index_id: int) -> tuple[EvaluationIndex, dict[str, int]]:
    """The index a round scores against, and its standard code -> id. Indexes are immutable once stored
    (a replaced index gets new ids), so this is cached per database and index id."""
    key = (str(conn.engine.url), index_id)
    if key not in _INDEX_CACHE:
        index = repo.load_index(conn, index_id)
        ids = dict(
            conn.execute(
                sa.select(t.standards.c.code, t.standards.c.id).where(t.standards.c.index_id == index_id)
            ).all()
        )
        _INDEX_CACHE[key] = (index, ids)
    return _INDEX_CACHE[key]


class _IndexView:
    """What the scoring of one answer or sheet looks up in a round's index, worked out once per stored index (as
    ``round_index`` caches it): standards by code, the applicable standards of each point type, the workload.
    Saving an answer and reloading the sheet did this by scanning the whole index each time (issue 7)."""

    def __init__(self, index: EvaluationIndex, ids: dict[str, int]) -> None:
        self.index, self.ids = index, ids
        self.by_code: dict[str, Standard] = {}
        for _, _, s in index.standards():
            self.by_code.setdefault(s.code, s)  # the first of a code, as EvaluationIndex.standard finds it
        self.workload = sampling.workload_by_type(index)
        self._applicable: dict[str, tuple[tuple[str, str, Standard], ...]] = {}

    def applicable(self, point_type: str) -> tuple[tuple[str, str, Standard], ...]:
        """``applicable_standards(index, point_type)``, computed once per point type."""
        found = self._applicable.get(point_type)
        if found is None:
            found = self._applicable[point_type] = tuple(applicable_standards(self.index, point_type))
        return found


_INDEX_VIEWS: dict[tuple[str, int], _IndexView] = {}


def _index_view(conn: sa.Connection, index_id: int) -> _IndexView:
    """The cached ``_IndexView`` of ``round_index(conn, index_id)`` (made again if that cache was refilled)."""
    key = (str(conn.engine.url), index_id)
    view, cached = _INDEX_VIEWS.get(key), _INDEX_CACHE.get(key)
    if view is not None and cached is not None and view.index is cached[0]:
        return view
    index, ids = round_index(conn, index_id)
    view = _INDEX_VIEWS[key] = _IndexView(index, ids)
    return view


def applicable_standards(index: EvaluationIndex, point_type: str) -> list[tuple[str, str, Standard]]:
    """The field standards checked at a point of this type: (category name, item name, standard), index order."""
    return [(c.name, i.name, s) for c, i, s in index.standards() if s.is_field and point_type in s.point_types]


def materials_standards(index: EvaluationIndex) -> list[tuple[str, str, Standard]]:
    """Standards scored per responsible unit rather than per point (材料审核)."""
    return [(c.name, i.name, s) for c, i, s in index.standards() if Method.materials in s.methods and not s.is_field]


def _point_id(conn: sa.Connection, code: str) -> int:
    pid = conn.execute(sa.select(t.points.c.id).where(t.points.c.code == code)).scalar_one_or_none()
    if pid is None:
        raise RoundError(f"点位“{code}”不存在")
    return pid


def _user_id(conn: sa.Connection, username: str) -> int:
    uid = conn.execute(sa.select(t.users.c.id).where(t.users.c.username == username)).scalar_one_or_none()
    if uid is None:
        raise RoundError(f"用户“{username}”不存在")
    return uid


def _require_open(info: RoundInfo) -> None:
    _require_open_status(info.status, info.name)


def _require_open_status(status: RoundStatus, name: str) -> None:
    if status is RoundStatus.closed:
        raise RoundError(f"“{name}”已结束，只能查看，不能修改")


# --- rounds -------------------------------------------------------------------------------------


def create_round(
    engine: sa.Engine, actor: Actor, *, name: str, kind: RoundKind, index_id: int, start: dt.date, end: dt.date
) -> int:
    require(actor, Action.manage_rounds)
    name = limits.check_text(name, limits.NAME, "轮次名称", RoundError).strip()
    if not name:
        raise RoundError("轮次名称不能为空")
    if end < start:
        raise RoundError("结束日期不能早于开始日期")
    with audit.writing(engine, actor, context=f"新建测评轮次 {name}") as conn:
        if conn.execute(sa.select(t.indexes.c.id).where(t.indexes.c.id == index_id)).first() is None:
            raise RoundError(f"测评体系 {index_id} 不存在")
        return conn.execute(
            sa.insert(t.rounds).values(
                name=name,
                kind=kind.value,
                index_id=index_id,
                start_date=start,
                end_date=end,
                status=RoundStatus.planned.value,
            )
        ).inserted_primary_key[0]


def _visible_round_ids(conn: sa.Connection, actor: Actor) -> set[int] | None:
    """None: every round. Otherwise the rounds with a point assigned to the actor or in their scope."""
    require(actor, Action.view_rounds)
    where = reach(actor, Action.view_rounds)
    if where is None:
        return None
    ids = set(
        conn.execute(
            sa.select(t.round_points.c.round_id).where(t.round_points.c.inspector_id == actor.user_id).distinct()
        ).scalars()
    )
    if where:
        inside = unit_subtree(repo.list_units(conn), where)
        unit_ids = list(conn.execute(sa.select(t.units.c.id).where(t.units.c.name.in_(inside))).scalars())
        ids |= set(
            conn.execute(
                sa.select(t.round_points.c.round_id)
                .join(t.points, t.points.c.id == t.round_points.c.point_id)
                .where(sa.or_(t.points.c.street_id.in_(unit_ids), t.points.c.custodian_unit_id.in_(unit_ids)))
                .distinct()
            ).scalars()
        )
    return ids


def list_rounds(conn: sa.Connection, actor: Actor) -> list[RoundInfo]:
    visible = _visible_round_ids(conn, actor)
    counts = (
        sa.select(
            t.round_points.c.round_id,
            sa.func.count().label("n"),
            sa.func.count(t.round_points.c.submitted_at).label("s"),
        )
        .group_by(t.round_points.c.round_id)
        .subquery()
    )
    q = (
        sa.select(t.rounds, sa.func.coalesce(counts.c.n, 0).label("n"), sa.func.coalesce(counts.c.s, 0).label("s"))
        .select_from(t.rounds.outerjoin(counts, counts.c.round_id == t.rounds.c.id))
        .order_by(t.rounds.c.start_date.desc(), t.rounds.c.id.desc())
    )
    if visible is not None:
        q = q.where(t.rounds.c.id.in_(visible or {-1}))
    return [_info(r, r["n"], r["s"]) for r in conn.execute(q).mappings()]


def default_round(infos: Sequence[RoundInfo]) -> RoundInfo | None:
    """The round a page starts on when none was picked: the first in progress of ``infos`` (newest first), else the
    newest; None when there is none."""
    return next((i for i in infos if i.status is RoundStatus.in_progress), infos[0] if infos else None)


def get_round(conn: sa.Connection, actor: Actor, round_id: int) -> RoundInfo:
    visible = _visible_round_ids(conn, actor)
    if visible is not None and round_id not in visible:
        raise PermissionDenied(f"{actor.name}无权查看测评轮次 {round_id}")
    return _round_row(conn, round_id)


def set_status(engine: sa.Engine, actor: Actor, round_id: int, status: RoundStatus, *, reason: str = "") -> None:
    """planned → in progress → closed; a closed round may be reopened to in progress with a reason."""
    require(actor, Action.manage_rounds)
    with audit.writing(engine, actor, context=f"轮次状态 {round_id} → {status.label}", reason=reason) as conn:
        # Waits for the writes to the round under way (``_open_round``); later ones wait for this, then find the
        # new status. (PostgreSQL; SQLite runs one write at a time.)
        conn.execute(sa.select(t.rounds.c.id).where(t.rounds.c.id == round_id).with_for_update(of=t.rounds))
        info = _round_row(conn, round_id)
        allowed = {
            RoundStatus.planned: {RoundStatus.in_progress},
            RoundStatus.in_progress: {RoundStatus.closed, RoundStatus.planned},
            RoundStatus.closed: {RoundStatus.in_progress},
        }[info.status]
        if status not in allowed:
            raise RoundError(f"“{info.name}”不能从“{info.status.label}”改为“{status.label}”")
        if info.status is RoundStatus.closed and not reason.strip():
            raise RoundError("重新打开已结束的轮次须填写原因")
        if status is RoundStatus.in_progress and info.n_points == 0:
            raise RoundError("尚未抽取点位，不能开始")
        conn.execute(sa.update(t.rounds).where(t.rounds.c.id == round_id).values(status=status.value))
        if status is RoundStatus.closed:  # what was scored but not submitted reaches the gap list too
            scored = conn.execute(
                sa.select(t.observations.c.point_id)
                .where(t.observations.c.round_id == round_id, t.observations.c.point_id.is_not(None))
                .distinct()
            ).scalars()
            for point_id in list(scored):
                findings.sync_point_findings(conn, actor, round_id, point_id)
        from civeval import archive  # archive reads rounds

        if status is RoundStatus.closed:  # its figures no longer change: recorded for trends and deltas
            archive.record(conn, round_id)
        elif info.status is RoundStatus.closed:
            archive.forget(conn, round_id)


# --- drawing and assigning ----------------------------------------------------------------------


def _recently_drawn(conn: sa.Connection, round_id: int, n: int) -> set[str]:
    if n <= 0:
        return set()
    recent = list(
        conn.execute(
            sa.select(t.rounds.c.id)
            .where(t.rounds.c.id != round_id, t.rounds.c.drawn_at.is_not(None))
            .order_by(t.rounds.c.drawn_at.desc())
            .limit(n)
        ).scalars()
    )
    if not recent:
        return set()
    return set(
        conn.execute(
            sa.select(t.points.c.code)
            .join(t.round_points, t.round_points.c.point_id == t.points.c.id)
            .where(t.round_points.c.round_id.in_(recent))
        ).scalars()
    )


def preview_draw(conn: sa.Connection, actor: Actor, round_id: int, plan: SamplePlan) -> sampling.Draw:
    """What ``plan`` would draw for this round (nothing is stored): for the table and map shown before confirming."""
    require(actor, Action.manage_rounds)
    _require_open(_round_row(conn, round_id))
    return sampling.draw(
        repo.list_points(conn), plan, recently_drawn=_recently_drawn(conn, round_id, plan.exclude_last_rounds)
    )


def confirm_draw(engine: sa.Engine, actor: Actor, round_id: int, plan: SamplePlan) -> sampling.Draw:
    """Draw with ``plan`` and store the plan, its seed, who drew and the points. The same plan and seed always
    draw the same points. A planned round may be drawn again (replacing its points) until scoring starts."""
    require(actor, Action.manage_rounds)
    with audit.writing(engine, actor, context=f"抽取点位 轮次{round_id} 种子{plan.seed}") as conn:
        info = _round_row(conn, round_id)
        if info.status is not RoundStatus.planned:
            raise RoundError(f"“{info.name}”已{info.status.label}，不能重新抽取")
        answered = conn.execute(
            sa.select(sa.func.count()).select_from(t.observations).where(t.observations.c.round_id == round_id)
        ).scalar_one()
        if answered:
            raise RoundError("本轮已有测评记录，不能重新抽取")
        draw = sampling.draw(
            repo.list_points(conn), plan, recently_drawn=_recently_drawn(conn, round_id, plan.exclude_last_rounds)
        )
        conn.execute(sa.delete(t.round_points).where(t.round_points.c.round_id == round_id))
        ids = dict(conn.execute(sa.select(t.points.c.code, t.points.c.id)).all())
        if draw.points:
            conn.execute(
                sa.insert(t.round_points),
                [dict(round_id=round_id, point_id=ids[p.code], fixed=p.fixed) for p in draw.points],
            )
        conn.execute(
            sa.update(t.rounds)
            .where(t.rounds.c.id == round_id)
            .values(sample_plan=plan.model_dump(mode="json"), drawn_by=actor.username, drawn_at=audit.now())
        )
    return draw


@dataclass(frozen=True)
class RoundPoint:
    point: Point
    fixed: bool
    inspector: str | None
    visit_date: dt.date | None
    submitted_at: dt.datetime | None
    answered: int = 0
    applicable: int = 0

    @property
    def progress(self) -> str:
        return f"{self.answered}/{self.applicable}"


@functools.cache
def _round_points_select() -> sa.Select:
    """The drawn points of rounds with their register entry, inspector and count of answers (built once)."""
    inspector = t.users.alias("inspector")
    pq = repo._points_query().subquery()
    # Counted per drawn point (an index seek on ix_observations_round_point each), not grouped over the whole
    # round: the query is mostly asked for one point or one inspector's points (issue 7).
    answered = (
        sa.select(sa.func.count())
        .select_from(t.observations)
        .where(
            t.observations.c.round_id == t.round_points.c.round_id,
            t.observations.c.point_id == t.round_points.c.point_id,
        )
        .scalar_subquery()
    )
    return (
        sa.select(
            pq,
            t.round_points.c.fixed,
            inspector.c.username.label("inspector"),
            t.round_points.c.visit_date,
            t.round_points.c.submitted_at,
            answered.label("answered"),
        )
        .select_from(
            t.round_points.join(pq, pq.c.id == t.round_points.c.point_id).outerjoin(
                inspector, inspector.c.id == t.round_points.c.inspector_id
            )
        )
        .order_by(pq.c.street, pq.c.code)
    )


def _round_points_query(round_id: int) -> sa.Select:
    return _round_points_select().where(t.round_points.c.round_id == round_id)


_POINT_FIELDS = (
    "code",
    "name",
    "point_type",
    "street",
    "address",
    "lat",
    "lon",
    "custodian_unit",
    "road_chief_unit",
    "owner_leader",
    "active",
)


def _round_point(r, index: EvaluationIndex, workload: dict[str, int]) -> RoundPoint:
    p = Point(**{k: r[k] for k in _POINT_FIELDS})
    return RoundPoint(
        p, r["fixed"], r["inspector"], r["visit_date"], r["submitted_at"], r["answered"], workload.get(p.point_type, 0)
    )


def round_points(conn: sa.Connection, actor: Actor, round_id: int) -> list[RoundPoint]:
    """The points of a round with their inspector, visit day and progress, as far as the actor may see them."""
    info = get_round(conn, actor, round_id)
    index, _ = round_index(conn, info.index_id)
    workload = sampling.workload_by_type(index)
    rows = [_round_point(r, index, workload) for r in conn.execute(_round_points_query(round_id)).mappings()]
    where = reach(actor, Action.view_rounds)
    if where is None:
        return rows
    inside = unit_subtree(repo.list_units(conn), where) if where else set()
    return [rp for rp in rows if rp.inspector == actor.username or point_units(rp.point) & inside]


def assign(
    engine: sa.Engine, actor: Actor, round_id: int, inspectors: Sequence[str], *, seed: int | None = None
) -> dict[str, list[str]]:
    """Split the round's points among inspectors (usernames), balanced by standards to check and kept together
    by street; for an unannounced round also set each point's visit day. Returns inspector -> point codes."""
    require(actor, Action.manage_rounds)
    with audit.writing(engine, actor, context=f"分配点位 轮次{round_id}") as conn:
        info = _open_round(conn, round_id)
        index, _ = round_index(conn, info.index_id)
        workload = sampling.workload_by_type(index)
        rows = list(conn.execute(_round_points_query(round_id)).mappings())
        drawn = [
            sampling.DrawnPoint(
                code=r["code"], point_type=r["point_type"], street=r["street"], fixed=r["fixed"], stratum=""
            )
            for r in rows
        ]
        plan = sampling.assign(drawn, list(inspectors), workload=lambda p: workload.get(p.point_type, 0))
        days = {}
        if info.kind is RoundKind.unannounced:
            days = sampling.visit_dates(
                plan,
                info.start_date,
                info.end_date,
                seed=seed if seed is not None else round_id,
                streets={p.code: p.street for p in drawn},
            )
        ids = dict(conn.execute(sa.select(t.points.c.code, t.points.c.id)).all())
        for username, codes in plan.items():
            uid = _user_id(conn, username)
            for code in codes:
                conn.execute(
                    sa.update(t.round_points)
                    .where(t.round_points.c.round_id == round_id, t.round_points.c.point_id == ids[code])
                    .values(inspector_id=uid, visit_date=days.get(code))
                )
    return plan


def reassign(
    engine: sa.Engine,
    actor: Actor,
    round_id: int,
    point_code: str,
    inspector: str | None,
    *,
    visit_date: dt.date | None = None,
) -> None:
    """Hand one point to another inspector (or to nobody), optionally with a visit day."""
    require(actor, Action.manage_rounds)
    with audit.writing(engine, actor, context=f"改派点位 {point_code} 轮次{round_id}") as conn:
        _open_round(conn, round_id)
        uid = _user_id(conn, inspector) if inspector else None
        done = conn.execute(
            sa.update(t.round_points)
            .where(t.round_points.c.round_id == round_id, t.round_points.c.point_id == _point_id(conn, point_code))
            .values(inspector_id=uid, visit_date=visit_date)
        ).rowcount
        if not done:
            raise RoundError(f"点位“{point_code}”不在本轮")


# --- the inspector's day ------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    round: RoundInfo
    point: RoundPoint


def tasks(conn: sa.Connection, actor: Actor, *, today: dt.date | None = None) -> list[Task]:
    """The points assigned to the actor in rounds not closed, today's first. In an unannounced round a point
    shows only on its visit day."""
    require(actor, Action.score_points)
    today = today or audit.today()
    rids = list(
        conn.execute(
            sa.select(t.round_points.c.round_id)
            .join(t.rounds, t.rounds.c.id == t.round_points.c.round_id)
            .where(t.round_points.c.inspector_id == actor.user_id, t.rounds.c.status != RoundStatus.closed.value)
            .distinct()
        ).scalars()
    )
    out: list[Task] = []
    for rid in sorted(rids):
        info = _round_row(conn, rid)
        index, _ = round_index(conn, info.index_id)
        workload = sampling.workload_by_type(index)
        mine = _round_points_query(rid).where(t.round_points.c.inspector_id == actor.user_id)
        for r in conn.execute(mine).mappings():
            rp = _round_point(r, index, workload)
            if info.kind is RoundKind.unannounced and rp.visit_date != today:
                continue
            out.append(Task(info, rp))
    return sorted(
        out,
        key=lambda x: (
            x.point.submitted_at is not None,
            x.point.visit_date or dt.date.max,
            x.round.id,
            x.point.point.street or "",
            x.point.point.code,
        ),
    )


_UNREAD = object()  # an optional argument holding what was already read: not given, so read it here


def _may_score(
    conn: sa.Connection,
    actor: Actor,
    info: RoundInfo,
    point_id: int,
    *,
    today: dt.date | None = None,
    assignment=_UNREAD,
) -> None:
    """Refuse (PermissionDenied) unless ``actor`` may score the point in this round. ``assignment``: the point's
    round_points row (its inspector_id and visit_date; None when not drawn) when the caller has read it."""
    require(actor, Action.score_points)
    if not assigned_only(actor, Action.score_points):
        return
    if assignment is _UNREAD:
        assignment = conn.execute(_assignment_select(), {"round_id": info.id, "point_id": point_id}).first()
    _check_assigned(actor, info.kind, assignment, today=today)


@functools.cache
def _assignment_select() -> sa.Select:
    return sa.select(t.round_points.c.inspector_id, t.round_points.c.visit_date).where(
        t.round_points.c.round_id == sa.bindparam("round_id"), t.round_points.c.point_id == sa.bindparam("point_id")
    )


def _check_assigned(actor: Actor, kind: RoundKind, row, *, today: dt.date | None = None) -> None:
    """``_may_score``'s rule for an inspector who scores only the points assigned to them, given the round's kind
    and the point's round_points row (its inspector_id and visit_date; None when the point is not in the round)."""
    if row is None or row.inspector_id != actor.user_id:
        raise PermissionDenied(f"{actor.name}无权为该点位打分：点位未分配给您")
    if kind is RoundKind.unannounced and row.visit_date != (today or audit.today()):
        raise PermissionDenied(f"暗访点位只能在指定日期（{row.visit_date}）打分")


@functools.cache
def _scoring_target_select() -> sa.Select:
    """The point ``:point_code`` with its type and, when it is drawn in round ``:round_id``, its round_points
    row (``drawn`` NULL otherwise)."""
    in_round = sa.and_(
        t.round_points.c.point_id == t.points.c.id, t.round_points.c.round_id == sa.bindparam("round_id")
    )
    return (
        sa.select(
            t.points.c.id,
            t.point_types.c.name,
            t.round_points.c.point_id.label("drawn"),
            t.round_points.c.submitted_at,
            t.round_points.c.inspector_id,
            t.round_points.c.visit_date,
        )
        .select_from(
            t.points.join(t.point_types, t.point_types.c.id == t.points.c.point_type_id).outerjoin(
                t.round_points, in_round
            )
        )
        .where(t.points.c.code == sa.bindparam("point_code"))
    )


@functools.cache
def _save_target_select() -> sa.Select:
    """Everything ``save_answer`` checks and reads before it writes, in one statement (one row, none when the
    round ``:round_id`` does not exist): the round; the point ``:point_code`` (``point_id`` NULL when there is
    none) with its type and, when it is drawn in the round, its round_points row (``drawn`` NULL otherwise); the
    answer stored so far for the round index's standard ``:standard_code`` (``answer_id`` NULL when none).
    Every join is on a primary or unique key."""
    r, p, pt, rp, s, o = t.rounds, t.points, t.point_types, t.round_points, t.standards, t.observations
    return _held(  # the round held open until the save commits
        sa.select(
            r.c.name,
            r.c.kind,
            r.c.status,
            r.c.index_id,
            p.c.id.label("point_id"),
            pt.c.name.label("point_type"),
            rp.c.point_id.label("drawn"),
            rp.c.submitted_at,
            rp.c.inspector_id,
            rp.c.visit_date,
            o.c.id.label("answer_id"),
            o.c.version,
            o.c.result,
            o.c.instances,
            o.c.note,
        )
        .select_from(
            r.outerjoin(p, p.c.code == sa.bindparam("point_code"))
            .outerjoin(pt, pt.c.id == p.c.point_type_id)
            .outerjoin(rp, sa.and_(rp.c.round_id == r.c.id, rp.c.point_id == p.c.id))
            .outerjoin(s, sa.and_(s.c.index_id == r.c.index_id, s.c.code == sa.bindparam("standard_code")))
            .outerjoin(o, sa.and_(o.c.round_id == r.c.id, o.c.point_id == p.c.id, o.c.standard_id == s.c.id))
        )
        .where(r.c.id == sa.bindparam("round_id"))
    )


@dataclass
class StandardAnswer:
    category: str
    item: str
    standard: Standard
    answer: Answer | None = None
    version: int = 0
    answered_by: str = ""
    answered_at: dt.datetime | None = None
    source: str = "app"
    photo_ids: list[int] = field(default_factory=list)
    score: float | None = None

    @property
    def failed(self) -> bool:
        return self.score is not None and self.score < self.standard.full_marks


@dataclass
class PointSheet:
    round: RoundInfo
    point: RoundPoint
    answers: list[StandardAnswer]

    @property
    def answered(self) -> int:
        return sum(a.answer is not None for a in self.answers)

    def missing(self) -> list[str]:
        """What stops submission: unanswered standards, failures without photo or note (Chinese lines)."""
        out = []
        for a in self.answers:
            if a.answer is None:
                out.append(f"{a.standard.code} 未作答")
            elif a.failed:
                if not a.photo_ids:
                    out.append(f"{a.standard.code} 不符合，须上传照片")
                if not a.answer.note.strip():
                    out.append(f"{a.standard.code} 不符合，须填写说明")
        return out


def _answers(
    conn: sa.Connection, round_id: int, *, point_id: int | None = None, unit_id: int | None = None
) -> dict[int, dict]:
    """The answers stored for a point (or a unit) in the round, by standard id; each with its "photos" (ids, in
    order) when it has any."""
    by_point = point_id is not None
    owner = point_id if by_point else unit_id
    rows = {
        r["standard_id"]: dict(r)
        for r in conn.execute(_answers_select(by_point), {"round_id": round_id, "owner": owner}).mappings()
    }
    if rows:
        by_id = {r["id"]: r for r in rows.values()}
        for oid, pid in conn.execute(_answer_photos_select(by_point), {"round_id": round_id, "owner": owner}):
            by_id[oid].setdefault("photos", []).append(pid)
    return rows


@functools.cache
def _answers_select(by_point: bool) -> sa.Select:
    owner = t.observations.c.point_id if by_point else t.observations.c.unit_id
    return sa.select(t.observations).where(
        t.observations.c.round_id == sa.bindparam("round_id"), owner == sa.bindparam("owner")
    )


@functools.cache
def _answer_photos_select(by_point: bool) -> sa.Select:
    """The photos of the answers ``_answers_select`` finds: (observation id, photo id), in order."""
    o, op = t.observations, t.observation_photos
    owner = o.c.point_id if by_point else o.c.unit_id
    return (
        sa.select(op.c.observation_id, op.c.photo_id)
        .join(o, o.c.id == op.c.observation_id)
        .where(o.c.round_id == sa.bindparam("round_id"), owner == sa.bindparam("owner"))
        .order_by(op.c.position)
    )


def _fill(sa_: StandardAnswer, row: dict | None) -> StandardAnswer:
    if row is not None:
        sa_.answer = Answer(result=Result(row["result"]), instances=row["instances"], note=row["note"])
        sa_.version, sa_.answered_by, sa_.answered_at = row["version"], row["answered_by"], row["answered_at"]
        sa_.source, sa_.photo_ids = row["source"], row.get("photos", [])
        scored = scoring.score_observation(sa_.standard, sa_.answer)
        sa_.score = scored.score if scored.applicable else None
    return sa_


def point_sheet(conn: sa.Connection, actor: Actor, round_id: int, point_code: str) -> PointSheet:
    """The scoring sheet of one point: its applicable standards by category, with the answers stored so far.

    The page reloads it after every answer saved, so it reads no more than it shows: its ``round`` is read
    without the round's counts (n_points and n_submitted are 0; ``get_round`` counts them)."""
    info = _round_row(conn, round_id, counts=False)
    r = conn.execute(_sheet_point_select(), {"round_id": round_id, "point_code": point_code}).first()
    if r is None:  # not drawn in the round, or no such point: say which, after the permission check as before
        target = conn.execute(_scoring_target_select(), {"round_id": round_id, "point_code": point_code}).first()
        if target is None:
            raise RoundError(f"点位“{point_code}”不存在")
        _may_score_or_view(conn, actor, info, target.id, assignment=None)
        raise RoundError(f"点位“{point_code}”不在“{info.name}”中")
    _may_score_or_view(conn, actor, info, r.id, assignment=r)
    view = _index_view(conn, info.index_id)
    rp = _round_point(r._mapping, view.index, view.workload)
    stored = _answers(conn, round_id, point_id=r.id)
    ids = view.ids
    answers = [
        _fill(StandardAnswer(c, i, s), stored.get(ids[s.code])) for c, i, s in view.applicable(rp.point.point_type)
    ]
    return PointSheet(info, rp, answers)


@functools.cache
def _sheet_point_select() -> sa.Select:
    """The drawn point ``:point_code`` of round ``:round_id`` as ``round_points`` lists it, with its inspector's
    id (for the permission check); no row when the point is not drawn in the round (or does not exist)."""
    code = sa.select(t.points.c.id).where(t.points.c.code == sa.bindparam("point_code")).scalar_subquery()
    return (
        _round_points_select()
        .add_columns(t.round_points.c.inspector_id)
        .where(t.round_points.c.round_id == sa.bindparam("round_id"), t.round_points.c.point_id == code)
    )


def _may_score_or_view(
    conn: sa.Connection, actor: Actor, info: RoundInfo, point_id: int, *, assignment=_UNREAD
) -> None:
    """Whoever may score the point may see its sheet; so may those whose view of rounds reaches the point
    (city-wide, or its street or unit lies in their scope). An inspector sees only the points assigned to them.
    ``assignment`` as for ``_may_score``."""
    try:
        _may_score(conn, actor, info, point_id, assignment=assignment)
        return
    except PermissionDenied:
        require(actor, Action.view_rounds)
        where = reach(actor, Action.view_rounds)
        if where is None:
            return
        point = conn.execute(repo._points_query().where(t.points.c.id == point_id)).mappings().first()
        p = Point(**{k: point[k] for k in _POINT_FIELDS})
        if not (point_units(p) & unit_subtree(repo.list_units(conn), where)):
            raise


def save_answer(
    engine: sa.Engine,
    actor: Actor,
    round_id: int,
    point_code: str,
    standard_code: str,
    answer: Answer,
    *,
    reason: str = "",
    expected_version: int | None = None,
    source: str = "app",
) -> int:
    """Store one answer now (insert or update). Returns the answer's new version.

    After the point was submitted a change needs a reason, kept in the audit log with the before/after values.
    With ``expected_version`` the save is refused when someone changed the answer in the meantime.
    """
    reason = limits.check_text(reason, limits.REASON, "修改原因", RoundError)
    with audit.writing(
        engine, actor, context=f"测评打分 轮次{round_id} {point_code} {standard_code}", reason=reason
    ) as conn:
        # One statement reads all that is checked below and the answer stored so far (issue 7: each statement
        # costs more CPU than the database's work for it).
        rp = conn.execute(
            _save_target_select(), {"round_id": round_id, "point_code": point_code, "standard_code": standard_code}
        ).first()
        if rp is None:
            raise RoundError(f"测评轮次 {round_id} 不存在")
        _require_open_status(RoundStatus(rp.status), rp.name)
        if rp.point_id is None:
            raise RoundError(f"点位“{point_code}”不存在")
        require(actor, Action.score_points)  # as _may_score, from the row read above
        if assigned_only(actor, Action.score_points):
            _check_assigned(actor, RoundKind(rp.kind), rp if rp.drawn is not None else None)
        view = _index_view(conn, rp.index_id)
        standard = view.by_code.get(standard_code)
        if rp.drawn is None:
            raise RoundError(f"点位“{point_code}”不在“{rp.name}”中")
        if standard is None or not (standard.is_field and rp.point_type in standard.point_types):
            raise RoundError(f"标准“{standard_code}”不适用于点位“{point_code}”（{rp.point_type}）")
        scoring.score_observation(standard, answer)  # refuses an answer that does not fit the scoring mode
        if rp.submitted_at is not None and not reason.strip():
            raise RoundError("该点位已提交，修改须填写原因")
        stored = None if rp.answer_id is None else _Stored(rp.answer_id, rp.version, rp.result, rp.instances, rp.note)
        version = _upsert(
            conn,
            actor,
            round_id,
            view.ids[standard_code],
            answer,
            point_id=rp.point_id,
            expected_version=expected_version,
            source=source,
            stored=stored,
        )
    logs.event(
        "answer_saved", user=actor, action="测评打分", detail=f"轮次{round_id} {point_code} {standard_code} v{version}"
    )
    return version


def _upsert(
    conn: sa.Connection,
    actor: Actor,
    round_id: int,
    standard_id: int,
    answer: Answer,
    *,
    point_id: int | None = None,
    unit_id: int | None = None,
    expected_version: int | None,
    source: str,
    stored=_UNREAD,
) -> int:
    """Insert or update the answer of (round, point or unit, standard); returns its new version. ``stored``: the
    answer stored so far (a ``_Stored``, None when none) when the caller has read it in this transaction."""
    by_point = point_id is not None
    row = (
        conn.execute(
            _stored_answer_select(by_point),
            {"round_id": round_id, "standard_id": standard_id, "owner": point_id if by_point else unit_id},
        ).first()
        if stored is _UNREAD
        else stored
    )
    values = dict(
        result=answer.result.value,
        instances=answer.instances,
        note=limits.check_text(answer.note, limits.NOTE, "备注", RoundError),
        source=source,
        answered_by=actor.username,
        answered_at=audit.now(),
    )
    if row is None:
        if expected_version not in (None, 0):
            raise ConflictError("该答案已被他人删除或尚未保存，请刷新后重试")
        # Someone may give the first answer at the same moment: the unique key lets one insert through and the
        # other inserts nothing (ON CONFLICT DO NOTHING, so the transaction stays usable without a savepoint
        # on PostgreSQL, and the audit log records nothing for it), and the refusal can say who answered.
        key = dict(round_id=round_id, point_id=point_id, unit_id=unit_id, standard_id=standard_id)
        if audit.inserted_nothing(conn.execute(_insert_observation(conn.dialect.name), dict(key, version=1, **values))):
            latest = conn.execute(
                _stored_answer_select(by_point),
                {"round_id": round_id, "standard_id": standard_id, "owner": point_id if by_point else unit_id},
            ).first()
            raise ConflictError(_changed_by(conn, latest.id) if latest is not None else _GONE)
        return 1
    if expected_version is not None and expected_version != row.version:
        raise ConflictError(_changed_by(conn, row.id))
    if (row.result, row.instances, row.note) == (values["result"], values["instances"], values["note"]):
        return row.version  # the same answer again (a double tap): nothing to store
    done = conn.execute(
        sa.update(t.observations)
        .where(t.observations.c.id == row.id, t.observations.c.version == row.version)
        .values(version=row.version + 1, **values)
    ).rowcount
    if not done:  # changed between reading and writing: say by whom, as it now stands
        raise ConflictError(_changed_by(conn, row.id))
    if point_id is not None and _submitted(conn, round_id, point_id):
        findings.sync_point_findings(conn, actor, round_id, point_id)  # a change after submission
    return row.version + 1


@functools.cache
def _insert_observation(dialect: str) -> sa.Insert:
    """The insert of a new answer (values bound at execution, see _round_row_select), inserting nothing when the
    answer exists already (a unique key): on PostgreSQL and SQLite, the two databases the app runs on."""
    if dialect == "postgresql":
        return postgresql.insert(t.observations).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(t.observations).on_conflict_do_nothing()
    return sa.insert(t.observations)  # elsewhere a second insert fails with IntegrityError


_GONE = "该答案已被他人删除，请刷新后重试"


class _Stored(NamedTuple):
    """A stored answer as ``_upsert`` compares and versions it (the columns of ``_stored_answer_select``)."""

    id: int
    version: int
    result: str
    instances: int | None
    note: str


def _changed_by(conn: sa.Connection, observation_id: int) -> str:
    """Why a save based on an older version is refused: who changed the answer, when, and to what (Chinese)."""
    row = conn.execute(
        sa.select(
            t.observations.c.version,
            t.observations.c.result,
            t.observations.c.instances,
            t.observations.c.answered_by,
            t.observations.c.answered_at,
            t.users.c.display_name,
        )
        .outerjoin(t.users, t.users.c.username == t.observations.c.answered_by)
        .where(t.observations.c.id == observation_id)
    ).first()
    if row is None:
        return _GONE
    who = row.answered_by
    if row.display_name and row.display_name != row.answered_by:
        who = f"{row.display_name}（{row.answered_by}）"
    at = row.answered_at.replace(tzinfo=dt.UTC).astimezone(audit.local_zone()).strftime("%m-%d %H:%M")
    what = Result(row.result).label + (f"，{row.instances}处" if row.instances else "")
    return f"该答案已被他人修改：{who} 于 {at} 改为“{what}”（第{row.version}版），请刷新查看最新答案后再改"


@functools.cache
def _stored_answer_select(by_point: bool) -> sa.Select:
    """The stored answer of (``:round_id``, ``:owner``, ``:standard_id``), the owner a point or a unit."""
    owner = t.observations.c.point_id if by_point else t.observations.c.unit_id
    return sa.select(
        t.observations.c.id,
        t.observations.c.version,
        t.observations.c.result,
        t.observations.c.instances,
        t.observations.c.note,
    ).where(
        t.observations.c.round_id == sa.bindparam("round_id"),
        t.observations.c.standard_id == sa.bindparam("standard_id"),
        owner == sa.bindparam("owner"),
    )


def _submitted(conn: sa.Connection, round_id: int, point_id: int) -> bool:
    return (
        conn.execute(
            sa.select(t.round_points.c.submitted_at).where(
                t.round_points.c.round_id == round_id, t.round_points.c.point_id == point_id
            )
        ).scalar()
        is not None
    )


def add_photo(
    engine: sa.Engine, actor: Actor, round_id: int, point_code: str, standard_code: str, data: bytes, filename: str
) -> int:
    """Attach a photo to the answer of a standard at a point (answer first). Returns the photo id."""
    prepared = photos.prepare(data, filename)  # refuses non-images, corrupt and oversized files
    with audit.writing(engine, actor, context=f"上传照片 轮次{round_id} {point_code} {standard_code}") as conn:
        info = _open_round(conn, round_id)
        pid = _point_id(conn, point_code)
        _may_score(conn, actor, info, pid)
        _, ids = round_index(conn, info.index_id)
        if standard_code not in ids:
            raise RoundError(f"标准“{standard_code}”不存在")
        oid = conn.execute(
            sa.select(t.observations.c.id).where(
                t.observations.c.round_id == round_id,
                t.observations.c.point_id == pid,
                t.observations.c.standard_id == ids[standard_code],
            )
        ).scalar_one_or_none()
        if oid is None:
            raise RoundError("请先选择测评结果，再上传照片")
        photo_id = photos.photo_store(engine).put(conn, prepared, uploaded_by=actor.username)
        exists = conn.execute(
            sa.select(t.observation_photos.c.photo_id).where(
                t.observation_photos.c.observation_id == oid, t.observation_photos.c.photo_id == photo_id
            )
        ).first()
        if exists is None:
            position = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.observation_photos)
                .where(t.observation_photos.c.observation_id == oid)
            ).scalar_one()
            conn.execute(
                sa.insert(t.observation_photos).values(observation_id=oid, photo_id=photo_id, position=position)
            )
    return photo_id


def remove_photo(
    engine: sa.Engine,
    actor: Actor,
    round_id: int,
    point_code: str,
    standard_code: str,
    photo_id: int,
    *,
    reason: str = "",
) -> None:
    with audit.writing(
        engine, actor, context=f"删除照片 轮次{round_id} {point_code} {standard_code}", reason=reason
    ) as conn:
        info = _open_round(conn, round_id)
        pid = _point_id(conn, point_code)
        _may_score(conn, actor, info, pid)
        _, ids = round_index(conn, info.index_id)
        oid = conn.execute(
            sa.select(t.observations.c.id).where(
                t.observations.c.round_id == round_id,
                t.observations.c.point_id == pid,
                t.observations.c.standard_id == ids.get(standard_code, -1),
            )
        ).scalar_one_or_none()
        conn.execute(
            sa.delete(t.observation_photos).where(
                t.observation_photos.c.observation_id == oid, t.observation_photos.c.photo_id == photo_id
            )
        )


def submit_point(engine: sa.Engine, actor: Actor, round_id: int, point_code: str) -> None:
    """Submit a point: every standard answered, every failure with a photo and a note."""
    with engine.connect() as conn:
        sheet = point_sheet(conn, actor, round_id, point_code)
    if missing := sheet.missing():
        raise RoundError("不能提交：\n" + "\n".join(missing))
    with audit.writing(engine, actor, context=f"提交点位 轮次{round_id} {point_code}") as conn:
        info = _open_round(conn, round_id)
        pid = _point_id(conn, point_code)
        _may_score(conn, actor, info, pid)
        conn.execute(
            sa.update(t.round_points)
            .where(
                t.round_points.c.round_id == round_id,
                t.round_points.c.point_id == pid,
                t.round_points.c.submitted_at.is_(None),
            )
            .values(submitted_at=audit.now(), submitted_by=actor.username)
        )
        findings.sync_point_findings(conn, actor, round_id, pid)  # every failure onto the gap list


# --- materials review: scored per responsible unit ----------------------------------------------


@dataclass
class UnitSheet:
    round: RoundInfo
    unit: str
    answers: list[StandardAnswer]


def materials_sheets(conn: sa.Connection, actor: Actor, round_id: int) -> list[UnitSheet]:
    """Per responsible unit (the standard's lead unit), the materials standards with their stored answers."""
    require(actor, Action.review_materials)
    info = _round_row(conn, round_id)
    index, ids = round_index(conn, info.index_id)
    unit_ids = dict(conn.execute(sa.select(t.units.c.name, t.units.c.id)).all())
    by_unit: dict[str, list[tuple[str, str, Standard]]] = {}
    for c, i, s in materials_standards(index):
        unit = responsible_unit(s)
        if unit:
            by_unit.setdefault(unit, []).append((c, i, s))
    sheets = []
    for unit in sorted(by_unit):
        stored = _answers(conn, round_id, unit_id=unit_ids.get(unit, -1))
        sheets.append(
            UnitSheet(
                info, unit, [_fill(StandardAnswer(c, i, s), stored.get(ids[s.code])) for c, i, s in by_unit[unit]]
            )
        )
    return sheets


def save_unit_answer(
    engine: sa.Engine,
    actor: Actor,
    round_id: int,
    unit: str,
    standard_code: str,
    answer: Answer,
    *,
    reason: str = "",
    expected_version: int | None = None,
) -> int:
    require(actor, Action.review_materials)
    reason = limits.check_text(reason, limits.REASON, "修改原因", RoundError)
    with audit.writing(engine, actor, context=f"材料审核 轮次{round_id} {unit} {standard_code}", reason=reason) as conn:
        info = _open_round(conn, round_id)
        index, ids = round_index(conn, info.index_id)
        standard = index.standard(standard_code)
        if standard is None or standard not in [s for _, _, s in materials_standards(index)]:
            raise RoundError(f"标准“{standard_code}”不是材料审核标准")
        if responsible_unit(standard) != unit:
            raise RoundError(f"标准“{standard_code}”的责任单位不是“{unit}”")
        uid = conn.execute(sa.select(t.units.c.id).where(t.units.c.name == unit)).scalar_one_or_none()
        if uid is None:
            raise RoundError(f"单位“{unit}”不存在")
        scoring.score_observation(standard, answer)
        return _upsert(
            conn,
            actor,
            round_id,
            ids[standard_code],
            answer,
            unit_id=uid,
            expected_version=expected_version,
            source="app",
        )


# --- scores -------------------------------------------------------------------------------------


class ScoredRecord(NamedTuple):
    """One stored observation with everything a score or a ranking groups by (a tuple: a city's round has 40,000)."""

    point_code: str | None
    point_name: str | None
    street: str | None
    point_type: str | None
    unit: str | None  # who answers for it (the responsibility rule)
    category: str
    item_code: str
    standard: Standard
    result: Result
    instances: int | None
    score: float
    full: float
    failed: bool
    applicable: bool
    scored: scoring.ScoredObservation


def scored_records(conn: sa.Connection, round_id: int) -> list[ScoredRecord]:
    """Every observation of a round, scored (field standards per point, materials per unit).

    An observation is scored by its standard, result and count, so each distinct answer is scored once, and each
    point's and unit's names are read once."""
    info = _round_row(conn, round_id)
    index, ids = round_index(conn, info.index_id)
    by_id = {ids[s.code]: (c, i, s) for c, i, s in index.standards()}
    o = t.observations.c
    pq = repo._points_query().subquery()
    points = {
        r["id"]: r
        for r in conn.execute(
            sa.select(pq).where(pq.c.id.in_(sa.select(o.point_id).where(o.round_id == round_id).distinct()))
        ).mappings()
    }
    unit_names = dict(conn.execute(sa.select(t.units.c.id, t.units.c.name)).all())
    rows = conn.execute(
        sa.select(o.standard_id, o.result, o.instances, o.point_id, o.unit_id).where(o.round_id == round_id)
    ).all()
    scores: dict[tuple, tuple[Answer, scoring.ScoredObservation]] = {}
    where: dict[int, tuple] = {}  # point id → (code, name, point type, street, Point)
    units: dict[tuple, str | None] = {}  # (standard id, point id) → responsible unit
    out = []
    for standard_id, result, instances, point_id, unit_id in rows:
        c, i, s = by_id[standard_id]
        key = (standard_id, result, instances)
        if key not in scores:
            answer = Answer(result=Result(result), instances=instances)
            scores[key] = (answer, scoring.score_observation(s, answer))
        answer, scored = scores[key]
        if point_id is not None:
            if point_id not in where:
                r = points[point_id]
                p = Point(
                    code=r["code"],
                    name=r["name"],
                    point_type=r["point_type"],
                    street=r["street"],
                    custodian_unit=r["custodian_unit"],
                    road_chief_unit=r["road_chief_unit"],
                )
                where[point_id] = (p.code, p.name, p.point_type, p.street, p)
            code, name, point_type, street, point = where[point_id]
        else:
            code = name = point_type = street = point = None
        if unit_id is not None:
            unit = unit_names[unit_id]
        else:
            ukey = (standard_id, point_id)
            if ukey not in units:
                units[ukey] = responsible_unit(s, point)
            unit = units[ukey]
        out.append(
            ScoredRecord(
                code, name, street, point_type, unit, c.name, i.code, s, answer.result, answer.instances,
                scored.score, scored.full, scored.failed, scored.applicable, scored,
            )
        )  # fmt: skip
    return out


@dataclass(frozen=True)
class RoundScores:
    round: RoundInfo
    field: scoring.FieldScore
    overall: scoring.GroupRate
    by_point: list[scoring.RankedGroup]
    by_street: list[scoring.RankedGroup]
    by_unit: list[scoring.RankedGroup]
    by_point_type: list[scoring.RankedGroup]
    by_category: list[scoring.RankedGroup]
    records: list[ScoredRecord]
    materials: scoring.FieldScore | None = None  # the materials observations, scored as the field ones (composite)


def round_scores(conn: sa.Connection, actor: Actor, round_id: int) -> RoundScores:
    """Score rates of a round by point, street, unit, point type and category, and its field score."""
    require(actor, Action.view_scores)
    info = _round_row(conn, round_id)
    records = scored_records(conn, round_id)
    where = reach(actor, Action.view_scores)
    if where is not None:
        inside = unit_subtree(repo.list_units(conn), where)
        records = [r for r in records if {r.street, r.unit} & inside]
    return scores_of(info, records)


def scores_of(info: RoundInfo, records: list[ScoredRecord]) -> RoundScores:
    """``round_scores`` of records already read: every ranking and the field score in one pass over them (a city's
    round has 40,000), each group summed as ``scoring.group_rates`` sums it."""
    dims = ("point", "street", "unit", "point_type", "category")
    groups: dict[str, dict] = {d: {} for d in dims}
    field = scoring.FieldTally()
    materials = scoring.FieldTally()
    has_materials = False
    scores: list[float] = []
    fulls: list[float] = []
    failures = 0
    for r in records:
        if not r.applicable:
            continue
        score, full, failed = r.score, r.full, r.failed
        scores.append(score)
        fulls.append(full)
        failures += failed
        point = r.point_code and f"{r.point_code} {r.point_name}"
        if point is not None:
            field.add(r.scored, r.item_code, r.point_code)
        else:
            materials.add(r.scored, r.item_code, r.unit)
            has_materials = True
        for dim, key in zip(dims, (point, r.street, r.unit, r.point_type, r.category), strict=True):
            if key is None:
                continue
            g = groups[dim].get(key)
            if g is None:
                g = groups[dim][key] = [[], [], 0]
            g[0].append(score)
            g[1].append(full)
            g[2] += failed

    def rates(dim: str) -> list[scoring.RankedGroup]:
        out = []
        for key, (s, f, n_failed) in groups[dim].items():
            total, whole = math.fsum(s), math.fsum(f)
            out.append(scoring.GroupRate(key, total, whole, scoring.rate(total, whole), n_failed, len(s)))
        return scoring.ranking(out)

    total, whole = math.fsum(scores), math.fsum(fulls)
    return RoundScores(
        round=info,
        field=field.result(),
        overall=scoring.GroupRate("全部", total, whole, scoring.rate(total, whole), failures, len(scores))
        if scores
        else scoring.GroupRate("全部", 0.0, 0.0, None, 0, 0),
        by_point=rates("point"),
        by_street=rates("street"),
        by_unit=rates("unit"),
        by_point_type=rates("point_type"),
        by_category=rates("category"),
        records=records,
        materials=materials.result() if has_materials else None,
    )


def previous_round(conn: sa.Connection, round_id: int) -> int | None:
    """The latest earlier round of the same kind (for round-over-round deltas)."""
    info = _round_row(conn, round_id)
    return conn.execute(
        sa.select(t.rounds.c.id)
        .where(
            t.rounds.c.kind == info.kind.value,
            t.rounds.c.id != round_id,
            sa.or_(
                t.rounds.c.start_date < info.start_date,
                sa.and_(t.rounds.c.start_date == info.start_date, t.rounds.c.id < round_id),
            ),
        )
        .order_by(t.rounds.c.start_date.desc(), t.rounds.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def inspectors(conn: sa.Connection, actor: Actor) -> list[str]:
    """Usernames holding the inspector role (for assignment)."""
    require(actor, Action.manage_rounds)
    return list(
        conn.execute(
            sa.select(t.users.c.username)
            .join(t.role_grants, t.role_grants.c.user_id == t.users.c.id)
            .where(t.role_grants.c.role == "inspector", t.users.c.active)
            .distinct()
            .order_by(t.users.c.username)
        ).scalars()
    )


__all__ = [
    "ConflictError",
    "PointSheet",
    "RoundError",
    "RoundInfo",
    "RoundPoint",
    "RoundScores",
    "ScoredRecord",
    "StandardAnswer",
    "Task",
    "UnitSheet",
    "add_photo",
    "applicable_standards",
    "assign",
    "confirm_draw",
    "create_round",
    "default_round",
    "get_round",
    "list_rounds",
    "materials_sheets",
    "materials_standards",
    "point_sheet",
    "preview_draw",
    "previous_round",
    "reassign",
    "remove_photo",
    "round_points",
    "round_scores",
    "save_answer",
    "save_unit_answer",
    "scored_records",
    "set_status",
    "submit_point",
    "tasks",
]


# --- for the scoring page (added with the inspector's pages) -----------------------------------


def result_choices(standard: Standard) -> list[Result]:
    """The results an inspector picks from for a pass/fail or graded standard (a deduction standard takes a count,
    see ``count_answer``, or not applicable)."""
    from civeval.models import ScoringMode

    if standard.scoring_mode is ScoringMode.graded:
        return [Result.A, Result.B, Result.C, Result.D, Result.na]
    if standard.scoring_mode is ScoringMode.deduction:
        return [Result.na]
    return [Result.passed, Result.failed, Result.na]


def count_answer(instances: int, note: str = "") -> Answer:
    """A deduction standard's answer from the problem instances seen: pass when none, fail otherwise."""
    return Answer(result=Result.failed if instances > 0 else Result.passed, instances=instances, note=note)


def photo_location(conn: sa.Connection, photo_id: int, point: Point) -> photos.LocationCheck | None:
    """How far from the point a stored photo was taken (EXIF GPS); None when either position is unknown."""
    row = conn.execute(sa.select(t.photos.c.gps_lat, t.photos.c.gps_lon).where(t.photos.c.id == photo_id)).first()
    return None if row is None else photos.location_check(row.gps_lat, row.gps_lon, point.lat, point.lon)


__all__ += ["count_answer", "photo_location", "result_choices"]


# --- several answers in one transaction (added for the offline paper sheets, civeval.paper) -----


@dataclass(frozen=True)
class AnswerItem:
    """One answer of a batch for ``save_answers``; ``reason`` overrides the batch's reason for this one."""

    point_code: str
    standard_code: str
    answer: Answer
    expected_version: int | None = None
    reason: str = ""


def save_answers(
    engine: sa.Engine,
    actor: Actor,
    round_id: int,
    items: Sequence[AnswerItem],
    *,
    source: str = "app",
    reason: str = "",
    context: str = "",
) -> list[int]:
    """Store several answers with ``save_answer``'s checks, in one audited transaction: all of them or none.

    Each change is logged with its item's reason (or ``reason``) and ``context``. Returns the new versions in
    item order. Errors are those of ``save_answer`` (RoundError, ConflictError, PermissionDenied), naming the item.
    """
    context = context or f"批量打分 轮次{round_id}"
    with audit.writing(engine, actor, context=context, reason=reason) as conn:
        info = _open_round(conn, round_id, counts=False)
        index, ids = round_index(conn, info.index_id)
        drawn = {
            r.code: r
            for r in conn.execute(
                sa.select(t.points.c.code, t.points.c.id, t.round_points.c.submitted_at, t.point_types.c.name)
                .join(t.points, t.points.c.id == t.round_points.c.point_id)
                .join(t.point_types, t.point_types.c.id == t.points.c.point_type_id)
                .where(t.round_points.c.round_id == round_id)
            )
        }
        versions = []
        for item in items:
            why = item.reason or reason
            why = limits.check_text(why, limits.REASON, f"点位“{item.point_code}”的修改原因", RoundError)
            conn.execution_options(
                civeval_context=f"{context} {item.point_code} {item.standard_code}"[:300], civeval_reason=why
            )
            rp = drawn.get(item.point_code)
            if rp is None:
                raise RoundError(f"点位“{item.point_code}”不在“{info.name}”中")
            try:
                _may_score(conn, actor, info, rp.id)
            except PermissionDenied as e:
                raise PermissionDenied(f"点位“{item.point_code}”：{e}") from e
            standard = index.standard(item.standard_code)
            if standard is None or not (standard.is_field and rp.name in standard.point_types):
                raise RoundError(f"标准“{item.standard_code}”不适用于点位“{item.point_code}”（{rp.name}）")
            try:
                scoring.score_observation(standard, item.answer)
            except scoring.ScoringError as e:
                raise RoundError(f"点位“{item.point_code}” {e}") from e
            if rp.submitted_at is not None and not why.strip():
                raise RoundError(f"点位“{item.point_code}”已提交，修改须填写原因")
            try:
                versions.append(
                    _upsert(
                        conn,
                        actor,
                        round_id,
                        ids[item.standard_code],
                        item.answer,
                        point_id=rp.id,
                        expected_version=item.expected_version,
                        source=source,
                    )
                )
            except ConflictError as e:
                raise ConflictError(f"点位“{item.point_code}” 标准“{item.standard_code}”：{e}") from e
    logs.event("answer_saved", user=actor, action="批量打分", detail=f"轮次{round_id} {len(versions)} 条（{source}）")
    return versions


__all__ += ["AnswerItem", "save_answers"]
