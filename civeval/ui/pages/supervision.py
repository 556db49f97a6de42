"""督办与红黑榜: the supervision notice (督办单) of a unit, built on request; the red/black list, shown and exported."""

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from civeval import audit, metrics, notices, redblack, rounds
from civeval.findings import FindingError
from civeval.permissions import Action, PermissionDenied
from civeval.store import repo
from civeval.ui import common

DEFAULT_RULES = """red:
  min_rate: 98%
  max_overdue: 0
  min_due: 3
black:
  overdue_more_than: 5
  bottom: 3
"""

actor = common.current_actor()
engine = common.engine()
common.page("督办与红黑榜", "按单位生成可打印的督办单；按规则评出红榜和黑榜并导出。")


def _xlsx(build) -> bytes:
    """Run a writer into a temporary .xlsx and return its bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.xlsx"
        build(path)
        return path.read_bytes()


notice_tab, list_tab = st.tabs(["督办单", "红黑榜"])
with notice_tab:
    with engine.connect() as conn:
        units = [u.name for u in repo.list_units(conn) if u.active]
    unit = st.selectbox("责任单位", units, index=None, placeholder="选择单位…", key="notice_unit")
    as_of = st.date_input("统计日期", audit.today(), key="notice_date")
    if unit and st.button("生成督办单", key="notice_build", type="primary"):
        try:
            counted: list[int] = []
            data = _xlsx(lambda p: counted.append(notices.write_notice(engine, actor, unit, p, today=as_of)))
        except (FindingError, PermissionDenied) as e:
            st.error(str(e))
        else:
            st.success(f"{unit}：未销号问题 {counted[0]} 件")
            st.download_button("下载督办单.xlsx", data, f"督办单-{unit}-{as_of}.xlsx", key="notice_download")

with list_tab:
    with engine.connect() as conn:
        round_options = [None, *rounds.list_rounds(conn, actor)] if common.may(Action.view_rounds) else [None]
    c1, c2 = st.columns(2)
    day = c1.date_input("统计截至", audit.today(), key="rb_date")
    chosen = c2.selectbox(
        "按哪一轮的得分率排名（可不选）",
        round_options,
        key="rb_round",
        format_func=lambda r: "不按得分率" if r is None else r.title,
    )
    with st.expander("评定规则"):
        rules_text = st.text_area(
            "规则（YAML）",
            key="rb_rules",
            height=140,
            value=DEFAULT_RULES,
        )
    try:
        rules = redblack.parse_rules(rules_text)
        result = redblack.red_black(engine, actor, as_of=day, round_id=chosen.id if chosen else None, rules=rules)
    except (redblack.RulesError, PermissionDenied) as e:
        st.error(str(e))
        st.stop()
    for title, entries in (("红榜", result.red), ("黑榜", result.black)):
        st.subheader(f"{title}（{len(entries)} 个单位）")
        if entries:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "单位": e.unit,
                            "理由": "；".join(e.reasons),
                            "整改率": metrics.percent(e.metrics.rectification_rate) if e.metrics else "",
                            "逾期": e.metrics.overdue if e.metrics else "",
                            "得分率": metrics.percent(e.score_rate) if e.score_rate is not None else "",
                        }
                        for e in entries
                    ]
                ),
                hide_index=True,
                use_container_width=True,
            )
        else:
            st.caption("无")
    for note in result.notes:
        st.caption(note)
    if st.button("导出红黑榜", key="rb_build"):
        data = _xlsx(lambda p: redblack.write_red_black(result, p))
        st.download_button("下载红黑榜.xlsx", data, f"红黑榜-{day}.xlsx", key="rb_download", type="primary")
