"""Who may do what: one table (RULES) of role × action, enforced by every civeval function that reads scoped
data or writes. Pages only ask it which of them to offer; hiding a page is never the protection.

A grant is city-wide (scope None) or within one unit. A scoped grant reaches that unit and the units under
it (a street's communities); for points, those whose street, custodian unit or road-chief unit is in reach.
"""

from __future__ import annotations

from enum import Enum

from civeval.models import Actor, LabelledEnum, Role, register_labels


class Action(LabelledEnum):
    view_index = "view_index"
    manage_index = "manage_index"
    view_units = "view_units"
    manage_units = "manage_units"
    view_points = "view_points"
    manage_points = "manage_points"
    manage_users = "manage_users"
    view_audit = "view_audit"
    change_own_password = "change_own_password"
    manage_rounds = "manage_rounds"
    view_rounds = "view_rounds"
    score_points = "score_points"
    review_materials = "review_materials"
    submit_materials = "submit_materials"
    view_scores = "view_scores"
    view_findings = "view_findings"
    report_findings = "report_findings"
    rectify = "rectify"
    reinspect = "reinspect"
    assign_findings = "assign_findings"
    manage_findings = "manage_findings"
    manage_surveys = "manage_surveys"
    enter_surveys = "enter_surveys"
    record_suggestions = "record_suggestions"


class Reach(Enum):
    ALL = "all"  # the whole city, whatever the grant's scope
    SCOPE = "scope"  # the grant's scope unit and what lies under it; city-wide for an unscoped grant
    ASSIGNED = "assigned"  # only what is assigned to the user (an inspector's points); the function checks it


register_labels(
    "Action",
    {
        "view_index": ("查看测评体系",),
        "manage_index": ("管理测评体系",),
        "view_units": ("查看单位",),
        "manage_units": ("管理单位",),
        "view_points": ("查看点位",),
        "manage_points": ("管理点位",),
        "manage_users": ("管理用户",),
        "view_audit": ("查看操作日志",),
        "change_own_password": ("修改本人密码",),
        "manage_rounds": ("管理测评轮次",),
        "view_rounds": ("查看测评轮次",),
        "score_points": ("实地测评打分",),
        "review_materials": ("材料审核打分",),
        "submit_materials": ("申报材料",),
        "view_scores": ("查看得分",),
        "view_findings": ("查看问题清单",),
        "report_findings": ("登记问题",),
        "rectify": ("整改问题",),
        "reinspect": ("复查销号",),
        "assign_findings": ("交办、转办和审批延期",),
        "manage_findings": ("管理问题清单",),
        "manage_surveys": ("管理问卷",),
        "enter_surveys": ("录入纸质问卷",),
        "record_suggestions": ("登记群众意见建议",),
    },
)

ADM, INS, LIA, COO, LEA = Role.admin, Role.inspector, Role.liaison, Role.coordinator, Role.leader
ALL, SCOPE, ASSIGNED = Reach.ALL, Reach.SCOPE, Reach.ASSIGNED

RULES: dict[Action, dict[Role, Reach]] = {
    Action.view_index: {ADM: ALL, INS: ALL, LIA: ALL, COO: ALL, LEA: ALL},
    Action.manage_index: {ADM: ALL},
    Action.view_units: {ADM: ALL, INS: ALL, LIA: ALL, COO: ALL, LEA: ALL},
    Action.manage_units: {ADM: ALL},
    Action.view_points: {ADM: ALL, LIA: SCOPE, COO: SCOPE, LEA: SCOPE},
    Action.manage_points: {ADM: ALL},
    Action.manage_users: {ADM: ALL},
    Action.view_audit: {ADM: ALL},
    Action.change_own_password: {ADM: ALL, INS: ALL, LIA: ALL, COO: ALL, LEA: ALL},
    Action.manage_rounds: {ADM: ALL},
    Action.view_rounds: {ADM: ALL, INS: ASSIGNED, COO: SCOPE, LEA: SCOPE},
    Action.score_points: {ADM: ALL, INS: ASSIGNED},
    Action.review_materials: {ADM: ALL},
    Action.submit_materials: {ADM: ALL, LIA: SCOPE},
    Action.view_scores: {ADM: ALL, COO: SCOPE, LEA: SCOPE},
    Action.view_findings: {ADM: ALL, INS: ALL, LIA: SCOPE, COO: SCOPE, LEA: SCOPE},
    Action.report_findings: {ADM: ALL, INS: ALL, COO: SCOPE},
    Action.rectify: {ADM: ALL, LIA: SCOPE},
    Action.reinspect: {ADM: ALL, INS: ALL},
    Action.assign_findings: {ADM: ALL, COO: SCOPE},
    Action.manage_findings: {ADM: ALL},
    Action.manage_surveys: {ADM: ALL},
    Action.enter_surveys: {ADM: ALL, INS: ALL, COO: SCOPE},
    Action.record_suggestions: {ADM: ALL, INS: ALL, COO: SCOPE},
}


class PermissionDenied(Exception):
    """Refused by the role and scope rules; the message is Chinese and says what and why."""


def allowed(actor: Actor, action: Action) -> bool:
    """Whether any of the actor's grants allows the action at all (somewhere)."""
    rule = RULES[action]
    return any(g.role in rule for g in actor.grants)


def reach(actor: Actor, action: Action) -> set[str] | None:
    """Where the actor may do the action: None for the whole city, else the scope unit names (maybe empty).
    A grant reaching only what is assigned to the user adds no unit here: see ``assigned_only``."""
    rule = RULES[action]
    scopes: set[str] = set()
    for g in actor.grants:
        how = rule.get(g.role)
        if how is None or how is ASSIGNED:
            continue
        if how is ALL or g.scope is None:
            return None
        scopes.add(g.scope)
    return scopes


def assigned_only(actor: Actor, action: Action) -> bool:
    """True when the actor may do the action only on what is assigned to them (no wider grant allows it)."""
    rule = RULES[action]
    hows = [rule[g.role] for g in actor.grants if g.role in rule]
    return bool(hows) and all(h is ASSIGNED for h in hows)


def require(actor: Actor, action: Action, *, within: str | set[str] | None = None) -> None:
    """Refuse unless the actor may do the action; with ``within``, at (one of) those units.

    ``within`` lists the units the data belongs to (already expanded to their parents by the caller);
    a scoped grant must name one of them.
    """
    if not allowed(actor, action):
        roles = "、".join(g.label for g in actor.grants) or "无角色"
        raise PermissionDenied(f"{actor.name}（{roles}）无权{action.label}")
    if within is None:
        return
    where = reach(actor, action)
    if where is None:
        return
    units = {within} if isinstance(within, str) else set(within)
    if not units & where:
        raise PermissionDenied(
            f"{actor.name}无权{action.label}：该数据属于“{'、'.join(sorted(units)) or '未指定单位'}”，"
            f"不在您的范围（{'、'.join(sorted(where)) or '无'}）内"
        )
