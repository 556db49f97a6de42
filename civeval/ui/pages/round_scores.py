"""测评得分: a round's scores, read only — the field score, the overall score rate, findings, vetoes and alerts;
rankings by street, unit, point type and category with the change since the previous round of the same kind; every
point; the standards losing most points; street rates as a bar chart. Laid out for a phone (390 px) as for a tablet.

The figures are civeval.rounds.round_scores' (definitions in DOMAIN.md, "Scoring definitions"); this page only shows
them.
"""

import altair as alt
import pandas as pd
import streamlit as st

from civeval import audit, losses, rounds
from civeval.permissions import PermissionDenied
from civeval.presentation import NONE
from civeval.ui import common
from civeval.ui import round_widgets as rw

actor = common.current_actor()
engine = common.engine()
common.page("测评得分", "得分率 = Σ得分 / Σ满分（不适用的不计）；排名按得分率，相同时问题少者在前。")

with engine.connect() as conn:
    infos = rounds.list_rounds(conn, actor)
info = rw.round_picker(infos, "rs_round")
if info is None:
    st.info("还没有测评轮次。", icon=":material/info:")
    st.stop()

try:
    with engine.connect() as conn:
        scores = rounds.round_scores(conn, actor, info.id)
        prev_id = rounds.previous_round(conn, info.id)
        before = rounds.round_scores(conn, actor, prev_id) if prev_id is not None else None
except (rounds.RoundError, PermissionDenied) as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

if before is not None and not before.records:
    before = None  # a previous round with nothing scored: nothing to compare with
st.caption(
    f"与上一轮同类测评“{before.round.name}”（{before.round.start_date:%Y-%m-%d}）比较。"
    if before
    else "没有可比较的上一轮同类测评。"
)
if not scores.records:
    st.info("本轮还没有测评记录。测评员作答后，得分会显示在这里。", icon=":material/info:")
    st.stop()
rw.bulletin_button(engine, actor, info, audit.today())  # 测评通报 (Excel), built only when clicked


def change(now: float | None, then: float | None, *, unit: str = "", scale: float = 1, digits: int = 1) -> dict:
    """st.metric's delta arguments for a change since the previous round ("持平" when none)."""
    if now is None or then is None:
        return {}
    d = round((now - then) * scale, digits)
    if d == 0:
        return {"delta": "与上轮持平", "delta_color": "off", "delta_arrow": "off"}
    return {"delta": f"{d:+.{digits}f}{unit}"}


field, overall = scores.field, scores.overall
prev_field = before.field if before else None
prev_overall = before.overall if before else None

# --- headline: four cards, two to a row on a phone, one row on a tablet ----------------------------------------------

st.html('<style>.st-key-rs_headline [data-testid="stMetricValue"] { font-size: 1.9rem; }</style>')
with st.container(horizontal=True, gap="small", key="rs_headline"):
    card = {"border": True, "width": 150, "height": "stretch"}
    st.metric(
        "实地考察得分",
        f"{field.score:.2f} / {field.full:g}",
        help="每条标准只计一次：满分 × 该标准在各点位的 Σ得分 / Σ满分，再求和；一票否决归零其测评内容。",
        **{**card, "width": "content"},  # "score / full" is longer than the other cards' figures
    )
    st.metric(
        "实地考察得分率",
        rw.pct(field.rate),
        **change(field.rate, prev_field.rate if prev_field else None, unit=" 个百分点", scale=100),
        **card,
    )
    st.metric(
        "总体得分率",
        rw.pct(overall.rate),
        **change(overall.rate, prev_overall.rate if prev_overall else None, unit=" 个百分点", scale=100),
        help=f"全部测评记录（含材料审核）：{overall.score:.2f} / {overall.full:g}",
        **card,
    )
    findings_change = change(overall.findings, prev_overall.findings if prev_overall else None, unit=" 个", digits=0)
    st.metric(
        "问题数",
        overall.findings,
        **({"delta_color": "inverse"} | findings_change if findings_change else {}),
        help=f"不符合（得分低于满分）的测评记录；共 {overall.observations} 条测评记录。",
        **card,
    )

