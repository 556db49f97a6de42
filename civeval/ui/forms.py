"""Forms that add or edit points and units. They check through civeval.editing and save through the repositories
inside an audited transaction; after a save they leave a message under ``messages`` and rerun the page."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st
from streamlit import column_config as cc

from civeval import editing, presentation, registers
from civeval.models import Point, Unit, UnitKind
from civeval.permissions import PermissionDenied
from civeval.presentation import POINT_LABELS as PL
from civeval.presentation import UNIT_LABELS as UL
from civeval.store import repo
from civeval.ui import common


def _position(options: Sequence[str], value: str | None) -> int | None:
    return options.index(value) if value in options else None


def _refused(e: Exception) -> None:
    if isinstance(e, editing.EditError):
        st.error("未保存。请改正：\n\n" + "\n".join(f"- {m}" for m in e.messages))
    else:
        st.error(f"未保存：{e}")


def point_form(points: Sequence[Point], types: list[str], units: list[str], streets: list[str], messages: str) -> None:
    """Pick a point to edit, or leave the pick empty to add one; widget keys start with ``pf_``."""
    by_code = {p.code: p for p in points}
    code = st.selectbox(
        "要修改的点位",
        list(by_code),
        index=None,
        format_func=lambda c: f"{c} {by_code[c].name}",
        key="points_edit_pick",
        placeholder="留空则新增点位；也可输入编号或名称查找",
        on_change=common.forget_widgets,
        args=("pf_",),
    )
    p = by_code.get(code)
    if p and p.street and p.street not in streets:
        streets = [*streets, p.street]
    with st.form(f"point_form_{code or 'new'}", border=True), st.container(key="point_form"):
        st.markdown(f"**修改点位 {p.code}**" if p else "**新增点位**")
        a, b = st.columns(2)
        f = {
            "code": a.text_input(PL["code"], value=p.code if p else "", disabled=p is not None, key="pf_code"),
            "name": b.text_input(PL["name"], value=p.name if p else "", key="pf_name"),
        }
        a, b = st.columns(2)
        f["point_type"] = a.selectbox(
            PL["point_type"], types, index=_position(types, p and p.point_type), key="pf_type", placeholder="请选择"
        )
        f["street"] = b.selectbox(
            PL["street"], streets, index=_position(streets, p and p.street), key="pf_street", placeholder="（无）"
        )
        f["address"] = st.text_input(PL["address"], value=p.address if p else "", key="pf_address")
        a, b = st.columns(2)
        for col, name, key in ((a, "custodian_unit", "pf_custodian"), (b, "road_chief_unit", "pf_road_chief")):
            f[name] = col.selectbox(
                PL[name], units, index=_position(units, p and getattr(p, name)), key=key, placeholder="（无）"
            )
        a, b, c = st.columns(3)
        f["lat"] = a.number_input(PL["lat"], value=p and p.lat, format="%.6f", step=0.0001, key="pf_lat")
        f["lon"] = b.number_input(PL["lon"], value=p and p.lon, format="%.6f", step=0.0001, key="pf_lon")
        f["owner_leader"] = c.text_input(PL["owner_leader"], value=p.owner_leader if p else "", key="pf_leader")
        f["active"] = st.checkbox(PL["active"], value=p.active if p else True, key="pf_active")
        if not st.form_submit_button("保存点位", type="primary", key="pf_save"):
            return
    try:
        point = editing.validate_point(f, point_types=types, units=units, taken_codes=() if p else set(by_code))
        verb = "修改" if p else "新增"
        registers.save_points(common.engine(), common.current_actor(), [point], context=f"点位名录：{verb}点位")
    except (editing.EditError, repo.StoreError, PermissionDenied) as e:
        _refused(e)
        return
    common.leave_message(messages, "success", f"已{verb}点位 {point.code} {point.name}。")
    common.forget_widgets("pf_")
    st.rerun()


def point_table_editor(points: Sequence[Point], types: list[str], units: list[str], messages: str) -> None:
    """The given points in an editable table (rows may be added, not deleted); saves only the changed rows."""
    st.caption("修改下表中筛选出的点位，或在末行新增；点位编号不能修改。改完点「保存表格」。")
    original = presentation.point_rows(points)
    edited = st.data_editor(
        pd.DataFrame(original, columns=list(PL.values())),
        key="points_editor",
        num_rows="add",
        hide_index=True,
        column_config={
            PL["code"]: cc.TextColumn(required=True),
            PL["name"]: cc.TextColumn(required=True),
            PL["point_type"]: cc.SelectboxColumn(options=types, required=True),
            PL["street"]: cc.SelectboxColumn(options=units),
            PL["custodian_unit"]: cc.SelectboxColumn(options=units),
            PL["road_chief_unit"]: cc.SelectboxColumn(options=units),
            PL["lat"]: cc.NumberColumn(min_value=-90, max_value=90, format="%.6f"),
            PL["lon"]: cc.NumberColumn(min_value=-180, max_value=180, format="%.6f"),
            PL["active"]: cc.CheckboxColumn(default=True),
        },
    )
    if not st.button("保存表格", type="primary", key="points_editor_save"):
        return
    try:
        numbered = editing.changed_rows(original, edited.to_dict("records"), PL["code"])
        todo = editing.points_from_rows(
            [r for _, r in numbered], numbers=[n for n, _ in numbered], point_types=types, units=units
        )
        if not todo:
            st.info("表格没有改动。")
            return
        added, updated = registers.save_points(
            common.engine(), common.current_actor(), todo, context="点位名录：表格批量修改"
        )
    except (editing.EditError, repo.StoreError, PermissionDenied) as e:
        _refused(e)
        return
    common.leave_message(messages, "success", f"已保存：新增 {added} 个点位，修改 {updated} 个。")
    st.rerun()


def unit_form(units: Sequence[Unit], messages: str) -> None:
    """Pick a unit to edit, or leave the pick empty to add one; widget keys start with ``uf_``."""
    by_name = {u.name: u for u in units}
    picked = st.selectbox(
        "要修改的单位",
        list(by_name),
        index=None,
        key="units_edit_pick",
        placeholder="留空则新增单位；也可输入名称查找",
        on_change=common.forget_widgets,
        args=("uf_",),
    )
    u = by_name.get(picked)
    kinds = list(UnitKind)
    parents = [n for n in by_name if not u or n != u.name]
    with st.form(f"unit_form_{u.code if u else 'new'}", border=True), st.container(key="unit_form"):
        st.markdown(f"**修改单位 {u.code}**" if u else "**新增单位**")
        a, b = st.columns([1, 2])
        f = {
            "code": a.text_input(UL["code"], value=u.code if u else "", disabled=u is not None, key="uf_code"),
            "name": b.text_input(UL["name"], value=u.name if u else "", key="uf_name"),
        }
        a, b = st.columns(2)
        f["kind"] = a.selectbox(
            UL["kind"], kinds, index=kinds.index(u.kind) if u else 0, format_func=lambda k: k.label, key="uf_kind"
        )
        f["parent"] = b.selectbox(
            UL["parent"], parents, index=_position(parents, u and u.parent), key="uf_parent", placeholder="（无）"
        )
        a, b = st.columns(2)
        f["contact"] = a.text_input(UL["contact"], value=u.contact if u else "", key="uf_contact")
        f["phone"] = b.text_input(UL["phone"], value=u.phone if u else "", key="uf_phone")
        f["active"] = st.checkbox(UL["active"], value=u.active if u else True, key="uf_active")
        if not st.form_submit_button("保存单位", type="primary", key="uf_save"):
            return
    try:
        unit = editing.validate_unit(f, units, adding=u is None)
        verb = "修改" if u else "新增"
        registers.save_unit(common.engine(), common.current_actor(), unit)
    except (editing.EditError, repo.StoreError, PermissionDenied) as e:
        _refused(e)
        return
    common.leave_message(messages, "success", f"已{verb}单位 {unit.code} {unit.name}。")
    common.forget_widgets("uf_")
    st.rerun()
