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
    PageSpec("dashboard.py", "领导看板", ":material/dashboard:", "概览", Action.view_scores),
    PageSpec("tasks.py", "我的任务", ":material/checklist:", "测评", Action.score_points),
    PageSpec("score_point.py", "点位打分", ":material/rate_review:", "测评", Action.score_points),
    PageSpec("rounds_admin.py", "测评轮次", ":material/event_note:", "测评", Action.manage_rounds),
    PageSpec("materials_review.py", "材料审核", ":material/fact_check:", "测评", Action.review_materials),
    PageSpec("materials_status.py", "材料进度", ":material/folder_managed:", "测评", Action.review_materials),
    PageSpec("materials_upload.py", "材料申报", ":material/upload_file:", "测评", Action.submit_materials),
    PageSpec("round_scores.py", "测评得分", ":material/leaderboard:", "测评", Action.view_scores),
    PageSpec("findings_list.py", "问题清单", ":material/list_alt:", "整改", Action.view_findings),
    PageSpec("my_findings.py", "我的整改", ":material/construction:", "整改", Action.rectify),
    PageSpec("reinspection.py", "复查销号", ":material/verified:", "整改", Action.reinspect),
    PageSpec("supervision.py", "督办与红黑榜", ":material/campaign:", "整改", Action.view_scores),
    PageSpec("survey_board.py", "问卷统计", ":material/bar_chart:", "问卷", Action.view_scores),
    PageSpec("survey_entry.py", "纸质问卷录入", ":material/edit_note:", "问卷", Action.enter_surveys),
    PageSpec("survey_admin.py", "问卷管理", ":material/quiz:", "问卷", Action.manage_surveys),
    PageSpec("suggestions.py", "意见建议", ":material/forum:", "群众意见", Action.assign_findings),
    PageSpec("suggestion_intake.py", "意见建议登记", ":material/edit_square:", "群众意见", Action.record_suggestions),
    PageSpec("index_browser.py", "测评体系", ":material/account_tree:", "基础数据", Action.view_index),
    PageSpec("points.py", "点位名录", ":material/location_on:", "基础数据", Action.view_points),
    PageSpec("units.py", "单位", ":material/apartment:", "基础数据", Action.view_units),
    PageSpec("data_import.py", "数据导入", ":material/upload_file:", "基础数据", Action.manage_index),
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


SUMMARIES = {
    "dashboard.py": "得分、排名、整改和失分一屏看清，可逐级查看点位和问题",
    "tasks.py": "今天分配给我的点位，逐个打分",
    "rounds_admin.py": "新建轮次、抽取点位、分配测评员、开始和结束测评",
    "materials_review.py": "按责任单位审核材料并打分",
    "materials_status.py": "各单位材料申报进度，逐份审核上传的材料，任务分解清单",
    "materials_upload.py": "本单位的材料任务：按要求上传佐证材料，查看审核意见",
    "round_scores.py": "得分率、排名、较上轮变化、失分最多的标准",
    "findings_list.py": "问题清单：交办、期限、逾期、整改率",
    "my_findings.py": "本单位待整改的问题，提交整改措施和照片",
    "reinspection.py": "待复查的问题，对照整改前后照片销号",
    "supervision.py": "生成单位督办单，评出红榜黑榜",
    "survey_board.py": "知晓率、支持率、参与率、满意度，按街道、社区、单位的配额覆盖率",
    "survey_entry.py": "在平板上逐份录入纸质问卷",
    "survey_admin.py": "问卷题目、人口基数、导入问卷平台的答卷",
    "suggestions.py": "群众意见建议台账：交办单位、答复群众、办结率和答复率",
    "suggestion_intake.py": "按征询表登记热线、邮件、入户征询收到的意见建议",
    "index_browser.py": "按项目、内容、标准浏览，搜索，查看责任单位",
    "points.py": "筛选、地图、新增和修改点位",
    "units.py": "单位名录，每个单位承担的测评标准和包保点位",
    "data_import.py": "导入、校验和导出测评体系、单位、点位工作簿",
    "users.py": "账户、角色、范围和密码",
    "audit_log.py": "谁在何时改了什么",
}


def offered(actor: Actor) -> list[PageSpec]:
    """The pages this user may open, besides the home and account pages (for the home page's links)."""
    return [
        p
        for p in PAGES
        if p.file not in ("home.py", "account.py", "score_point.py") and (p.action is None or allowed(actor, p.action))
    ]


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
