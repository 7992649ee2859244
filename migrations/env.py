"""Alembic environment: runs on the connection that `indexer.migrate` hands over.

`render_as_batch` lets the same migration scripts alter tables on SQLite (which cannot ALTER
most things in place) and on PostgreSQL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from indexer.db import make_engine
from indexer.schema import metadata

config = context.config
# A caller may narrow the metadata (used to autogenerate one migration per feature).
target_metadata = config.attributes.get("target_metadata", metadata)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("vitrieve migrations run online only: use `vitrieve db upgrade`.")
run_migrations_online()
