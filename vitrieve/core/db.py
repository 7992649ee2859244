"""Engine and session factory for the catalog, SQLite or PostgreSQL.

SQLite is tuned for several writer processes (CLI + workers + UI): WAL so readers never block
the writer, a long busy timeout so a second writer waits instead of failing with
'database is locked', and foreign keys on so cascades behave as on PostgreSQL.

A URL that cannot work (unparsable, an unsupported database, a driver not installed, a server
that refuses the connection) raises DatabaseURLError: one line naming the setting and the URL
with its password masked, never SQLAlchemy's multi-line report.

A catalog in a read-only data directory (a frozen library on a read-only mount, another user's
home) cannot even be read the usual way, because WAL readers need to create the `-shm` file.
It is opened as an immutable snapshot instead, so commands that only read work; the first
write fails with one line naming the file.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from vitrieve.core.errors import VitrieveError
from vitrieve.core.redact import hide_password, redact

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 60_000
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
_EXAMPLES = "sqlite:///PATH or postgresql://USER@HOST/DATABASE"
_CATALOG_ATTR = "vitrieve_catalog"


class DatabaseURLError(VitrieveError):
    """The catalog URL cannot be used; the message names the setting and hides the password."""


class CatalogReadOnlyError(VitrieveError):
    """A write to a catalog opened read-only (see the module docstring)."""


class CatalogUnreachableError(DatabaseURLError, OperationalError):
    """No connection could be opened. Still an OperationalError, so the workers keep retrying
    it as transient (a database restarting) while the CLI prints its one line."""

    def __init__(self, message: str, orig: BaseException) -> None:
        OperationalError.__init__(self, None, None, orig)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(
        self,
    ) -> tuple[Any, ...]:  # a worker's pool sends exceptions between processes pickled
        return (self.__class__, (self.message, self.orig))


def make_engine(url: str, *, setting: str = "database URL") -> Engine:
    """`setting` names where the URL came from (e.g. VITRIEVE_DATABASE_URL) in error messages."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # not echoed: which part is a password is unknowable
        raise DatabaseURLError(f"{setting}: not a database URL (expected {_EXAMPLES})") from None
    where = f"{setting}={hide_password(url)}"
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise DatabaseURLError(
            f"{where}: unsupported database {backend!r} (expected {_EXAMPLES})"
        ) from None
    try:
        engine = _create(parsed)
    except ImportError as exc:
        raise DatabaseURLError(
            f"{where}: database driver {parsed.drivername!r} is not installed ({exc.name}); "
            "postgresql:// uses psycopg 3: pip install 'vitrieve[postgres]'"
        ) from None
    except OSError as exc:  # the SQLite file's folder cannot be created
        raise DatabaseURLError(f"{where}: {exc.filename}: {exc.strerror}") from None
    label = f"catalog {parsed.database}" if _is_sqlite_file(parsed) else where
    event.listen(engine, "handle_error", lambda ctx: _name_catalog(ctx, label))
    event.listen(engine, "handle_error", lambda ctx: _refused(ctx, where))
    return engine


def catalog_of(exc: BaseException) -> str | None:
    """Which catalog a database error came from ('catalog /home/me/.vitrieve/catalog.db', or
    the setting and URL with its password masked), for errors raised through make_engine's
    engines; so a message about 'disk I/O error' or 'database is locked' names the file."""
    label = getattr(exc, _CATALOG_ATTR, None)
    return label if isinstance(label, str) else None


def _name_catalog(ctx: ExceptionContext, label: str) -> None:
    """Tags the error with its catalog without changing its type (the workers retry
    OperationalError as transient)."""
    if ctx.sqlalchemy_exception is not None:
        setattr(ctx.sqlalchemy_exception, _CATALOG_ATTR, label)


def _is_sqlite_file(parsed: URL) -> bool:
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")


def _refused(ctx: ExceptionContext, where: str) -> CatalogUnreachableError | None:
    """A connection that could not even be opened (server down, unknown database, wrong
    password) becomes one line. Errors on an open connection, and the pool's pre-ping, which
    reconnects by itself, pass through unchanged."""
    if ctx.connection is not None or ctx.is_pre_ping:
        return None
    if not isinstance(ctx.sqlalchemy_exception, OperationalError):
        return None
    orig = ctx.original_exception
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    reason = redact(" ".join(lines)) or type(orig).__name__
    return CatalogUnreachableError(f"{where}: cannot connect: {reason}", orig)


def _create(parsed: URL) -> Engine:
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            if _sqlite_read_only(Path(parsed.database)):
                return _read_only_sqlite_engine(parsed, Path(parsed.database))
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, future=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// would look for psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, future=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
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


def _read_only_sqlite_engine(url: URL, path: Path) -> Engine:
    """`immutable=1`: SQLite reads without locks or a -shm file. Nobody can write the catalog
    through this folder, so a snapshot is what there is to read."""
    log.info("catalog %s is read-only: opened as an immutable snapshot", path)
    uri = f"{path.absolute().as_uri()}?mode=ro&immutable=1"
    engine = create_engine(
        url, creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
    )

    @event.listens_for(engine, "handle_error")
    def _read_only_write(context: Any) -> None:
        if isinstance(context.original_exception, sqlite3.OperationalError) and "readonly" in str(
            context.original_exception
        ):
            raise CatalogReadOnlyError(
                f"cannot write the catalog {path}: it is read-only"
            ) from None

    event.listen(engine, "connect", _sqlite_read_pragmas)
    return engine


def _sqlite_read_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
