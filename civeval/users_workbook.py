"""Users from Excel: sheet 用户, one row per user and role (a user holding roles in several scopes has several
rows). Located validation as for the index; all or nothing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from civeval import auth, limits
from civeval.models import Actor, Grant, Role, Unit, UnitKind
from civeval.permissions import Action, require
from civeval.store import repo
from civeval.store import schema as t
from civeval.workbook import Book, Choice, Column, Problems, Writer

USERS_SHEET = "用户"
_SCOPED = {Role.liaison, Role.coordinator}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

USER_COLUMNS: tuple[Column, ...] = (
    Column(
        "username",
        "用户名",
        ("账号", "登录名"),
        required=True,
        width=14,
        note="登录用的账号，字母、数字或汉字，不含空格；同一用户担任多个角色时写多行",
        example="zhangsan",
    ),
    Column("display_name", "姓名", ("名字", "显示名"), required=True, width=10, note="真实姓名", example="张三"),
    Column(
        "role",
        "角色",
        ("用户角色",),
        required=True,
        width=14,
        note="办公室管理员、测评员、单位联络员、街道协调员、领导",
        allowed="、".join(Role.labels()),
        example="单位联络员",
    ),
    Column(
        "scope",
        "范围单位",
        ("所属单位", "所属街道", "范围"),
        width=22,
        note="单位联络员填所属单位；街道协调员填所属街道或镇；领导可填分管范围，不填则为全市",
        example="县城市管理局",
    ),
    Column("phone", "手机", ("手机号", "联系电话", "电话"), width=14, example="13800000000"),
    Column(
        "email",
        "邮箱",
        ("电子邮箱", "email"),
        width=22,
        note="启用统一身份认证（OIDC）时，按邮箱对应到本账户",
        example="zhangsan@example.gov.cn",
    ),
    Column(
        "password",
        "初始密码",
        ("密码",),
        width=14,
        note="可不填：不填则系统生成一次性密码，首次登录须修改。填写则至少 8 位且含字母和数字",
    ),
)

_NOTES = (
    "本工作簿用于批量导入用户。每行是一名用户的一个角色；一名用户担任多个角色（或在多个街道任协调员）时写多行，用户名相同。",
    "单位联络员和街道协调员必须填写范围单位，且该单位须已在单位名录中；街道协调员的范围须是街道或镇。",
    "有任何错误时整份文件都不导入，并逐条指出出错的行和列。用户名已存在的行会被拒绝（修改已有用户请在系统的用户管理页操作）。",
    "生成的一次性密码只显示一次，请当面或通过安全渠道交给本人。",
)


def write_users_template(path: str | Path) -> None:
    w = Writer(path)
    example = {c.key: c.example for c in USER_COLUMNS}
    w.table(USERS_SHEET, USER_COLUMNS, [example], choices={"role": Choice(tuple(Role.labels()))})
    w.notes("用户导入填写说明", _NOTES, [(USERS_SHEET, USER_COLUMNS)])
    w.close()


def read_users(path: str | Path, *, units: Sequence[Unit], existing_usernames: set[str]) -> list[auth.NewUser]:
    """The users of a users workbook, checked against the unit register and the existing accounts.
    Raises WorkbookInvalid with every problem, each located."""
    problems = Problems(path)
    book = Book(path, problems)
    table = book.table(USERS_SHEET, USER_COLUMNS)
    by_key: dict[str, Unit] = {}
    for u in units:
        by_key[u.name] = by_key[u.code] = u
    users: dict[str, dict] = {}
    first_row: dict[str, int] = {}
    if table is not None:
        if not table.rows:
            problems.add(table.sheet, None, None, "工作表中没有任何用户")
        for row in table.rows:
            n = row.number

            def bad(key: str, message: str, n: int = n) -> None:
                problems.add(table.sheet, n, table.col(key), message)

            username = row.text("username", punctuation=False)
            try:
                username = auth.validate_username(username)
            except auth.AccountError as e:
                bad("username", str(e))
                continue
            if username in existing_usernames:
                bad("username", f"用户名“{username}”已存在")
            display = row.text("display_name", punctuation=False)
            if not display:
                bad("display_name", "姓名不能为空")
            role_text = row.text("role")
            role = Role.parse(role_text) if role_text else None
            if not role_text:
                bad("role", "角色不能为空")
            elif role is None:
                bad("role", f"角色“{role_text}”无效，可选：{'、'.join(Role.labels())}")
            scope_text = row.text("scope", punctuation=False)
            scope = None
            if scope_text:
                unit = by_key.get(scope_text)
                if unit is None:
                    bad("scope", f"范围单位“{scope_text}”不在单位名录中")
                elif role is Role.coordinator and unit.kind not in (UnitKind.street, UnitKind.town):
                    bad("scope", f"街道协调员的范围须是街道或镇，“{unit.name}”是{unit.kind.label}")
                else:
                    scope = unit.name
            elif role in _SCOPED:
                bad("scope", f"{role.label}须填写范围单位")
            email = row.text("email") or None
            if email and not _EMAIL.match(email):
                bad("email", f"邮箱“{email}”格式不正确")
            for key, text in (("display_name", display), ("phone", row.text("phone")), ("email", email)):
                header = next(c.header for c in USER_COLUMNS if c.key == key)
                if message := limits.too_long(text, limits.column_limit(t.users.c[key]) or 0, header):
                    bad(key, message)
            password = str(row.get("password") or "").strip() or None
            if password:
                try:
                    auth.check_password_strength(password, username)
                except auth.AccountError as e:
                    bad("password", str(e))
            entry = users.get(username)
            if entry is None:
                first_row[username] = n
                users[username] = dict(
                    display_name=display, grants=[], password=password, email=email, phone=row.text("phone")
                )
                entry = users[username]
            elif display and entry["display_name"] and display != entry["display_name"]:
                bad("display_name", f"用户“{username}”的姓名与第{first_row[username]}行不一致")
            if role is not None:
                grant = Grant(role=role, scope=scope)
                if grant in entry["grants"]:
                    bad("role", f"用户“{username}”的角色“{grant.label}”重复（见第{first_row[username]}行）")
                else:
                    entry["grants"].append(grant)
    problems.raise_if_any()
    return [
        auth.NewUser(name, e["display_name"], tuple(e["grants"]), e["password"], e["email"], e["phone"])
        for name, e in users.items()
    ]


def import_users(engine: sa.Engine, actor: Actor, path: str | Path) -> dict[str, str]:
    """Add the users of a workbook, all or nothing. Returns username -> password to hand over (the one given
    in the workbook, or a generated one-time password that must be changed at first log-in)."""
    require(actor, Action.manage_users)
    with engine.connect() as conn:
        units = repo.list_units(conn)
        existing = {u.username for u in auth.list_users(conn, actor)}
    new = read_users(path, units=units, existing_usernames=existing)
    return auth.create_users(engine, actor, new)
