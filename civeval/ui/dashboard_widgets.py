"""Pieces of the leaders' dashboard (领导看板): the cached dashboard, ranking and drill-down tables, a point's
history, the trend chart and the map coloured by result or open findings. Words and layout only: the figures are
civeval.dashboard's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import altair as alt
import pandas as pd
import sqlalchemy as sa
import streamlit as st
from streamlit.elements import vega_charts

from civeval import audit, composite, dashboard, forecast, mapping, rounds
from civeval.metrics import FindingFacts
from civeval.models import Actor
from civeval.permissions import Action, PermissionDenied, allowed, reach, require
from civeval.presentation import NONE
from civeval.ui import latest
from civeval.ui import round_widgets as rw

RESULT_COLOURS = ("#59a14f", "#edc948", "#e15759", "#bab0ac")  # ≥95%, 85–95%, <85%, not scored
OPEN_COLOURS = ("#e15759", "#f28e2b", "#59a14f")  # ≥3 open, 1–2 open, none


@dataclass(frozen=True)
class Figures:
    """Everything the dashboard page shows for a round and an as-of date, computed together."""

    dashboard: dashboard.Dashboard
    forecast: forecast.Forecast | None
    composite: composite.Composite
    cycle: composite.Cycle


@dataclass(frozen=True)
class Loaded:
    figures: Figures
    computed: latest.Computed  # when, from which data version, and the tables and charts made from it
    stale: bool  # the figures of a moment ago, shown while they are computed again
    key: tuple

    @property
    def dashboard(self) -> dashboard.Dashboard:
        return self.figures.dashboard

    def derive(self, name, make):
        return self.computed.derive(name, make)


@st.cache_resource
def _store() -> latest.Latest:
    return latest.Latest(slow=SLOW_SECONDS, max_age=MAX_AGE_SECONDS, refresh_every=REFRESH_SECONDS, max_entries=24)


NOT_FIGURES = ("users",)  # written at every sign-in (last login): no figure of the dashboard comes from them
SLOW_SECONDS = 1.0  # a dashboard that took this long to compute is shown from its previous computation meanwhile,
MAX_AGE_SECONDS = 120.0  # if that one is at most this old,
REFRESH_SECONDS = 30.0  # and computed again once it is this old


def compute(engine: sa.Engine, actor: Actor, round_id: int, as_of: dt.date) -> Figures:
    with engine.connect() as conn:
        d = dashboard.build(conn, actor, round_id, as_of)
        mine = composite.of_scores(conn, d.scores)
        cyc = composite.cycle(conn, actor, upto=d.round.start_date, known={d.round.id: mine})
    return Figures(d, forecast.of_scores(d.scores), mine, cyc)


def _key(engine: sa.Engine, actor: Actor, round_id: int, as_of: dt.date) -> tuple:
    """Users who see the whole city see the same figures; anyone else's are their own."""
    city_wide = reach(actor, Action.view_scores) is None and reach(actor, Action.view_findings) is None
    return (str(engine.url), "city" if city_wide else _who(actor), round_id, as_of)


def load(engine: sa.Engine, actor: Actor, round_id: int, as_of: dt.date, *, wait: bool = True) -> Loaded | None:
    """The dashboard's figures, computed once per round, as-of date, reach and state of the data: any audited write
    (an answer saved, a finding moved on) changes ``audit.data_version`` and so computes them again. When that takes
    long (a city's data), the previous figures are shown meanwhile, at most two minutes old (``civeval.ui.latest``).
    With ``wait`` False, None instead of computing in the foreground."""
    require(actor, Action.view_scores)
    require(actor, Action.view_findings)
    with engine.connect() as conn:
        version = audit.data_version(conn, excluding=NOT_FIGURES)
    key = _key(engine, actor, round_id, as_of)
    store, make = _store(), lambda: compute(engine, actor, round_id, as_of)
    if not wait:
        got = store.get(key, version, make, wait=False)
    else:
        with st.spinner("正在汇总……", show_time=True):
            got = store.get(key, version, make)
    return None if got is None else Loaded(got.computed.value, got.computed, got.stale, key)


