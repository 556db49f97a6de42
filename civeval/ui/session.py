"""Who is signed in to this browser. The rules (lock-out, idle time-out, grants) live in civeval.auth.

A sign-in starts a server-side session (civeval.auth.start_session) whose random token the browser keeps in a
cookie, so a page reload or a dropped connection resumes it; the idle time-out is checked in the store on every
run. The user is re-read from the store each run, so a disabled account or a changed role takes effect at once.
"""

from __future__ import annotations

import json

import streamlit as st

from civeval import auth
from civeval.models import Actor
from civeval.ui import common

COOKIE = "civeval_session"
TOKEN_KEY = "session_token"
NOTICE_KEY = "sign_in_notice"
SIGNED_OUT_KEY = "signed_out"  # the cookie sent at connect time is stale after a sign-out in this connection


def oidc_configured() -> bool:
    """Whether .streamlit/secrets.toml configures an OIDC provider for st.login."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _set_cookie(value: str, *, clear: bool = False) -> None:
    secure = "; Secure" if str(st.context.url or "").startswith("https") else ""
    expiry = "; Max-Age=0" if clear else ""
    cookie = f"{COOKIE}={value}; Path=/; SameSite=Strict{secure}{expiry}"
    st.html(f"<script>document.cookie = {json.dumps(cookie)};</script>", unsafe_allow_javascript=True)


def sign_in(actor: Actor) -> None:
    st.session_state[TOKEN_KEY] = auth.start_session(common.engine(), actor)
    st.session_state[common.ACTOR_KEY] = actor
    st.session_state.pop(SIGNED_OUT_KEY, None)


def sign_out(notice: str = "") -> None:
    auth.end_session(common.engine(), st.session_state.pop(TOKEN_KEY, None))
    st.session_state.pop(common.ACTOR_KEY, None)
    st.session_state[SIGNED_OUT_KEY] = True
    if notice:
        st.session_state[NOTICE_KEY] = notice
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def _cookie() -> str | None:
    """The session cookie the browser sent when it connected (a string, or None)."""
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no browser behind this session (AppTest, bare mode)
        return None
    return value if isinstance(value, str) and value else None


def _token() -> str | None:
    token = st.session_state.get(TOKEN_KEY)
    if token is None and not st.session_state.get(SIGNED_OUT_KEY):
        token = _cookie()
    return token


def signed_in() -> Actor | None:
    """The signed-in user, or None (never signed in, timed out, signed out, or account disabled since)."""
    engine = common.engine()
    token = _token()
    if token is None and oidc_configured() and getattr(st.user, "is_logged_in", False):
        email = st.user.get("email", "")
        actor = auth.actor_for_identity(engine, email)
        if actor is None:
            st.session_state[NOTICE_KEY] = f"统一身份认证账户 {email} 未对应到本系统用户，请联系创文办。"
            return None
        sign_in(actor)
        token = st.session_state[TOKEN_KEY]
    if token is None and st.session_state.get(SIGNED_OUT_KEY) and _cookie():
        _set_cookie("", clear=True)  # signed out in this connection: the browser still holds the old token
    actor = auth.resume_session(engine, token)
    if actor is None:
        if token is not None:
            st.session_state.pop(TOKEN_KEY, None)
            st.session_state.pop(common.ACTOR_KEY, None)
            st.session_state[SIGNED_OUT_KEY] = True
            st.session_state[NOTICE_KEY] = (
                f"超过 {int(auth.idle_timeout().total_seconds() // 60)} 分钟未操作或账户已停用，已退出，请重新登录。"
            )
            _set_cookie("", clear=True)
        return None
    st.session_state[TOKEN_KEY] = token
    st.session_state[common.ACTOR_KEY] = actor
    if _cookie() != token:
        with st.sidebar:
            _set_cookie(token)
    return actor
