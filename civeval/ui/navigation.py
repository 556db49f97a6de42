"""The pages of the app and which of them a user sees.

``app.py`` calls ``pages_for(current_role())``. There is no login yet: ``current_role()`` returns None and
every page is shown. The accounts work plugs in here: ``current_role()`` reads the signed-in user's role and
``PageSpec.roles`` (None = everyone) says who may open a page. Another page (e.g. 数据导入) is added by
appending a PageSpec to PAGES.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent / "pages"
APP_TITLE = "文明城市测评"
APP_ICON = str(Path(__file__).resolve().parent / "icon.png")  # a local file: a material icon would be fetched


@dataclass(frozen=True)
class PageSpec:
    file: str  # file name under civeval/ui/pages/
    title: str
    icon: str
    section: str
    roles: frozenset[str] | None = None  # None: every role may see it
    default: bool = False


PAGES: list[PageSpec] = [
    PageSpec("home.py", "首页", ":material/home:", "概览", default=True),
    PageSpec("index_browser.py", "测评体系", ":material/account_tree:", "基础数据"),
    PageSpec("points.py", "点位名录", ":material/location_on:", "基础数据"),
    PageSpec("units.py", "单位", ":material/apartment:", "基础数据"),
]


def current_role() -> str | None:
    """The signed-in user's role. Hook for the accounts work: no login yet, so None (everything visible)."""
    return None


def visible(spec: PageSpec, role: str | None) -> bool:
    """Whether a user with ``role`` may see the page (no login yet: role None sees everything)."""
    return spec.roles is None or role is None or role in spec.roles


def pages_for(role: str | None) -> dict[str, list[st.Page]]:
    """The pages a user with ``role`` may see, grouped by section, for ``st.navigation``."""
    sections: dict[str, list[st.Page]] = {}
    for spec in PAGES:
        if visible(spec, role):
            page = st.Page(PAGES_DIR / spec.file, title=spec.title, icon=spec.icon, default=spec.default)
            sections.setdefault(spec.section, []).append(page)
    return sections
