"""The gap list (问题清单): findings, their life cycle as one state machine, deadlines and escalation.

A finding is created from every failed observation (one per round, point and standard) or by hand from another
source; it is handed to the responsible unit with a deadline, fixed, re-inspected by someone other than that
unit, and only then closed (销号). Findings are never deleted: a mistaken one is voided with a reason. Every
transition is recorded (finding_events) with who, when and why, and goes through the audit log.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

import sqlalchemy as sa

from civeval import audit, limits, logs, photos, scoring
from civeval.deadlines import Calendar, calendar_from_env
from civeval.models import (
    Actor,
    Answer,
    FindingSource,
    FindingStatus,
    LabelledEnum,
    Point,
    Result,
    Role,
    RoundKind,
    Severity,
    register_labels,
)
from civeval.permissions import Action, PermissionDenied, reach, require
from civeval.registers import point_units, unit_subtree
from civeval.responsibility import responsible_unit
from civeval.store import repo
from civeval.store import schema as t

S = FindingStatus


class FindingError(Exception):
    """A transition or request the rules refuse; the message is Chinese and says why."""


class FindingAction(LabelledEnum):
    start = "start"
    submit = "submit"
    pass_reinspection = "pass_reinspection"
    fail_reinspection = "fail_reinspection"
    request_extension = "request_extension"
    grant_extension = "grant_extension"
    refuse_extension = "refuse_extension"
    reassign = "reassign"
    mark_long_term = "mark_long_term"
    void = "void"


register_labels(
    "FindingAction",
    {
        "start": ("开始整改",),
        "submit": ("提交整改",),
        "pass_reinspection": ("复查通过（销号）",),
        "fail_reinspection": ("复查不通过",),
        "request_extension": ("申请延期",),
        "grant_extension": ("批准延期",),
        "refuse_extension": ("驳回延期",),
        "reassign": ("转办",),
        "mark_long_term": ("列为长效整改",),
        "void": ("作废",),
    },
)


@dataclass(frozen=True)
class Transition:
    from_states: frozenset[FindingStatus]
    to_state: FindingStatus | None  # None: the state does not change
    action: Action  # the permission it needs
    needs_reason: bool = False


_OPEN = frozenset({S.assigned, S.in_progress})
TRANSITIONS: dict[FindingAction, Transition] = {
    FindingAction.start: Transition(frozenset({S.assigned}), S.in_progress, Action.rectify),
    FindingAction.submit: Transition(_OPEN, S.submitted, Action.rectify),
    FindingAction.pass_reinspection: Transition(frozenset({S.submitted}), S.closed, Action.reinspect),
    FindingAction.fail_reinspection: Transition(frozenset({S.submitted}), S.in_progress, Action.reinspect, True),
    FindingAction.request_extension: Transition(_OPEN, None, Action.rectify, True),
    FindingAction.grant_extension: Transition(_OPEN, None, Action.assign_findings),
    FindingAction.refuse_extension: Transition(_OPEN, None, Action.assign_findings, True),
    FindingAction.reassign: Transition(
        frozenset({S.assigned, S.in_progress, S.submitted}), S.assigned, Action.assign_findings, True
    ),
    FindingAction.mark_long_term: Transition(_OPEN, S.long_term, Action.manage_findings, True),
    FindingAction.void: Transition(
        frozenset({S.assigned, S.in_progress, S.submitted, S.long_term}), S.voided, Action.manage_findings, True
    ),
}
OPEN_STATES = frozenset({S.assigned, S.in_progress, S.submitted})


class Escalation(Enum):
    none = 0
    due_soon = 1  # the deadline is today or tomorrow: a reminder
    overdue = 2  # past the deadline: a supervision notice to the unit (督办)
    escalated = 3  # past twice the allowed time: raised to the owning leader


ESCALATION_LABELS = {
    Escalation.none: "",
    Escalation.due_soon: "即将到期",
    Escalation.overdue: "已逾期（督办）",
    Escalation.escalated: "严重逾期（报分管领导）",
}


def escalation(status: FindingStatus, assigned: dt.date, deadline: dt.date, today: dt.date) -> Escalation:
    """Reminder the day before; overdue → supervision notice; past twice the allowed time → the owning leader."""
    if status not in OPEN_STATES:
        return Escalation.none
    allowed = max(1, (deadline - assigned).days)
    if (today - assigned).days > 2 * allowed and today > deadline:
        return Escalation.escalated
    if today > deadline:
        return Escalation.overdue
    if (deadline - today).days <= 1:
        return Escalation.due_soon
    return Escalation.none


# --- reading ------------------------------------------------------------------------------------


@dataclass
class Finding:
    id: int
    code: str
    source: FindingSource
    status: FindingStatus
    round_id: int | None
    round_name: str | None
    point_code: str | None
    point_name: str | None
    point_type: str | None
    street: str | None
    owner_leader: str
    standard_code: str | None
    standard_text: str | None
    category: str | None
    unit: str
    description: str
    severity: Severity
    instances: int | None
    created_at: dt.datetime
    created_by: str
    assigned_at: dt.datetime
    deadline: dt.date
    closed_at: dt.datetime | None
    long_term_at: dt.datetime | None
    voided_at: dt.datetime | None
    reinspections: int
    extension_until: dt.date | None
    recurrence_of: str | None
    version: int
    before_photos: list[int] = field(default_factory=list)
    after_photos: list[int] = field(default_factory=list)

    def escalation(self, today: dt.date) -> Escalation:
        return escalation(self.status, audit.local_date(self.assigned_at), self.deadline, today)

    def days_overdue(self, today: dt.date) -> int:
        return max(0, (today - self.deadline).days) if self.status in OPEN_STATES else 0


def _query() -> sa.Select:
    std = t.standards
    cat = t.categories
    street = t.units.alias("street")
    return sa.select(
        t.findings,
        t.rounds.c.name.label("round_name"),
        t.points.c.code.label("point_code"),
        t.points.c.name.label("point_name"),
        t.point_types.c.name.label("point_type"),
        street.c.name.label("street"),
        t.points.c.owner_leader,
        std.c.code.label("standard_code"),
        std.c.text.label("standard_text"),
        cat.c.name.label("category"),
        t.units.c.name.label("unit"),
    ).select_from(
        t.findings.join(t.units, t.units.c.id == t.findings.c.unit_id)
        .outerjoin(t.rounds, t.rounds.c.id == t.findings.c.round_id)
        .outerjoin(t.points, t.points.c.id == t.findings.c.point_id)
        .outerjoin(t.point_types, t.point_types.c.id == t.points.c.point_type_id)
        .outerjoin(street, street.c.id == t.points.c.street_id)
        .outerjoin(std, std.c.id == t.findings.c.standard_id)
        .outerjoin(t.items, t.items.c.id == std.c.item_id)
        .outerjoin(cat, cat.c.id == t.items.c.category_id)
    )


def _rows_to_findings(conn: sa.Connection, rows: Iterable[sa.RowMapping]) -> list[Finding]:
    rows = list(rows)
    codes = {}
    for ids in repo.chunked(sorted({r["recurrence_of"] for r in rows if r["recurrence_of"]})):
        codes.update(conn.execute(sa.select(t.findings.c.id, t.findings.c.code).where(t.findings.c.id.in_(ids))).all())
    pics: dict[tuple[int, str], list[int]] = {}
    for ids in repo.chunked([r["id"] for r in rows]):
        for fid, pid, kind in conn.execute(
            sa.select(t.finding_photos.c.finding_id, t.finding_photos.c.photo_id, t.finding_photos.c.kind)
            .where(t.finding_photos.c.finding_id.in_(ids))
            .order_by(t.finding_photos.c.position)
        ):
            pics.setdefault((fid, kind), []).append(pid)
    return [
        Finding(
            r["id"],
            r["code"],
            FindingSource(r["source"]),
            FindingStatus(r["status"]),
            r["round_id"],
            r["round_name"],
            r["point_code"],
            r["point_name"],
            r["point_type"],
            r["street"],
            r["owner_leader"] or "",
            r["standard_code"],
            r["standard_text"],
            r["category"],
            r["unit"],
            r["description"],
            Severity(r["severity"]),
            r["instances"],
            r["created_at"],
            r["created_by"],
            r["assigned_at"],
            r["deadline"],
            r["closed_at"],
            r["long_term_at"],
            r["voided_at"],
            r["reinspections"],
            r["extension_until"],
            codes.get(r["recurrence_of"]),
            r["version"],
            pics.get((r["id"], "before"), []),
            pics.get((r["id"], "after"), []),
        )
        for r in rows
    ]


def _reach_filter(conn: sa.Connection, actor: Actor, action: Action) -> Callable[[Finding], bool]:
    """Whether a finding lies in the actor's reach for the action: their unit (and the units under it), or for
    street-wide roles also the findings at points of their street. Rectifying is for the responsible unit only.
    The reach is read once, so filtering a long list costs one query."""
    where = reach(actor, action)
    if where is None:
        return lambda f: True
    inside = unit_subtree(repo.list_units(conn), where)
    if action is Action.rectify:
        return lambda f: f.unit in inside
    return lambda f: f.unit in inside or (f.street is not None and f.street in inside)


def _in_reach(conn: sa.Connection, actor: Actor, action: Action, f: Finding) -> bool:
    return _reach_filter(conn, actor, action)(f)


def list_findings(
    conn: sa.Connection,
    actor: Actor,
    *,
    statuses: Iterable[FindingStatus] = (),
    unit: str | None = None,
    street: str | None = None,
    round_id: int | None = None,
    source: FindingSource | None = None,
) -> list[Finding]:
    """The findings the actor may see (city-wide, or their unit's / street's), newest deadline last."""
    require(actor, Action.view_findings)
    q = _query()
    if statuses := [s.value for s in statuses]:
        q = q.where(t.findings.c.status.in_(statuses))
    if unit:
        q = q.where(t.units.c.name == unit)
    if round_id is not None:
        q = q.where(t.findings.c.round_id == round_id)
    if source is not None:
        q = q.where(t.findings.c.source == source.value)
    found = _rows_to_findings(conn, conn.execute(q.order_by(t.findings.c.deadline, t.findings.c.id)).mappings())
    if street:
        found = [f for f in found if f.street == street]
    return list(filter(_reach_filter(conn, actor, Action.view_findings), found))


def get_finding(conn: sa.Connection, actor: Actor, code: str) -> Finding:
    require(actor, Action.view_findings)
    rows = list(conn.execute(_query().where(t.findings.c.code == code)).mappings())
    if not rows:
        raise FindingError(f"问题“{code}”不存在")
    f = _rows_to_findings(conn, rows)[0]
    if not _in_reach(conn, actor, Action.view_findings, f):
        raise PermissionDenied(f"{actor.name}无权查看问题 {code}")
    return f


def history(conn: sa.Connection, actor: Actor, code: str) -> list[dict]:
    f = get_finding(conn, actor, code)
    return [
        dict(r._mapping)
        for r in conn.execute(
            sa.select(t.finding_events).where(t.finding_events.c.finding_id == f.id).order_by(t.finding_events.c.id)
        )
    ]


# --- creating -----------------------------------------------------------------------------------


def _event(
    conn: sa.Connection,
    actor: Actor,
    finding_id: int,
    action: str,
    from_status: str | None,
    to_status: str,
    reason: str = "",
    detail: dict | None = None,
    at: dt.datetime | None = None,
) -> int:
    """Append an event; the caller has set the finding's ``changed_at`` to the same ``at``."""
    return conn.execute(
        sa.insert(t.finding_events).values(
            finding_id=finding_id,
            at=at or audit.now(),
            actor=actor.username,
            action=action,
            from_status=from_status,
            to_status=to_status,
            reason=reason[:2000],
            detail=detail,
        )
    ).inserted_primary_key[0]


