"""Pieces shared by the office's round pages (测评轮次, 材料审核, 测评得分): the round picker, the drawn points on the
offline map, ranking tables, and the place for the offline workbooks (civeval.paper).

No rules here: the figures come from civeval.rounds / civeval.scoring; this module only words and lays them out.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import io
import re
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from civeval import dashboard, lookup, mapping, scoring
from civeval.models import Actor, Point, RoundStatus
from civeval.presentation import NONE
from civeval.rounds import RoundInfo, default_round

CHOSEN_ROUND = "chosen_round_id"  # session key: the round picked last, remembered across the round pages
LOCAL = dt.timezone(dt.timedelta(hours=8))  # the store keeps naive UTC; China is UTC+8 throughout
BOTTOM_MARK = dashboard.BOTTOM_MARK


def local_time(at: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if at is None:
        return NONE
    return at.replace(tzinfo=dt.UTC).astimezone(LOCAL).strftime(fmt)


def pct(rate: float | None, digits: int = 1) -> str:
    """A score rate as a percentage: 0.64 → "64.0%"; None → "—"."""
    return NONE if rate is None else f"{rate * 100:.{digits}f}%"


def round_label(info: RoundInfo) -> str:
    return f"{info.name}（{info.kind.label}·{info.status.label}，{info.start_date:%Y-%m-%d} 起）"


def round_picker(infos: Sequence[RoundInfo], key: str, *, label: str = "测评轮次") -> RoundInfo | None:
    """Pick one of ``infos`` (newest first); starts on the round picked last on any round page, else the first
    round in progress, else the newest. None when there is no round."""
    if not infos:
        return None
    by_id = {i.id: i for i in infos}
    ids = list(by_id)
    if key in st.session_state and st.session_state[key] not in by_id:
        del st.session_state[key]  # a round no longer listed
    chosen = st.session_state.get(CHOSEN_ROUND)
    if chosen in by_id:
        start = ids.index(chosen)
    else:
        start = ids.index(default_round(infos).id)
    picked = st.selectbox(label, ids, index=start, format_func=lambda i: round_label(by_id[i]), key=key)
    st.session_state[CHOSEN_ROUND] = picked
    return by_id[picked]


def choose_round(round_id: int, key: str) -> None:
    """Make the picker under ``key`` show ``round_id`` on the next run (e.g. a round just created)."""
    st.session_state[CHOSEN_ROUND] = round_id
    st.session_state.pop(key, None)


def rounds_frame(infos: Sequence[RoundInfo]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "轮次名称": i.name,
                "类型": i.kind.label,
                "开始日期": i.start_date,
                "结束日期": i.end_date,
                "状态": i.status.label,
                "抽取点位": i.n_points,
                "已提交": i.n_submitted,
            }
            for i in infos
        ],
        columns=["轮次名称", "类型", "开始日期", "结束日期", "状态", "抽取点位", "已提交"],
    )


# --- the drawn points on the offline map ----------------------------------------------------------------------


def points_map(points: Sequence[Point], types: Sequence[str], *, key: str, height: int = 420) -> None:
    """Points on the offline Altair map (civeval.mapping: nothing fetched from outside), with the type legend."""
    placed = lookup.located(points)
    missing = len(points) - len(placed)
    if not placed:
        st.info("这些点位都没有经纬度，无法在地图上显示。可在「点位名录」中补填纬度、经度。", icon=":material/info:")
        return
    st.caption(
        f"地图上 {len(placed)} 个点位"
        + (f"，另有 {missing} 个没有经纬度（见表格）" if missing else "")
        + "。本地绘制，无需联网；点按圆点查看点位信息。"
    )
    with st.container(key=key):
        st.altair_chart(mapping.points_chart(placed, types, height=height), key=f"{key}_chart")
    st.html(mapping.legend_html(mapping.type_counts(placed, types), mapping.type_colours(types)))


# --- rankings ----------------------------------------------------------------------------------------------------


def ranking_frame(
    groups: Sequence[scoring.RankedGroup],
    previous: Sequence[scoring.RankedGroup] | None,
    name: str,
    *,
    extra: Callable[[object], dict] | None = None,
) -> pd.DataFrame:
    """A ranking as a table: 名次, the group (column ``name``), 得分率 (%), 较上轮 (percentage points, vs the same
    group in ``previous``), 标记 (后三名), 问题数, 得分/满分 — what matters first, for a phone; then the columns
    ``extra(key)`` gives."""
    deltas = scoring.rate_deltas([g.group for g in groups], [g.group for g in previous]) if previous else {}
    bottom = dashboard.bottom_keys(groups)
    rows = []
    for g in groups:
        d = deltas.get(g.key)
        rows.append(
            {
                "名次": g.rank,
                name: str(g.key),
                "得分率": None if g.rate is None else round(g.rate * 100, 1),
                "较上轮": None if d is None else round(d * 100, 1),
                "标记": BOTTOM_MARK if g.key in bottom else "",
                "问题数": g.findings,
                "得分/满分": f"{g.group.score:.2f} / {g.group.full:g}",
                **(extra(g.key) if extra else {}),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["名次"] = frame["名次"].astype("Int64")
    frame["得分率"] = frame["得分率"].astype("Float64")
    frame["较上轮"] = frame["较上轮"].astype("Float64")
    return frame


RANKING_COLUMNS = {
    "名次": st.column_config.NumberColumn("名次", width="small"),
    "得分率": st.column_config.NumberColumn("得分率", format="%.1f%%", help="Σ得分 / Σ满分（不适用的不计）"),
    "较上轮": st.column_config.NumberColumn(
        "较上轮", format="%+.1f", help="与上一轮同类测评相比，得分率变化的百分点；空白表示上一轮没有"
    ),
    "标记": st.column_config.TextColumn("标记", width="small"),
}


def show_ranking(frame: pd.DataFrame, *, key: str, height: int | str = "auto") -> None:
    if frame.empty:
        st.caption("没有可排名的测评记录。")
        return
    st.dataframe(frame, hide_index=True, column_config=RANKING_COLUMNS, key=key, height=height)


def download_name(stem: str) -> str:
    """A file name for a download made from names people typed: no path separators or control characters."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]+', "_", stem).strip(" ._")[:120] or "下载"


