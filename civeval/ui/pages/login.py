"""登录: username and password (lock-out and checks in civeval.auth), or the office's OIDC provider."""

import streamlit as st

from civeval import auth, demo
from civeval.models import Actor
from civeval.ui import common, session
from civeval.ui import dashboard_widgets as dw

common.page("文明城市测评 · 登录")
_, middle, _ = st.columns([1, 3, 1])  # a narrow form on tablets and desktops; full width on a phone
if notice := st.session_state.pop(session.NOTICE_KEY, None):
    middle.warning(notice)

with middle.form("login", border=True):
    username = st.text_input("用户名", key="login_username", autocomplete="username")
    password = st.text_input("密码", type="password", key="login_password", autocomplete="current-password")
    submitted = st.form_submit_button("登录", type="primary", use_container_width=True)
if submitted:
    try:
        actor = auth.authenticate(common.engine(), username, password)
    except auth.LoginError as e:
        middle.error(str(e))
    else:
        session.sign_in(actor)
        st.rerun()

if session.oidc_configured() and middle.button("使用统一身份认证登录", key="login_oidc", use_container_width=True):
    st.login()

if logins := demo.demo_logins(common.engine()):
    middle.warning("这是演示系统，数据均为虚构。演示账户（密码均为 " + logins[0][1] + "）：", icon=":material/science:")
    middle.table({"角色": [r for _, _, r in logins], "用户名": [u for u, _, _ in logins]})

# While the password is typed: the city's dashboard, if its round is large, computed for whoever signs in next
# (nothing is shown here; the figures are served only to users who may see them).
dw.prepare(common.engine(), Actor.system("看板预先汇总"))
