"""The pages of the app and which of them a user sees.

Each page names the action it is for (civeval.permissions); a user sees the pages whose action one of their
roles allows. That only decides what to offer: the functions the pages call enforce the same rules.
Someone not signed in sees the login page only; someone on a one-time password, the account page only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from civeval import auth, demo
from civeval.models import Actor
from civeval.permissions import Action, allowed
from civeval.ui import common

PAGES_DIR = Path(__file__).resolve().parent / "pages"
APP_TITLE = "文明城市测评"
APP_ICON = str(Path(__file__).resolve().parent / "icon.png")  # a local file: a material icon would be fetched


@dataclass(frozen=True)
class PageSpec:
    file: str  # file name under civeval/ui/pages/
    title: str
    icon: str
    section: str
    action: Action | None = None  # None: every signed-in user
    default: bool = False


PAGES: list[PageSpec] = [
    PageSpec("home.py", "首页", ":material/home:", "概览", default=True),
    PageSpec("index_browser.py", "测评体系", ":material/account_tree:", "基础数据", Action.view_index),
    PageSpec("points.py", "点位名录", ":material/location_on:", "基础数据", Action.view_points),
    PageSpec("units.py", "单位", ":material/apartment:", "基础数据", Action.view_units),
    PageSpec("users.py", "用户管理", ":material/group:", "系统", Action.manage_users),
    PageSpec("audit_log.py", "操作日志", ":material/history:", "系统", Action.view_audit),
    PageSpec("account.py", "我的账户", ":material/person:", "系统", Action.change_own_password),
]
LOGIN = PageSpec("login.py", "登录", ":material/login:", "", default=True)
ACCOUNT = next(p for p in PAGES if p.file == "account.py")


def _page(spec: PageSpec, *, default: bool | None = None) -> st.Page:
    return st.Page(
        PAGES_DIR / spec.file, title=spec.title, icon=spec.icon, default=spec.default if default is None else default
    )


def pages_for(actor: Actor | None) -> list[st.Page] | dict[str, list[st.Page]]:
    """The pages to offer, grouped by section, for ``st.navigation``."""
    if actor is None:
        return [_page(LOGIN)]
    if auth.must_change_password(common.engine(), actor):
        return [_page(ACCOUNT, default=True)]
    sections: dict[str, list[st.Page]] = {}
    for spec in PAGES:
        if spec.action is None or allowed(actor, spec.action):
            sections.setdefault(spec.section, []).append(_page(spec))
    return sections


def sidebar(actor: Actor | None) -> None:
    """Who is signed in, and a plain warning when the database holds the demo."""
    if actor is None:
        return
    st.sidebar.caption(f"{actor.name} · {'、'.join(g.label for g in actor.grants)}")
    if demo.demo_logins(common.engine()):
        st.sidebar.warning("演示系统：数据均为虚构", icon=":material/science:")
