"""Specification tests for the catalog schema's migrations, on SQLite and on PostgreSQL.

The schema belongs to Alembic: `core.migrate.upgrade` builds it, and the ORM classes in
`vitrieve.tables` must describe exactly what the latest migration built.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from vitrieve.core import migrate
from vitrieve.core.db import SQLITE_BUSY_TIMEOUT_MS, make_engine
from vitrieve.tables import metadata

CATALOG_TABLES = set(metadata.tables)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def stamped_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def test_a_new_database_has_no_catalog_and_no_revision(engine: Engine) -> None:
    assert table_names(engine) & CATALOG_TABLES == set()
    assert migrate.current_revision(engine) is None
    assert not migrate.is_current(engine)


def test_upgrade_to_head_creates_the_catalog_tables_and_stamps_head(engine: Engine) -> None:
    migrate.upgrade(engine)

    assert table_names(engine) >= CATALOG_TABLES
    head = migrate.head_revision(engine)
    assert head is not None
    assert stamped_revision(engine) == head
    assert migrate.is_current(engine)


def test_models_match_the_latest_migration(engine: Engine) -> None:
    migrate.upgrade(engine)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)

    assert differences == []


def test_downgrade_to_base_drops_the_catalog_and_upgrade_rebuilds_it(engine: Engine) -> None:
    migrate.upgrade(engine)

    migrate.downgrade(engine, "base")
    assert table_names(engine) & CATALOG_TABLES == set()
    assert migrate.current_revision(engine) is None

    migrate.upgrade(engine)
    assert table_names(engine) >= CATALOG_TABLES
    assert migrate.is_current(engine)


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO roots (path, added_at) VALUES ('/photos', :now)"),
            {"now": "2024-01-01T00:00:00+00:00"},
        )

    migrate.upgrade(engine)

    assert migrate.is_current(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT path FROM roots")).scalars().all() == ["/photos"]


def sqlite_pragma(engine: Engine, name: str):
    with engine.connect() as conn:
        return conn.execute(text(f"PRAGMA {name}")).scalar_one()


def test_sqlite_engines_use_wal_a_long_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'catalog.db'}")
    try:
        assert str(sqlite_pragma(engine, "journal_mode")).lower() == "wal"
        assert sqlite_pragma(engine, "busy_timeout") >= 30_000
        assert sqlite_pragma(engine, "busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
        assert sqlite_pragma(engine, "foreign_keys") == 1
    finally:
        engine.dispose()
