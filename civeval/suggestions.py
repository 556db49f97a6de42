"""Citizens' suggestions (意见建议征集): intake from the hotline, e-mail and door-to-door forms, handing to a unit,
and the answer given back to the citizen, with 办结率 and 答复率.

The door-to-door form (seed 002, 群众意见建议征询表) has: 被征询对象 (the name written only if the person agrees),
所在区、街道、社区名称, 征询记录人, 时间, and the content. A suggestion keeps those, a channel, a category from a
configurable list (``categories``) and an optional place or point. When the citizen withholds the name, no name is
stored (not even in the audit log) and none is shown.

A suggestion is not a second rectification system. Handing it to a unit (``hand_to_unit``) creates a finding with
source 意见建议 through ``civeval.findings.add_finding``, in the same transaction that links it to the suggestion;
from then on the unit fixes it on 我的整改, an inspector re-inspects and closes it on 复查销号, with the deadlines,
extensions, reassignment and overdue rules of every other finding. The suggestion adds the reply to the citizen.

Life cycle (``SuggestionStatus``): received (已登记) → handed (已交办, the finding exists) → answered (已答复, once
the finding is closed or marked long-term, the reply is recorded); or received → declined (不予交办, not a matter
for a unit: outside the county's remit, a question answered at once …) → the reply recorded (still 不予交办, with a
reply). A suggestion recorded twice by mistake is voided (已作废). A suggestion whose finding was voided may be
handed again.

Figures (``SUGGESTION_DEFINITIONS``, shown next to them wherever they appear), for an as-of date T, each
suggestion as it stood at the end of T (rebuilt from the audit log; its finding from the finding events, as
``civeval.metrics`` does):

- 收到 = suggestions received (收到时间) by T, voided ones left out.
- 办结 = handed, its finding closed (销号) by T, and the reply to the citizen recorded by T; or declined with the
  reply recorded by T. A long-term finding answered is 已答复 but not 办结 (long-term is never counted as fixed).
- 办结率 = 办结 ÷ 收到.  答复率 = answered (reply recorded by T) ÷ 收到.
- 整改率 and 按期整改率 of the suggestions' findings are ``civeval.metrics.rectification`` over those findings.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from civeval import audit, auth, findings, limits, metrics
from civeval.deadlines import Calendar, calendar_from_env
from civeval.findings import FindingError, NewFinding
from civeval.models import (
    Actor,
    FindingSource,
    FindingStatus,
    LabelledEnum,
    Severity,
    UnitKind,
    register_labels,
)
from civeval.permissions import Action, PermissionDenied, allowed, reach, require
from civeval.registers import unit_subtree
from civeval.store import repo
from civeval.store import schema as t


class SuggestionError(Exception):
    """A request the rules refuse; the message is Chinese and says why."""


class Channel(LabelledEnum):
    hotline = "hotline"
    email = "email"
    door_to_door = "door_to_door"
    other = "other"


class SuggestionStatus(LabelledEnum):
    received = "received"
    handed = "handed"
    answered = "answered"
    declined = "declined"
    voided = "voided"


register_labels(
    "Channel",
    {
        "hotline": ("市民热线", "热线", "12345", "电话"),
        "email": ("电子邮件", "邮件", "邮箱", "email", "e-mail"),
        "door_to_door": ("入户征询", "入户", "入户走访", "上门征询", "征询表"),
        "other": ("其他", "其它", "来信来访", "座谈会"),
    },
)
register_labels(
    "SuggestionStatus",
    {
        "received": ("已登记", "待交办"),
        "handed": ("已交办",),
        "answered": ("已答复",),
        "declined": ("不予交办",),
        "voided": ("已作废",),
    },
)

S = SuggestionStatus
DEFAULT_CATEGORIES = ("市容环境", "交通秩序", "公共设施", "窗口服务", "社区管理", "其他")
CATEGORIES_SETTING = "suggestion_categories"  # settings key of the configured list
NO_STREET = "（未填写街道）"
CONTENT_MAX = 4000  # the content of one suggestion; with its header it stays within a finding's description
PERSON_MAX, CONTACT_MAX, AREA_MAX, RECORDER_MAX, PLACE_MAX, CATEGORY_MAX = 100, 100, 100, 100, 200, 50

SUGGESTION_DEFINITIONS: dict[str, str] = {
    "收到": "统计日期前（含当天）收到的群众意见建议数（以收到时间计），已作废的（重复或误登记）不计。",
    "办结": (
        "交办单位整改的意见建议，其问题已复查销号、且已把办理结果答复群众；或经审核不予交办（不属本地职责等）、"
        "且已向群众答复说明。列为长效整改的，答复后计为已答复，不计为办结。"
    ),
    "办结率": "统计日期前办结的意见建议数 ÷ 统计日期前收到的意见建议数。",
    "答复率": "统计日期前已答复群众的意见建议数 ÷ 统计日期前收到的意见建议数。",
    "整改率": "交办单位的意见建议形成的问题，按问题清单同一口径计算：" + metrics.DEFINITIONS["整改率"],
    "按期整改率": "同上，" + metrics.DEFINITIONS["按期整改率"],
}


# --- the configurable category list ---------------------------------------------------------------------------


def categories(conn: sa.Connection) -> list[str]:
    """The categories offered at intake: the configured list, else ``DEFAULT_CATEGORIES``."""
    value = repo.get_setting(conn, CATEGORIES_SETTING)
    return [str(c) for c in value] if value else list(DEFAULT_CATEGORIES)


def set_categories(engine: sa.Engine, actor: Actor, names: Sequence[str]) -> list[str]:
    """Configure the category list (the office only). Suggestions already recorded keep their category."""
    require(actor, Action.manage_findings)
    cleaned: list[str] = []
    for n in names:
        name = n.strip()
        if name and name not in cleaned:
            limits.check_text(name, CATEGORY_MAX, "类别", SuggestionError)
            cleaned.append(name)
    if not cleaned:
        raise SuggestionError("类别列表不能为空")
    with audit.writing(engine, actor, context="设置意见建议类别") as conn:
        repo.set_setting(conn, CATEGORIES_SETTING, cleaned)
    return cleaned


# --- reading ------------------------------------------------------------------------------------------------------


@dataclass
class Suggestion:
    id: int
    code: str
    channel: Channel
    person: str  # "" when withheld, not given, or not for this reader's eyes (see ``private``)
    name_withheld: bool
    contact: str
    area: str
    street: str | None
    community: str | None
    place: str
    point_code: str | None
    point_name: str | None
    recorder: str
    received_at: dt.datetime
    content: str
    category: str
    status: SuggestionStatus
    finding_code: str | None
    finding_status: FindingStatus | None
    finding_unit: str | None
    finding_street: str | None
    finding_deadline: dt.date | None
    reply: str
    replied_at: dt.datetime | None
    replied_by: str | None
    created_at: dt.datetime
    created_by: str
    version: int
    private: bool = False  # the citizen's name and contact are hidden from this reader

    @property
    def replied(self) -> bool:
        return self.replied_at is not None

    @property
    def concluded(self) -> bool:
        """办结: replied, and either declined or its finding closed."""
        return self.replied and (
            self.status is S.declined or (self.status is S.answered and self.finding_status is FindingStatus.closed)
        )

    @property
    def may_be_answered(self) -> bool:
        """Whether the reply to the citizen can be recorded now: declined, or its finding closed or long-term."""
        if self.replied:
            return False
        return self.status is S.declined or (
            self.status is S.handed and self.finding_status in (FindingStatus.closed, FindingStatus.long_term)
        )

    @property
    def may_be_handed(self) -> bool:
        """Received, or handed and its finding voided (a mistaken hand-over): it may be handed (again)."""
        return self.status is S.received or (self.status is S.handed and self.finding_status is FindingStatus.voided)

    @property
    def person_label(self) -> str:
        if self.name_withheld:
            return "（不愿留姓名）"
        if self.private:
            return "（仅创文办和所在街道可见）"
        return self.person or "（未留姓名）"

    @property
    def where(self) -> str:
        """所在区、街道、社区 and the place, as one line."""
        parts = [self.area, self.street or "", self.community or ""]
        text = "".join(p for p in parts if p)
        place = self.place or (f"{self.point_code} {self.point_name}" if self.point_code else "")
        return "，".join(x for x in (text, place) if x) or "（未填写）"

    def overdue(self, today: dt.date) -> bool:
        """Its finding is open (not closed, long-term or voided) and past its deadline."""
        return (
            self.finding_status in findings.OPEN_STATES
            and self.finding_deadline is not None
            and self.finding_deadline < today
            and self.status is S.handed
        )

    def stage(self) -> str:
        """Where the suggestion stands, in words (办理情况)."""
        fs = self.finding_status
        if self.status is S.voided:
            return "已作废"
        if self.status is S.received:
            return "待交办"
        if self.status is S.declined:
            return "不予交办，已答复（办结）" if self.replied else "不予交办，待答复"
        if self.status is S.answered:
            return "已办结" if fs is FindingStatus.closed else "已答复（长效整改）"
        if fs is FindingStatus.voided:
            return "交办的问题已作废，待重新交办"
        if fs is FindingStatus.closed:
            return "已销号，待答复"
        if fs is FindingStatus.long_term:
            return "长效整改，待答复"
        return f"整改中（{fs.label}）" if fs else "已交办"


@functools.cache  # built once: building the joins costs more than running the query
def _query() -> sa.Select:
    s = t.suggestions
    street = t.units.alias("s_street")
    community = t.units.alias("s_community")
    f_unit = t.units.alias("f_unit")
    f_point = t.points.alias("f_point")
    f_street = t.units.alias("f_street")
    return sa.select(
        s,
        street.c.name.label("street"),
        community.c.name.label("community"),
        t.points.c.code.label("point_code"),
        t.points.c.name.label("point_name"),
        t.findings.c.code.label("finding_code"),
        t.findings.c.status.label("finding_status"),
        t.findings.c.deadline.label("finding_deadline"),
        f_unit.c.name.label("finding_unit"),
        f_street.c.name.label("finding_street"),
    ).select_from(
        s.outerjoin(street, street.c.id == s.c.street_id)
        .outerjoin(community, community.c.id == s.c.community_id)
        .outerjoin(t.points, t.points.c.id == s.c.point_id)
        .outerjoin(t.findings, t.findings.c.id == s.c.finding_id)
        .outerjoin(f_unit, f_unit.c.id == t.findings.c.unit_id)
        .outerjoin(f_point, f_point.c.id == t.findings.c.point_id)
        .outerjoin(f_street, f_street.c.id == f_point.c.street_id)
    )


def _to_suggestion(r: sa.RowMapping) -> Suggestion:
    return Suggestion(
        id=r["id"],
        code=r["code"],
        channel=Channel(r["channel"]),
        person="" if r["name_withheld"] else r["person"],
        name_withheld=bool(r["name_withheld"]),
        contact=r["contact"],
        area=r["area"],
        street=r["street"],
        community=r["community"],
        place=r["place"],
        point_code=r["point_code"],
        point_name=r["point_name"],
        recorder=r["recorder"],
        received_at=r["received_at"],
        content=r["content"],
        category=r["category"],
        status=S(r["status"]),
        finding_code=r["finding_code"],
        finding_status=FindingStatus(r["finding_status"]) if r["finding_status"] else None,
        finding_unit=r["finding_unit"],
        finding_street=r["finding_street"],
        finding_deadline=r["finding_deadline"],
        reply=r["reply"],
        replied_at=r["replied_at"],
        replied_by=r["replied_by"],
        created_at=r["created_at"],
        created_by=r["created_by"],
        version=r["version"],
    )


def _inside(conn: sa.Connection, actor: Actor, action: Action) -> set[str] | None:
    """The units the actor reaches for ``action`` (a street and what lies under it); None: the whole city."""
    where = reach(actor, action)
    return None if where is None else unit_subtree(repo.list_units(conn), where)


def _own_area(s: Suggestion, inside: set[str] | None) -> bool:
    """The suggestion came from inside these units (its street or community)."""
    return inside is None or bool({s.street, s.community} & inside)


def _visibility(conn: sa.Connection, actor: Actor) -> Callable[[Suggestion], bool]:
    """Who sees a suggestion: the whole city for the office, inspectors and city-wide leaders; a street's
    coordinator (or leader) those from the street; a unit's liaison those handed to the unit (its finding's scope,
    as ``civeval.findings`` reckons it)."""
    require(actor, Action.view_findings)
    inside = _inside(conn, actor, Action.view_findings)
    if inside is None:
        return lambda s: True
    return lambda s: (
        _own_area(s, inside)
        or (s.finding_unit is not None and s.finding_unit in inside)
        or (s.finding_street is not None and s.finding_street in inside)
    )


def _privacy(conn: sa.Connection, actor: Actor) -> Callable[[Suggestion], None]:
    """Hide the citizen's name and contact from readers who do not handle the suggestion: only the office, the
    coordinator of its street and whoever recorded it see them."""
    inside = _inside(conn, actor, Action.assign_findings) if allowed(actor, Action.assign_findings) else set()

    def hide(s: Suggestion) -> None:
        if s.created_by == actor.username or (inside is None or _own_area(s, inside)):
            return
        s.person, s.contact, s.private = "", "", True

    return hide


def list_suggestions(
    conn: sa.Connection,
    actor: Actor,
    *,
    statuses: Iterable[SuggestionStatus] = (),
    channel: Channel | None = None,
    category: str | None = None,
    street: str | None = None,
    overdue_on: dt.date | None = None,
    awaiting_reply: bool = False,
) -> list[Suggestion]:
    """The suggestions the actor may see, newest first. ``overdue_on``: only those whose finding is overdue that
    day; ``awaiting_reply``: only those whose reply can be recorded now."""
    may_see = _visibility(conn, actor)
    hide = _privacy(conn, actor)
    q = _query().order_by(t.suggestions.c.received_at.desc(), t.suggestions.c.id.desc())
    if statuses := [s.value for s in statuses]:
        q = q.where(t.suggestions.c.status.in_(statuses))
    if channel is not None:
        q = q.where(t.suggestions.c.channel == channel.value)
    if category:
        q = q.where(t.suggestions.c.category == category)
    out = []
    for r in conn.execute(q).mappings():
        s = _to_suggestion(r)
        if street and (s.street or NO_STREET) != street:
            continue
        if overdue_on is not None and not s.overdue(overdue_on):
            continue
        if awaiting_reply and not s.may_be_answered:
            continue
        if may_see(s):
            hide(s)
            out.append(s)
    return out


def _read(conn: sa.Connection, code: str) -> Suggestion:
    r = conn.execute(_query().where(t.suggestions.c.code == code)).mappings().first()
    if r is None:
        raise SuggestionError(f"意见建议“{code}”不存在")
    return _to_suggestion(r)


@dataclass
class SuggestionDetail:
    suggestion: Suggestion
    finding: findings.Finding | None  # the finding it was handed as, with its state now
    finding_history: list[dict] = field(default_factory=list)  # the finding's events (civeval.findings.history)
    steps: list[dict] = field(default_factory=list)  # the suggestion's own steps: at, actor, what, reason
    finding_in_scope: bool = False  # the reader may open the finding on the gap list (问题清单) too


def get_suggestion(conn: sa.Connection, actor: Actor, code: str) -> SuggestionDetail:
    """One suggestion with its finding's state and history and its own steps (登记, 交办, 答复 …)."""
    s = _read(conn, code)
    if not _visibility(conn, actor)(s):
        raise PermissionDenied(f"{actor.name}无权查看意见建议 {code}")
    _privacy(conn, actor)(s)
    finding, events, in_scope = None, [], False
    if s.finding_code:
        # Whoever may see the suggestion may see how it is being handled, even when the finding itself lies
        # outside their findings scope (a street's suggestion handed to a city department, with no point).
        try:
            finding = findings.get_finding(conn, actor, s.finding_code)
            events = findings.history(conn, actor, s.finding_code)
            in_scope = True
        except PermissionDenied:
            reader = Actor.system("意见建议")
            finding = findings.get_finding(conn, reader, s.finding_code)
            events = findings.history(conn, reader, s.finding_code)
    return SuggestionDetail(s, finding, events, _steps(conn, s.id), in_scope)


