"""操作日志: every write, who and when, before and after; filter and export to Excel (administrators)."""

import datetime as dt
import io

import pandas as pd
import streamlit as st

from civeval import audit
from civeval.ui import common

actor = common.current_actor()
common.page("操作日志", "系统中的每一次修改：谁、何时、改了什么（修改前后的值）。日志只能追加，不能修改或删除。")

c1, c2, c3 = st.columns(3)
author = c1.text_input("操作人（用户名）", key="log_author").strip() or None
table = c2.selectbox(
    "对象",
    [None, *audit.TABLE_LABELS],
    key="log_table",
    format_func=lambda t: "全部" if t is None else audit.TABLE_LABELS[t],
)
operation = c3.selectbox(
    "操作",
    [None, "insert", "update", "delete"],
    key="log_op",
    format_func=lambda o: {None: "全部", "insert": "新增", "update": "修改", "delete": "删除"}[o],
)
c4, c5 = st.columns([1, 2])
today = audit.today()
days = c4.date_input("日期范围", (today - dt.timedelta(days=30), today), key="log_days")
search = c5.text_input("搜索（记录、来源、事由）", key="log_search")
since = until = None
if isinstance(days, tuple) and len(days) == 2:
    since = audit.local_day_start(days[0])
    until = audit.local_day_start(days[1] + dt.timedelta(days=1))

with common.engine().connect() as conn:
    entries = audit.read_log(
        conn,
        actor,
        author=author,
        table=table,
        operation=operation,
        since=since,
        until=until,
        search=search.strip(),
        limit=5000,
    )
st.caption(f"共 {len(entries)} 条（最多显示 5000 条）")
st.dataframe(
    pd.DataFrame(
        [
            {
                "时间（UTC）": e["at"],
                "操作人": e["actor"],
                "操作": {"insert": "新增", "update": "修改", "delete": "删除"}[e["operation"]],
                "对象": audit.TABLE_LABELS.get(e["table_name"], e["table_name"]),
                "记录": e["row_key"],
                "事由": e["reason"],
                "来源": e["context"],
            }
            for e in entries
        ]
    ),
    hide_index=True,
    use_container_width=True,
)
if entries and st.button("生成 Excel", key="log_build"):
    buf = io.BytesIO()
    audit.write_log_workbook(entries, buf)
    st.download_button("下载操作日志.xlsx", buf.getvalue(), "操作日志.xlsx", key="log_download", type="primary")