# --- 离线测评表: the offline workbooks (civeval.paper, written by another engineer) ---------------------------------


def offline_sheets_button(engine: sa.Engine, actor: Actor, info: RoundInfo, inspectors: Sequence[str]) -> None:
    """OFFLINE WORKBOOKS HOOK: "下载离线测评表", one workbook per inspector written by
    ``civeval.paper.write_round_sheets(engine, actor, round_id, out_dir)`` (an .xlsx for one inspector, a .zip of
    them for several). Hidden while civeval.paper is missing, the round is closed or no point is assigned (the cases
    it refuses). The files are written only when the button is clicked."""
    if info.status is RoundStatus.closed or not inspectors or importlib.util.find_spec("civeval.paper") is None:
        return
    write = getattr(importlib.import_module("civeval.paper"), "write_round_sheets", None)
    if write is None:
        return
    single = len(set(inspectors)) == 1

    def build() -> bytes:
        with tempfile.TemporaryDirectory(prefix="civeval-paper-") as tmp:
            paths = [Path(p) for p in write(engine, actor, info.id, tmp)]
            if single and len(paths) == 1:
                return paths[0].read_bytes()
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for path in paths:
                    zf.write(path, path.name)
            return buf.getvalue()

    st.download_button(
        "下载离线测评表",
        data=build,
        file_name=download_name(f"{info.name}-离线测评表") + (".xlsx" if single else ".zip"),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if single else "application/zip",
        key=f"paper_{info.id}",
        icon=":material/download:",
        help="每名测评员一个 Excel 测评表，没有网络时在纸上或 Excel 中填写，回来后导入。",
        on_click="ignore",
    )


# --- 测评通报: the round's bulletin as an Excel workbook (civeval.bulletin) ------------------------------------------


def bulletin_button(engine: sa.Engine, actor: Actor, info: RoundInfo, as_of: dt.date) -> None:
    """The button "下载测评通报": the round's bulletin (civeval.bulletin: key figures and definitions, rankings, losses,
    trend, gap list, ledger, one sheet per street) with its rectification figures as of ``as_of``, within the
    actor's scope. The workbook is built only when the button is clicked."""
    from civeval import bulletin

    st.download_button(
        "下载测评通报",
        data=lambda: bulletin.bulletin_bytes(engine, actor, info.id, as_of=as_of),
        file_name=download_name(f"{info.name}-测评通报-{as_of.isoformat()}") + ".xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"bulletin_{info.id}",
        icon=":material/download:",
        help=f"Excel，A4 横向打印：关键指标和指标口径、街道/单位/点位类型排名、失分分析、趋势、问题清单、整改台账、"
        f"各街道一页；整改情况统计截至 {as_of.isoformat()}。点击后生成。",
        on_click="ignore",
    )
