"""意见建议: the office's ledger (台账) of citizens' suggestions. Today's counts and 办结率 / 答复率 (by street and by
category, with their definitions); filters (status, channel, category, street, overdue, awaiting a reply); a table;
one suggestion's details: hand it to a unit with a deadline (the finding's status and history shown, with a link to
问题清单), decline it, and record the answer given back to the citizen once the finding is closed.

Every rule (who may hand, what each step needs, when a reply may be recorded) and every figure is
civeval.suggestions'; the unit's work on the finding happens on the findings pages. This page only shows them.
"""

import logging
from pathlib import Path

import pandas as pd
import streamlit as st

from civeval import auth, findings, registers, suggestions
from civeval.models import Actor, Severity
from civeval.permissions import Action, PermissionDenied
from civeval.suggestions import Channel, SuggestionError, SuggestionStatus
from civeval.ui import common, session
from civeval.ui import finding_widgets as fw

log = logging.getLogger(__name__)
SS = SuggestionStatus
MESSAGES = "sg_msgs"
PICK = "sg_pick"  # the suggestion whose details are shown
FINDINGS_PAGE = Path(__file__).resolve().parent / "findings_list.py"
FINDINGS_PICK = "fl_pick"  # the finding 问题清单 opens with
STAGE_COLORS = {SS.received: "blue", SS.handed: "orange", SS.answered: "green", SS.declined: "gray", SS.voided: "gray"}


# --- the handlers (run before the page, on a button's click) ----------------------------------------------------


def _signed_in():
    engine = common.engine()
    actor = auth.resume_session(engine, st.session_state.get(session.TOKEN_KEY))
    if actor is None:
        common.leave_message(MESSAGES, "error", "登录已过期，未保存。请刷新页面重新登录后再试。")
    return engine, actor


def _run(what: str, call) -> bool:
    engine, actor = _signed_in()
    if actor is None:
        return False
    try:
        text = call(engine, actor)
    except (SuggestionError, PermissionDenied) as e:
        common.leave_message(MESSAGES, "error", f"未保存：{e}")
        return False
    except Exception:  # the database unreachable …: never a traceback
        log.exception("suggestion: %s", what)
        common.leave_message(MESSAGES, "error", "未保存：系统暂时无法保存，请稍后再试。")
        return False
    common.leave_message(MESSAGES, "success", text)
    return True


def _hand(code: str, version: int, key: str, deadline_key: str) -> None:
    state = st.session_state
    unit = state.get(f"{key}_unit")
    if not unit:
        common.leave_message(MESSAGES, "error", "未交办：请选择责任单位。")
        return

    def call(engine, actor) -> str:
        finding = suggestions.hand_to_unit(
            engine,
            actor,
            code,
            unit,
            state.get(deadline_key),
            state.get(f"{key}_point"),
            severity=Severity(state.get(f"{key}_severity") or Severity.normal),
            expected_version=version,
        )
        with engine.connect() as conn:  # read back whatever the user's findings scope
            f = findings.get_finding(conn, Actor.system("意见建议"), finding)
        return f"意见建议 {code} 已交办“{unit}”，形成问题 {finding}，整改期限 {f.deadline:%Y-%m-%d}。"

    _run("hand", call)


def _decline(code: str, version: int, key: str) -> None:
    reason = str(st.session_state.get(f"{key}_reason") or "")

    def call(engine, actor) -> str:
        suggestions.decline(engine, actor, code, reason, expected_version=version)
        return f"意见建议 {code} 不予交办；请在答复群众后记录答复。"

    _run("decline", call)


def _reply(code: str, version: int, key: str) -> None:
    text = str(st.session_state.get(f"{key}_text") or "")

    def call(engine, actor) -> str:
        s = suggestions.reply(engine, actor, code, text, version)
        return f"意见建议 {code} 已记录答复（{s.stage()}）。"

    _run("reply", call)


def _void(code: str, version: int, key: str) -> None:
    reason = str(st.session_state.get(f"{key}_reason") or "")

    def call(engine, actor) -> str:
        suggestions.void(engine, actor, code, reason, expected_version=version)
        return f"意见建议 {code} 已作废，不再计入统计。"

    _run("void", call)


