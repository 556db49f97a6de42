"""问题清单: the gap list for the office, street coordinators and leaders. Filters, the counts of today (open, due
soon, overdue, escalated, 整改率, 按期整改率), a table by deadline; one finding's details with its photos, history and
the transitions the user may make; a form to report a finding by hand.

Who sees which finding, which transitions are offered and what each needs are civeval.findings'; the rates are
civeval.metrics' (definitions in DOMAIN.md, "Rectification definitions"). This page only shows them.
"""

import pandas as pd
import streamlit as st

from civeval import findings, metrics, registers
from civeval.findings import Escalation, FindingError
from civeval.models import FindingStatus
from civeval.permissions import Action, PermissionDenied
from civeval.store import repo
from civeval.ui import common
from civeval.ui import finding_widgets as fw

MESSAGES = "fl_messages"
PICK = "fl_pick"  # the finding whose details are shown
OPEN = [FindingStatus.assigned, FindingStatus.in_progress, FindingStatus.submitted]
# Three counts to a row even on a phone (Streamlit stacks columns below 640 px), smaller figures there.
COUNTS_STYLE = """
<style>
.st-key-fl_counts [data-testid="stHorizontalBlock"] { flex-wrap: nowrap !important; }
.st-key-fl_counts [data-testid="stColumn"] { min-width: 0 !important; flex: 1 1 0 !important; width: auto !important; }
@media (max-width: 640px) {
  .st-key-fl_counts [data-testid="stMetricValue"] { font-size: 1.45rem; }
  .st-key-fl_counts [data-testid="stMetric"] > div { padding: .45rem .4rem; }
  .st-key-fl_counts [data-testid="stMetricLabel"] p { font-size: .8rem; }
}
</style>
"""

actor = common.current_actor()
engine = common.engine()
common.page("问题清单", "测评、督查、暗访、热线等发现的问题，交办、整改、复查、销号全过程。")
st.html(fw.STYLE)
on = fw.today()

try:
    with engine.connect() as conn:
        everything = findings.list_findings(conn, actor)
        facts = metrics.finding_facts(conn, actor, on)
        units = [u.name for u in registers.visible_units(conn, actor)]
except (FindingError, PermissionDenied) as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

# --- reporting by hand -------------------------------------------------------------------------------------------

if common.may(Action.report_findings):
    with st.expander(
        "登记问题（日常督查、暗访、市民热线、随手拍、领导督办）", icon=":material/add_circle:", key="fl_report"
    ):
        try:
            with engine.connect() as conn:
                points = findings.reportable_points(conn, actor)
                info = common.index_picker(conn)
                index = repo.load_index(conn, info.id) if info is not None else None
        except PermissionDenied as e:
            st.error(str(e), icon=":material/error:")
        else:
            fw.report_form(points, units, index, info.id if info else None, done_key=MESSAGES, pick_key=PICK)

common.show_messages(MESSAGES)

if not everything:
    st.info(
        "问题清单是空的。测评中判为不符合的标准会自动生成问题；也可以在上面“登记问题”里手工登记。"
        if common.may(Action.report_findings)
        else "目前没有您可查看的问题。",
        icon=":material/info:",
    )
    st.stop()

# --- filters (the counts go above them) -------------------------------------------------------------------------

counts_box = st.container(key="fl_counts")
search = st.text_input("搜索", key="fl_search", placeholder="问题编号、点位、测评标准、单位或描述")
chosen = sum(bool(st.session_state.get(k)) for k in ("fl_unit", "fl_street", "fl_source", "fl_round", "fl_overdue"))
picked = st.session_state.get("fl_status", OPEN)
status_note = "未销号" if set(picked) == set(OPEN) else "、".join(s.label for s in picked) if picked else "全部"
with st.expander(
    f"筛选：状态 {status_note}" + (f"，另有 {chosen} 项条件" if chosen else ""),
    icon=":material/filter_list:",
    key="fl_filters",
):
    c1, c2, c3 = st.columns(3)
    statuses = c1.multiselect(
        "状态", list(FindingStatus), default=OPEN, format_func=lambda s: s.label, key="fl_status", placeholder="全部"
    )
    unit = c2.selectbox("责任单位", sorted({f.unit for f in everything}), index=None, placeholder="全部", key="fl_unit")
    street = c3.selectbox(
        "街道/镇", sorted({f.street for f in everything if f.street}), index=None, placeholder="全部", key="fl_street"
    )
    c4, c5, c6 = st.columns(3)
    source = c4.selectbox(
        "来源",
        sorted({f.source for f in everything}),
        format_func=lambda s: s.label,
        index=None,
        placeholder="全部",
        key="fl_source",
    )
    round_names = {f.round_id: f.round_name for f in everything if f.round_id is not None}
    round_id = c5.selectbox(
        "测评轮次", list(round_names), format_func=round_names.get, index=None, placeholder="全部", key="fl_round"
    )
    with c6:
        st.space("small")
        overdue_only = st.toggle("只看逾期", key="fl_overdue")

scope = [
    f
    for f in everything
    if (unit is None or f.unit == unit)
    and (street is None or f.street == street)
    and (source is None or f.source is source)
    and (round_id is None or f.round_id == round_id)
    and fw.matches(f, search)
]
shown = [f for f in scope if (not statuses or f.status in statuses) and (not overdue_only or f.days_overdue(on) > 0)]

# --- counts of today ---------------------------------------------------------------------------------------------