def _steps(conn: sa.Connection, suggestion_id: int) -> list[dict]:
    """The suggestion's steps from the audit log: one per write transaction (its context), oldest first."""
    a = t.audit_log
    rows = conn.execute(
        sa.select(a.c.at, a.c.actor, a.c.context, a.c.reason)
        .where(a.c.table_name == t.suggestions.name, a.c.row_key == f"[{suggestion_id}]")
        .order_by(a.c.id)
    ).all()
    out: list[dict] = []
    for r in rows:
        if out and out[-1]["what"] == r.context and out[-1]["actor"] == r.actor:
            continue  # the code written right after the insert: the same step
        out.append({"at": r.at, "actor": r.actor, "what": r.context, "reason": r.reason})
    return out


# --- intake -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSuggestion:
    """One suggestion as the hotline, an e-mail or a door-to-door form (群众意见建议征询表) gives it.

    ``person`` is kept only when ``name_withheld`` is False (姓名是否填写尊重本人意见). ``street`` and
    ``community`` are unit names from the register (the community's street is taken when only it is given);
    ``area`` (所在区) is free text. ``recorder`` (征询记录人) is required for a door-to-door form; for the other
    channels it defaults to whoever records it. ``received_at`` is store time (naive UTC; None: now)."""

    channel: Channel
    content: str
    category: str
    person: str = ""
    name_withheld: bool = False
    contact: str = ""
    area: str = ""
    street: str | None = None
    community: str | None = None
    place: str = ""
    point_code: str | None = None
    recorder: str = ""
    received_at: dt.datetime | None = None