# --- the page --------------------------------------------------------------------------------------------------------

actor = common.current_actor()
engine = common.engine()
common.page("意见建议", "群众意见建议台账：交办单位整改，复查销号后答复群众；办结率、答复率。")
st.html(fw.STYLE)
on = fw.today()

try:
    with engine.connect() as conn:
        everything = suggestions.list_suggestions(conn, actor)
        by_street = suggestions.suggestion_metrics(conn, actor, on, by="street")
        by_category = suggestions.suggestion_metrics(conn, actor, on, by="category")
        kinds = suggestions.categories(conn)
except (SuggestionError, PermissionDenied) as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

common.show_messages(MESSAGES)

if not everything:
    st.info(
        "还没有意见建议。市民热线、电子邮件、入户征询收到的意见建议，在「意见建议登记」页面登记。",
        icon=":material/info:",
    )
    st.stop()

# --- counts of today and the rates ------------------------------------------------------------------------------

overall = by_street.overall
defs = suggestions.SUGGESTION_DEFINITIONS
with st.container(key="sg_counts"):
    m1, m2, m3 = st.columns(3, gap="small")
    m1.metric("收到", overall.received, border=True, help=defs["收到"])
    m2.metric(
        "待交办", sum(s.status is SS.received for s in everything), border=True, help="已登记、尚未交办或不予交办。"
    )
    m3.metric(
        "整改中",
        sum(s.status is SS.handed and s.finding_status in findings.OPEN_STATES for s in everything),
        border=True,
        help="已交办单位、问题尚未销号。",
    )
    m4, m5, m6 = st.columns(3, gap="small")
    m4.metric(
        "待答复",
        sum(s.may_be_answered for s in everything),
        border=True,
        help="问题已销号（或列为长效整改）或不予交办，尚未答复群众。",
    )
    m5.metric(
        "办结率",
        fw.pct(overall.conclusion_rate),
        border=True,
        help=f"{defs['办结率']}\n\n办结：{defs['办结']}\n\n今天：{overall.concluded} / {overall.received}",
    )
    m6.metric(
        "答复率",
        fw.pct(overall.reply_rate),
        border=True,
        help=f"{defs['答复率']}\n\n今天：{overall.replied} / {overall.received}",
    )
    r = overall.rectification
    st.caption(
        f"统计日期 {on:%Y-%m-%d}。交办单位的意见建议形成的问题：应整改 {r.due} 件，"
        f"整改率 {fw.pct(r.rectification_rate)}，按期整改率 {fw.pct(r.on_time_rate)}，"
        f"逾期 {overall.overdue} 件（与问题清单同一口径）。"
    )


def _figures(report: suggestions.SuggestionReport, name: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                name: key,
                "收到": m.received,
                "已交办": m.handed,
                "不予交办": m.declined,
                "已答复": m.replied,
                "办结": m.concluded,
                "办结率": fw.pct(m.conclusion_rate),
                "答复率": fw.pct(m.reply_rate),
                "整改率": fw.pct(m.rectification.rectification_rate),
                "按期整改率": fw.pct(m.rectification.on_time_rate),
                "逾期": m.overdue,
            }
            for key, m in report.groups.items()
        ],
        columns=[
            name,
            "收到",
            "已交办",
            "不予交办",
            "已答复",
            "办结",
            "办结率",
            "答复率",
            "整改率",
            "按期整改率",
            "逾期",
        ],
    )


with st.expander("各街道、各类别办结率和答复率", icon=":material/leaderboard:", key="sg_rates"):
    st.markdown("**按街道（镇）**")
    st.dataframe(_figures(by_street, "街道（镇）"), hide_index=True, key="sg_by_street")
    st.markdown("**按类别**")
    st.dataframe(_figures(by_category, "类别"), hide_index=True, key="sg_by_category")
    st.markdown("**指标口径**")
    st.markdown("\n".join(f"- **{term}**：{text}" for term, text in defs.items()))

# --- filters and the table ---------------------------------------------------------------------------------------

