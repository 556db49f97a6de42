"""问卷统计: a questionnaire's 知晓率, 支持率, 参与率, 满意度 and quota coverage, overall and by street, community and
unit; who is below quota (highlighted, worst first) and a bar chart of coverage by street. Read only; a coordinator
or a leader with a scope sees their street. The figures are civeval.survey's (definitions in its docstring and in
DOMAIN.md); this page only shows them. Laid out to read on a phone."""

import altair as alt
import pandas as pd
import streamlit as st

from civeval import survey
from civeval.permissions import PermissionDenied
from civeval.presentation import NONE
from civeval.ui import common

BELOW, MET, NO_QUOTA = "未达配额", "已达配额", "未设人口"
COLOURS = {BELOW: "#e15759", MET: "#59a14f", NO_QUOTA: "#bab0ac"}

actor = common.current_actor()
engine = common.engine()
common.page("问卷统计", "知晓率、支持率、参与率按有效问卷中答“是”的比例计；满意度为平均分；覆盖率 = 有效问卷 ÷ 配额。")

with engine.connect() as conn:
    infos = survey.list_questionnaires(conn, actor)
if not infos:
    st.info("还没有问卷。办公室管理员可在「问卷管理」中新建问卷并导入答卷。", icon=":material/info:")
    st.stop()
by_id = {i.id: i for i in infos}
qid = st.selectbox("问卷", list(by_id), format_func=lambda i: by_id[i].name, key="sb_q")

try:
    with engine.connect() as conn:
        overall = survey.survey_rates(conn, actor, qid)[0]
        groups = {level: survey.survey_rates(conn, actor, qid, by=level) for level in survey.LEVELS}
        board = survey.coverage_board(conn, actor, qid)
        per_question = survey.question_rates(conn, actor, qid)
except (survey.SurveyError, PermissionDenied) as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

pct, score = survey.percent, survey.score_text
with st.container(horizontal=True, key="sb_overall"):
    st.metric("有效问卷", overall.valid, border=True, help=f"共 {overall.responses} 份，其中无效 {overall.invalid} 份")
    st.metric("知晓率", pct(overall.awareness.value), border=True)
    st.metric("支持率", pct(overall.support.value), border=True)
    st.metric("参与率", pct(overall.participation.value), border=True)
    st.metric("满意度", score(overall.satisfaction), border=True)
    st.metric(
        "覆盖率",
        pct(overall.coverage),
        border=True,
        help="有效问卷 ÷ 各街道（镇）和单位配额之和"
        + (f"（配额 {overall.quota}）" if overall.quota else "（未设人口）"),
    )
if overall.responses == 0:
    st.info("本问卷还没有答卷：在「问卷管理」导入问卷平台导出的答卷，或在「纸质问卷录入」录入纸质问卷。")


def status(g: survey.GroupRates) -> str:
    return NO_QUOTA if g.quota is None else BELOW if g.below_quota else MET


def count(n: int | None) -> str:
    return NONE if n is None else str(n)


def frame(rows: list[survey.GroupRates], name: str, *, parent: str | None = None) -> pd.DataFrame:
    """One row per group, the figures as they are read ("—" for none: a table would show a missing number as
    "None")."""
    out = []
    for g in rows:
        row = {name: g.name}
        if parent:
            row[parent] = g.parent or ""
        row |= {
            "有效问卷": g.valid,
            "无效": g.invalid,
            "知晓率": pct(g.awareness.value),
            "支持率": pct(g.support.value),
            "参与率": pct(g.participation.value),
            "满意度": score(g.satisfaction),
            "人口": count(g.population),
            "配额": count(g.quota),
            "覆盖率": pct(g.coverage),
            "缺口": count(g.shortfall),
            "状态": status(g),
        }
        out.append(row)
    return pd.DataFrame(out)


CONFIG = {
    "人口": st.column_config.TextColumn(help="街道、镇、社区为常住人口，单位为职工数"),
    "配额": st.column_config.TextColumn(help="⌈人口 × 比例⌉"),
    "缺口": st.column_config.TextColumn(help="配额 − 有效问卷"),
}


