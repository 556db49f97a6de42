"""复查销号: for the inspector on duty, the findings units have submitted, grouped by street. Each shows the before and
after photos side by side and the measures the unit reported; 通过（销号） closes it, 不通过 (with a reason) sends it
back to the unit. A unit's own findings never reach its own people here (civeval.findings.reinspection_queue)."""

import html

import streamlit as st

from civeval import findings
from civeval.findings import FindingError
from civeval.permissions import PermissionDenied
from civeval.ui import common
from civeval.ui import finding_widgets as fw

MESSAGES = "rq_messages"

actor = common.current_actor()
engine = common.engine()
common.page(
    "复查销号",
    "责任单位已提交整改的问题，按街道分组。对照整改前后照片现场复查：通过即销号；不通过须写明原因，退回整改。",
)
st.html(fw.STYLE)
on = fw.today()

try:
    with engine.connect() as conn:
        queue = findings.reinspection_queue(conn, actor)
        everyone = [f for group in queue.values() for f in group]
        events = {f.code: findings.history(conn, actor, f.code) for f in everyone}
        places = findings.finding_points(conn, actor, everyone)
except (FindingError, PermissionDenied) as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

for kind, text in st.session_state.pop(MESSAGES, []):
    getattr(st, kind)(text)
    if kind == "success":
        st.toast(text, icon=":material/task_alt:")

if not everyone:
    st.info("目前没有待复查的问题。责任单位提交整改后，问题会出现在这里。", icon=":material/info:")
    st.stop()

st.markdown(f"**待复查 {len(everyone)} 个问题**，分布在 {len(queue)} 个街道/镇。")


def card(f: findings.Finding) -> None:
    place = places.get(f.point_code or "")
    submitted = fw.latest_submission(events.get(f.code, []))
    with st.container(border=True, key=f"rq_card_{f.code}"):
        st.markdown(f"#### {f.code}　{fw.point_label(f)}")
        fw.badges(f, on)
        lines = [
            f"**测评标准**：{fw.standard_label(f)}",
            f"**问题描述**：{f.description}" + (f"（{f.instances} 处）" if f.instances else ""),
            f"**责任单位**：{f.unit}　**{fw.deadline_text(f, on)}**",
        ]
        if place and place.address:
            lines.insert(1, f"**地址**：{place.address}")
        if f.reinspections:
            lines.append(f"**此前复查**：{f.reinspections} 次未通过")
        st.markdown("  \n".join(lines))
        fw.before_after(f, key=f"rq_photos_{f.code}", big=True)
        if submitted is not None:
            st.markdown(f"**整改措施**（{submitted['actor']}，{fw.local_time(submitted['at'])} 提交）")
            st.html(f'<div class="fw-measures">{html.escape(submitted["reason"] or "（未填写）")}</div>')
        fw.show_finding_messages(f.code)
        fw.reinspection_form(f, prefix="rq", done_key=MESSAGES)


for i, (street, group) in enumerate(queue.items()):
    with st.expander(
        f"{street}（{len(group)} 个）", expanded=True, icon=":material/location_city:", key=f"rq_street_{i}"
    ):
        for f in group:
            card(f)
