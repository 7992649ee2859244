"""Alembic environment: runs on the connection that `core.migrate` hands over.

`render_as_batch` lets the same migration scripts alter tables on SQLite (which cannot ALTER
most things in place) and on PostgreSQL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from vitrieve.tables import metadata

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
    if connection is None:  # the plain `alembic` command: no engine setup (drivers, pragmas)
        raise SystemExit("vitrieve migrations run through `vitrieve db upgrade`, not alembic.")
    _run(connection)


if context.is_offline_mode():
    raise SystemExit("vitrieve migrations run online only: use `vitrieve db upgrade`.")
run_migrations_online()