def intake_places(conn: sa.Connection, actor: Actor) -> dict[str, list[str]]:
    """The streets and towns the actor may record suggestions for, each with its communities (villages), by name:
    the whole register for a city-wide recorder, their street for a coordinator."""
    require(actor, Action.record_suggestions)
    units = repo.list_units(conn)
    inside = _inside(conn, actor, Action.record_suggestions)
    out: dict[str, list[str]] = {}
    for u in sorted(units, key=lambda u: (u.kind is not UnitKind.street, u.code)):
        if u.kind in (UnitKind.street, UnitKind.town) and u.active and (inside is None or u.name in inside):
            out[u.name] = []
    for u in units:
        if u.kind is UnitKind.community and u.active and u.parent in out:
            out[u.parent].append(u.name)
    return out


def store_time(day: dt.date, time: dt.time | None = None) -> dt.datetime:
    """An office-local date and time (a form's 时间) as the store keeps time (naive UTC)."""
    local = dt.datetime.combine(day, time or dt.time(9), tzinfo=audit.local_zone())
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _unit_row(conn: sa.Connection, name: str):
    return conn.execute(
        sa.select(t.units.c.id, t.units.c.name, t.units.c.kind, t.units.c.parent_id).where(t.units.c.name == name)
    ).first()


def _place(conn: sa.Connection, new: NewSuggestion) -> tuple[int | None, int | None, int | None, list[str]]:
    """street id, community id, point id, and the problems with them."""
    problems: list[str] = []
    street = community = point = None
    if name := (new.street or "").strip():
        street = _unit_row(conn, name)
        if street is None:
            problems.append(f"街道（镇）“{name}”不在单位名录中")
        elif UnitKind(street.kind) not in (UnitKind.street, UnitKind.town):
            problems.append(f"“{name}”是{UnitKind(street.kind).label}，不是街道（镇）")
            street = None
    if name := (new.community or "").strip():
        community = _unit_row(conn, name)
        if community is None:
            problems.append(f"社区（村）“{name}”不在单位名录中")
        elif UnitKind(community.kind) is not UnitKind.community:
            problems.append(f"“{name}”是{UnitKind(community.kind).label}，不是社区（村）")
            community = None
        elif street is not None and community.parent_id != street.id:
            problems.append(f"社区（村）“{name}”不属于“{street.name}”")
        elif street is None and community.parent_id is not None and not (new.street or "").strip():
            street = conn.execute(
                sa.select(t.units.c.id, t.units.c.name, t.units.c.kind, t.units.c.parent_id).where(
                    t.units.c.id == community.parent_id
                )
            ).first()
    if code := (new.point_code or "").strip():
        p = repo.get_point(conn, code)
        if p is None:
            problems.append(f"点位“{code}”不存在")
        else:
            point = conn.execute(sa.select(t.points.c.id).where(t.points.c.code == code)).scalar_one()
            if street is None and p.street and not (new.street or "").strip():
                street = _unit_row(conn, p.street)
    return (
        street.id if street is not None else None,
        community.id if community is not None else None,
        point,
        problems,
    )


