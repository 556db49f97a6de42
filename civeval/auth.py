"""Accounts: argon2id password hashes, log-in with lock-out, idle time-out, the first administrator, user management.

Every rule here is enforced for whoever calls it (app, CLI or test). Passwords are never stored, shown or
logged: only argon2id hashes, and the audit log masks those.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from civeval import audit, limits, logs
from civeval.models import Actor, Grant, Role, UnitKind
from civeval.permissions import Action, PermissionDenied, require
from civeval.store import repo
from civeval.store import schema as t

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
DEFAULT_IDLE_MINUTES = 30

# argon2id with argon2-cffi's recommended parameters (RFC 9106). CIVEVAL_ARGON2_FAST=1 (set by the test suite
# only) uses the cheapest parameters so that hundreds of test accounts do not take minutes.
_hasher = (
    PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    if os.environ.get("CIVEVAL_ARGON2_FAST") == "1"
    else PasswordHasher()
)


class LoginError(Exception):
    """Log-in refused; the message is Chinese and safe to show (it never says whether the user exists)."""


class AccountError(Exception):
    """A user-management request refused for its content (weak password, unknown unit, duplicate name…)."""


def idle_timeout() -> dt.timedelta:
    """How long a session may stay idle: CIVEVAL_IDLE_TIMEOUT_MINUTES, default 30."""
    raw = os.environ.get("CIVEVAL_IDLE_TIMEOUT_MINUTES", "")
    minutes = int(raw) if raw.strip().isdigit() and int(raw) > 0 else DEFAULT_IDLE_MINUTES
    return dt.timedelta(minutes=minutes)


def session_expired(
    last_activity: dt.datetime, now: dt.datetime | None = None, timeout: dt.timedelta | None = None
) -> bool:
    return (now or audit.now()) - last_activity > (timeout or idle_timeout())


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str, username: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    if len(password) > 200:
        raise AccountError("密码不能超过 200 位")
    if password.isdigit() or password.isalpha():
        raise AccountError("密码须同时包含字母和数字（或符号）")
    if len(username) >= 4 and username.lower() in password.lower():
        raise AccountError("密码不能包含用户名")


def generate_password() -> str:
    """A one-time password people can type: 12 characters, letters and digits, no look-alikes."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(12))
        if any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw):
            return pw


# --- reading accounts --------------------------------------------------------------------------


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    display_name: str
    email: str | None
    phone: str
    active: bool
    must_change_password: bool
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None
    grants: tuple[Grant, ...]

    @property
    def roles_label(self) -> str:
        return "、".join(g.label for g in self.grants)


def _grants(conn: sa.Connection, user_ids: Iterable[int] | None = None) -> dict[int, list[Grant]]:
    q = (
        sa.select(t.role_grants.c.user_id, t.role_grants.c.role, t.units.c.name)
        .select_from(t.role_grants.outerjoin(t.units, t.units.c.id == t.role_grants.c.scope_unit_id))
        .order_by(t.role_grants.c.id)
    )
    if user_ids is not None:
        q = q.where(t.role_grants.c.user_id.in_(list(user_ids)))
    out: dict[int, list[Grant]] = {}
    for uid, role, scope in conn.execute(q):
        out.setdefault(uid, []).append(Grant(role=Role(role), scope=scope))
    return out


def _info(row: sa.RowMapping, grants: list[Grant]) -> UserInfo:
    return UserInfo(
        row["id"],
        row["username"],
        row["display_name"],
        row["email"],
        row["phone"],
        row["active"],
        row["must_change_password"],
        row["locked_until"],
        row["last_login_at"],
        tuple(grants),
    )


def list_users(conn: sa.Connection, actor: Actor) -> list[UserInfo]:
    require(actor, Action.manage_users)
    rows = list(conn.execute(sa.select(t.users).order_by(t.users.c.username)).mappings())
    grants = _grants(conn)
    return [_info(r, grants.get(r["id"], [])) for r in rows]


def get_user(conn: sa.Connection, username: str) -> UserInfo | None:
    row = conn.execute(sa.select(t.users).where(t.users.c.username == username)).mappings().first()
    return _info(row, _grants(conn, [row["id"]]).get(row["id"], [])) if row else None


