"""Engine and session factory for the catalog, SQLite or PostgreSQL.

SQLite is tuned for several writer processes (CLI + workers + UI): WAL so readers never block
the writer, a long busy timeout so a second writer waits instead of failing with
'database is locked', and foreign keys on so cascades behave as on PostgreSQL.

A catalog in a read-only data directory (a frozen library on a read-only mount, another user's
home) cannot even be read the usual way, because WAL readers need to create the `-shm` file.
It is opened as an immutable snapshot instead, so commands that only read work; the first
write fails with one line naming the file.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from indexer.errors import VitrieveError

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 60_000


class CatalogReadOnlyError(VitrieveError):
    """A write to a catalog opened read-only (see the module docstring)."""


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            if _sqlite_read_only(Path(parsed.database)):
                return _read_only_sqlite_engine(url, Path(parsed.database))
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, future=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// would look for psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, future=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_read_only(path: Path) -> bool:
    """True when the catalog exists but cannot be opened for writing (file or folder)."""
    if not path.is_file():
        return False
    try:
        conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        return "readonly" in str(exc) or "unable to open" in str(exc)
    return False


def _read_only_sqlite_engine(url: str, path: Path) -> Engine:
    """`immutable=1`: SQLite reads without locks or a -shm file. Nobody can write the catalog
    through this folder, so a snapshot is what there is to read."""
    log.info("catalog %s is read-only: opened as an immutable snapshot", path)
    uri = f"{path.absolute().as_uri()}?mode=ro&immutable=1"
    engine = create_engine(
        url, creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
    )

    @event.listens_for(engine, "handle_error")
    def _read_only_write(context) -> None:
        if isinstance(context.original_exception, sqlite3.OperationalError) and "readonly" in str(
            context.original_exception
        ):
            raise CatalogReadOnlyError(
                f"cannot write the catalog {path}: it is read-only"
            ) from None

    event.listen(engine, "connect", _sqlite_read_pragmas)
    return engine


def _sqlite_read_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any error."""
    with factory() as session, session.begin():
        yield session