def record(engine: sa.Engine, actor: Actor, new: NewSuggestion) -> str:
    """Record a suggestion at once; returns its code (YJ000001). Every problem is refused together, in Chinese."""
    require(actor, Action.record_suggestions)
    content = (new.content or "").strip()
    problems: list[str] = []
    if not content:
        problems.append("请填写意见建议内容")
    person = "" if new.name_withheld else (new.person or "").strip()  # a withheld name is never stored
    recorder = (new.recorder or "").strip()
    if not recorder:
        if new.channel is Channel.door_to_door:
            problems.append("入户征询须填写征询记录人")
        recorder = actor.name
    for text, limit, label in (
        (content, CONTENT_MAX, "意见建议内容"),
        (person, PERSON_MAX, "被征询对象"),
        (new.contact.strip(), CONTACT_MAX, "联系方式"),
        (new.area.strip(), AREA_MAX, "所在区"),
        (recorder, RECORDER_MAX, "征询记录人"),
        (new.place.strip(), PLACE_MAX, "地点"),
    ):
        if message := limits.too_long(text, limit, label):
            problems.append(message)
    now = audit.now()
    received_at = new.received_at or now
    if received_at > now + dt.timedelta(minutes=10):
        problems.append("收到时间不能晚于现在")
    with audit.writing(engine, actor, context=f"登记意见建议（{new.channel.label}）") as conn:
        known = categories(conn)
        category = (new.category or "").strip()
        if not category:
            problems.append(f"请选择类别（可选：{'、'.join(known)}）")
        elif category not in known:
            problems.append(f"类别“{category}”不在类别列表中（可选：{'、'.join(known)}）")
        street_id, community_id, point_id, where_problems = _place(conn, new)
        problems += where_problems
        if problems:
            raise SuggestionError("；".join(problems))
        names = {
            n
            for n in conn.execute(
                sa.select(t.units.c.name).where(t.units.c.id.in_([i for i in (street_id, community_id) if i]))
            ).scalars()
        }
        if reach(actor, Action.record_suggestions) is not None and not names:
            raise PermissionDenied(f"{actor.name}只能登记本辖区的意见建议，请选择所在街道（镇）或社区（村）")
        require(actor, Action.record_suggestions, within=names or None)
        sid = conn.execute(
            sa.insert(t.suggestions).values(
                code=f"tmp-{uuid.uuid4().hex[:28]}",  # unique until the id is known; fits String(32)
                channel=new.channel.value,
                person=person,
                name_withheld=bool(new.name_withheld),
                contact=new.contact.strip(),
                area=new.area.strip(),
                street_id=street_id,
                community_id=community_id,
                place=new.place.strip(),
                point_id=point_id,
                recorder=recorder,
                received_at=received_at,
                content=content,
                category=category,
                status=S.received.value,
                created_at=now,
                created_by=actor.username,
            )
        ).inserted_primary_key[0]
        code = f"YJ{sid:06d}"
        conn.execute(sa.update(t.suggestions).where(t.suggestions.c.id == sid).values(code=code))
    return code


