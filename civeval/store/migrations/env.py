"""Alembic environment: runs on the connection civeval hands it (see civeval.store.db.migrate)."""

from alembic import context

from civeval.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic` run by hand, e.g. to autogenerate: use the default database
    from civeval.store.db import create_engine

    connection = create_engine().connect()

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