search = st.text_input("搜索", key="sg_search", placeholder="编号、内容、地点或责任单位")
with st.expander("筛选", icon=":material/filter_list:", key="sg_filters"):
    c1, c2, c3 = st.columns(3)
    statuses = c1.multiselect(
        "状态", list(SS), format_func=lambda s: s.label, key="sg_status", placeholder="全部（不含已作废）"
    )
    channel = c2.selectbox(
        "渠道", list(Channel), format_func=lambda c: c.label, index=None, placeholder="全部", key="sg_channel"
    )
    category = c3.selectbox(
        "类别", sorted({*kinds, *(s.category for s in everything)}), index=None, placeholder="全部", key="sg_category"
    )
    c4, c5, c6 = st.columns(3)
    streets = sorted({s.street or suggestions.NO_STREET for s in everything})
    street = c4.selectbox("街道（镇）", streets, index=None, placeholder="全部", key="sg_street")
    with c5:
        overdue_only = st.toggle("只看逾期", key="sg_overdue", help="交办的问题已过整改期限、尚未销号。")
    with c6:
        awaiting_only = st.toggle("只看待答复", key="sg_awaiting")


def _matches(s: suggestions.Suggestion) -> bool:
    words = search.split()
    haystack = " ".join(
        x or "" for x in (s.code, s.content, s.place, s.where, s.finding_code, s.finding_unit, s.category)
    )
    return all(w in haystack for w in words)


shown = [
    s
    for s in everything
    if (s.status in statuses if statuses else s.status is not SS.voided)
    and (channel is None or s.channel is channel)
    and (category is None or s.category == category)
    and (street is None or (s.street or suggestions.NO_STREET) == street)
    and (not overdue_only or s.overdue(on))
    and (not awaiting_only or s.may_be_answered)
    and _matches(s)
]

st.markdown(f"**显示 {len(shown)} 件意见建议**（共 {len(everything)} 件），新收到的在前。点一行查看详情和办理。")
table = pd.DataFrame(
    [
        {
            "编号": s.code,
            "收到时间": fw.local_time(s.received_at),
            "渠道": s.channel.label,
            "类别": s.category,
            "街道": s.street or "",
            "内容": s.content if len(s.content) <= 40 else s.content[:39] + "…",
            "办理情况": s.stage(),
            "问题": s.finding_code or "",
            "责任单位": s.finding_unit or "",
            "整改期限": s.finding_deadline,
        }
        for s in shown
    ],
    columns=["编号", "收到时间", "渠道", "类别", "街道", "内容", "办理情况", "问题", "责任单位", "整改期限"],
)
common.picking_table(
    table,
    [s.code for s in shown],
    key="sg_table",
    pick_key=PICK,
    column_config={
        "内容": st.column_config.TextColumn(width="large"),
        "整改期限": st.column_config.DateColumn(format="YYYY-MM-DD"),
    },
)

# --- one suggestion ------------------------------------------------------------------------------------------------

by_code = {s.code: s for s in everything}
pick = common.detail_picker(
    "查看意见建议",
    [s.code for s in shown],
    by_code,
    pick_key=PICK,
    placeholder="选择一件意见建议查看详情和办理",
    format_func=lambda c: f"{c} · {by_code[c].stage()} · {by_code[c].category} · {by_code[c].where}",
)
if pick is None:
    st.stop()

try:
    with engine.connect() as conn:
        detail = suggestions.get_suggestion(conn, actor, pick)
        units = [u.name for u in registers.visible_units(conn, actor) if u.active]
        points = findings.reportable_points(conn, actor) if common.may(Action.report_findings) else []
except (SuggestionError, PermissionDenied) as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