def _insert(
    conn: sa.Connection,
    actor: Actor,
    *,
    source: FindingSource,
    unit_id: int,
    severity: Severity,
    deadline: dt.date,
    description: str,
    round_id: int | None = None,
    observation_id: int | None = None,
    point_id: int | None = None,
    standard_id: int | None = None,
    instances: int | None = None,
    recurrence_of: int | None = None,
    now: dt.datetime | None = None,
) -> int:
    now = now or audit.now()
    fid = conn.execute(
        sa.insert(t.findings).values(
            code=f"tmp-{uuid.uuid4().hex[:28]}",  # unique until the id is known; fits String(32)
            source=source.value,
            round_id=round_id,
            observation_id=observation_id,
            point_id=point_id,
            standard_id=standard_id,
            unit_id=unit_id,
            description=description[:5000],
            severity=severity.value,
            instances=instances,
            status=S.assigned.value,
            created_at=now,
            created_by=actor.username,
            assigned_at=now,
            deadline=deadline,
            recurrence_of=recurrence_of,
            changed_at=now,
        )
    ).inserted_primary_key[0]
    code = f"WT{fid:06d}"
    conn.execute(sa.update(t.findings).where(t.findings.c.id == fid).values(code=code))
    _event(conn, actor, fid, "create", None, S.assigned.value, detail={"deadline": deadline.isoformat()}, at=now)
    return fid


