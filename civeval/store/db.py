"""Opening the database: the embedded SQLite file by default, PostgreSQL when CIVEVAL_DATABASE_URL says so."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from civeval import audit, limits

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EVALUATIONS_DIR = Path(os.environ.get("CIVEVAL_HOME", PROJECT_ROOT / "evaluations"))
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 15_000


def default_url() -> str:
    """CIVEVAL_DATABASE_URL, or the SQLite file under evaluations/."""
    url = os.environ.get("CIVEVAL_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{EVALUATIONS_DIR / 'civeval.db'}"


def _normalise(url: str) -> str:
    # Plain postgresql:// URLs use the psycopg 3 driver that requirements.txt installs.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def create_engine(url: str | None = None) -> sa.Engine:
    url = _normalise(url or default_url())
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        # One writer at a time in SQLite: this process's threads queue here (see civeval.audit.write_lock).
        engine.civeval_write_lock = threading.RLock()
        audit.install(engine)
        limits.install(engine)  # SQLite refuses too long text as PostgreSQL does
        return engine
    engine = sa.create_engine(url, pool_pre_ping=True)
    audit.install(engine)
    limits.install(engine)
    return engine


def _alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Apply every Alembic migration not yet applied (run on every start)."""
    with engine.begin() as conn:
        conn.execution_options(audit_exempt=True)  # schema changes; data migrations log their own entries
        command.upgrade(_alembic_config(conn), "head")


def migrations_current(engine: sa.Engine) -> bool:
    heads = set(ScriptDirectory.from_config(_alembic_config()).get_heads())
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == heads


def open_engine(url: str | None = None) -> sa.Engine:
    """An engine on a database whose schema is current."""
    engine = create_engine(url)
    migrate(engine)
    return engine