# --- handling: hand to a unit, decline, reply, void ---------------------------------------------------------------


def _check_handler(conn: sa.Connection, actor: Actor, s: Suggestion, expected_version: int | None) -> None:
    """The actor may handle this suggestion (the office; a coordinator, one from their street) and is looking at
    its current state."""
    require(actor, Action.assign_findings)
    inside = _inside(conn, actor, Action.assign_findings)
    if not _own_area(s, inside):
        raise PermissionDenied(f"{actor.name}无权处理意见建议 {s.code}：不在您的范围内")
    if expected_version is not None and expected_version != s.version:
        raise SuggestionError(_changed(conn, s))


def _changed(conn: sa.Connection, s: Suggestion) -> str:
    now = _read(conn, s.code)
    steps = _steps(conn, s.id)
    if not steps:
        return f"意见建议 {s.code} 已被他人处理，请刷新后再试"
    last = steps[-1]
    at = last["at"].replace(tzinfo=dt.UTC).astimezone(audit.local_zone()).strftime("%m-%d %H:%M")
    return f"意见建议 {s.code} 已被他人处理：{last['actor']} 于 {at}“{last['what']}”，现为“{now.stage()}”，请刷新后再试"


def _update(conn: sa.Connection, s: Suggestion, **values) -> None:
    done = conn.execute(
        sa.update(t.suggestions)
        .where(t.suggestions.c.id == s.id, t.suggestions.c.version == s.version)
        .values(version=s.version + 1, **values)
    ).rowcount
    if not done:  # changed between reading and writing
        raise SuggestionError(_changed(conn, s))


def finding_description(s: Suggestion) -> str:
    """What the unit reads on its finding: the suggestion's code, channel, category, place and content; never the
    citizen's name or contact."""
    head = f"【群众意见建议 {s.code}｜{s.channel.label}｜{s.category}】"
    return f"{head}{s.content}\n所在：{s.where}"


def default_deadline(severity: Severity = Severity.normal, calendar: Calendar | None = None) -> dt.date:
    """The deadline the rules give a suggestion handed today (no standard: by severity, default 一般)."""
    return (calendar or calendar_from_env()).deadline(None, severity, audit.today())


def hand_to_unit(
    engine: sa.Engine,
    actor: Actor,
    code: str,
    unit: str,
    deadline: dt.date | None = None,
    point_code: str | None = None,
    *,
    severity: Severity = Severity.normal,
    expected_version: int | None = None,
    calendar: Calendar | None = None,
) -> str:
    """Hand the suggestion to a unit (交办): a finding with source 意见建议 is created through the findings machinery
    and linked, in one transaction; returns the finding's code. Without a deadline the rules give one (severity,
    default 一般). The point defaults to the suggestion's. A coordinator hands within the street: to a unit of the
    street, or to any unit at a point of the street."""
    require(actor, Action.assign_findings)
    unit = (unit or "").strip()
    if not unit:
        raise SuggestionError("请选择责任单位")
    with audit.writing(engine, actor, context=f"意见建议 {code}：交办{unit}") as conn:
        s = _read(conn, code)
        _check_handler(conn, actor, s, expected_version)
        if not s.may_be_handed:
            raise SuggestionError(f"意见建议 {code} 当前为“{s.stage()}”，不能交办")
        point = (point_code or "").strip() or s.point_code
        inside = _inside(conn, actor, Action.report_findings)
        if inside is not None and unit not in inside:
            p = repo.get_point(conn, point) if point else None
            if p is None or p.street not in inside:
                raise PermissionDenied(
                    f"{actor.name}只能交办给本辖区的单位；交办给“{unit}”须指定本辖区的点位，或请创文办交办"
                )
        try:
            finding_code = findings.add_finding(
                conn,
                actor,
                NewFinding(
                    source=FindingSource.suggestion,
                    description=finding_description(s),
                    point_code=point,
                    unit=unit,
                    severity=severity,
                    deadline=deadline,
                ),
                calendar=calendar,
            )
        except FindingError as e:
            raise SuggestionError(str(e)) from None
        fid = conn.execute(sa.select(t.findings.c.id).where(t.findings.c.code == finding_code)).scalar_one()
        _update(conn, s, finding_id=fid, status=S.handed.value)
    return finding_code


def decline(
    engine: sa.Engine, actor: Actor, code: str, reason: str, *, expected_version: int | None = None
) -> Suggestion:
    """Not a matter for a unit (outside the county's remit, already answered, advice without a problem): kept with
    the reason, and still to be answered (``reply``)."""
    reason = (reason or "").strip()
    if not reason:
        raise SuggestionError("不予交办须填写原因")
    limits.check_text(reason, limits.REASON, "原因", SuggestionError)
    with audit.writing(engine, actor, context=f"意见建议 {code}：不予交办", reason=reason) as conn:
        s = _read(conn, code)
        _check_handler(conn, actor, s, expected_version)
        if not s.may_be_handed:
            raise SuggestionError(f"意见建议 {code} 当前为“{s.stage()}”，不能不予交办")
        _update(conn, s, status=S.declined.value, finding_id=None)
        return _read(conn, code)


def reply(engine: sa.Engine, actor: Actor, code: str, text: str, expected_version: int) -> Suggestion:
    """Record the answer given back to the citizen (答复), once: after the finding is closed (or marked long-term),
    or after the suggestion was declined. ``expected_version`` is the version the user was looking at; a change
    made meanwhile is refused rather than overwritten."""
    text = (text or "").strip()
    if not text:
        raise SuggestionError("请填写答复内容")
    limits.check_text(text, limits.REASON, "答复内容", SuggestionError)
    with audit.writing(engine, actor, context=f"意见建议 {code}：答复群众") as conn:
        s = _read(conn, code)
        _check_handler(conn, actor, s, expected_version)
        if s.replied:
            raise SuggestionError(f"意见建议 {code} 已于 {_local(s.replied_at)} 答复，不能重复答复")
        if not s.may_be_answered:
            if s.status is S.handed:
                state = s.finding_status.label if s.finding_status else "未知"
                raise SuggestionError(
                    f"意见建议 {code} 交办的问题 {s.finding_code} 现为“{state}”，复查销号（或列为长效整改）后才能答复"
                )
            raise SuggestionError(f"意见建议 {code} 当前为“{s.stage()}”，须先交办或不予交办")
        status = S.declined if s.status is S.declined else S.answered
        _update(conn, s, reply=text, replied_at=audit.now(), replied_by=actor.username, status=status.value)
        return _read(conn, code)


