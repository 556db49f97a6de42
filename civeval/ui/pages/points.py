"""点位名录: filter the point register, see it as a table and an offline map, add and edit points."""

import streamlit as st

from civeval import lookup, mapping, presentation, registers
from civeval.permissions import Action
from civeval.store import repo
from civeval.ui import common, forms, maps

MESSAGES = "points_messages"

common.page("点位名录", "实地考察点位：按类型、街道、包保单位筛选，查看地图，新增和修改点位。")
common.show_messages(MESSAGES)

with common.engine().connect() as conn:
    points = registers.visible_points(conn, common.current_actor())
    types = [pt.name for pt in repo.list_point_types(conn)]
    units = repo.list_units(conn)
unit_names = [u.name for u in units]
street_names = [u.name for u in units if u.kind.value in ("street", "town")] or unit_names

if not types:
    common.empty_state("point_types", demo=True)
    st.stop()

search = st.text_input("搜索", key="points_search", placeholder="编号、名称、地址、单位或责任领导")
f1, f2, f3 = st.columns(3)
pick_types = f1.multiselect("点位类型", types, key="points_types", placeholder="全部")
pick_streets = f2.multiselect("所属街道/镇", street_names, key="points_streets", placeholder="全部")
custodians = sorted({p.custodian_unit for p in points if p.custodian_unit})
pick_custodians = f3.multiselect("包保单位", custodians, key="points_custodians", placeholder="全部")
active_only = st.toggle("只看启用的点位", value=True, key="points_active")

shown = lookup.filter_points(
    points,
    search=search,
    point_types=pick_types,
    streets=pick_streets,
    custodian_units=pick_custodians,
    active_only=active_only,
)
inactive = sum(1 for p in points if not p.active)
st.markdown(
    f"**显示 {len(shown)} 个点位**（共 {len(points)} 个" + (f"，其中停用 {inactive} 个" if inactive else "") + "）"
)

# Lazy tabs: only the tab on screen runs (a city has thousands of points).
table_tab, map_tab, edit_tab = st.tabs(["列表", "地图", "新增和修改"], key="points_tabs", on_change="rerun")
if table_tab.open:
    with table_tab:
        if points:
            st.dataframe(presentation.point_table(shown), hide_index=True)
        else:
            common.empty_state("points")
if map_tab.open:
    with map_tab:
        maps.offline_map(shown, types)
        if tile := mapping.tile_url():
            maps.tile_map(shown, types, tile)
if edit_tab.open:
    with edit_tab:
        if not common.may(Action.manage_points):
            st.info("您没有修改点位的权限。")
        else:
            if not unit_names:
                common.empty_state("units")
            how = st.segmented_control(
                "方式",
                ["逐个填写", "表格批量修改"],
                default="逐个填写",
                key="points_edit_mode",
                label_visibility="collapsed",
            )
            if how == "表格批量修改":
                forms.point_table_editor(shown, types, unit_names, MESSAGES)
            else:
                forms.point_form(points, types, unit_names, street_names, MESSAGES)
