"""Runs the Alembic migrations that own the catalog schema (tables are never create_all'ed).

Migrating runs under the catalog's `migrate` lock (vitrieve/core/locks.py): when several commands
start at once on a new catalog, one migrates while the others wait, then find the schema
current and go on, instead of failing with "table ... already exists".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from vitrieve import migrations
from vitrieve.core.locks import catalog_lock

MIGRATE_LOCK = "migrate"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    with catalog_lock(engine, MIGRATE_LOCK):
        _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    with catalog_lock(engine, MIGRATE_LOCK):
        _run(engine, command.downgrade, revision)


def ensure_current(engine: Engine, on_wait: Callable[[], None] | None = None) -> bool:
    """Upgrades to head unless the schema is current; True if this call migrated.

    Checked again under the lock: a process that waited for another one's migration finds the
    schema current and does nothing.
    """
    if is_current(engine):
        return False
    with catalog_lock(engine, MIGRATE_LOCK, on_wait=on_wait):
        if is_current(engine):
            return False
        _run(engine, command.upgrade, "head")
        return True


def create(engine: Engine) -> None:
    """Migrate a new catalog nobody else can see yet (indexer/catalog_file.py builds it in a
    private temp file) to head, without the lock: its lock folder would only be litter."""
    _run(engine, command.upgrade, "head")


def wait_current(engine: Engine) -> bool:
    """Whether the schema is current, waiting for a migration in progress to finish first."""
    if is_current(engine):
        return True
    with catalog_lock(engine, MIGRATE_LOCK):
        return is_current(engine)


def _run(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        step(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(engine)