_SOURCE_OF_ROUND = {
    RoundKind.mock: FindingSource.round,
    RoundKind.patrol: FindingSource.patrol,
    RoundKind.unannounced: FindingSource.unannounced,
    RoundKind.reinspection: FindingSource.round,
}


def sync_point_findings(
    conn: sa.Connection, actor: Actor, round_id: int, point_id: int, *, calendar: Calendar | None = None
) -> list[int]:
    """Make the point's findings in a round match its failed observations, inside the caller's transaction:
    a finding for each failure not yet on the list (with its instances, photos, and a link to an earlier closed
    finding of the same point and standard: a recurrence); a finding whose observation no longer fails is voided.
    Returns the ids of the findings created."""
    from civeval import rounds  # rounds imports this module

    calendar = calendar or calendar_from_env()
    info = rounds._round_row(conn, round_id)
    index, ids = rounds.round_index(conn, info.index_id)
    by_id = {ids[s.code]: s for _, _, s in index.standards()}
    point = conn.execute(repo._points_query().where(t.points.c.id == point_id)).mappings().first()
    p = Point(**{k: point[k] for k in rounds._POINT_FIELDS})
    units = dict(conn.execute(sa.select(t.units.c.name, t.units.c.id)).all())
    created = []
    for obs in conn.execute(
        sa.select(t.observations).where(t.observations.c.round_id == round_id, t.observations.c.point_id == point_id)
    ).mappings():
        standard = by_id[obs["standard_id"]]
        scored = scoring.score_observation(standard, Answer(result=Result(obs["result"]), instances=obs["instances"]))
        existing = conn.execute(
            sa.select(t.findings.c.id, t.findings.c.status).where(t.findings.c.observation_id == obs["id"])
        ).first()
        if not scored.failed:
            if existing is not None and FindingStatus(existing.status) in OPEN_STATES:
                now = audit.now()
                conn.execute(
                    sa.update(t.findings)
                    .where(t.findings.c.id == existing.id)
                    .values(status=S.voided.value, voided_at=now, changed_at=now, version=t.findings.c.version + 1)
                )
                _event(conn, actor, existing.id, "void", existing.status, S.voided.value, "测评记录已改为符合", at=now)
            continue
        if existing is not None:
            continue
        unit = responsible_unit(standard, p)
        if unit is None or unit not in units:
            continue  # nobody to hand it to: the register lacks the unit (shown by `civeval check`)
        earlier = conn.execute(
            sa.select(t.findings.c.id)
            .where(
                t.findings.c.point_id == point_id,
                t.findings.c.standard_id == obs["standard_id"],
                t.findings.c.status == S.closed.value,
                t.findings.c.round_id != round_id,
            )
            .order_by(t.findings.c.closed_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        now = audit.now()
        text = standard.text.rstrip("。.；; ")
        description = f"{text}。{obs['note']}" if obs["note"] else standard.text
        fid = _insert(
            conn,
            actor,
            source=_SOURCE_OF_ROUND[info.kind],
            unit_id=units[unit],
            severity=standard.severity,
            deadline=calendar.deadline(standard, standard.severity, audit.local_date(now)),
            description=description,
            round_id=round_id,
            observation_id=obs["id"],
            point_id=point_id,
            standard_id=obs["standard_id"],
            instances=obs["instances"],
            recurrence_of=earlier,
            now=now,
        )
        for pos, (pid,) in enumerate(
            conn.execute(
                sa.select(t.observation_photos.c.photo_id)
                .where(t.observation_photos.c.observation_id == obs["id"])
                .order_by(t.observation_photos.c.position)
            )
        ):
            conn.execute(sa.insert(t.finding_photos).values(finding_id=fid, photo_id=pid, kind="before", position=pos))
        created.append(fid)
    return created


@dataclass(frozen=True)
class NewFinding:
    """A finding reported by hand (patrol, unannounced visit, hotline, 随手拍, a leader's inspection)."""

    source: FindingSource
    description: str
    point_code: str | None = None
    unit: str | None = None  # who answers; by default the responsibility rule for the point and standard
    standard_code: str | None = None
    index_id: int | None = None  # the index the standard belongs to
    severity: Severity | None = None
    deadline: dt.date | None = None


def create_finding(
    engine: sa.Engine,
    actor: Actor,
    new: NewFinding,
    *,
    photos_data: Sequence[tuple[bytes, str]] = (),
    calendar: Calendar | None = None,
) -> str:
    """Report a finding by hand; returns its code. A coordinator may report within their street."""
    _check_new(actor, new)
    prepared = [photos.prepare(data, name) for data, name in photos_data]  # before the write lock: slow
    with audit.writing(engine, actor, context=f"登记问题（{new.source.label}）") as conn:
        return add_finding(conn, actor, new, prepared_photos=prepared, calendar=calendar)


def _check_new(actor: Actor, new: NewFinding) -> None:
    require(actor, Action.report_findings)
    if not limits.check_text(new.description, limits.DESCRIPTION, "问题描述", FindingError).strip():
        raise FindingError("问题描述不能为空")


def add_finding(
    conn: sa.Connection,
    actor: Actor,
    new: NewFinding,
    *,
    prepared_photos: Sequence[photos.PreparedPhoto] = (),
    calendar: Calendar | None = None,
) -> str:
    """``create_finding`` inside the caller's write transaction (``audit.writing``), for a finding that is one step
    of a larger change (a citizen's suggestion handed to a unit): the same checks, the same finding, and nothing
    is kept when the caller's transaction fails. Photos come already prepared (``photos.prepare``)."""
    _check_new(actor, new)
    calendar = calendar or calendar_from_env()
    point = repo.get_point(conn, new.point_code) if new.point_code else None
    if new.point_code and point is None:
        raise FindingError(f"点位“{new.point_code}”不存在")
    standard, standard_id = None, None
    if new.standard_code:
        if new.index_id is None:
            raise FindingError("指定测评标准时须指定测评体系")
        index = repo.load_index(conn, new.index_id)
        standard = index.standard(new.standard_code)
        if standard is None:
            raise FindingError(f"测评标准“{new.standard_code}”不存在")
        standard_id = conn.execute(
            sa.select(t.standards.c.id).where(
                t.standards.c.index_id == new.index_id, t.standards.c.code == new.standard_code
            )
        ).scalar_one()
    unit = (
        new.unit
        or (responsible_unit(standard, point) if standard else None)
        or ((point.custodian_unit or point.street) if point else None)
    )
    if not unit:
        raise FindingError("请指定责任单位")
    unit_id = conn.execute(sa.select(t.units.c.id).where(t.units.c.name == unit)).scalar_one_or_none()
    if unit_id is None:
        raise FindingError(f"责任单位“{unit}”不在单位名录中")
    where = reach(actor, Action.report_findings)
    if where is not None:
        inside = unit_subtree(repo.list_units(conn), where)
        if not ({unit, point.street if point else None} & inside):
            raise PermissionDenied(f"{actor.name}只能登记本辖区的问题")
    severity = new.severity or (standard.severity if standard else Severity.normal)
    now = audit.now()
    deadline = new.deadline or calendar.deadline(standard, severity, audit.local_date(now))
    if deadline < audit.local_date(now):
        raise FindingError("整改期限不能早于今天")
    point_id = (
        conn.execute(sa.select(t.points.c.id).where(t.points.c.code == point.code)).scalar_one() if point else None
    )
    fid = _insert(
        conn,
        actor,
        source=new.source,
        unit_id=unit_id,
        severity=severity,
        deadline=deadline,
        description=new.description.strip(),
        point_id=point_id,
        standard_id=standard_id,
        now=now,
    )
    store = photos.photo_store(conn)
    for pos, p in enumerate(prepared_photos):
        pid = store.put(conn, p, uploaded_by=actor.username)
        conn.execute(sa.insert(t.finding_photos).values(finding_id=fid, photo_id=pid, kind="before", position=pos))
    return conn.execute(sa.select(t.findings.c.code).where(t.findings.c.id == fid)).scalar_one()


# --- the state machine --------------------------------------------------------------------------


def allowed_actions(conn: sa.Connection, actor: Actor, f: Finding) -> list[FindingAction]:
    """The transitions the actor may make on this finding now (for the buttons a page offers)."""
    out = []
    for action in FindingAction:
        try:
            _check(conn, actor, f, action, reason="x", deadline=f.deadline + dt.timedelta(days=1), unit="x")
        except (PermissionDenied, FindingError):
            continue
        out.append(action)
    return out


def _check(
    conn: sa.Connection,
    actor: Actor,
    f: Finding,
    action: FindingAction,
    *,
    reason: str,
    deadline: dt.date | None,
    unit: str | None,
) -> Transition:
    rule = TRANSITIONS[action]
    require(actor, rule.action)
    if not _in_reach(conn, actor, rule.action, f):
        raise PermissionDenied(f"{actor.name}无权处理问题 {f.code}：不在您的范围内")
    if rule.action is Action.reinspect and any(g.role is Role.liaison and g.scope == f.unit for g in actor.grants):
        raise PermissionDenied(f"整改单位（{f.unit}）不能复查、销号自己的问题")
    if f.status not in rule.from_states:
        raise FindingError(f"问题 {f.code} 当前为“{f.status.label}”，不能“{action.label}”")
    if rule.needs_reason and not reason.strip():
        raise FindingError(f"“{action.label}”须填写原因")
    if action is FindingAction.request_extension:
        if deadline is None or deadline <= f.deadline:
            raise FindingError("申请延期须给出晚于当前期限的新期限")
        if f.extension_until is not None:
            raise FindingError("已有待审批的延期申请")
    if action in (FindingAction.grant_extension, FindingAction.refuse_extension) and f.extension_until is None:
        raise FindingError("没有待审批的延期申请")
    if action is FindingAction.reassign and not unit:
        raise FindingError("转办须指定新的责任单位")
    return rule


def transition(
    engine: sa.Engine,
    actor: Actor,
    code: str,
    action: FindingAction,
    *,
    reason: str = "",
    deadline: dt.date | None = None,
    unit: str | None = None,
    photos_data: Sequence[tuple[bytes, str]] = (),
    expected_version: int | None = None,
) -> Finding:
    """Make one transition of a finding's life cycle (see TRANSITIONS); returns the finding after it.

    submit: ``reason`` holds the measures taken and ``photos_data`` the after-photos (at least one).
    request_extension: ``deadline`` is the date asked for. grant_extension: ``deadline`` may shorten it.
    reassign: ``unit`` is the new responsible unit.
    """
    reason = limits.check_text(
        reason, limits.REASON, "整改措施" if action is FindingAction.submit else "原因", FindingError
    )
    prepared = [photos.prepare(data, name) for data, name in photos_data]
    with audit.writing(engine, actor, context=f"问题 {code}：{action.label}", reason=reason) as conn:
        f = get_finding(conn, actor, code)
        if expected_version is not None and expected_version != f.version:  # a page showing an older state
            raise FindingError(_changed_by(conn, f))
        rule = _check(conn, actor, f, action, reason=reason, deadline=deadline, unit=unit)
        values: dict = {}
        detail: dict = {}
        now = audit.now()
        if action is FindingAction.submit:
            if not reason.strip():
                raise FindingError("请填写整改措施")
            if not prepared:
                raise FindingError("请上传整改后的照片")
        elif action is FindingAction.pass_reinspection:
            values.update(
                closed_at=now,
                closed_on=audit.local_date(now),
                closed_by=actor.username,
                reinspections=f.reinspections + 1,
            )
        elif action is FindingAction.fail_reinspection:
            values.update(reinspections=f.reinspections + 1)
        elif action is FindingAction.request_extension:
            values.update(extension_until=deadline)
            detail = {"requested": deadline.isoformat()}
        elif action is FindingAction.grant_extension:
            new_deadline = deadline or f.extension_until
            values.update(deadline=new_deadline, extension_until=None)
            detail = {"from": f.deadline.isoformat(), "to": new_deadline.isoformat()}
        elif action is FindingAction.refuse_extension:
            values.update(extension_until=None)
        elif action is FindingAction.reassign:
            uid = conn.execute(sa.select(t.units.c.id).where(t.units.c.name == unit)).scalar_one_or_none()
            if uid is None:
                raise FindingError(f"单位“{unit}”不在单位名录中")
            if unit == f.unit:
                raise FindingError("新的责任单位与原单位相同")
            values.update(unit_id=uid, assigned_at=now, extension_until=None)
            detail = {"from": f.unit, "to": unit}
            if deadline:
                values.update(deadline=deadline)
                detail["deadline"] = deadline.isoformat()
        elif action is FindingAction.mark_long_term:
            values.update(long_term_at=now)
        elif action is FindingAction.void:
            values.update(voided_at=now)
        to_state = rule.to_state or f.status
        done = conn.execute(
            sa.update(t.findings)
            .where(t.findings.c.id == f.id, t.findings.c.version == f.version)
            .values(status=to_state.value, version=f.version + 1, changed_at=now, **values)
        ).rowcount
        if not done:  # changed between reading and writing
            raise FindingError(_changed_by(conn, f))
        eid = _event(conn, actor, f.id, action.value, f.status.value, to_state.value, reason, detail or None, at=now)
        if prepared:
            store = photos.photo_store(engine)
            start = len(f.after_photos)
            for pos, p in enumerate(prepared, start=start):
                pid = store.put(conn, p, uploaded_by=actor.username)
                if (
                    conn.execute(
                        sa.select(t.finding_photos.c.photo_id).where(
                            t.finding_photos.c.finding_id == f.id, t.finding_photos.c.photo_id == pid
                        )
                    ).first()
                    is None
                ):
                    conn.execute(
                        sa.insert(t.finding_photos).values(
                            finding_id=f.id, photo_id=pid, kind="after", event_id=eid, position=pos
                        )
                    )
        after = get_finding(conn, actor, code)
    logs.event(
        "finding_transition",
        user=actor,
        action=action.label,
        detail=f"{code} {f.status.label} → {after.status.label}",
    )
    return after


def _changed_by(conn: sa.Connection, f: Finding) -> str:
    """Why an action based on an older state of ``f`` is refused: who acted on it last, when, what it is now."""
    last = conn.execute(
        sa.select(t.finding_events.c.actor, t.finding_events.c.at, t.finding_events.c.action, t.findings.c.status)
        .join(t.findings, t.findings.c.id == t.finding_events.c.finding_id)
        .where(t.finding_events.c.finding_id == f.id)
        .order_by(t.finding_events.c.id.desc())
        .limit(1)
    ).first()
    if last is None:
        return f"问题 {f.code} 已被他人处理，请刷新后再试"
    name = conn.execute(sa.select(t.users.c.display_name).where(t.users.c.username == last.actor)).scalar()
    who = f"{name}（{last.actor}）" if name and name != last.actor else last.actor
    at = last.at.replace(tzinfo=dt.UTC).astimezone(audit.local_zone()).strftime("%m-%d %H:%M")
    did = FindingAction(last.action).label if last.action in FindingAction.__members__ else "登记"
    now = FindingStatus(last.status).label
    return f"问题 {f.code} 已被他人处理：{who} 于 {at} {did}，现为“{now}”，请刷新后再试"


def reinspection_queue(conn: sa.Connection, actor: Actor) -> dict[str, list[Finding]]:
    """Submitted findings waiting for re-inspection, grouped by street, for the inspector on duty; those of a unit
    the actor is liaison for are left out (a unit never closes its own findings)."""
    require(actor, Action.reinspect)
    own = {g.scope for g in actor.grants if g.role is Role.liaison}
    out: dict[str, list[Finding]] = {}
    may = _reach_filter(conn, actor, Action.reinspect)
    for f in list_findings(conn, actor, statuses=[S.submitted]):
        if f.unit not in own and may(f):
            out.setdefault(f.street or "未指定街道", []).append(f)
    return dict(sorted(out.items()))


# --- for the pages 我的整改 and 问题清单 ----------------------------------------------------------------


def findings_to_rectify(conn: sa.Connection, actor: Actor) -> list[Finding]:
    """The open findings (assigned, in progress, submitted) the actor's unit answers for, by deadline: a unit
    liaison's worklist. Findings of other units at points of the unit's street are left out."""
    require(actor, Action.rectify)
    return list(filter(_reach_filter(conn, actor, Action.rectify), list_findings(conn, actor, statuses=OPEN_STATES)))


def finding_points(conn: sa.Connection, actor: Actor, found: Iterable[Finding]) -> dict[str, Point]:
    """The register entries (address, position) of the points of findings the actor may see, by point code."""
    require(actor, Action.view_findings)
    may = _reach_filter(conn, actor, Action.view_findings)
    codes = sorted({f.point_code for f in found if f.point_code and may(f)})
    if not codes:
        return {}
    rows = conn.execute(repo._points_query().where(t.points.c.code.in_(codes))).mappings()
    return {r["code"]: Point(**{k: v for k, v in r.items() if k != "id"}) for r in rows}


def reportable_points(conn: sa.Connection, actor: Actor) -> list[Point]:
    """The active points where the actor may report a finding by hand: all of them for a city-wide reporter, else
    those whose street, custodian or road-chief unit lies in the actor's street."""
    require(actor, Action.report_findings)
    points = repo.list_points(conn, active_only=True)
    where = reach(actor, Action.report_findings)
    if where is None:
        return points
    inside = unit_subtree(repo.list_units(conn), where)
    return [p for p in points if point_units(p) & inside]


__all__ = [
    "ESCALATION_LABELS",
    "OPEN_STATES",
    "TRANSITIONS",
    "Escalation",
    "Finding",
    "FindingAction",
    "FindingError",
    "NewFinding",
    "Transition",
    "add_finding",
    "allowed_actions",
    "create_finding",
    "escalation",
    "finding_points",
    "findings_to_rectify",
    "get_finding",
    "history",
    "list_findings",
    "reinspection_queue",
    "reportable_points",
    "sync_point_findings",
    "transition",
]
