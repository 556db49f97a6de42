"""用户管理: list, add, edit roles and scopes, disable, reset passwords, import from Excel (administrators)."""

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from civeval import auth, users_workbook
from civeval.models import Grant, Role
from civeval.ui import common
from civeval.workbook import WorkbookInvalid

actor = common.current_actor()
engine = common.engine()
common.page("用户管理", "账户、角色和范围。单位联络员限于本单位，街道协调员限于本街道（镇）。")
common.show_messages("users_msg")

with engine.connect() as conn:
    users = auth.list_users(conn, actor)  # refuses anyone but an administrator
    scope_units = auth.user_scope_units(conn)
st.dataframe(
    pd.DataFrame(
        [
            {
                "用户名": u.username,
                "姓名": u.display_name,
                "角色": u.roles_label,
                "状态": "启用" if u.active else "停用",
                "待改密码": "是" if u.must_change_password else "",
                "锁定至": u.locked_until,
                "最近登录": u.last_login_at,
            }
            for u in users
        ]
    ),
    hide_index=True,
    use_container_width=True,
)

add, edit, bulk = st.tabs(["新增用户", "修改用户", "从 Excel 导入"])
with add, st.form("user_add", clear_on_submit=True):
    c1, c2 = st.columns(2)
    username = c1.text_input("用户名", key="ua_username")
    name = c2.text_input("姓名", key="ua_name")
    roles = st.multiselect("角色", list(Role), format_func=lambda r: r.label, key="ua_roles")
    scope = st.selectbox(
        "范围单位（联络员、协调员必填；领导可选）",
        [None, *scope_units],
        key="ua_scope",
        format_func=lambda s: "全市" if s is None else s,
    )
    c3, c4 = st.columns(2)
    email = c3.text_input("邮箱（可选）", key="ua_email")
    phone = c4.text_input("手机（可选）", key="ua_phone")
    if st.form_submit_button("新增", type="primary"):
        grants = tuple(
            Grant(role=r, scope=scope if r in (Role.liaison, Role.coordinator, Role.leader) else None) for r in roles
        )
        try:
            pw = auth.create_user(engine, actor, auth.NewUser(username, name, grants, None, email or None, phone))
        except auth.AccountError as e:
            st.error(str(e))
        else:
            common.leave_message(
                "users_msg",
                "success",
                f"已新增用户 {username}。一次性密码：**{pw}**（只显示这一次，请交给本人；首次登录须修改）",
            )
            st.rerun()

with edit:
    picked = st.selectbox("选择用户", [u.username for u in users], key="ue_user", index=None, placeholder="选择…")
    user = next((u for u in users if u.username == picked), None)
    if user:
        with st.form("user_edit"):
            name = st.text_input("姓名", user.display_name, key=f"ue_name_{user.id}")
            active = st.toggle("启用", user.active, key=f"ue_active_{user.id}")
            grants_df = st.data_editor(
                pd.DataFrame([{"角色": g.role.label, "范围单位": g.scope} for g in user.grants]),
                num_rows="dynamic",
                use_container_width=True,
                key=f"ue_grants_{user.id}",
                column_config={
                    "角色": st.column_config.SelectboxColumn(options=Role.labels(), required=True),
                    "范围单位": st.column_config.SelectboxColumn(options=scope_units),
                },
            )
            if st.form_submit_button("保存", type="primary"):
                try:
                    grants = [
                        Grant(role=Role.parse(r["角色"]), scope=r["范围单位"] or None)
                        for r in grants_df.to_dict("records")
                        if r.get("角色")
                    ]
                    auth.update_user(engine, actor, user.username, display_name=name, active=active, grants=grants)
                except auth.AccountError as e:
                    st.error(str(e))
                else:
                    common.leave_message("users_msg", "success", f"已保存用户 {user.username}")
                    st.rerun()
        if st.button("重置密码并解除锁定", key="ue_reset"):
            pw = auth.reset_password(engine, actor, user.username)
            common.leave_message(
                "users_msg", "success", f"{user.username} 的一次性密码：**{pw}**（只显示这一次；登录后须修改）"
            )
            st.rerun()

with bulk:
    st.caption("每行一名用户的一个角色；有任何错误时整份文件都不导入，并指出出错的行和列。")
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "用户导入模板.xlsx"
        users_workbook.write_users_template(template)
        st.download_button("下载导入模板", template.read_bytes(), "用户导入模板.xlsx", key="ui_template")
    upload = st.file_uploader("上传用户工作簿", type=["xlsx"], key="ui_upload")
    if upload is not None and st.button("导入", type="primary", key="ui_import"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(upload.name).name
            path.write_bytes(upload.getvalue())
            try:
                passwords = users_workbook.import_users(engine, actor, path)
            except WorkbookInvalid as e:
                st.error(f"未导入：发现 {len(e.problems)} 处问题")
                st.code("\n".join(str(p) for p in e.problems), language=None)
            else:
                st.success(f"已导入 {len(passwords)} 名用户。初始密码只显示这一次：")
                st.dataframe(
                    pd.DataFrame({"用户名": list(passwords), "初始密码": list(passwords.values())}), hide_index=True
                )