def void(engine: sa.Engine, actor: Actor, code: str, reason: str, *, expected_version: int | None = None) -> None:
    """A suggestion recorded twice or by mistake (the office only): kept, left out of every count."""
    require(actor, Action.manage_findings)
    reason = (reason or "").strip()
    if not reason:
        raise SuggestionError("作废须填写原因")
    limits.check_text(reason, limits.REASON, "原因", SuggestionError)
    with audit.writing(engine, actor, context=f"意见建议 {code}：作废", reason=reason) as conn:
        s = _read(conn, code)
        if expected_version is not None and expected_version != s.version:
            raise SuggestionError(_changed(conn, s))
        if s.status is not S.received and not (s.status is S.declined and not s.replied):
            raise SuggestionError(f"意见建议 {code} 当前为“{s.stage()}”，不能作废（已交办的请在问题清单中处理问题）")
        _update(conn, s, status=S.voided.value)


def _local(at: dt.datetime | None) -> str:
    return "" if at is None else at.replace(tzinfo=dt.UTC).astimezone(audit.local_zone()).strftime("%Y-%m-%d %H:%M")


# --- figures ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuggestionMetrics:
    as_of: dt.date
    received: int  # 收到（不含作废）
    pending: int  # 待交办（未交办、未不予交办）
    handed: int  # 已交办单位（问题未作废）
    declined: int  # 不予交办
    finding_closed: int  # 交办的问题已销号
    long_term: int  # 交办的问题列为长效整改
    overdue: int  # 交办的问题逾期未销号
    replied: int  # 已答复
    concluded: int  # 办结
    conclusion_rate: float | None  # 办结率
    reply_rate: float | None  # 答复率
    rectification: metrics.RectificationMetrics  # 整改率、按期整改率 of the suggestions' findings

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("as_of", "rectification")}
        r = self.rectification
        d.update(
            rectification_due=r.due,
            rectification_closed_due=r.closed_due,
            rectification_closed_on_time=r.closed_on_time,
            rectification_rate=r.rectification_rate,
            on_time_rate=r.on_time_rate,
        )
        return d


@dataclass(frozen=True)
class _State:
    """One suggestion as it stood at the end of the as-of date."""

    street: str
    category: str
    status: str
    replied: bool
    finding: metrics.FindingFacts | None  # its live (not voided) finding then, as the finding events leave it


def _states(conn: sa.Connection, actor: Actor, as_of: dt.date) -> list[_State]:
    """Every suggestion the actor may see received by the end of ``as_of``, as it stood then: its status, finding
    and reply from its audit entries up to then (the log is append-only), its finding's state from the finding
    events (``civeval.metrics.finding_facts``). Voided ones left out."""
    end = audit.local_day_start(as_of + dt.timedelta(days=1))
    may_see = _visibility(conn, actor)
    rows = [
        _to_suggestion(r)
        for r in conn.execute(_query().where(t.suggestions.c.received_at < end).order_by(t.suggestions.c.id)).mappings()
    ]
    rows = [s for s in rows if may_see(s)]
    if not rows:
        return []
    ids = {s.id for s in rows}
    then: dict[int, dict] = {}
    a = t.audit_log
    for (after,) in conn.execute(
        sa.select(a.c.after)
        .where(a.c.table_name == t.suggestions.name, a.c.operation.in_(["insert", "update"]), a.c.at < end)
        .order_by(a.c.id)
    ):
        if (after or {}).get("id") in ids:
            then[after["id"]] = after
    # The suggestions' findings as they stood: read as the system, the suggestion's visibility having decided.
    facts = {f.id: f for f in metrics.finding_facts(conn, Actor.system("意见建议统计"), as_of)}
    out = []
    for s in rows:
        if s.id in then:
            state = then[s.id]
            status, finding_id, replied = state["status"], state.get("finding_id"), bool(state.get("replied_at"))
        elif s.created_at >= end:  # recorded after the day, received before it
            status, finding_id, replied = S.received.value, None, False
        else:  # written without an audit entry (not by civeval): as it is now
            status = s.status.value
            finding_id = conn.execute(
                sa.select(t.suggestions.c.finding_id).where(t.suggestions.c.id == s.id)
            ).scalar_one()
            replied = s.replied_at is not None and s.replied_at < end
        if status == S.voided.value:
            continue
        out.append(_State(s.street or NO_STREET, s.category, status, replied, facts.get(finding_id)))
    return out


def _measure(states: Sequence[_State], as_of: dt.date) -> SuggestionMetrics:
    def is_handed(x: _State) -> bool:
        return x.finding is not None and x.status in (S.handed.value, S.answered.value)

    def is_declined(x: _State) -> bool:
        return x.status == S.declined.value

    facts = [x.finding for x in states if is_handed(x)]
    declined = sum(map(is_declined, states))
    replied = sum(x.replied for x in states)
    concluded = sum(x.replied and (is_declined(x) or (is_handed(x) and x.finding.closed)) for x in states)
    n = len(states)
    return SuggestionMetrics(
        as_of=as_of,
        received=n,
        pending=n - len(facts) - declined,
        handed=len(facts),
        declined=declined,
        finding_closed=sum(f.closed for f in facts),
        long_term=sum(f.long_term for f in facts),
        overdue=sum(f.open and f.deadline < as_of for f in facts),
        replied=replied,
        concluded=concluded,
        conclusion_rate=concluded / n if n else None,
        reply_rate=replied / n if n else None,
        rectification=metrics.rectification(facts, as_of),
    )


