"""In Chromium: each role logs in through the form and is offered exactly its pages; a reload keeps the login."""

from __future__ import annotations

import pytest

from tests import e2e, seed

pytestmark = pytest.mark.browser

# What each role is offered, in sidebar order (written out, not derived from the navigation code).
EXPECTED = {
    "tester": [
        "首页",
        "领导看板",
        "我的任务",
        "点位打分",
        "测评轮次",
        "材料审核",
        "材料进度",
        "材料申报",
        "测评得分",
        "问题清单",
        "我的整改",
        "复查销号",
        "督办与红黑榜",
        "问卷统计",
        "纸质问卷录入",
        "问卷管理",
        "意见建议",
        "意见建议登记",
        "测评体系",
        "点位名录",
        "单位",
        "数据导入",
        "用户管理",
        "操作日志",
        "我的账户",
    ],
    "insp": [
        "首页",
        "我的任务",
        "点位打分",
        "问题清单",
        "复查销号",
        "纸质问卷录入",
        "意见建议登记",
        "测评体系",
        "单位",
        "我的账户",
    ],
    "liai": ["首页", "材料申报", "问题清单", "我的整改", "测评体系", "点位名录", "单位", "我的账户"],
    "coord": [
        "首页",
        "领导看板",
        "测评得分",
        "问题清单",
        "督办与红黑榜",
        "问卷统计",
        "纸质问卷录入",
        "意见建议",
        "意见建议登记",
        "测评体系",
        "点位名录",
        "单位",
        "我的账户",
    ],
    "boss": [
        "首页",
        "领导看板",
        "测评得分",
        "问题清单",
        "督办与红黑榜",
        "问卷统计",
        "测评体系",
        "点位名录",
        "单位",
        "我的账户",
    ],
}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    url = seed.seeded_url(tmp_path_factory.mktemp("roles") / "civeval.db")
    with e2e.streamlit_server(url) as base:
        yield base


@pytest.fixture(scope="module")
def browser(chromium_path):
    with e2e.chromium(chromium_path) as b:
        yield b


def nav(page) -> list[str]:
    """The page titles offered in the sidebar (each link also holds its icon name)."""
    return [t.strip().splitlines()[-1] for t in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]


@pytest.mark.parametrize("user", list(EXPECTED))
def test_each_role_sees_only_its_pages(base_url, browser, user):
    page = e2e.new_page(browser)
    e2e.login(page, base_url, user, seed.PASSWORD)
    assert nav(page) == EXPECTED[user]
    e2e.screenshot(page, f"nav-{user}-1024x768", full_page=False)
    page.context.close()


def test_a_reload_keeps_the_login_and_signing_out_ends_it(base_url, browser):
    page = e2e.new_page(browser)
    e2e.login(page, base_url, "coord", seed.PASSWORD)
    e2e.open_page(page, base_url, "points")  # a full page load: a new Streamlit session
    assert nav(page) == EXPECTED["coord"]
    assert page.get_by_text("城关街道").first.is_visible()
    e2e.open_page(page, base_url, "account")
    page.locator(".st-key-sign_out button").click()
    page.wait_for_selector(".st-key-login_username input")  # the rerun after signing out shows the log-in
    assert page.locator(".st-key-login_username input").is_visible()
    e2e.open_page(page, base_url)  # reloading after sign-out does not sign back in
    assert page.locator(".st-key-login_username input").is_visible()
    page.context.close()


def test_a_wrong_password_is_refused_in_chinese(base_url, browser):
    page = e2e.new_page(browser)
    e2e.open_page(page, base_url)
    page.locator(".st-key-login_username input").fill("tester")
    page.locator(".st-key-login_password input").fill("wrong")
    page.locator('[data-testid="stFormSubmitButton"] button').click()
    e2e.wait_idle(page)
    assert page.get_by_text("用户名或密码错误").is_visible()
    e2e.screenshot(page, "login-refused-1024x768", full_page=False)
    page.context.close()