s, f = detail.suggestion, detail.finding
with st.container(border=True, key="sg_detail"):
    st.subheader(f"{s.code}　{s.category}", anchor=False)
    with st.container(horizontal=True, gap="small"):
        st.badge(s.stage(), color=STAGE_COLORS[s.status])
        if s.overdue(on):
            st.badge("已逾期（督办）", color="red", icon=":material/warning:")
    st.markdown(
        "  \n".join(
            [
                f"**渠道**：{s.channel.label}　**收到时间**：{fw.local_time(s.received_at)}",
                f"**被征询对象**：{s.person_label}" + (f"　**联系方式**：{s.contact}" if s.contact else ""),
                f"**所在区、街道、社区**：{s.where}",
                f"**征询记录人**：{s.recorder}　**登记**：{s.created_by}，{fw.local_time(s.created_at)}",
            ]
        )
    )
    st.markdown(f"**意见建议内容**：{s.content}")
    if f is not None:
        st.markdown(
            f"**交办**：问题 {f.code}，{f.status.label}，责任单位 {f.unit}，{fw.deadline_text(f, on)}"
            + (f"，点位 {fw.point_label(f)}" if f.point_code else "")
        )
        st.dataframe(fw.history_frame(detail.finding_history), hide_index=True, key=f"sg_fhistory_{s.code}")
        if detail.finding_in_scope and st.button(
            "在问题清单中查看", key=f"sg_open_{s.code}", icon=":material/open_in_new:"
        ):
            st.session_state[FINDINGS_PICK] = f.code
            st.switch_page(FINDINGS_PAGE)
    if s.replied:
        st.markdown(f"**答复群众**（{s.replied_by}，{fw.local_time(s.replied_at)}）：{s.reply}")
    st.markdown("**办理记录**")
    st.dataframe(
        pd.DataFrame(
            [
                {"时间": fw.local_time(x["at"]), "操作人": x["actor"], "操作": x["what"], "原因/说明": x["reason"]}
                for x in detail.steps
            ],
            columns=["时间", "操作人", "操作", "原因/说明"],
        ),
        hide_index=True,
        key=f"sg_steps_{s.code}",
    )

    if not common.may(Action.assign_findings):
        st.stop()
    key = f"sg_{s.code}_{s.version}"  # a new version: empty forms
    if s.may_be_handed:
        st.markdown("**交办单位**")
        st.selectbox("责任单位（必填）", units, index=None, placeholder="请选择责任单位", key=f"{key}_unit")
        by_point = {p.code: p for p in points}
        point_options = list(by_point)
        st.selectbox(
            "点位（可不选）",
            point_options,
            index=point_options.index(s.point_code) if s.point_code in by_point else None,
            placeholder="不指定点位",
            format_func=lambda c: f"{c} {by_point[c].name}（{by_point[c].street or '未指定街道'}）",
            key=f"{key}_point",
        )
        c1, c2 = st.columns(2)
        severity = c1.selectbox(
            "严重程度",
            list(Severity),
            index=list(Severity).index(Severity.normal),
            format_func=lambda v: v.label,
            key=f"{key}_severity",
        )
        deadline_key = f"{key}_deadline_{severity.value}"  # the default follows the severity chosen
        c2.date_input("整改期限", value=suggestions.default_deadline(severity), min_value=on, key=deadline_key)
        st.button(
            "交办",
            key=f"{key}_hand",
            type="primary",
            icon=":material/assignment_ind:",
            on_click=_hand,
            args=(s.code, s.version, key, deadline_key),
            width="stretch",
        )
        with st.expander("不予交办", icon=":material/block:", key=f"{key}_decline_box"):
            st.caption("不属本地职责、已答复过或只是建议等，不需交办单位的；仍须答复群众。")
            st.text_area("原因（必填）", key=f"{key}_decline_reason", height=68, max_chars=2000)
            st.button(
                "不予交办",
                key=f"{key}_decline",
                on_click=_decline,
                args=(s.code, s.version, f"{key}_decline"),
                width="stretch",
            )
        if common.may(Action.manage_findings) and s.status is SS.received:
            with st.expander("作废（重复或误登记）", icon=":material/delete:", key=f"{key}_void_box"):
                st.text_area("作废原因（必填）", key=f"{key}_void_reason", height=68, max_chars=2000)
                st.button(
                    "作废", key=f"{key}_void", on_click=_void, args=(s.code, s.version, f"{key}_void"), width="stretch"
                )
    elif s.may_be_answered:
        st.markdown("**答复群众**")
        st.text_area("答复内容（告知群众的办理结果，必填）", key=f"{key}_reply_text", height=100, max_chars=2000)
        st.button(
            "记录答复",
            key=f"{key}_reply",
            type="primary",
            icon=":material/forum:",
            on_click=_reply,
            args=(s.code, s.version, f"{key}_reply"),
            width="stretch",
        )
    elif s.status is SS.handed:
        st.caption("责任单位在「我的整改」中整改，复查销号后在这里记录给群众的答复。")
