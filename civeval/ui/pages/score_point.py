"""点位打分: score one point of a round, standard by standard. Every answer, note and photo is stored the moment it
is given (civeval.ui.scoring_widgets); the URL names the point (``?round=3&point=P00012``), so a reload comes back
to it with everything the database holds."""

import streamlit as st

from civeval import rounds
from civeval.permissions import PermissionDenied
from civeval.ui import common
from civeval.ui import scoring_widgets as sw

MESSAGES = "score_point_messages"

actor = common.current_actor()
common.page("点位打分")
st.html(sw.STYLE)

target = sw.target_from_request()
if target is None:
    st.info("请先在「我的任务」中选择要打分的点位。", icon=":material/info:")
    st.page_link(sw.TASKS_PAGE, label="我的任务", icon=":material/checklist:")
    st.stop()

try:
    sheet = sw.load_sheet(target, actor)
except (rounds.RoundError, PermissionDenied) as e:
    st.error(str(e), icon=":material/error:")
    st.page_link(sw.TASKS_PAGE, label="返回我的任务", icon=":material/arrow_back:")
    st.stop()

point = sheet.point.point
with st.container(border=True, key="sc_point"):
    st.subheader(f"{point.code} {point.name}", anchor=False)
    facts = [point.point_type, point.street or "", point.address]
    st.markdown("　·　".join(f for f in facts if f))
    st.markdown(f"包保单位：{point.custodian_unit or '未指定'}　·　{sheet.round.name}")
    if sheet.point.visit_date:
        st.markdown(f"测评日期：{sheet.point.visit_date:%Y-%m-%d}")
sw.progress(target)
common.show_messages(MESSAGES)

if sheet.point.submitted_at is not None:
    st.success(f"本点位已于 {sw.local_time(sheet.point.submitted_at)} 提交。", icon=":material/task_alt:")
    st.text_input(
        "修改原因",
        key=target.key("reason"),
        placeholder="已提交的点位，须先填写修改原因才能修改答案",
        max_chars=200,
    )
if not sheet.answers:
    st.info("本点位类型没有需要实地考察的测评标准。", icon=":material/info:")

by_category: dict[str, list[str]] = {}
for a in sheet.answers:
    by_category.setdefault(a.category, []).append(a.standard.code)
for category, codes in by_category.items():
    st.subheader(category, anchor=False, divider="gray")
    sw.standard_blocks(target, codes)

st.divider()
if sheet.point.submitted_at is None:
    if st.button("提交点位", key="sc_submit", type="primary", icon=":material/send:", width="stretch"):
        try:
            rounds.submit_point(common.engine(), actor, target.round_id, target.point)
        except (rounds.RoundError, PermissionDenied) as e:
            head, *lines = str(e).splitlines()
            st.error(head + "\n" + "\n".join(f"- {line}" for line in lines), icon=":material/error:")
        else:
            common.leave_message(MESSAGES, "success", f"已提交点位 {point.code} {point.name}。")
            st.rerun()
with common.engine().connect() as conn:
    upcoming = sw.next_open_task(conn, actor, after=target)
left, right = st.columns(2)
with left:
    st.page_link(sw.TASKS_PAGE, label="返回我的任务", icon=":material/arrow_back:")
if upcoming is not None and right.button(
    f"下一个：{upcoming.point.point.code} {upcoming.point.point.name}",
    key="sc_next",
    icon=":material/arrow_forward:",
    width="stretch",
):
    sw.open_point(upcoming.round.id, upcoming.point.point.code)