GROUPS: dict[str, Callable[[_State], str]] = {"street": lambda x: x.street, "category": lambda x: x.category}
GROUP_LABELS = {"street": "街道（镇）", "category": "类别"}


@dataclass(frozen=True)
class SuggestionReport:
    as_of: dt.date
    overall: SuggestionMetrics
    by: str | None
    groups: dict[str, SuggestionMetrics]  # by street or category, ordered by name; empty without ``by``


def suggestion_metrics(conn: sa.Connection, actor: Actor, as_of: dt.date, by: str | None = None) -> SuggestionReport:
    """办结率, 答复率 and the suggestions' findings' 整改率 / 按期整改率 as they stood at the end of ``as_of``,
    overall and (``by`` "street" or "category") per group, over the suggestions the actor may see."""
    if by is not None and by not in GROUPS:
        raise SuggestionError(f"分组只能是 {'、'.join(GROUPS)}")
    states = _states(conn, actor, as_of)
    groups: dict[str, list[_State]] = {}
    if by is not None:
        for x in states:
            groups.setdefault(GROUPS[by](x), []).append(x)
    return SuggestionReport(
        as_of,
        _measure(states, as_of),
        by,
        {k: _measure(v, as_of) for k, v in sorted(groups.items())},
    )


REPORT_VERSION = 1


def report(conn: sa.Connection, actor: Actor, as_of: dt.date) -> dict:
    """The figures as plain JSON-ready data (CLI ``suggestions metrics --json``): overall, by street and by
    category, with the definitions. Keys English snake_case, rates 0..1 or None, dates ISO."""
    states = _states(conn, actor, as_of)

    def grouped(by: str) -> list[dict]:
        buckets: dict[str, list[_State]] = {}
        for x in states:
            buckets.setdefault(GROUPS[by](x), []).append(x)
        return [{"name": k, **_measure(v, as_of).as_dict()} for k, v in sorted(buckets.items())]

    return {
        "report": "suggestions",
        "version": REPORT_VERSION,
        "as_of": as_of.isoformat(),
        "overall": _measure(states, as_of).as_dict(),
        "by_street": grouped("street"),
        "by_category": grouped("category"),
        "definitions": [{"term": k, "text": v} for k, v in SUGGESTION_DEFINITIONS.items()],
    }


def report_lines(rep: dict) -> list[str]:
    """``report`` as a readable Chinese summary, one line per string, with the definitions."""
    pct = metrics.percent

    def line(m: dict) -> str:
        return (
            f"收到 {m['received']} 件，待交办 {m['pending']} 件，已交办 {m['handed']} 件，不予交办 {m['declined']} 件，"
            f"已答复 {m['replied']} 件，办结 {m['concluded']} 件，办结率 {pct(m['conclusion_rate'])}，"
            f"答复率 {pct(m['reply_rate'])}；交办的问题整改率 {pct(m['rectification_rate'])}，"
            f"按期整改率 {pct(m['on_time_rate'])}，逾期 {m['overdue']} 件"
        )

    lines = [f"群众意见建议办理情况（统计截至 {rep['as_of']}）：{line(rep['overall'])}"]
    for title, key in (("各街道（镇）", "by_street"), ("各类别", "by_category")):
        lines.append(f"{title}：")
        lines += [
            f"  {g['name']}：收到 {g['received']} 件，办结 {g['concluded']} 件，办结率 {pct(g['conclusion_rate'])}，"
            f"答复率 {pct(g['reply_rate'])}"
            for g in rep[key]
        ] or ["  （无）"]
    lines.append("口径：")
    lines += [f"  {d['term']}：{d['text']}" for d in rep["definitions"]]
    return lines


# --- the demo city's suggestions ----------------------------------------------------------------------------------

_DEMO_CONTENT = {
    "市容环境": [
        "小区门口垃圾桶满溢，清运不及时，夏天有异味",
        "背街小巷有乱堆杂物，影响通行",
        "街边商铺占道经营，油烟扰民",
        "绿化带里有建筑垃圾一直没人清理",
    ],
    "交通秩序": [
        "学校门口上下学时段车辆乱停，堵得厉害",
        "十字路口绿灯时间太短，老人过马路来不及",
        "人行道上电动车乱停乱放，轮椅过不去",
    ],
    "公共设施": [
        "路灯不亮，晚上出行不便",
        "公园健身器材损坏，存在安全隐患",
        "公交站台没有座椅和遮雨棚",
        "窨井盖破损，晚上容易绊倒",
    ],
    "窗口服务": ["政务大厅取号排队时间长，建议增加窗口", "办事大厅午休时间无人值守"],
    "社区管理": ["楼道里堆放杂物，有消防隐患", "小区内流浪犬较多，希望处理", "希望社区增加老年人活动场所"],
    "其他": ["建议多组织志愿服务活动", "建议开通到高铁站的公交线路", "建议多做文明养犬的宣传"],
}
_DEMO_UNITS = {
    "市容环境": "县城市管理局",
    "交通秩序": "县公安局交通管理大队",
    "公共设施": "县住房和城乡建设局",
    "窗口服务": "县政务服务和数据管理局",
    "其他": "县文明办",
}
_DEMO_PEOPLE = ["张大爷", "李阿姨", "王先生", "赵女士", "刘师傅", "陈老师", "杨女士", "周先生"]
_DEMO_RECORDERS = ["王干事", "李干事", "孙干事", "郑干事"]