def load_actor(conn: sa.Connection, user_id: int) -> Actor | None:
    """The acting user for a session, re-read from the store (grants may have changed); None if gone or disabled."""
    row = conn.execute(_actor_selects()[0], {"user_id": user_id}).first()
    if row is None or not row.active:
        return None
    grants = tuple(
        Grant(role=Role(role), scope=scope) for role, scope in conn.execute(_actor_selects()[1], {"user_id": user_id})
    )
    return Actor(user_id=row.id, username=row.username, display_name=row.display_name, grants=grants)


@functools.cache
def _actor_selects() -> tuple[sa.Select, sa.Select]:
    """The user ``:user_id`` and their grants (as ``_grants`` orders them): built once, as ``load_actor`` runs on
    every write the app makes (``resume_session``)."""
    user = sa.select(t.users.c.id, t.users.c.username, t.users.c.display_name, t.users.c.active).where(
        t.users.c.id == sa.bindparam("user_id")
    )
    grants = (
        sa.select(t.role_grants.c.role, t.units.c.name)
        .select_from(t.role_grants.outerjoin(t.units, t.units.c.id == t.role_grants.c.scope_unit_id))
        .where(t.role_grants.c.user_id == sa.bindparam("user_id"))
        .order_by(t.role_grants.c.id)
    )
    return user, grants


def has_admin(conn: sa.Connection) -> bool:
    q = (
        sa.select(sa.func.count())
        .select_from(t.role_grants.join(t.users, t.users.c.id == t.role_grants.c.user_id))
        .where(t.role_grants.c.role == Role.admin.value, t.users.c.active)
    )
    return conn.execute(q).scalar_one() > 0


# --- logging in --------------------------------------------------------------------------------

_LOGIN_ACTOR = Actor.system("登录")


def authenticate(engine: sa.Engine, username: str, password: str, *, now: dt.datetime | None = None) -> Actor:
    """The actor for a correct username and password, or LoginError.

    Five wrong passwords in a row lock the account for 15 minutes; while locked even the right password is
    refused. The failure counter and lock are stored, so they hold across processes and restarts.
    Both outcomes go to the application log (never the password).
    """
    try:
        actor = _authenticate(engine, username, password, now=now)
    except LoginError as e:
        logs.event("login", user=(username or "").strip()[:64], action="登录", outcome="refused", detail=str(e))
        raise
    logs.event("login", user=actor, action="登录")
    return actor


