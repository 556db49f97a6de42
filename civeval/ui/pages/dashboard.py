"""领导看板: where the city stands, who is behind and what to fix first, for one round and an as-of date, on a phone
as on a tablet. Headline figures with their change since the previous round of the same kind; three sentences;
rankings of streets, units and point types (a row opens its points and findings, a point its history); the standards
losing most points; the trend across rounds; the points on an offline map.

The figures are civeval.dashboard's (definitions in DOMAIN.md); this page only shows them.
"""

import pandas as pd
import streamlit as st

from civeval import audit, dashboard, losses, rounds
from civeval.permissions import PermissionDenied
from civeval.ui import common
from civeval.ui import dashboard_widgets as dw
from civeval.ui import round_widgets as rw

actor = common.current_actor()
engine = common.engine()
common.page("领导看板", "本轮得分、排名、整改和失分，一屏看清。点按排名中的一行查看其点位和问题。")

with engine.connect() as conn:
    infos = rounds.list_rounds(conn, actor)
if not infos:
    st.info("还没有测评轮次。", icon=":material/info:")
    st.stop()
with st.container(horizontal=True, key="db_controls", vertical_alignment="bottom"):
    info = rw.round_picker(infos, "db_round")
    as_of = st.date_input("统计截至", value=audit.today(), key="db_as_of", format="YYYY-MM-DD", width=150)

try:
    loaded = dw.load(engine, actor, info.id, as_of)
except (rounds.RoundError, PermissionDenied, dashboard.DashboardError) as e:
    st.error(str(e), icon=":material/error:")
    st.stop()
d, figures = loaded.dashboard, loaded.figures
if loaded.stale:
    dw.stale_note(engine, actor, loaded)

if not d.scores.records:
    st.info("本轮还没有测评记录。测评员作答后，这里会显示得分和排名。", icon=":material/info:")
    st.stop()

st.caption(
    (f"与上一轮同类测评“{d.previous.name}”比较；" if d.previous else "没有可比较的上一轮同类测评；")
    + f"整改情况截至 {as_of:%Y-%m-%d}。"
)

# --- headline ----------------------------------------------------------------------------------------------------


def change(delta: float | None) -> dict:
    if delta is None:
        return {}
    if abs(delta) < 5e-4:
        return {"delta": "与上轮持平", "delta_color": "off", "delta_arrow": "off"}
    return {"delta": f"{delta * 100:+.1f} 百分点"}  # "↑ +0.6 个百分点" did not fit its card at 1024 px


m = d.rectification
card = {"border": True, "width": 150, "height": "stretch"}  # four a row at 1024 px, two on a phone
with st.container(horizontal=True, gap="small", key="db_headline"):
    st.metric(
        "实地得分率",
        rw.pct(d.scores.field.rate),
        help=f"实地考察得分率；得分 {d.scores.field.score:.2f} / {d.scores.field.full:g}",
        **change(d.field_delta),
        **card,
    )
    st.metric("未销号问题", m.open, help=f"本轮问题 {m.created} 件；长效整改 {m.long_term} 件另计", **card)
    st.metric("逾期", m.overdue, help="统计日期仍未销号、已过整改期限的本轮问题", **card)
    st.metric("整改率", rw.pct(m.rectification_rate), help="应整改问题中已销号的比例", **card)
    st.metric("按期整改率", rw.pct(m.on_time_rate), help="应整改问题中在期限内销号的比例", **card)
    comp, cyc = figures.composite, figures.cycle
    st.metric(
        "综合模拟得分",
        f"{comp.score:.1f}" + ("" if comp.complete else "*"),
        help=comp.sentence() + cyc.sentence(),
        **card,
    )
    fc = figures.forecast
    if fc is not None:
        st.metric(
            "预测得分率 %",  # of the official evaluation; "72–94" fits a card at 1024 px, "72–94%" did not
            f"{fc.low * 100:.0f}–{fc.high * 100:.0f}",
            help=f"{fc.sentence}{fc.caveat}",
            **card,
        )

HEADLINE_ICONS = (":material/flag:", ":material/trending_down:", ":material/build:")  # stand, behind, fix
with st.container(key="db_headlines"):
    for icon, line in zip(HEADLINE_ICONS, loaded.derive("headlines", lambda: dashboard.headlines(d)), strict=True):
        st.markdown(f"{icon} {line}")
    st.markdown(f":material/functions: {comp.sentence()}")
    if fc is not None:
        st.markdown(f":material/query_stats: {fc.sentence}")
        st.caption(fc.caveat)

# --- rankings and drill-down -------------------------------------------------------------------------------------

