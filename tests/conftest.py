"""Shared fixtures. The store tests run on SQLite and on a throwaway PostgreSQL (started here, stopped after).

Under CI=true a test that would skip for want of PostgreSQL or Chromium fails instead.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

# Cheap argon2id parameters for the many test accounts (tests/test_auth.py checks the production ones).
os.environ.setdefault("CIVEVAL_ARGON2_FAST", "1")

import pytest

from civeval.models import Actor, Grant, Role
from tests import pgserver

# An administrator acting in tests that are not about permissions.
ADMIN = Actor(user_id=None, username="test-admin", display_name="测试管理员", grants=(Grant(role=Role.admin),))

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = Path(os.environ.get("CIVEVAL_CHROMIUM", "/usr/bin/chromium"))


def skip_or_fail(reason: str) -> None:
    """Skip locally; under CI a missing PostgreSQL or browser is a failure, not a skip."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server():
    url = os.environ.get("CIVEVAL_TEST_PG_URL")
    if url:  # an existing server the caller manages
        yield url
        return
    if not pgserver.available():
        skip_or_fail(f"PostgreSQL not found at {pgserver.PG_BIN}")
    server = pgserver.PgServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    name = "t_" + uuid.uuid4().hex[:12]
    if isinstance(pg_server, str):
        import sqlalchemy as sa

        engine = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return pg_server.rsplit("/", 1)[0] + f"/{name}"
    return pg_server.create_database(name)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'civeval.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """A fresh empty database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url):
    """An engine on a fresh, migrated database (SQLite and PostgreSQL)."""
    from civeval.store import open_engine

    eng = open_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        skip_or_fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return str(CHROMIUM)
