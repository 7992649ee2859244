"""Opening the catalog so that a damaged or foreign SQLite file is never taken for a new library.

SQLite creates a database file on first connect, and migrating an empty file yields a fresh,
empty catalog: a catalog truncated to 0 bytes (a full disk, a failed copy, a restore gone
wrong) would silently become a new library, and the vector index built from the old one would
be thrown away. So the one rule is: only a *missing* file is a new library.

- A missing SQLite catalog is created atomically: migrated to the current schema in a private
  temp file next to it, made self-contained (no -wal), then linked into place, all under the
  catalog's `migrate` lock. A process killed half-way leaves only the temp file (removed by the
  next creator), never a half-made catalog; two processes creating one library at once both
  succeed (the second finds the file there).
- An existing file must be an SQLite database (magic header), no shorter than its header says
  (truncated), readable, and hold vitrieve's `alembic_version` table. Anything else is one
  error naming the file and what to do: restore a backup, or move the file away to start a new
  library. These checks read 100 bytes and the schema table, so every command can afford them.

PostgreSQL catalogs are created by their administrator (an empty database is a new library),
so only SQLite files are checked here.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from vitrieve.core import migrate
from vitrieve.core.db import SQLITE_BUSY_TIMEOUT_MS, make_engine
from vitrieve.core.errors import VitrieveError
from vitrieve.core.locks import catalog_lock
from vitrieve.indexer.durable import fsync_dir

log = logging.getLogger(__name__)

_MAGIC = b"SQLite format 3\x00"
_HEADER = 100
_WHAT_TO_DO = "restore it from a backup, or move it away to start a new library"


class CatalogFileError(VitrieveError):
    """An existing catalog file that is not a usable vitrieve catalog; names the file."""


def open_catalog(url: str, *, setting: str) -> Engine:
    """The catalog's engine, after creating a missing SQLite file (atomically, migrated) or
    refusing an existing one that is not a vitrieve catalog."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        create_catalog(url, path, setting=setting)
    if path is not None:
        check_file(path)
        check_schema(path)
    return make_engine(url, setting=setting)


def sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL; None for PostgreSQL, in-memory or unparsable URLs
    (make_engine reports those)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # URI filenames: left to SQLite
        return None
    return Path(database).expanduser().absolute()


def check_file(path: Path) -> None:
    """Raises CatalogFileError unless `path` starts like an SQLite database and is as long as
    its header says. Cheap: one stat and 100 bytes."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(_HEADER)
    except IsADirectoryError:
        raise CatalogFileError(f"catalog {path} is a directory, not a database file") from None
    except OSError as exc:
        raise CatalogFileError(f"catalog {path}: cannot read: {exc.strerror}") from None
    if size == 0:
        raise CatalogFileError(
            f"catalog {path} is empty (0 bytes), not a vitrieve catalog: {_WHAT_TO_DO}"
        )
    if len(head) < _HEADER or not head.startswith(_MAGIC):
        raise CatalogFileError(f"catalog {path} is not an SQLite database: {_WHAT_TO_DO}")
    expected = _header_size(head)
    if expected is not None and size < expected and not _wal_pending(path):
        raise CatalogFileError(
            f"catalog {path} is truncated ({size} of {expected} bytes): {_WHAT_TO_DO}"
        )


def _header_size(head: bytes) -> int | None:
    """The file size the header states, when that field is valid (SQLite file format, 1.3)."""
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    if head[24:28] != head[92:96] or not pages:  # written by a pre-3.7 SQLite: not reliable
        return None
    return pages * page_size


def _wal_pending(path: Path) -> bool:
    """A non-empty -wal file: a checkpoint may be growing the file right now (it writes the
    header page first), so its length is not judged; SQLite itself reads the WAL."""
    try:
        return os.stat(f"{path}-wal").st_size > 0
    except OSError:
        return False


def check_schema(path: Path) -> None:
    """Raises CatalogFileError when the file is damaged (SQLite cannot read its schema) or
    holds no `alembic_version` table (another program's database, left exactly as it was:
    read through a read-only connection, before any pragma could switch its journal mode)."""
    try:
        names = _tables(path)
    except sqlite3.OperationalError as exc:  # locked past the timeout, I/O error
        raise CatalogFileError(f"catalog {path}: cannot read: {exc}") from None
    except sqlite3.DatabaseError as exc:  # "file is not a database", "... malformed"
        raise CatalogFileError(f"catalog {path} is damaged ({exc}): {_WHAT_TO_DO}") from None
    if "alembic_version" not in names:
        raise CatalogFileError(
            f"catalog {path} is an SQLite database without vitrieve's tables "
            f"({len(names)} tables, none named alembic_version): {_WHAT_TO_DO}"
        )


def _tables(path: Path) -> set[str]:
    """Table names, read-only; in a read-only folder (a WAL reader cannot make or write the
    -shm file) as a snapshot, as db.py opens such a catalog."""
    for options in ("mode=ro", "mode=ro&immutable=1"):
        uri = f"{path.as_uri()}?{options}"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
            try:
                rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                return {row[0] for row in rows}
            finally:
                conn.close()
        except sqlite3.OperationalError as exc:
            unreadable_here = "unable to open" in str(exc) or "readonly" in str(exc)
            if not unreadable_here or "immutable" in options:
                raise
    raise AssertionError("unreachable")


def create_catalog(url: str, path: Path, *, setting: str) -> None:
    """Create the missing catalog at `path`, migrated to the current schema, atomically.

    Under the `migrate` lock: a second creator waits, then finds the file and returns. The
    schema is built in `.NAME.new-PID` beside it, which is switched out of WAL mode (so the one
    file holds everything) and hard-linked into place: the link fails rather than replace a
    catalog that appeared meanwhile. Temp files of creators killed before are removed first.
    """
    engine = make_engine(url, setting=setting)  # no connection: it only names the lock
    try:
        with catalog_lock(engine, migrate.MIGRATE_LOCK):
            if path.exists():
                return
            for stale in path.parent.glob(f".{path.name}.new-*"):
                stale.unlink(missing_ok=True)
            tmp = path.with_name(f".{path.name}.new-{os.getpid()}")
            try:
                _build(tmp)
                _link_into_place(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
            fsync_dir(path.parent, strict=True)
            log.info("created a new catalog %s", path)
    finally:
        engine.dispose()


def _build(tmp: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp}")
    try:
        migrate.create(engine)
    finally:
        engine.dispose()
    conn = sqlite3.connect(tmp)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")  # folds the WAL in and deletes it
    finally:
        conn.close()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_into_place(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:  # made by something that does not take the lock: it stays
        log.warning("catalog %s appeared while it was being created; using it", path)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # a file system without hard links: rename, after one last look under the lock
        if not path.exists():
            os.rename(tmp, path)
