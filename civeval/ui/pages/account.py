"""我的账户: who I am, my roles, change my password (forced after a one-time password)."""

import streamlit as st

from civeval import auth
from civeval.ui import common, session

actor = common.current_actor()
common.page("我的账户")
forced = auth.must_change_password(common.engine(), actor)
if forced:
    st.warning("您正在使用一次性密码，请先设置新密码，再使用系统。")
st.write(f"**{actor.name}**（{actor.username}）　" + "、".join(g.label for g in actor.grants))

with st.form("change_password", clear_on_submit=True):
    old = st.text_input("当前密码", type="password", key="pw_old", autocomplete="current-password")
    new = st.text_input(
        "新密码",
        type="password",
        key="pw_new",
        autocomplete="new-password",
        help=f"至少 {auth.MIN_PASSWORD_LENGTH} 位，须同时含字母和数字",
    )
    again = st.text_input("再次输入新密码", type="password", key="pw_again", autocomplete="new-password")
    done = st.form_submit_button("修改密码", type="primary")
if done:
    if new != again:
        st.error("两次输入的新密码不一致")
    else:
        try:
            auth.change_own_password(common.engine(), actor, old, new)
        except auth.AccountError as e:
            st.error(str(e))
        else:
            common.leave_message("account_msg", "success", "密码已修改。")
            st.rerun()
common.show_messages("account_msg")

if st.button("退出登录", key="sign_out"):
    session.sign_out()
    st.rerun()
