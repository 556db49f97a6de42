"""AppTest: log-in, the forced password change, user management, the audit log page."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from civeval import auth
from civeval.store import open_engine
from civeval.ui import session
from tests import seed
from tests.test_pages import APP, PAGES, texts


@pytest.fixture
def url(tmp_path, monkeypatch):
    url = seed.seeded_url(tmp_path / "civeval.db")
    monkeypatch.setenv("CIVEVAL_DATABASE_URL", url)
    st.cache_resource.clear()
    yield url
    st.cache_resource.clear()


def fresh() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30).run()


def log_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    return at


def test_not_signed_in_shows_only_the_login_form(url):
    at = fresh()
    assert not at.exception
    assert {t.key for t in at.text_input} == {"login_username", "login_password"}
    assert "请先登录" not in texts(at) and not at.dataframe


def test_wrong_then_right_password(url):
    at = log_in(fresh(), "tester", "nope")
    assert "用户名或密码错误（再错 4 次将锁定账户）" in [e.value for e in at.error]
    at = log_in(at, "tester", seed.PASSWORD)
    assert not at.exception and not at.error
    assert at.session_state[session.TOKEN_KEY]
    assert at.title[0].value == "文明城市测评"  # the home page


def test_lock_out_is_shown_after_five_failures(url):
    at = fresh()
    for _ in range(5):
        at = log_in(at, "insp", "wrong-pass-1")
    assert "已锁定" in at.error[0].value
    at = log_in(at, "insp", seed.PASSWORD)
    assert "已锁定" in at.error[0].value


def test_one_time_password_forces_the_account_page(url):
    engine = open_engine(url)
    one_time = auth.reset_password(engine, auth.load_actor(engine.connect(), 1), "insp")
    at = log_in(fresh(), "insp", one_time)
    assert "您正在使用一次性密码" in texts(at)
    at.text_input(key="pw_old").input(one_time)
    at.text_input(key="pw_new").input("Brand-new-pass-7")
    at.text_input(key="pw_again").input("Brand-new-pass-7")
    at.button[0].click().run()
    assert not at.exception
    assert not auth.must_change_password(engine, auth.authenticate(engine, "insp", "Brand-new-pass-7"))


def signed_in(url: str, user: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state[session.TOKEN_KEY] = seed.session_token(url, user)
    return at.run()


def test_users_page_lists_and_adds(url):
    at = signed_in(url, "tester").switch_page(f"{PAGES}users.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert set(seed.USERS) <= set(table["用户名"])
    at.text_input(key="ua_username").input("newbie")
    at.text_input(key="ua_name").input("新人")
    at.multiselect(key="ua_roles").select(at.multiselect(key="ua_roles").options[1])  # 测评员
    at.button(key="FormSubmitter:user_add-新增").click().run()
    assert not at.exception
    assert any("已新增用户 newbie" in s.value for s in at.success)
    with open_engine(url).connect() as conn:
        assert auth.get_user(conn, "newbie").must_change_password


def test_users_and_log_pages_are_not_offered_to_a_non_admin(url):
    at = signed_in(url, "coord")
    for page in ("users", "audit_log"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"{PAGES}{page}.py")
    assert not at.switch_page(f"{PAGES}points.py").run().exception  # its own pages open


def test_audit_log_page_shows_who_did_what(url):
    at = signed_in(url, "tester").switch_page(f"{PAGES}audit_log.py").run()
    assert not at.exception
    log = at.dataframe[0].value
    assert "system:测试数据" in set(log["操作人"]) and "点位" in set(log["对象"])
    at.button(key="log_build").click().run()
    assert at.get("download_button")