def _authenticate(engine: sa.Engine, username: str, password: str, *, now: dt.datetime | None) -> Actor:
    now = now or audit.now()
    username = (username or "").strip()
    with audit.writing(engine, _LOGIN_ACTOR, context=f"登录 {username[:64]}") as conn:
        row = conn.execute(sa.select(t.users).where(t.users.c.username == username)).mappings().first()
        if row is None or not row["active"]:
            _hasher_dummy_verify(password)
            raise LoginError("用户名或密码错误")
        if row["locked_until"] is not None and row["locked_until"] > now:
            minutes = max(1, int((row["locked_until"] - now).total_seconds() // 60) + 1)
            raise LoginError(f"连续输错密码 {MAX_FAILED_ATTEMPTS} 次，账户已锁定，请 {minutes} 分钟后再试")
        try:
            _hasher.verify(row["password_hash"], password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            failed = row["failed_attempts"] + 1
            if failed >= MAX_FAILED_ATTEMPTS:
                conn.execute(
                    sa.update(t.users)
                    .where(t.users.c.id == row["id"])
                    .values(failed_attempts=0, locked_until=now + LOCKOUT)
                )
                error = LoginError(
                    f"连续输错密码 {MAX_FAILED_ATTEMPTS} 次，账户已锁定 {int(LOCKOUT.total_seconds() // 60)} 分钟"
                )
            else:
                conn.execute(sa.update(t.users).where(t.users.c.id == row["id"]).values(failed_attempts=failed))
                error = LoginError(f"用户名或密码错误（再错 {MAX_FAILED_ATTEMPTS - failed} 次将锁定账户）")
        else:
            values: dict = dict(failed_attempts=0, locked_until=None, last_login_at=now)
            if _hasher.check_needs_rehash(row["password_hash"]):
                values["password_hash"] = _hasher.hash(password)
            conn.execute(sa.update(t.users).where(t.users.c.id == row["id"]).values(**values))
            error = None
    # The failure counter is committed before the refusal is raised.
    if error is not None:
        raise error
    with engine.connect() as conn:
        actor = load_actor(conn, row["id"])
    assert actor is not None
    return actor


_DUMMY_HASH: list[str] = []  # computed on first use, not at import (a hash costs about half a second)


def _hasher_dummy_verify(password: str) -> None:
    """Spend the time of a real check, so that timing does not tell which usernames exist."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(_hasher.hash("civeval-no-such-user"))
    try:
        _hasher.verify(_DUMMY_HASH[0], password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        pass


def actor_for_identity(engine: sa.Engine, email: str) -> Actor | None:
    """The account an external (OIDC) identity maps to, by e-mail address; None when no active account has it."""
    with engine.connect() as conn:
        uid = conn.execute(
            sa.select(t.users.c.id).where(sa.func.lower(t.users.c.email) == (email or "").strip().lower())
        ).scalar_one_or_none()
        return load_actor(conn, uid) if uid is not None else None


def must_change_password(engine: sa.Engine, actor: Actor) -> bool:
    if actor.user_id is None:
        return False
    with engine.connect() as conn:
        return bool(
            conn.execute(sa.select(t.users.c.must_change_password).where(t.users.c.id == actor.user_id)).scalar()
        )


# --- browser sessions --------------------------------------------------------------------------

TOUCH_EVERY = dt.timedelta(seconds=60)  # how often activity is written back (not on every rerun)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(engine: sa.Engine, actor: Actor, *, now: dt.datetime | None = None) -> str:
    """A new session for a signed-in user: returns the random token the browser keeps (in a cookie)."""
    if actor.user_id is None:
        raise AccountError("系统账户不能登录界面")
    now = now or audit.now()
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(t.login_sessions).values(
                token_hash=_token_hash(token), user_id=actor.user_id, created_at=now, last_seen_at=now
            )
        )
    return token


def resume_session(
    engine: sa.Engine, token: str | None, *, now: dt.datetime | None = None, timeout: dt.timedelta | None = None
) -> Actor | None:
    """The user of a live session, or None: unknown or ended token, idle longer than the time-out (the
    session is then ended), or account disabled. Records the activity."""
    if not token:
        return None
    now = now or audit.now()
    with engine.begin() as conn:
        row = conn.execute(_live_session_select(), {"token_hash": _token_hash(token)}).first()
        if row is None:
            return None
        if session_expired(row.last_seen_at, now, timeout):
            conn.execute(sa.update(t.login_sessions).where(t.login_sessions.c.id == row.id).values(ended_at=now))
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            conn.execute(sa.update(t.login_sessions).where(t.login_sessions.c.id == row.id).values(last_seen_at=now))
        return load_actor(conn, row.user_id)


@functools.cache
def _live_session_select() -> sa.Select:
    return sa.select(t.login_sessions).where(
        t.login_sessions.c.token_hash == sa.bindparam("token_hash"), t.login_sessions.c.ended_at.is_(None)
    )


def end_session(engine: sa.Engine, token: str | None, *, now: dt.datetime | None = None) -> None:
    if token:
        with engine.begin() as conn:
            conn.execute(
                sa.update(t.login_sessions)
                .where(t.login_sessions.c.token_hash == _token_hash(token))
                .values(ended_at=now or audit.now())
            )


# --- changing accounts -------------------------------------------------------------------------


def change_own_password(engine: sa.Engine, actor: Actor, old: str, new: str) -> None:
    require(actor, Action.change_own_password)
    if actor.user_id is None:
        raise AccountError("系统账户没有密码")
    check_password_strength(new, actor.username)
    if new == old:
        raise AccountError("新密码不能与原密码相同")
    with audit.writing(engine, actor, context="修改本人密码") as conn:
        current = conn.execute(sa.select(t.users.c.password_hash).where(t.users.c.id == actor.user_id)).scalar_one()
        try:
            _hasher.verify(current, old or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise AccountError("原密码不正确") from None
        conn.execute(
            sa.update(t.users)
            .where(t.users.c.id == actor.user_id)
            .values(password_hash=hash_password(new), must_change_password=False)
        )


def _scope_id(conn: sa.Connection, grant: Grant) -> int | None:
    if grant.scope is None:
        if grant.role is Role.liaison:
            raise AccountError("单位联络员须指定所属单位")
        if grant.role is Role.coordinator:
            raise AccountError("街道协调员须指定所属街道或镇")
        return None
    row = conn.execute(sa.select(t.units.c.id, t.units.c.kind).where(t.units.c.name == grant.scope)).first()
    if row is None:
        raise AccountError(f"范围单位“{grant.scope}”不在单位名录中")
    if grant.role is Role.coordinator and row.kind not in (UnitKind.street.value, UnitKind.town.value):
        raise AccountError(f"街道协调员的范围须是街道或镇，“{grant.scope}”不是")
    return row.id


def _write_grants(conn: sa.Connection, user_id: int, grants: Iterable[Grant]) -> None:
    conn.execute(sa.delete(t.role_grants).where(t.role_grants.c.user_id == user_id))
    seen = set()
    for g in grants:
        key = (g.role, g.scope)
        if key in seen:
            continue
        seen.add(key)
        conn.execute(
            sa.insert(t.role_grants).values(user_id=user_id, role=g.role.value, scope_unit_id=_scope_id(conn, g))
        )


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    grants: tuple[Grant, ...]
    password: str | None = None  # None: a one-time password is generated and must be changed at first log-in
    email: str | None = None
    phone: str = ""


def validate_username(username: str) -> str:
    if username is not None and not isinstance(username, str):
        raise AccountError("用户名应为文字")
    name = (username or "").strip()
    if not name:
        raise AccountError("用户名不能为空")
    if len(name) > 64:
        raise AccountError("用户名不能超过 64 个字符")
    if any(c.isspace() for c in name):
        raise AccountError("用户名不能含空格")
    return name


_FIELD_LABELS = {"display_name": "姓名", "email": "邮箱", "phone": "手机"}


def _check_fields(**values: str | None) -> None:
    """AccountError for a name, e-mail address or phone number longer than the store keeps."""
    for key, value in values.items():
        label = _FIELD_LABELS[key]
        if value is not None and not isinstance(value, str):
            raise AccountError(f"「{label}」应为文字")
        limits.check_text((value or "").strip(), limits.column_limit(t.users.c[key]) or 0, label, AccountError)


def _insert_user(conn: sa.Connection, new: NewUser, *, must_change: bool) -> tuple[int, str]:
    username = validate_username(new.username)
    if not new.grants:
        raise AccountError("至少指定一个角色")
    if conn.execute(sa.select(t.users.c.id).where(t.users.c.username == username)).first():
        raise AccountError(f"用户名“{username}”已存在")
    password = new.password or generate_password()
    check_password_strength(password, username)
    _check_fields(display_name=new.display_name, email=new.email, phone=new.phone)
    uid = conn.execute(
        sa.insert(t.users).values(
            username=username,
            display_name=(new.display_name or username).strip(),
            email=new.email or None,
            phone=new.phone or "",
            password_hash=hash_password(password),
            must_change_password=must_change or new.password is None,
        )
    ).inserted_primary_key[0]
    _write_grants(conn, uid, new.grants)
    return uid, password


def create_user(engine: sa.Engine, actor: Actor, new: NewUser) -> str:
    """Add a user; returns the password to hand over (the one given, or a generated one-time password)."""
    require(actor, Action.manage_users)
    with audit.writing(engine, actor, context=f"新增用户 {new.username}") as conn:
        _, password = _insert_user(conn, new, must_change=new.password is None)
    return password


def create_users(engine: sa.Engine, actor: Actor, users: Iterable[NewUser]) -> dict[str, str]:
    """Add several users in one transaction (all or nothing). Returns username -> password to hand over."""
    require(actor, Action.manage_users)
    out = {}
    with audit.writing(engine, actor, context="批量导入用户") as conn:
        for new in users:
            _, out[new.username] = _insert_user(conn, new, must_change=new.password is None)
    return out


def update_user(
    engine: sa.Engine,
    actor: Actor,
    username: str,
    *,
    display_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    active: bool | None = None,
    grants: Iterable[Grant] | None = None,
) -> None:
    require(actor, Action.manage_users)
    with audit.writing(engine, actor, context=f"修改用户 {username}") as conn:
        uid = conn.execute(sa.select(t.users.c.id).where(t.users.c.username == username)).scalar_one_or_none()
        if uid is None:
            raise AccountError(f"用户“{username}”不存在")
        had_admin = has_admin(conn)
        if uid == actor.user_id and (
            active is False or (grants is not None and Role.admin not in {g.role for g in grants})
        ):
            raise AccountError("不能停用自己或取消自己的管理员角色")
        _check_fields(display_name=display_name, email=email, phone=phone)
        values = {
            k: v
            for k, v in dict(display_name=display_name, email=email, phone=phone, active=active).items()
            if v is not None
        }
        if values:
            conn.execute(sa.update(t.users).where(t.users.c.id == uid).values(**values))
        if grants is not None:
            grants = list(grants)
            if not grants:
                raise AccountError("至少指定一个角色")
            _write_grants(conn, uid, grants)
        if had_admin and not has_admin(conn):
            raise AccountError("至少保留一名启用的管理员")


def reset_password(engine: sa.Engine, actor: Actor, username: str) -> str:
    """An administrator resets a user's password: returns a one-time password, which must be changed at log-in.
    Also lifts a lock-out."""
    require(actor, Action.manage_users)
    password = generate_password()
    with audit.writing(engine, actor, context=f"重置密码 {username}") as conn:
        done = conn.execute(
            sa.update(t.users)
            .where(t.users.c.username == username)
            .values(
                password_hash=hash_password(password),
                must_change_password=True,
                failed_attempts=0,
                locked_until=None,
            )
        ).rowcount
    if not done:
        raise AccountError(f"用户“{username}”不存在")
    with engine.begin() as conn:  # a reset signs the user out everywhere
        uid = conn.execute(sa.select(t.users.c.id).where(t.users.c.username == username)).scalar_one()
        conn.execute(
            sa.update(t.login_sessions)
            .where(t.login_sessions.c.user_id == uid, t.login_sessions.c.ended_at.is_(None))
            .values(ended_at=audit.now())
        )
    return password


def create_admin(
    engine: sa.Engine, username: str = "admin", password: str | None = None, display_name: str = "创文办管理员"
) -> str:
    """Create an administrator from the server's console (CLI or first run). Without a password a one-time
    password is generated; it must be changed at first log-in. Returns the password to show once."""
    with audit.writing(engine, Actor.system("创建管理员")) as conn:
        _, pw = _insert_user(
            conn, NewUser(username, display_name, (Grant(role=Role.admin),), password), must_change=True
        )
    return pw


def ensure_first_admin(engine: sa.Engine) -> tuple[str, str] | None:
    """On a fresh install (no active administrator), create ``admin`` with a one-time password.
    Returns (username, password) to print on the console once, or None when an administrator exists."""
    with engine.connect() as conn:
        if has_admin(conn):
            return None
        taken = conn.execute(sa.select(t.users.c.id).where(t.users.c.username == "admin")).first() is not None
    username = "admin" if not taken else f"admin{secrets.randbelow(9000) + 1000}"
    return username, create_admin(engine, username)


def user_scope_units(conn: sa.Connection) -> list[str]:
    """Units a grant may be scoped to (for forms)."""
    return [u.name for u in repo.list_units(conn) if u.active]


__all__ = [
    "AccountError",
    "LoginError",
    "NewUser",
    "PermissionDenied",
    "UserInfo",
    "authenticate",
    "change_own_password",
    "create_admin",
    "create_user",
    "create_users",
    "ensure_first_admin",
    "list_users",
    "load_actor",
    "reset_password",
    "session_expired",
    "update_user",
]
