"""Which roots a command works on, and the locks that keep two commands on one root apart.

- `roots` (catalog-wide, held for milliseconds): registering a root, which may absorb the roots
  inside it. Without it, `ingest photos` and `ingest photos/x` started together could register
  both folders as roots and index every image of x twice.
- `root-<id>` (per root): held while a root is reconciled, and by in-process ingest until its
  last batch is written, so a second ingest of that root (or of a folder in it) waits and then
  finds nothing left to embed instead of embedding the same pending images again; background
  scans hold it while they reconcile.

Both are catalog locks (vitrieve/core/locks.py): released by the kernel or the database server when
their holder dies, so a kill -9 never leaves one stale. A root lock is never waited for while
holding the `roots` lock or a database transaction, so they cannot deadlock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import select

from vitrieve.core.locks import CatalogLock, catalog_lock
from vitrieve.indexer.catalog import RootTarget, resolve_target
from vitrieve.indexer.library import Library
from vitrieve.tables.catalog import Root

log = logging.getLogger(__name__)

ROOTS_LOCK = "roots"


def root_lock_name(root_id: int) -> str:
    return f"root-{root_id}"


def root_lock(lib: Library, root_id: int, what: str):
    """The lock of one root (see the module doc); logs `what` holds it while waiting."""
    return catalog_lock(lib.engine, root_lock_name(root_id), on_wait=_waiting(what))


def _waiting(what: str):
    return lambda: log.warning("another vitrieve process is %s; waiting for it", what)


def resolve_targets(lib: Library, paths: Sequence[Path]) -> list[RootTarget]:
    """`resolve_target` for each path, committed, under the `roots` lock.

    Registering a folder that contains roots absorbs them, so their locks must be free: if one
    is busy (being ingested), we let go of `roots`, wait for that root, and try again.
    """
    wanted = [Path(p).expanduser().resolve() for p in paths]
    while True:
        with catalog_lock(lib.engine, ROOTS_LOCK, on_wait=_waiting("registering roots")):
            with lib.sessions() as session:
                inside = {
                    rid: Path(path)
                    for rid, path in session.execute(select(Root.id, Root.path))
                    if any(p in Path(path).parents for p in wanted)
                }
            busy, held = None, []
            try:
                for rid in sorted(inside):
                    lock = CatalogLock(lib.engine, root_lock_name(rid))
                    if not lock.acquire(blocking=False):
                        busy = rid
                        break
                    held.append(lock)
                if busy is None:
                    with lib.sessions.begin() as session:
                        return [resolve_target(session, p) for p in wanted]
            finally:
                for lock in held:
                    lock.release()
        with root_lock(lib, busy, f"ingesting {inside[busy]}, which a new parent root absorbs"):
            pass


@contextmanager
def locked_targets(lib: Library, paths: Sequence[Path]) -> Iterator[list[RootTarget]]:
    """The targets of `paths`, with the lock of each of their roots held (in id order).

    A root absorbed by another process between resolving and locking is noticed after locking
    (its row is gone or moved), and the paths are resolved again.
    """
    while True:
        targets = resolve_targets(lib, paths)
        with ExitStack() as stack:
            for rid in sorted({t.root_id for t in targets}):
                path = next(t.root_path for t in targets if t.root_id == rid)
                stack.enter_context(root_lock(lib, rid, f"ingesting {path}"))
            if _still_registered(lib, targets):
                yield targets
                return


def _still_registered(lib: Library, targets: Sequence[RootTarget]) -> bool:
    with lib.sessions() as session:
        roots = dict(
            session.execute(
                select(Root.id, Root.path).where(Root.id.in_({t.root_id for t in targets}))
            ).all()
        )
    return all(t.root_id in roots and Path(roots[t.root_id]) == t.root_path for t in targets)
