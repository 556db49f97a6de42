"""测评体系: browse an index as a tree, search and filter it, and see which unit answers for what."""

import zlib

import streamlit as st

from civeval import criteria, lookup, presentation
from civeval.models import Method
from civeval.store import repo
from civeval.ui import common

common.page("测评体系", "按测评项目 → 测评内容 → 测评标准浏览；可搜索、筛选，查看每条标准的分值、计分方式和责任单位。")

with common.engine().connect() as conn:
    info = common.index_picker(conn)
    if info is None:
        common.empty_state("index", demo=True)
        st.stop()
    index = criteria.stored_index(conn, common.current_actor(), info.id)

summary = presentation.index_summary(index)
st.caption(
    f"{index.title} · {index.year}年 {index.edition}　"
    + "　".join(f"{k} {presentation.marks(v)}" for k, v in summary.items())
)

by_tree, by_unit = st.tabs(["按体系浏览", "按单位查看"], key="index_tabs")

with by_tree:
    search = st.text_input(
        "搜索",
        key="index_search",
        placeholder="编号、标准内容、操作提示、测评内容或项目名称，多个词用空格分开",
    )
    f1, f2, f3 = st.columns(3)
    methods = f1.multiselect(
        "测评方式", list(Method), format_func=lambda m: m.label, key="index_methods", placeholder="全部"
    )
    types = f2.multiselect(
        "点位类型", [pt.name for pt in index.point_types], key="index_point_types", placeholder="全部"
    )
    unit_names = sorted({u for _, _, s in index.standards() for u in lookup.standard_units(s)})
    units = f3.multiselect("牵头或配合单位", unit_names, key="index_units", placeholder="全部")

    rows = lookup.filter_standards(index, search=search, methods=methods, point_types=types, units=units)
    filtering = bool(search.strip() or methods or types or units)
    total = summary["测评标准"]
    if filtering:
        st.markdown(f"**符合条件的测评标准 {len(rows)} 条**（共 {total} 条）")
    if not rows:
        st.warning("没有符合条件的测评标准。请换个关键词，或清除筛选条件。")

    # Category expanders render their content only when open (on_change="rerun"), so a 350-standard index
    # stays quick. While filtering, every category with a match opens; the key changes with the filter.
    signature = zlib.crc32(repr((search.strip(), methods, types, units)).encode())
    open_standards = len(rows) <= 3
    for ci, cnode in enumerate(presentation.tree(rows)):
        cat = cnode.category
        label = f"**{cat.code} {cat.name}**　{cnode.n_standards} 条标准 · {presentation.marks(cnode.full_marks)} 分"
        box = st.expander(label, expanded=filtering, key=f"cat_{ci}_{signature}", on_change="rerun")
        if not box.open:
            continue
        with box:
            for group in cnode.groups:
                if group.name:
                    st.markdown(f":gray[指标]　**{group.name}**")
                for inode in group.items:
                    item = inode.item
                    st.markdown(
                        f"**{item.code} {item.name}**　"
                        f":gray[{len(inode.standards)} 条 · {presentation.marks(inode.full_marks)} 分]"
                    )
                    for s in inode.standards:
                        with st.expander(
                            f"**{s.code}**　{s.text}　:gray[（{presentation.marks(s.full_marks)} 分）]",
                            expanded=open_standards,
                        ):
                            st.markdown(
                                "  \n".join(f"**{k}**：{v}" for k, v in presentation.standard_details(cat, item, s)[2:])
                            )

with by_unit:
    with common.engine().connect() as conn:
        known = [u.name for u in repo.list_units(conn)]
    loads = lookup.unit_workload(index, known)
    names = [w.unit for w in loads]
    unit = st.selectbox(
        "单位",
        names,
        index=None,
        key="index_unit_view",
        placeholder="选择或输入单位名称",
        help="查看这个单位牵头和配合的测评标准",
    )
    if unit:
        mine = lookup.standards_for_unit(index, unit)
        with st.container(horizontal=True):
            st.metric("牵头标准", f"{len(mine.lead)} 条", border=True)
            st.metric("牵头分值", f"{presentation.marks(mine.lead_marks)} 分", border=True)
            st.metric("配合标准", f"{len(mine.supporting)} 条", border=True)
            st.metric("配合分值", f"{presentation.marks(mine.supporting_marks)} 分", border=True)
        if mine.empty:
            st.info(f"{unit}在{index.title}中没有牵头或配合的测评标准。")
        for role, rows_, key in (("牵头", mine.lead, "unit_lead_list"), ("配合", mine.supporting, "unit_support_list")):
            if rows_:
                with st.container(key=key):
                    st.markdown(f"##### {unit}{role}的测评标准")
                    st.markdown(presentation.standard_list(rows_))
    st.subheader("各单位任务量")
    st.caption("每个单位牵头、配合的测评标准条数和分值；没有任务的单位排在最后。")
    st.dataframe(presentation.workload_rows(loads), hide_index=True, key="workload_table")