for v in field.vetoes:
    st.error(
        f"一票否决：{v.standard_code} 不符合 {v.findings} 处（{'、'.join(map(str, v.points))}），"
        f"所属测评内容 {v.item_code} 得分归零。",
        icon=":material/block:",
    )
for v in field.alerts:
    st.warning(
        f"专项预警：{v.standard_code} 不符合 {v.findings} 处（{'、'.join(map(str, v.points))}）。",
        icon=":material/notification_important:",
    )

# --- rankings ----------------------------------------------------------------------------------------------------


def street_chart(rated: pd.DataFrame, name: str) -> None:
    """Street rates as horizontal bars (they fit a phone), best on top, the bottom three in red."""
    axis_labels = {"labelFontSize": 13, "titleFontSize": 13}
    bars = (
        alt.Chart(rated)
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            x=alt.X(
                "得分率:Q",
                title="得分率（%）",
                scale=alt.Scale(domain=[0, 100]),
                axis=alt.Axis(values=[0, 25, 50, 75, 100], **axis_labels),
            ),
            y=alt.Y(f"{name}:N", sort="-x", title=None, axis=alt.Axis(labelLimit=140, **axis_labels)),
            color=alt.condition(alt.datum["标记"] == rw.BOTTOM_MARK, alt.value("#e15759"), alt.value("#4e79a7")),
            tooltip=[f"{name}:N", alt.Tooltip("得分率:Q", format=".1f"), "得分/满分:N", "问题数:Q"],
        )
    )
    labels = bars.mark_text(align="left", dx=4, fontSize=13).encode(
        text=alt.Text("得分率:Q", format=".1f"), color=alt.value("#333333")
    )
    st.altair_chart((bars + labels).properties(height=alt.Step(34)), key="rs_street_chart")


st.subheader("排名", anchor=False, divider="gray")
st.caption("“较上轮”为得分率变化的百分点。排名超过三个时，末三位标“后三名”。")
tabs = st.tabs(["按街道", "按单位", "按点位类型", "按测评项目"], key="rs_rank_tabs")
dims = [
    ("by_street", "街道/镇"),
    ("by_unit", "责任单位"),
    ("by_point_type", "点位类型"),
    ("by_category", "测评项目"),
]
for tab, (attr, name) in zip(tabs, dims, strict=True):
    with tab:
        frame = rw.ranking_frame(getattr(scores, attr), getattr(before, attr) if before else None, name)
        rw.show_ranking(frame, key=f"rs_{attr}")
        if attr == "by_street" and not frame.empty:
            street_chart(frame.dropna(subset=["得分率"]), name)

# --- points ------------------------------------------------------------------------------------------------------

st.subheader("点位得分", anchor=False, divider="gray")
facts = {}
for r in scores.records:
    if r.point_code is not None:
        facts[f"{r.point_code} {r.point_name}"] = {"点位类型": r.point_type, "街道/镇": r.street or NONE}
point_frame = rw.ranking_frame(
    scores.by_point, before.by_point if before else None, "点位", extra=lambda k: facts.get(k, {})
)
rw.show_ranking(point_frame, key="rs_by_point", height="auto" if len(point_frame) <= 12 else 460)

# --- the standards losing most points ------------------------------------------------------------------------------

st.subheader("失分最多的测评标准", anchor=False, divider="gray")
top = losses.standard_losses(scores.records, limit=10)
if top:
    frame = pd.DataFrame(
        [
            {"标准编号": x.code, "失分": round(x.lost, 2), "问题数": x.failures, "测评标准": x.text,
             "测评项目": x.category, "满分合计": round(x.full, 2)}
            for x in top
        ]
    )  # fmt: skip
    st.dataframe(
        frame,
        hide_index=True,
        key="rs_lost",
        column_config={
            "测评标准": st.column_config.TextColumn(width="medium"),
            "失分": st.column_config.NumberColumn(help="Σ(满分 − 得分)，本轮该标准的全部测评记录"),
        },
    )
else:
    st.success("本轮没有失分。", icon=":material/task_alt:")