def demo_suggestions(engine: sa.Engine, seed: int | str = 1, n: int = 40) -> dict[str, int]:
    """The demo city's suggestions over the last six weeks, each told on its own dates through this module and the
    findings machinery: hotline calls, e-mails and door-to-door forms (some names withheld); most handed to a unit,
    fixed, re-inspected, closed and answered; some still being fixed (a few overdue); some declined and answered;
    a few not yet handled. What lies after now is left undone. Returns the counts. Deterministic for a seed."""
    import io
    import random

    from PIL import Image

    rng = random.Random(f"{seed}:suggestions")
    office = Actor.system("演示数据")
    now = audit.now()
    with engine.connect() as conn:
        user = auth.get_user(conn, "inspector")
        checker = auth.load_actor(conn, user.id) if user else office  # a unit never closes its own finding
        units = repo.list_units(conn)
        points = repo.list_points(conn, active_only=True)
    names = {u.name for u in units}
    areas = [u for u in units if u.kind in (UnitKind.street, UnitKind.town) and u.active]
    if not areas:
        return {"suggestions": 0}
    weights = [4.0 if u.kind is UnitKind.street else 1.0 for u in areas]
    communities: dict[str, list[str]] = {}
    for u in units:
        if u.kind is UnitKind.community and u.parent:
            communities.setdefault(u.parent, []).append(u.name)
    by_street: dict[str, list[str]] = {}
    for p in points:
        if p.street:
            by_street.setdefault(p.street, []).append(p.code)
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (60, 150, 90)).save(buf, "JPEG")
    photo = (buf.getvalue(), "整改后.jpg")
    channels = [Channel.hotline, Channel.door_to_door, Channel.email, Channel.other]
    A = findings.FindingAction

    def answer(moment: dt.datetime, code: str, text: str, version: int) -> bool:
        if moment >= now:
            return False
        with audit.clock_at(moment):
            reply(engine, office, code, text, version)
        return True

    def move(moment: dt.datetime, who: Actor, finding: str, action: findings.FindingAction, **kw) -> bool:
        if moment >= now:
            return False
        with audit.clock_at(moment):
            findings.transition(engine, who, finding, action, **kw)
        return True

    counts = {"suggestions": 0, "handed": 0, "declined": 0, "answered": 0}
    for k in range(n):
        days = 42 * (k + rng.random()) / n  # spread over six weeks, oldest first
        t0 = now - dt.timedelta(days=42 - days, hours=rng.randint(0, 6))
        channel = rng.choices(channels, weights=[4, 4, 1.5, 0.5])[0]
        category = rng.choice(list(_DEMO_CONTENT))
        area = rng.choices(areas, weights=weights)[0]
        community = rng.choice(communities[area.name]) if communities.get(area.name) and rng.random() < 0.7 else None
        withheld = channel is Channel.door_to_door and rng.random() < 0.4
        new = NewSuggestion(
            channel=channel,
            content=rng.choice(_DEMO_CONTENT[category]),
            category=category,
            person="" if withheld or rng.random() < 0.3 else rng.choice(_DEMO_PEOPLE),
            name_withheld=withheld,
            contact=f"139{rng.randint(10**7, 10**8 - 1)}" if channel is Channel.hotline else "",
            street=area.name,
            community=community,
            recorder=rng.choice(_DEMO_RECORDERS) if channel is Channel.door_to_door else "热线值班员",
            received_at=t0,
        )
        with audit.clock_at(t0 + dt.timedelta(minutes=30)):
            code = record(engine, office, new)
        counts["suggestions"] += 1
        roll = rng.random()
        if roll < 0.12:  # not a matter for a unit
            reason = "不属本县职责范围，已转交相关部门" if category != "其他" else "属工作建议，已纳入创建工作参考"
            if t0 + dt.timedelta(days=1) < now:
                with audit.clock_at(t0 + dt.timedelta(days=1)):
                    declined = decline(engine, office, code, reason)
                counts["declined"] += 1
                text = f"您的意见建议已收悉：{reason}。感谢支持。"
                counts["answered"] += answer(t0 + dt.timedelta(days=2), code, text, declined.version)
            continue
        if (roll < 0.5 and days > 36) or t0 + dt.timedelta(hours=4) >= now:  # the last few days': not yet handled
            continue
        unit = _DEMO_UNITS.get(category) or community or area.name
        if unit not in names:
            unit = "县城市管理局" if "县城市管理局" in names else area.name
        point = rng.choice(by_street[area.name]) if by_street.get(area.name) and rng.random() < 0.4 else None
        severity = rng.choice([Severity.urgent, Severity.normal, Severity.normal, Severity.serious])
        with audit.clock_at(t0 + dt.timedelta(hours=4)):
            finding = hand_to_unit(engine, office, code, unit, None, point, severity=severity)
            deadline = default_deadline(severity)
        counts["handed"] += 1
        fate = rng.random()
        if fate < 0.05:  # cannot be fixed soon: long-term, explained to the citizen
            if move(t0 + dt.timedelta(days=1), office, finding, A.mark_long_term, reason="需纳入年度改造计划"):
                counts["answered"] += answer(t0 + dt.timedelta(days=2), code, "已纳入年度改造计划，完成后另行告知。", 2)
            continue
        if fate > 0.82:  # still being fixed (overdue once the deadline passes)
            continue
        allowed_days = max(1, (deadline - audit.local_date(t0)).days)
        fixed = t0 + dt.timedelta(days=max(0, allowed_days + rng.choice([-1, -1, 0, 1, 2])), hours=2)
        if not (
            move(fixed, office, finding, A.submit, reason="已按群众反映整改完毕", photos_data=[photo])
            and move(fixed + dt.timedelta(hours=4), checker, finding, A.pass_reinspection)
        ):
            continue
        if rng.random() < 0.85:
            text = f"您反映的问题已由{unit}整改完毕，感谢您对文明城市创建工作的支持。"
            counts["answered"] += answer(fixed + dt.timedelta(days=1), code, text, 2)  # recorded 1, handed 2
    return counts


__all__ = [
    "CATEGORIES_SETTING",
    "DEFAULT_CATEGORIES",
    "SUGGESTION_DEFINITIONS",
    "Channel",
    "NewSuggestion",
    "Suggestion",
    "SuggestionDetail",
    "SuggestionError",
    "SuggestionMetrics",
    "SuggestionReport",
    "SuggestionStatus",
    "categories",
    "decline",
    "default_deadline",
    "demo_suggestions",
    "finding_description",
    "get_suggestion",
    "hand_to_unit",
    "intake_places",
    "list_suggestions",
    "record",
    "reply",
    "report",
    "report_lines",
    "set_categories",
    "store_time",
    "suggestion_metrics",
    "void",
]