st.subheader("排名", anchor=False, divider="gray")
st.caption("得分率（%）与较上轮变化（百分点）；排名超过三个时末三位标“后三名”。点按一行查看明细。")
# Only the open tab is drawn (on_change="rerun"): a city's three rankings are hundreds of rows.
tabs = st.tabs(["街道/镇", "责任单位", "点位类型"], key="db_tabs", on_change="rerun")
for tab, dim in zip(tabs, ("street", "unit", "point_type"), strict=True):
    if not tab.open:
        continue
    with tab:
        name = dashboard.DIMENSIONS[dim]
        frame = loaded.derive(
            ("ranking", dim),
            lambda dim=dim, name=name: dw.rank_frame(d.ranking(dim), name, with_rect=dim != "point_type"),
        )
        if frame.empty:
            st.caption("没有可排名的测评记录。")
            continue
        event = st.dataframe(
            frame,
            hide_index=True,
            column_config=dw.COLUMNS,
            key=f"db_rank_{dim}",
            on_select="rerun",
            selection_mode="single-row",
        )
        row = dw.selected_row(event)
        if row is None:
            continue
        key = str(frame.iloc[row][name])
        drill = dashboard.drill(d, dim, key)
        with st.container(border=True, key=f"db_drill_{dim}"):
            st.markdown(f"**{key}**：本轮 {len(drill.points)} 个点位，问题 {len(drill.findings)} 件")
            points = pd.DataFrame(
                [
                    {
                        "点位": f"{p.code} {p.name}",
                        "得分率": None if p.rate is None else round(p.rate * 100, 1),
                        "不符合": p.failures,
                        "失分": round(p.lost, 2),
                        "点位类型": p.point_type,
                    }
                    for p in drill.points
                ]
            )
            pick = st.dataframe(
                points,
                hide_index=True,
                column_config=dw.COLUMNS,
                key=f"db_drill_points_{dim}",
                on_select="rerun",
                selection_mode="single-row",
            )
            if drill.findings:
                st.caption("问题（逾期、未销号在前）")
                st.dataframe(dw.findings_frame(drill.findings, as_of), hide_index=True, key=f"db_drill_findings_{dim}")
            prow = dw.selected_row(pick)
            if prow is not None:
                dw.point_history(engine, actor, drill.points[prow].code, as_of, key=f"db_history_{dim}")

# --- where points are lost ---------------------------------------------------------------------------------------

st.subheader("失分最多的测评标准", anchor=False, divider="gray")
order = (
    st.segmented_control(
        "排序",
        list(losses.LossOrder),
        format_func=lambda o: o.label,
        default=losses.LossOrder.lost,
        key="db_loss_order",
        label_visibility="collapsed",
    )
    or losses.LossOrder.lost
)
top = loaded.derive(
    ("losses", order), lambda: losses.standard_losses(d.scores.records, order, limit=dashboard.TOP_LOSSES)
)
if top:
    lost_frame = pd.DataFrame(
        [
            {"标准": x.code, "失分": round(x.lost, 2), "不符合": x.failures, "涉及单位": x.unit_count,
             "测评标准": x.text, "测评项目": x.category}
            for x in top
        ]
    )  # fmt: skip
    st.dataframe(
        lost_frame,
        hide_index=True,
        key="db_losses",
        column_config={**dw.COLUMNS, "测评标准": st.column_config.TextColumn(width="medium")},
    )
    units = loaded.derive(
        ("unit_losses", order), lambda: losses.unit_losses(d.scores.records, order, limit=dashboard.TOP_LOSSES)
    )
    with dw.drawn_when_open(
        f"失分最多的单位（前 {len(units)} 个）", icon=":material/apartment:", key="db_unit_losses_open"
    ) as shown:
        if shown:
            unit_frame = pd.DataFrame(
                [
                    {"单位": x.unit, "失分": round(x.lost, 2), "不符合": x.failures,
                     "不符合的标准": len(x.standards), "得分率": round((x.rate or 0) * 100, 1)}
                    for x in units
                ]
            )  # fmt: skip
            st.dataframe(
                unit_frame,
                hide_index=True,
                key="db_unit_losses",
                column_config=dw.COLUMNS,
            )
else:
    st.success("本轮没有失分。", icon=":material/task_alt:")

# --- trend and map -----------------------------------------------------------------------------------------------

st.subheader("趋势", anchor=False, divider="gray")
dw.trend_chart(loaded, key="db_trend")


def show_map() -> None:
    colour_by = (
        st.segmented_control(
            "着色",
            ["result", "open"],
            format_func={"result": "按得分率", "open": "按未销号问题"}.get,
            default="result",
            key="db_map_colour",
            label_visibility="collapsed",
        )
        or "result"
    )
    code = dw.points_map(loaded, colour_by, key="db_map")
    if code:
        dw.point_history(engine, actor, code, as_of, key="db_map_history")
    else:
        st.caption("点按地图上的圆点，查看该点位历次测评和问题。")


st.subheader("点位地图", anchor=False, divider="gray")
# Drawn when opened: a city's 4,000 points take the browser a third of a second, every time the page is shown.
with dw.drawn_when_open(
    f"本轮 {len(d.points):,} 个点位，按得分率或未销号问题着色", icon=":material/map:", key="db_map_open"
) as shown:
    if shown:
        show_map()
    else:
        st.caption("展开后显示地图。")
