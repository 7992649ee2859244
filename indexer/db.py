"""Engine and session factory for the catalog, SQLite or PostgreSQL.

SQLite is tuned for several writer processes (CLI + workers + UI): WAL so readers never block
the writer, a long busy timeout so a second writer waits instead of failing with
'database is locked', and foreign keys on so cascades behave as on PostgreSQL.

A URL that cannot work (unparsable, an unsupported database, a driver not installed, a server
that refuses the connection) raises DatabaseURLError: one line naming the setting and the URL
with its password masked, never SQLAlchemy's multi-line report.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from indexer.errors import VitrieveError
from indexer.redact import hide_password, redact

SQLITE_BUSY_TIMEOUT_MS = 60_000
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
_EXAMPLES = "sqlite:///PATH or postgresql://USER@HOST/DATABASE"


class DatabaseURLError(VitrieveError):
    """The catalog URL cannot be used; the message names the setting and hides the password."""


class CatalogUnreachableError(DatabaseURLError, OperationalError):
    """No connection could be opened. Still an OperationalError, so the workers keep retrying
    it as transient (a database restarting) while the CLI prints its one line."""

    def __init__(self, message: str, orig: BaseException) -> None:
        OperationalError.__init__(self, None, None, orig)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # a worker's pool sends exceptions between processes pickled
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
            "postgresql:// uses psycopg 3, which vitrieve ships"
        ) from None
    except OSError as exc:  # the SQLite file's folder cannot be created
        raise DatabaseURLError(f"{where}: {exc.filename}: {exc.strerror}") from None
    event.listen(engine, "handle_error", lambda ctx: _refused(ctx, where))
    return engine


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


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any error."""
    with factory() as session, session.begin():
        yield session
