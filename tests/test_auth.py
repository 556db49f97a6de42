"""Accounts: argon2id hashes, lock-out, idle time-out, first administrator, password changes."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from civeval import audit, auth
from civeval.models import Grant, Role, Unit, UnitKind
from civeval.store import schema as t
from tests.conftest import ADMIN

T0 = dt.datetime(2026, 11, 2, 9, 0)


def add_user(engine, name="zhang", password="Good-pass-9", grants=None):
    grants = tuple(grants or (Grant(role=Role.inspector),))
    auth.create_user(engine, ADMIN, auth.NewUser(name, "张三", grants, password))


def test_passwords_are_stored_as_argon2id_hashes_only(sqlite_url):
    from civeval.store import open_engine

    engine = open_engine(sqlite_url)
    add_user(engine)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(t.users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "Good-pass-9" not in stored


def test_login_ok_returns_the_actor_with_grants(engine):
    with audit.writing(engine, ADMIN) as conn:
        from civeval.store import repo

        repo.save_units(conn, [Unit(code="S1", name="城关街道", kind=UnitKind.street)])
    add_user(engine, grants=[Grant(role=Role.coordinator, scope="城关街道"), Grant(role=Role.inspector)])
    actor = auth.authenticate(engine, "zhang", "Good-pass-9", now=T0)
    assert actor.username == "zhang" and actor.grants == (
        Grant(role=Role.coordinator, scope="城关街道"),
        Grant(role=Role.inspector),
    )


def test_five_failures_lock_for_fifteen_minutes_even_with_the_right_password(engine):
    add_user(engine)
    for i in range(4):
        with pytest.raises(auth.LoginError, match=f"再错 {4 - i} 次"):
            auth.authenticate(engine, "zhang", "wrong", now=T0)
    with pytest.raises(auth.LoginError, match="已锁定 15 分钟"):
        auth.authenticate(engine, "zhang", "wrong", now=T0)
    with pytest.raises(auth.LoginError, match="锁定"):
        auth.authenticate(engine, "zhang", "Good-pass-9", now=T0 + dt.timedelta(minutes=14))
    assert auth.authenticate(engine, "zhang", "Good-pass-9", now=T0 + dt.timedelta(minutes=15, seconds=1))


def test_a_success_resets_the_failure_count(engine):
    add_user(engine)
    for _ in range(4):
        with pytest.raises(auth.LoginError):
            auth.authenticate(engine, "zhang", "wrong", now=T0)
    auth.authenticate(engine, "zhang", "Good-pass-9", now=T0)
    with pytest.raises(auth.LoginError, match="再错 4 次"):
        auth.authenticate(engine, "zhang", "wrong", now=T0)


def test_unknown_user_and_disabled_user_get_the_same_message(engine):
    add_user(engine)
    auth.update_user(engine, ADMIN, "zhang", active=False)
    for name in ("zhang", "nobody"):
        with pytest.raises(auth.LoginError, match=r"^用户名或密码错误$"):
            auth.authenticate(engine, name, "Good-pass-9")


def test_idle_timeout(monkeypatch):
    assert not auth.session_expired(T0, T0 + dt.timedelta(minutes=29))
    assert auth.session_expired(T0, T0 + dt.timedelta(minutes=31))
    monkeypatch.setenv("CIVEVAL_IDLE_TIMEOUT_MINUTES", "5")
    assert auth.session_expired(T0, T0 + dt.timedelta(minutes=6))


def test_fresh_install_gets_a_one_time_admin_password_that_must_be_changed(engine):
    username, password = auth.ensure_first_admin(engine)
    assert auth.ensure_first_admin(engine) is None  # only once
    actor = auth.authenticate(engine, username, password)
    assert auth.must_change_password(engine, actor)
    with pytest.raises(auth.AccountError, match="至少 8 位"):
        auth.change_own_password(engine, actor, password, "short1")
    with pytest.raises(auth.AccountError, match="原密码不正确"):
        auth.change_own_password(engine, actor, "not-it-123", "New-pass-123")
    auth.change_own_password(engine, actor, password, "New-pass-123")
    assert not auth.must_change_password(engine, actor)
    with pytest.raises(auth.LoginError):
        auth.authenticate(engine, username, password)
    assert auth.authenticate(engine, username, "New-pass-123")


def test_admin_reset_gives_a_one_time_password_and_lifts_a_lock(engine):
    add_user(engine)
    for _ in range(5):
        with pytest.raises(auth.LoginError):
            auth.authenticate(engine, "zhang", "wrong")
    one_time = auth.reset_password(engine, ADMIN, "zhang")
    actor = auth.authenticate(engine, "zhang", one_time)
    assert auth.must_change_password(engine, actor)


def test_scoped_roles_need_a_valid_scope(engine):
    with pytest.raises(auth.AccountError, match="须指定所属单位"):
        add_user(engine, grants=[Grant(role=Role.liaison)])
    with pytest.raises(auth.AccountError, match="不在单位名录中"):
        add_user(engine, grants=[Grant(role=Role.liaison, scope="不存在的局")])


def test_the_last_admin_cannot_be_removed(engine):
    auth.create_admin(engine, "boss", "Chief-pass-123")
    boss = auth.authenticate(engine, "boss", "Chief-pass-123")
    with pytest.raises(auth.AccountError, match="不能停用自己"):
        auth.update_user(engine, boss, "boss", active=False)
    with pytest.raises(auth.AccountError, match="至少保留一名"):
        auth.update_user(engine, ADMIN, "boss", grants=[Grant(role=Role.leader)])


def test_production_hashes_use_the_recommended_argon2id_parameters():
    import subprocess
    import sys

    code = "from civeval import auth; print(auth.hash_password('Abc-12345'))"
    env = {k: v for k, v in __import__("os").environ.items() if k != "CIVEVAL_ARGON2_FAST"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_session_resumes_until_idle_too_long_then_ends(engine):
    add_user(engine)
    actor = auth.authenticate(engine, "zhang", "Good-pass-9", now=T0)
    token = auth.start_session(engine, actor, now=T0)
    assert auth.resume_session(engine, token, now=T0 + dt.timedelta(minutes=20)).username == "zhang"
    # activity at minute 20 keeps it alive until minute 50
    assert auth.resume_session(engine, token, now=T0 + dt.timedelta(minutes=49)) is not None
    assert auth.resume_session(engine, token, now=T0 + dt.timedelta(minutes=49 + 31)) is None
    assert auth.resume_session(engine, token, now=T0 + dt.timedelta(minutes=81)) is None  # ended for good
    assert auth.resume_session(engine, "forged-token", now=T0) is None


def test_sign_out_and_disabling_end_sessions(engine):
    add_user(engine)
    actor = auth.authenticate(engine, "zhang", "Good-pass-9")
    token = auth.start_session(engine, actor)
    auth.end_session(engine, token)
    assert auth.resume_session(engine, token) is None
    token = auth.start_session(engine, actor)
    auth.update_user(engine, ADMIN, "zhang", active=False)
    assert auth.resume_session(engine, token) is None
