"""Registered roots: add (optionally watched), list, remove. Files on disk are never touched."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from sqlalchemy import delete, select

from vitrieve.core.errors import MAX_ID, ModelUnavailableError, VitrieveError
from vitrieve.indexer import catalog
from vitrieve.indexer.catalog import refuse_data_dir
from vitrieve.indexer.index.lock import index_lock
from vitrieve.indexer.library import Library
from vitrieve.indexer.root_locks import resolve_targets, root_lock
from vitrieve.search.duplicates.reference import list_references
from vitrieve.tables.catalog import Image, ImageStatus, Root

log = logging.getLogger(__name__)


def add_root(lib: Library, path: Path, watch: bool | None) -> tuple[Path, bool]:
    """Registers `path` (or finds the root containing it); `watch` None leaves the flag as is."""
    refuse_data_dir(path, lib.settings.home)
    (target,) = resolve_targets(lib, [path])  # under the roots lock, like ingest
    with lib.sessions.begin() as session:
        root = session.get(Root, target.root_id)
        if root is None:  # removed by another command since it was resolved
            raise VitrieveError(f"{path}: its root was removed meanwhile; add it again")
        if watch is not None:
            root.watch = watch
        return Path(root.path), bool(root.watch)


def watched_roots(lib: Library) -> list[Path]:
    with lib.sessions() as session:
        return [Path(p) for p in session.scalars(select(Root.path).where(Root.watch.is_(True)))]


def list_roots(lib: Library) -> list[dict]:
    """`catalog.list_roots` as the JSON rows of `vitrieve roots list`, with the reference
    folders (search/duplicates/reference.py) of each root: the root itself or folders in it."""
    with lib.sessions() as session:
        references = list_references(session)
    return [
        {
            "id": r.id,
            "path": r.path,
            "watch": r.watch,
            "images": r.images,
            "embedded": r.counts[ImageStatus.EMBEDDED.value],
            "reference": [f.path for f in references if f.root_id == r.id],
        }
        for r in catalog.list_roots(lib.sessions)
    ]


def find_root(lib: Library, spec: str) -> Root:
    with lib.sessions() as session:
        root = None
        if spec.isdigit() and int(spec) <= MAX_ID:
            root = session.get(Root, int(spec))
        if root is None:
            path = str(Path(spec).expanduser().resolve())
            root = session.scalar(select(Root).where(Root.path == path))
    if root is None:
        raise VitrieveError(f"{spec}: not a registered root (see `vitrieve roots list`)")
    return root


def remove_root(lib: Library, spec: str) -> tuple[Path, int]:
    """Deletes the root's rows (images, vectors cascade) and takes its ids out of the index.

    Under the root's lock (an ingest of it finishes first) and the index writer's lock, so a
    running index worker cannot save over the removal; it notices the file changed and
    reconciles with SQL.
    """
    root = find_root(lib, spec)
    with root_lock(lib, root.id, f"ingesting {root.path}"), index_lock(lib.settings.index_dir):
        try:
            index = lib.index()  # opened before the delete, so it agrees with SQL
        except ModelUnavailableError as exc:
            log.warning("no model (%s): the index is rebuilt from SQL when next opened", exc)
            index = None
        with lib.sessions.begin() as session:
            ids = session.scalars(select(Image.id).where(Image.root_id == root.id)).all()
            session.execute(delete(Root).where(Root.id == root.id))
        if index is not None:
            index.remove(np.asarray(ids, dtype=np.int64))
            index.save()
    return Path(root.path), len(ids)