def _who(actor: Actor) -> str:
    return f"{actor.username}|{sorted((g.role.value, g.scope or '') for g in actor.grants)}"


PREPARE_POINTS = 500  # a round this large takes a second or more to sum up: worth starting before it is opened


def prepare(engine: sa.Engine, actor: Actor, *, min_points: int | None = None) -> bool:
    """Start computing the dashboard the user will see first (the round the picker starts on, today), in the
    background, if the user may see it and its round has at least ``min_points`` points: called on the login page
    (as the system, for the city-wide figures: whoever signs in next) and on the home page a leader lands on. True
    when a computation was started."""
    if not (allowed(actor, Action.view_scores) and allowed(actor, Action.view_findings)):
        return False
    with engine.connect() as conn:
        infos = rounds.list_rounds(conn, actor)
        version = audit.data_version(conn, excluding=NOT_FIGURES)
    info = rounds.default_round(infos)
    if info is None or info.n_points < (PREPARE_POINTS if min_points is None else min_points):
        return False
    today = audit.today()
    return _store().prepare(
        _key(engine, actor, info.id, today), version, lambda: compute(engine, actor, info.id, today)
    )


def stale_note(engine: sa.Engine, actor: Actor, loaded: Loaded) -> None:
    """Under figures of a moment ago: their time, and the page shown again as soon as newer ones are computed."""
    at = dt.datetime.fromtimestamp(loaded.computed.at, audit.local_zone())
    _, _, round_id, as_of = loaded.key

    @st.fragment(run_every=3)
    def watch() -> None:
        newer = load(engine, actor, round_id, as_of, wait=False)  # starts the computation when it is due
        if newer is None or newer.computed is not loaded.computed:  # newer figures, or too old to show: the page again
            st.rerun(scope="app")
        st.caption(
            f":material/update: 数据截至 {at:%H:%M:%S}。测评数据仍在更新，"
            f"看板约每 {REFRESH_SECONDS:.0f} 秒重新汇总一次，汇总完成后本页自动刷新。"
        )

    watch()


@contextlib.contextmanager
def drawn_when_open(label: str, *, icon: str, key: str) -> Iterator[bool]:
    """An expander whose content is drawn only while it is open (opening it reruns the page): yields whether it
    is, for ``if shown:`` around the content."""
    box = st.expander(label, icon=icon, key=key, on_change="rerun")
    with box:
        yield box.open


def pp(delta: float | None) -> str:
    """A change in percentage points as text for a table: "+3.1", "-1.9", "持平"; "—" when there is nothing to
    compare with (a table shows a missing number as "None")."""
    if delta is None:
        return NONE
    return "持平" if abs(delta) < 5e-4 else f"{delta * 100:+.1f}"


def rank_frame(rows: Sequence[dashboard.RankRow], name: str, *, with_rect: bool) -> pd.DataFrame:
    out = []
    for r in rows:
        row = {
            "名次": r.rank,
            name: r.name,
            "得分率": None if r.rate is None else round(r.rate * 100, 1),
            "较上轮": pp(r.delta),
            "标记": dashboard.BOTTOM_MARK if r.bottom else "",
            "问题数": r.findings,
        }
        if with_rect:
            m = r.rectification
            row["整改率"] = rw.pct(m.rectification_rate if m else None)
            row["逾期"] = 0 if m is None else m.overdue
        out.append(row)
    frame = pd.DataFrame(out)
    if not frame.empty:
        frame["名次"] = frame["名次"].astype("Int64")
        frame["得分率"] = frame["得分率"].astype("Float64")
    return frame


