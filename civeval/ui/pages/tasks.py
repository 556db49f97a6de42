"""我的任务: the points assigned to the signed-in inspector today, by round, with their progress; one tap opens a
point for scoring (点位打分)."""

import streamlit as st

from civeval import rounds
from civeval.permissions import PermissionDenied
from civeval.ui import common
from civeval.ui import scoring_widgets as sw

actor = common.current_actor()
common.page("我的任务", "今天分配给您的点位。点“开始”逐项打分，每个答案选定即保存。")
st.html(sw.STYLE)

try:
    with common.engine().connect() as conn:
        tasks = rounds.tasks(conn, actor)
except PermissionDenied as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

if not tasks:
    st.info("今天没有分配给您的点位。轮次开始并分配点位后会显示在这里。", icon=":material/info:")
    st.stop()

open_tasks = [t for t in tasks if t.point.submitted_at is None]
if open_tasks:
    first = open_tasks[0].point
    if st.button(
        f"下一个未完成点位：{first.point.code} {first.point.name}（{first.progress} 已答）",
        key="tasks_next",
        type="primary",
        icon=":material/play_arrow:",
        width="stretch",
    ):
        sw.open_point(open_tasks[0].round.id, first.point.code)
    st.markdown(f"**共 {len(tasks)} 个点位，已提交 {len(tasks) - len(open_tasks)} 个，待完成 {len(open_tasks)} 个。**")
else:
    st.success(f"今天的 {len(tasks)} 个点位都已提交。", icon=":material/task_alt:")

by_round: dict[int, list[rounds.Task]] = {}
for task in tasks:
    by_round.setdefault(task.round.id, []).append(task)

for round_tasks in by_round.values():
    info = round_tasks[0].round
    st.subheader(info.name, anchor=False, divider="gray")
    st.caption(f"{info.kind.label} · {info.start_date:%m-%d} 至 {info.end_date:%m-%d} · {info.status.label}")
    for task in round_tasks:
        rp, p = task.point, task.point.point
        with st.container(border=True, key=f"task_{info.id}_{p.code}"):
            text, action = st.columns([3, 1], vertical_alignment="center")
            with text:
                st.markdown(f"**{p.code}　{p.name}**")
                st.markdown("　·　".join(x for x in (p.point_type, p.street or "", p.address) if x))
                with st.container(horizontal=True, gap="small"):
                    if rp.submitted_at is not None:
                        st.badge("已提交", icon=":material/task_alt:", color="green")
                    elif rp.answered:
                        st.badge("进行中", icon=":material/pending:", color="orange")
                    else:
                        st.badge("未开始", icon=":material/radio_button_unchecked:", color="gray")
                    st.badge(f"{rp.progress} 已答", color="blue")
                    if rp.visit_date:
                        st.badge(f"测评日期 {rp.visit_date:%m-%d}", color="violet")
            label = "查看" if rp.submitted_at is not None else "继续" if rp.answered else "开始"
            if action.button(
                label,
                key=f"tasks_open_{info.id}_{p.code}",
                type="secondary" if rp.submitted_at is not None else "primary",
                width="stretch",
            ):
                sw.open_point(info.id, p.code)
