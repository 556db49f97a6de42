"""单位: the unit register, what each unit answers for (standards, points), and adding or editing a unit."""

import streamlit as st

from civeval import criteria, lookup, presentation, registers
from civeval.models import UnitKind
from civeval.permissions import Action
from civeval.ui import common, forms

MESSAGES = "units_messages"

common.page("单位", "责任单位、街道/镇、社区和工作组：每个单位牵头、配合哪些测评标准，包保哪些点位。")
common.show_messages(MESSAGES)

with common.engine().connect() as conn:
    units = registers.visible_units(conn, common.current_actor())
    points = registers.visible_points(conn, common.current_actor()) if common.may(Action.view_points) else []
    info = common.index_picker(conn)
    index = criteria.stored_index(conn, common.current_actor(), info.id) if info else None
names = [u.name for u in units]
by_name = {u.name: u for u in units}

list_tab, detail_tab, edit_tab = st.tabs(["单位名录", "单位详情", "新增和修改"], key="units_tabs")

with list_tab:
    if not units:
        common.empty_state("units", demo=True)
    else:
        a, b = st.columns([2, 1])
        search = a.text_input("搜索", key="units_search", placeholder="编号、名称、上级单位或联系人")
        kinds = b.multiselect(
            "单位类型", list(UnitKind), format_func=lambda k: k.label, key="units_kinds", placeholder="全部"
        )
        shown = lookup.filter_units(units, search=search, kinds=kinds)
        loads = {w.unit: w for w in lookup.unit_workload(index)} if index else {}
        custody = lookup.custodian_counts(points)
        rows = []
        for row, u in zip(presentation.unit_rows(shown), shown, strict=True):
            w = loads.get(u.name)
            counts = {"牵头标准": w.lead_count if w else 0, "配合标准": w.support_count if w else 0}
            counts["包保点位"] = custody.get(u.name, 0)
            head = dict(list(row.items())[:4])  # code, name, kind, parent; the counts before the contact details
            rows.append({**head, **counts, **row})
        st.markdown(f"**显示 {len(shown)} 个单位**（共 {len(units)} 个）")
        st.dataframe(rows, hide_index=True, key="units_table")
        if index:
            st.caption(f"牵头、配合标准按测评体系“{index.title}”统计（可在左侧边栏切换）；包保点位只计启用的点位。")

with detail_tab:
    name = st.selectbox("单位", names, index=None, key="units_detail_pick", placeholder="选择或输入单位名称")
    if name:
        u = by_name[name]
        st.markdown(
            f"**{u.name}**（{u.code}）　{u.kind.label}"
            + (f" · 上级：{u.parent}" if u.parent else "")
            + (f" · 联系人：{u.contact}" if u.contact else "")
            + (f" {u.phone}" if u.phone else "")
            + ("" if u.active else " · :red[已停用]")
        )
        st.subheader("承担的测评标准")
        if index is None:
            common.empty_state("index")
        else:
            mine = lookup.standards_for_unit(index, name)
            st.caption(f"测评体系：{index.title}")
            if mine.empty:
                st.info(f"{name}在这个测评体系中没有牵头或配合的测评标准。")
            for title, rows, marks, key in (
                ("牵头", mine.lead, mine.lead_marks, "unit_detail_lead"),
                ("配合", mine.supporting, mine.supporting_marks, "unit_detail_support"),
            ):
                if rows:
                    with st.container(key=key):
                        st.markdown(f"##### {title} {len(rows)} 条，共 {presentation.marks(marks)} 分")
                        st.markdown(presentation.standard_list(rows))
        st.subheader("负责的点位")
        mine_points = lookup.points_of_unit(points, name)
        if not mine_points:
            st.info(f"{name}没有包保、路长或属地的点位。")
        else:
            table = presentation.point_table(p for p, _ in mine_points)
            rows = [
                {"本单位是": "、".join(presentation.POINT_ROLE_LABELS[r] for r in roles), **row}
                for row, (_, roles) in zip(table, mine_points, strict=True)
            ]
            n_custodian = sum(1 for _, roles in mine_points if "custodian" in roles)
            st.markdown(f"**包保点位 {n_custodian} 个**；连同路长、属地点位共 {len(mine_points)} 个")
            st.dataframe(rows, hide_index=True, key="unit_detail_points")

with edit_tab:
    if common.may(Action.manage_units):
        forms.unit_form(units, MESSAGES)
    else:
        st.info("您没有修改单位的权限。")
