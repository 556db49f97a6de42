"""Shared pieces of the pages: the database engine, the index picker, empty-state messages, page style, and
how an error is shown (``failure``)."""

from __future__ import annotations

import re
from collections.abc import Collection

import sqlalchemy as sa
import streamlit as st

from civeval import logs, permissions
from civeval.models import Actor
from civeval.store import default_url, open_engine, repo

CLI = "python -m civeval"
_CHOSEN_INDEX = "chosen_index_id"  # session key that remembers the index picked, across pages

# what is missing -> (message, how to load it)
EMPTY: dict[str, tuple[str, str]] = {
    "index": (
        "还没有测评体系。",
        f"到「数据导入」页面上传测评体系工作簿，或在命令行运行 `{CLI} criteria import 测评体系.xlsx`"
        f"（空白模板：`{CLI} criteria template 模板.xlsx`）。",
    ),
    "units": (
        "还没有单位。",
        f"在「单位」页面逐个新增，或到「数据导入」页面上传单位名录，或运行 `{CLI} units import 单位名录.xlsx`。",
    ),
    "points": (
        "还没有点位。",
        "先导入测评体系（带来点位类型）和单位，再在本页「编辑」中新增，或到「数据导入」页面上传点位名录，"
        f"或运行 `{CLI} points import 点位名录.xlsx`。",
    ),
    "point_types": (
        "还没有点位类型。",
        f"点位类型随测评体系一起导入：到「数据导入」页面上传，或运行 `{CLI} criteria import 测评体系.xlsx`。",
    ),
    "demo": ("", f"想先看看效果：在空数据库上运行 `{CLI} demo`，装入示例测评体系和一座演示县城。"),
}

# Larger text and touch targets for tablets in the field (sun glare, fingers). Only sizes; colours come from the theme.
_STYLE = """
<style>
html { font-size: 17px; }
[data-testid="stMainBlockContainer"] { padding: 3.5rem 1.5rem 4rem; }
[data-testid="stExpander"] summary p { font-size: 1rem; }
[data-testid="InputInstructions"] { display: none; }  /* "Press Enter to apply": English, and obvious */
.stButton button, .stFormSubmitButton button { min-height: 2.75rem; }
</style>
"""


@st.cache_resource(show_spinner="正在打开数据库…", on_release=lambda engine: engine.dispose())
def _engine(url: str) -> sa.Engine:
    return open_engine(url)


def engine() -> sa.Engine:
    """The engine on the database configured for this process (migrated on first use)."""
    return _engine(default_url())


ACTOR_KEY = "actor"  # session key where app.py puts the signed-in Actor (see civeval.ui.session)


def current_actor() -> Actor:
    """The signed-in user (app.py signs in before any page runs). A page reached without one stops here."""
    actor = st.session_state.get(ACTOR_KEY)
    if not isinstance(actor, Actor):
        st.warning("请先登录。")
        st.stop()
    return actor


def may(action: permissions.Action) -> bool:
    """Whether to offer the current user a control for ``action`` (the store functions enforce it anyway)."""
    return permissions.allowed(current_actor(), action)


def page(title: str, caption: str | None = None) -> None:
    """The top of every page: style, title, and an optional one-line explanation."""
    st.html(_STYLE)
    st.title(title)
    if caption:
        st.caption(caption)


def empty_state(what: str, *, demo: bool = False) -> None:
    """Tell the user what is missing and where to load it (page or CLI command)."""
    message, how = EMPTY[what]
    st.info(f"{message}{how}", icon=":material/info:")
    if demo:
        st.caption(EMPTY["demo"][1])


def index_picker(conn: sa.Connection) -> repo.IndexInfo | None:
    """The index chosen in the sidebar (remembered across pages for this session); None when there is none."""
    infos = repo.list_indexes(conn)
    if not infos:
        return None
    by_id = {i.id: i for i in infos}
    chosen = st.session_state.get(_CHOSEN_INDEX)
    ids = list(by_id)
    start = ids.index(chosen) if chosen in by_id else 0
    picked = st.sidebar.selectbox(
        "测评体系",
        ids,
        index=start,
        format_func=lambda i: by_id[i].title,
        key="index_picker",
        help="本页按这里选中的测评体系显示；换到其他页面时会记住这个选择。",
    )
    st.session_state[_CHOSEN_INDEX] = picked
    return by_id[picked]