COLUMNS = {
    **rw.RANKING_COLUMNS,
    "较上轮": st.column_config.TextColumn("较上轮", help="与上一轮同类测评相比，得分率变化的百分点；“—”表示上一轮没有"),
    "整改率": st.column_config.TextColumn("整改率", help="本轮问题中应整改的已销号比例；“—”表示还没有应整改的"),
    "逾期": st.column_config.NumberColumn("逾期", help="统计日期仍未销号、已过整改期限的问题"),
    "得分": st.column_config.NumberColumn("得分", format="%.2f"),
    "满分": st.column_config.NumberColumn("满分", format="%g"),
    "失分": st.column_config.NumberColumn("失分", format="%.2f", help="Σ(满分 − 得分)"),
}


def selected_row(event) -> int | None:
    rows = event.selection.rows if event is not None else []
    return rows[0] if rows else None


def findings_frame(findings: Sequence[FindingFacts], as_of: dt.date) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "问题编号": f.code,
                "状态": dashboard.status_label(f) + ("（逾期）" if f.open and f.deadline < as_of else ""),
                "整改期限": f.deadline,
                "点位": f"{f.point_code} {f.point_name}" if f.point_code else NONE,
                "测评标准": f.standard or NONE,
                "责任单位": f.unit,
            }
            for f in findings
        ],
        columns=["问题编号", "状态", "整改期限", "点位", "测评标准", "责任单位"],
    )


def point_history(engine: sa.Engine, actor: Actor, code: str, as_of: dt.date, *, key: str) -> None:
    """A point across rounds: its score rate in every round it was scored, and its findings."""
    try:
        with engine.connect() as conn:
            h = dashboard.point_history(conn, actor, code, as_of)
    except (dashboard.DashboardError, PermissionDenied) as e:
        st.error(str(e), icon=":material/error:")
        return
    with st.container(border=True, key=key):
        st.markdown(f"**{h.code} {h.name}**　{h.point_type} · {h.street or NONE}")
        if h.rounds:
            frame = pd.DataFrame(
                [
                    {
                        "轮次": r.name,
                        "开始日期": r.start_date,
                        "得分率": None if r.rate is None else round(r.rate * 100, 1),
                        "不符合": r.failures,
                        "不符合的标准": "、".join(r.failed_standards) or NONE,
                    }
                    for r in h.rounds
                ]
            )
            if len(h.rounds) > 1:
                chart = (
                    alt.Chart(frame.assign(日期=[r.start_date.strftime("%y-%m-%d") for r in h.rounds]))
                    .mark_line(point=True)
                    .encode(
                        x=alt.X("日期:O", title=None, sort=None, axis=alt.Axis(labelAngle=0)),
                        y=alt.Y("得分率:Q", title="得分率（%）", scale=alt.Scale(domain=[0, 100])),
                        tooltip=["轮次:N", alt.Tooltip("得分率:Q", format=".1f"), "不符合:Q"],
                    )
                    .properties(height=180)
                )
                st.altair_chart(chart, key=f"{key}_chart")
            st.dataframe(
                frame,
                hide_index=True,
                key=f"{key}_rounds",
                column_config={"得分率": st.column_config.NumberColumn(format="%.1f%%")},
            )
        else:
            st.caption("这个点位还没有被测评过。")
        if h.findings:
            st.caption(f"这个点位的问题（{len(h.findings)} 件，状态截至 {as_of:%Y-%m-%d}）")
            st.dataframe(findings_frame(h.findings, as_of), hide_index=True, key=f"{key}_findings")
        else:
            st.caption("这个点位没有登记过问题。")


def trend_chart(loaded: Loaded, *, key: str) -> None:
    chart = loaded.derive("trend", lambda: _trend_chart(loaded.dashboard))
    if chart is None:
        st.caption("同类测评不足两轮，暂无趋势。")
        return
    st.altair_chart(chart, key=key)
    st.caption("整改率为各轮结束时（不晚于统计日期）全部问题的整改率。")