def show(df: pd.DataFrame, key: str, empty: str) -> None:
    """The table, rows below quota in red."""
    if df.empty:
        st.caption(empty)
        return
    red = "background-color: #fde2e1; color: #7a1212"
    style = df.style.apply(lambda row: [red if row["状态"] == BELOW else "" for _ in row], axis=1)
    st.dataframe(style, hide_index=True, column_config=CONFIG, key=key, width="stretch")


st.subheader("分组比率", anchor=False, divider="gray")
tabs = st.tabs(["按街道（镇）", "按社区（村）", "按单位", "按题目"], key="sb_tabs")
with tabs[0]:
    show(frame(groups["street"], "街道（镇）"), "sb_streets", "还没有街道或镇。")
with tabs[1]:
    show(
        frame(groups["community"], "社区（村）", parent="所属街道（镇）"),
        "sb_communities",
        "还没有设置人口或收到答卷的社区（村）。",
    )
with tabs[2]:
    show(frame(groups["unit"], "单位"), "sb_units", "还没有设置职工数或收到职工答卷的单位。")
with tabs[3]:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "编号": qr.question.code,
                    "题目": qr.question.text,
                    "类型": qr.question.kind.label,
                    "对应标准": qr.question.standard or "",
                    "作答": qr.answered,
                    "比率/均分": score(qr.value)
                    if qr.question.kind is survey.QuestionKind.satisfaction
                    else pct(qr.value)
                    if qr.question.kind in survey.RATE_KINDS
                    else NONE,
                    "各选项": "、".join(f"{c} {n}" for c, n in qr.counts.items()),
                }
                for qr in per_question
            ]
        ),
        hide_index=True,
        key="sb_questions",
        width="stretch",
    )
    st.caption("知晓、支持、参与题为答“是”的百分比；满意度题为平均分（满分 100）。")

st.subheader("配额完成情况", anchor=False, divider="gray")
rated = pd.DataFrame(
    [
        {
            "街道（镇）": g.name,
            "覆盖率": round(g.coverage * 100, 1),
            "有效问卷": g.valid,
            "配额": g.quota,
            "缺口": g.shortfall,
            "状态": status(g),
        }
        for g in groups["street"]
        if g.coverage is not None
    ]
)
if rated.empty:
    st.info("还没有设置街道（镇）人口，无法计算配额。请在「问卷管理 → 人口与配额」中填写。", icon=":material/info:")
else:
    axis = {"labelFontSize": 13, "titleFontSize": 13}
    top = max(100.0, float(rated["覆盖率"].max()))
    bars = (
        alt.Chart(rated)
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            x=alt.X("覆盖率:Q", title="覆盖率（%）", scale=alt.Scale(domain=[0, top]), axis=alt.Axis(**axis)),
            y=alt.Y("街道（镇）:N", sort="x", title=None, axis=alt.Axis(labelLimit=140, **axis)),
            color=alt.Color(
                "状态:N",
                scale=alt.Scale(domain=list(COLOURS), range=list(COLOURS.values())),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["街道（镇）:N", "有效问卷:Q", "配额:Q", alt.Tooltip("覆盖率:Q", format=".1f"), "缺口:Q"],
        )
    )
    labels = bars.mark_text(align="left", dx=4, fontSize=13).encode(
        text=alt.Text("覆盖率:Q", format=".0f"), color=alt.value("#333333")
    )
    goal = alt.Chart(pd.DataFrame({"x": [100]})).mark_rule(color="#333333", strokeDash=[4, 3]).encode(x="x:Q")
    st.altair_chart((bars + labels + goal).properties(height=alt.Step(30)), key="sb_chart")

st.markdown(f"**未达配额（{len(board)} 个）**，按覆盖率从低到高：")
if board:
    below = pd.DataFrame(
        [
            {
                "类别": survey.LEVEL_LABELS[g.level],
                "名称": g.name,
                "所属": g.parent or "",
                "有效问卷": g.valid,
                "配额": count(g.quota),
                "缺口": count(g.shortfall),
                "覆盖率": pct(g.coverage),
            }
            for g in board
        ]
    )
    st.dataframe(below, hide_index=True, column_config=CONFIG, key="sb_board", width="stretch")
else:
    st.caption("没有低于配额的街道（镇）、社区（村）或单位。")

with st.expander("指标口径"):
    for term, text in survey.DEFINITIONS:
        st.markdown(f"**{term}**：{text}")