levels = [f.escalation(on) for f in scope]
codes_in_scope = {f.code for f in scope}
rates = metrics.rectification([x for x in facts if x.code in codes_in_scope], on)
due_note = f"\n\n应整改：{metrics.DEFINITIONS['应整改']}"
with counts_box:
    st.html(COUNTS_STYLE)
    m1, m2, m3 = st.columns(3, gap="small")
    m1.metric(
        "未销号",
        sum(f.status in findings.OPEN_STATES for f in scope),
        border=True,
        help="已交办、整改中和待复查的问题（长效整改的单独统计）。",
    )
    m2.metric("即将到期", levels.count(Escalation.due_soon), border=True, help="未销号、整改期限为今天或明天的问题。")
    m3.metric(
        "已逾期",
        sum(f.days_overdue(on) > 0 for f in scope),
        border=True,
        help=metrics.DEFINITIONS["逾期"] + "逾期的问题向责任单位发督办。",
    )
    m4, m5, m6 = st.columns(3, gap="small")
    m4.metric(
        "严重逾期",
        levels.count(Escalation.escalated),
        border=True,
        help="逾期且从交办起已超过规定整改时间两倍的问题，报责任领导。",
    )
    m5.metric(
        "整改率",
        fw.pct(rates.rectification_rate),
        border=True,
        help=f"{metrics.DEFINITIONS['整改率']}{due_note}\n\n今天：{rates.closed_due} / {rates.due}",
    )
    m6.metric(
        "按期整改率",
        fw.pct(rates.on_time_rate),
        border=True,
        help=f"{metrics.DEFINITIONS['按期整改率']}{due_note}\n\n今天：{rates.closed_on_time} / {rates.due}",
    )
    st.caption(
        f"统计日期 {on:%Y-%m-%d}；范围为下面所选的单位、街道、来源、轮次和搜索（不受状态筛选影响）。"
        + (f"长效整改 {rates.long_term} 个，单独列示，不计为已整改。" if rates.long_term else "")
    )

# --- the table ---------------------------------------------------------------------------------------------------

st.markdown(f"**显示 {len(shown)} 个问题**（共 {len(everything)} 个），按整改期限排列。点一行查看详情。")
table = pd.DataFrame(
    [
        {
            "编号": f.code,
            "状态": f.status.label,
            "预警": findings.ESCALATION_LABELS[f.escalation(on)],
            "期限": f.deadline,
            "逾期天数": f.days_overdue(on) or None,
            "点位": fw.point_label(f) if f.point_code else "",
            "街道": f.street or "",
            "责任单位": f.unit,
            "测评标准": f"{f.standard_code} {f.standard_text}" if f.standard_code else "",
            "来源": f.source.label,
        }
        for f in shown
    ],
    columns=["编号", "状态", "预警", "期限", "逾期天数", "点位", "街道", "责任单位", "测评标准", "来源"],
)
table["逾期天数"] = table["逾期天数"].astype("Int64")  # blank, not "None", when not overdue
common.picking_table(
    table,
    [f.code for f in shown],
    key="fl_table",
    pick_key=PICK,
    column_config={
        "期限": st.column_config.DateColumn(format="YYYY-MM-DD"),
        "逾期天数": st.column_config.NumberColumn(format="%d 天"),
        "测评标准": st.column_config.TextColumn(width="large"),
    },
)

# --- one finding -------------------------------------------------------------------------------------------------

by_code = {f.code: f for f in everything}
pick = common.detail_picker(
    "查看问题",
    [f.code for f in shown],
    by_code,
    pick_key=PICK,
    placeholder="选择一个问题查看详情和办理",
    format_func=lambda c: f"{c} · {by_code[c].status.label} · {fw.point_label(by_code[c])} · {by_code[c].unit}",
)
if pick is None:
    st.stop()

try:
    with engine.connect() as conn:
        f = findings.get_finding(conn, actor, pick)
        events = findings.history(conn, actor, pick)
        allowed = findings.allowed_actions(conn, actor, f)
        place = findings.finding_points(conn, actor, [f]).get(f.point_code or "")
except (FindingError, PermissionDenied) as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

with st.container(border=True, key="fl_detail"):
    st.subheader(f"{f.code}　{fw.point_label(f)}", anchor=False)
    fw.badges(f, on)
    lines = [
        f"**来源**：{f.source.label}" + (f"（{f.round_name}）" if f.round_name else ""),
        f"**测评标准**：{fw.standard_label(f)}",
        f"**点位**：{fw.point_label(f)}"
        + (f"，{f.point_type}" if f.point_type else "")
        + (f"，{f.street}" if f.street else "")
        + (f"，{place.address}" if place and place.address else ""),
        f"**责任单位**：{f.unit}" + (f"　**责任领导**：{f.owner_leader}" if f.owner_leader else ""),
        f"**严重程度**：{f.severity.label}" + (f"　**问题处数**：{f.instances}" if f.instances else ""),
        f"**整改期限**：{fw.deadline_text(f, on).removeprefix('期限 ')}",
        f"**登记**：{f.created_by}，{fw.local_time(f.created_at)}"
        + (f"　**复查次数**：{f.reinspections}" if f.reinspections else "")
        + (f"　**销号**：{fw.local_time(f.closed_at)}" if f.closed_at else ""),
    ]
    st.markdown("  \n".join(lines))
    st.markdown(f"**问题描述**：{f.description}")
    fw.before_after(f, key=f"fl_photos_{f.code}", width=220)
    st.markdown("**办理记录**")
    st.dataframe(fw.history_frame(events), hide_index=True, key=f"fl_history_{f.code}")
    st.markdown("**办理**")
    fw.show_finding_messages(f.code)
    fw.transition_controls(f, allowed, prefix="fl", units=units)
