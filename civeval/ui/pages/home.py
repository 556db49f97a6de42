"""首页: what the database holds and where to go next."""

import streamlit as st

from civeval.store import repo
from civeval.ui import common, navigation
from civeval.ui import dashboard_widgets as dw

common.page("文明城市测评", "测评体系、点位名录和责任单位：创文办日常测评与整改的基础数据。")
dw.prepare(common.engine(), common.current_actor())  # the dashboard, computed while this page is read

with common.engine().connect() as conn:
    counts = repo.count_rows(conn)
    indexes = repo.list_indexes(conn)

with st.container(horizontal=True, key="home_counts"):
    st.metric("测评体系", counts["indexes"], border=True)
    st.metric("测评标准", counts["standards"], border=True)
    st.metric("单位", counts["units"], border=True)
    st.metric("点位", counts["points"], border=True)
    st.metric("点位类型", counts["point_types"], border=True)

st.subheader("测评体系")
if indexes:
    st.dataframe(
        [
            {
                "名称": i.name,
                "版本": i.version,
                "年份": str(i.year),
                "类别": i.edition or "—",
                "测评项目": i.n_categories,
                "测评内容": i.n_items,
                "测评标准": i.n_standards,
            }
            for i in indexes
        ],
        hide_index=True,
        key="home_indexes",
    )
else:
    common.empty_state("index", demo=True)
if not counts["units"]:
    common.empty_state("units")
if not counts["points"]:
    common.empty_state("points")

st.subheader("下一步")
with st.container(key="home_next"):
    for spec in navigation.offered(common.current_actor()):
        st.page_link(
            f"civeval/ui/pages/{spec.file}",
            label=f"{spec.title}：{navigation.SUMMARIES.get(spec.file, '')}",
            icon=spec.icon,
        )
