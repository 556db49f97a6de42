"""我的整改: a unit liaison's worklist. The open findings their unit answers for, by deadline, each with its
before-photo, standard, point, address and deadline (badges 即将到期 / 已逾期 / 严重逾期); start, submit the measures
taken with after-photos, or ask for a later deadline. Findings of other units are never listed (civeval.findings
decides)."""

import streamlit as st

from civeval import findings
from civeval.findings import FindingAction, FindingError
from civeval.models import FindingStatus, Role
from civeval.permissions import PermissionDenied
from civeval.ui import common
from civeval.ui import finding_widgets as fw

A = FindingAction
MESSAGES = "mf_messages"

actor = common.current_actor()
engine = common.engine()
common.page(
    "我的整改", "本单位待整改的问题，按整改期限排列。整改完成后写明措施、上传整改后照片提交，由创文办复查销号。"
)
st.html(fw.STYLE)
on = fw.today()

try:
    with engine.connect() as conn:
        mine = findings.findings_to_rectify(conn, actor)
        places = findings.finding_points(conn, actor, mine)
        allowed = {f.code: findings.allowed_actions(conn, actor, f) for f in mine}
except (FindingError, PermissionDenied) as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

for kind, text in st.session_state.pop(MESSAGES, []):
    getattr(st, kind)(text)
    if kind == "success":
        st.toast(text, icon=":material/task_alt:")

my_units = "、".join(sorted({g.scope for g in actor.grants if g.role is Role.liaison and g.scope})) or "本单位"
todo = [f for f in mine if f.status is not FindingStatus.submitted]
waiting = [f for f in mine if f.status is FindingStatus.submitted]

if not mine:
    st.success(f"{my_units}目前没有待整改的问题。", icon=":material/task_alt:")
    st.caption("这里只显示交办给本单位的问题；其他单位的问题不在此显示。新问题交办后会出现在这里。")
    st.stop()

overdue = sum(f.days_overdue(on) > 0 for f in todo)
soon = sum(f.escalation(on) is findings.Escalation.due_soon for f in todo)
st.markdown(
    f"**{my_units}：待整改 {len(todo)} 个**"
    + (f"，其中已逾期 {overdue} 个" if overdue else "")
    + (f"，即将到期 {soon} 个" if soon else "")
    + (f"；已提交待复查 {len(waiting)} 个" if waiting else "")
    + "。"
)
if not todo:
    st.info("所有问题都已提交整改，等待复查。", icon=":material/hourglass_top:")


def card(f: findings.Finding) -> None:
    place = places.get(f.point_code or "")
    with st.container(border=True, key=f"mf_card_{f.code}"):
        st.markdown(f"#### {f.code}　{fw.point_label(f)}")
        fw.badges(f, on)
        photo, text = st.columns([2, 3], gap="medium")
        with photo:
            st.caption("整改前")
            fw.photo_strip(f.before_photos, key=f"mf_before_{f.code}", empty="没有问题照片", width=240, big=True)
        with text:
            lines = [
                f"**测评标准**：{fw.standard_label(f)}",
                f"**点位**：{fw.point_label(f)}" + (f"（{f.point_type}）" if f.point_type else ""),
                f"**地址**：{place.address}" + (f"（{f.street}）" if f.street else "")
                if place and place.address
                else f"**街道**：{f.street or '未指定'}",
                f"**整改期限**：{fw.deadline_text(f, on).removeprefix('期限 ')}",
                f"**问题描述**：{f.description}" + (f"（{f.instances} 处）" if f.instances else ""),
                f"**来源**：{f.source.label}" + (f"（{f.round_name}）" if f.round_name else ""),
            ]
            st.markdown("  \n".join(lines))
        if f.status is FindingStatus.submitted:
            st.caption("整改后")
            fw.photo_strip(f.after_photos, key=f"mf_after_{f.code}", width=160)
            st.caption("已提交整改，等待复查销号。")
            return
        fw.show_finding_messages(f.code)
        can = allowed.get(f.code, [])
        if A.start in can:
            fw.action_button(f, A.start, prefix="mf", done_key=MESSAGES, label="开始整改")
        if A.submit in can:
            with st.expander(
                "提交整改（写明措施、上传整改后照片）", icon=":material/upload:", key=f"mf_submit_{f.code}"
            ):
                fw.action_form(f, A.submit, prefix="mf", done_key=MESSAGES, label="提交整改")
        if A.request_extension in can:
            with st.expander("申请延期", icon=":material/update:", key=f"mf_extend_{f.code}"):
                fw.action_form(f, A.request_extension, prefix="mf", done_key=MESSAGES, primary=False)


for f in todo:
    card(f)
if waiting:
    st.subheader(f"已提交、等待复查（{len(waiting)}）", anchor=False, divider="gray")
    for f in waiting:
        card(f)