def _trend_chart(d: dashboard.Dashboard) -> alt.Chart | None:
    rows = []
    for p in d.trend:
        day = p.start_date.strftime("%y-%m-%d")
        rows.append({"轮次": p.name, "日期": day, "指标": "实地考察得分率", "值": p.field_rate})
        rows.append({"轮次": p.name, "日期": day, "指标": "整改率", "值": p.rectification_rate})
    frame = pd.DataFrame(rows)
    frame = frame.dropna(subset=["值"])
    if frame.empty or len(d.trend) < 2:
        return None
    frame["值"] = frame["值"] * 100
    return (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=60))
        .encode(
            x=alt.X("日期:O", title=None, sort=None, axis=alt.Axis(labelAngle=0, labelOverlap=True)),
            y=alt.Y("值:Q", title="%", scale=alt.Scale(zero=False)),
            color=alt.Color(
                "指标:N",
                scale=alt.Scale(domain=["实地考察得分率", "整改率"], range=["#4e79a7", "#f28e2b"]),
                legend=alt.Legend(orient="bottom", title=None, labelFontSize=13),
            ),
            tooltip=["轮次:N", "指标:N", alt.Tooltip("值:Q", format=".1f", title="%")],
        )
        .properties(height=240)
    )


def points_map(loaded: Loaded, colour_by: str, *, key: str) -> str | None:
    """The round's points on the offline map, coloured by result or by open findings; the code of a point clicked
    (or None)."""
    d = loaded.dashboard
    drawn = loaded.derive(("map", colour_by), lambda: _map_chart(d, colour_by))
    if drawn is None:
        st.info("本轮点位都没有经纬度，无法在地图上显示。", icon=":material/info:")
        return None
    spec, shown, colours, placed = drawn
    event = st.vega_lite_chart(spec, key=key, on_select="rerun", selection_mode="pt")
    st.html(mapping.legend_html(shown, colours))
    missing = len(d.points) - placed
    if missing:
        st.caption(f"另有 {missing} 个点位没有经纬度，未画在图上。")
    picked = (event.selection.get("pt") or []) if event is not None else []
    return picked[0].get("code") if picked else None


def _map_chart(d: dashboard.Dashboard, colour_by: str):
    """The map's chart as a Vega-Lite spec, the bands shown with their counts, the colours by band and how many
    points it places. The spec is made as ``st.altair_chart`` makes it (Streamlit's own conversion, pinned with
    Streamlit in requirements.txt), once per computed dashboard: for a city's 4,000 points, Altair's conversion and
    validation took 0.28 s of every rerun."""
    placed = [p for p in d.points if p.lat is not None and p.lon is not None]
    if not placed:
        return None
    by_result = colour_by == "result"
    frame = pd.DataFrame(
        [
            {
                "code": p.code,
                "name": p.name,
                "street": p.street or NONE,
                "point_type": p.point_type,
                "lat": p.lat,
                "lon": p.lon,
                "rate": rw.pct(p.rate),
                "open": p.open_findings,
                "band": p.result_band if by_result else p.open_band,
            }
            for p in placed
        ]
    )
    if by_result:
        bands = [label for _, label in dashboard.RESULT_BANDS] + [dashboard.NO_RESULT]
        colours = RESULT_COLOURS
    else:
        bands = [label for _, label in dashboard.OPEN_BANDS]
        colours = OPEN_COLOURS
    chart = mapping.banded_chart(
        frame,
        "band",
        bands,
        colours,
        [("name", "点位"), ("code", "编号"), ("point_type", "类型"), ("street", "街道/镇"), ("rate", "得分率"),
         ("open", "未销号问题")],
        height=380,
        select="pt",
    )  # fmt: skip
    counts = frame["band"].value_counts().to_dict()
    shown = {b: counts[b] for b in bands if counts.get(b)}
    spec = vega_charts._convert_altair_to_vega_lite_spec(chart)
    return spec, shown, dict(zip(bands, colours, strict=True)), len(placed)