def show_messages(key: str) -> None:
    """Show (once) the messages a previous run left under ``key`` before it called st.rerun()."""
    for kind, text in st.session_state.pop(key, []):
        getattr(st, kind)(text)


def leave_message(key: str, kind: str, text: str) -> None:
    """Keep a message to show after st.rerun() (kind: success, info, warning, error)."""
    st.session_state.setdefault(key, []).append((kind, text))


def forget_widgets(prefix: str) -> None:
    """Drop the state of widgets whose key starts with ``prefix`` (a form then shows its new defaults)."""
    for k in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[k]


# --- errors ----------------------------------------------------------------------------------------------

_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def is_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` is one of civeval's own refusals (PermissionDenied, StoreError, RoundError …): raised by
    civeval with a Chinese message meant for the user, as opposed to an unexpected error."""
    return type(exc).__module__.startswith("civeval.") and bool(_CHINESE.search(str(exc)))


def unexpected_message(error_id: str, what: str = "") -> str:
    """What the user reads about an unexpected error: no type, no traceback, the id to quote."""
    return f"出错了：{what}时发生意外错误，请稍后重试；如仍出错，请联系管理员（编号 {error_id}，详情已记入日志）"


def failure(exc: BaseException, what: str = "") -> str | None:
    """Show ``exc`` to the user in Chinese, never a traceback, and log it.

    A civeval refusal is shown by its own message ("保存未成功：…") and logged as refused; anything else as
    "出错了：…（编号 XXXXXXXX，详情已记入日志）", logged with its traceback under that id, which is returned.
    ``what`` names what was being done ("保存", "打开“问题清单”页面").
    """
    actor = st.session_state.get(ACTOR_KEY)
    if is_refusal(exc):
        logs.event("refused", user=actor, action=what, outcome="refused", detail=str(exc))
        st.error(f"{what}未成功：{exc}" if what else str(exc), icon=":material/block:")
        return None
    error_id = logs.failure(exc, user=actor, action=what)
    st.error(unexpected_message(error_id, what), icon=":material/error:")
    return error_id


def picking_table(table, codes: list[str], *, key: str, pick_key: str, column_config: dict) -> None:
    """A list as a table whose row, when selected, puts its code under ``pick_key`` (the page's detail picker):
    ``codes`` are the rows' codes in order. Short lists are drawn at their height, long ones scroll at 420 px."""
    codes_key = f"{key}_codes"
    st.session_state[codes_key] = list(codes)

    def on_row() -> None:
        rows = (st.session_state.get(key) or {}).get("selection", {}).get("rows", [])
        shown = st.session_state.get(codes_key, [])
        if rows and rows[0] < len(shown):
            st.session_state[pick_key] = shown[rows[0]]

    st.dataframe(
        table,
        hide_index=True,
        key=key,
        on_select=on_row,
        selection_mode="single-row",
        placeholder="",
        height=min(38 + 35 * max(len(table), 1), 420),
        column_config={"编号": st.column_config.TextColumn(pinned=True), **column_config},
    )


def detail_picker(label: str, codes: list[str], known: Collection[str], *, pick_key: str, **kw) -> str | None:
    """The select box under a ``picking_table`` that names the item shown in detail (or None). ``codes`` are the
    listed items; an item picked earlier that the filters now hide stays on top of the options (the one just handled
    stays on screen), one no longer ``known`` is forgotten. ``kw`` go to ``st.selectbox``."""
    options = list(codes)
    picked = st.session_state.get(pick_key)
    if picked in known and picked not in options:
        options.insert(0, picked)
    elif picked not in known:
        st.session_state[pick_key] = None
    return st.selectbox(label, options, index=None, key=pick_key, **kw)
