"""Storage: SQLAlchemy 2 Core tables, the repositories over them, Alembic migrations."""

from civeval.store.db import create_engine, default_url, migrate, migrations_current, open_engine

__all__ = ["create_engine", "default_url", "migrate", "migrations_current", "open_engine"]
