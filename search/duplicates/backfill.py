"""Keeper facts for images ingested before they existed (migrations 0006 and 0008), measured on
demand.

Only members of duplicate groups need them, so `vitrieve dups` fills in those it is about to
describe instead of asking for a re-index of the whole library: the file is read and decoded
once, as ingest would (same preprocessing, so the same draft scale and the same scores), and
the facts are stored back. A file whose bytes no longer match the catalog is left for the next
ingest; a catalog that cannot be written keeps its NULLs (unknown), which the keeper rule
treats as absent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from vitrieve.indexer.library import Library
from vitrieve.indexer.limits import InputLimits
from vitrieve.indexer.model_source import locate_model
from vitrieve.indexer.pipeline import WorkItem, prepared_stream
from vitrieve.indexer.preprocess import PreprocessSpec
from vitrieve.tables.catalog import Image, ImageStatus, Root
from vitrieve.tables.fsnames import display_path

log = logging.getLogger(__name__)
_CHUNK = 500


def _ingest_spec(lib: Library) -> PreprocessSpec:
    """The preprocessing ingest used (its input size sets the JPEG draft scale, so the scores),
    from the cached model only: filling facts never downloads weights. ViT's default without."""
    try:
        location = locate_model(lib.settings.model, offline=True, cache_dir=lib.settings.hub_cache)
        return PreprocessSpec.from_model_dir(location.path)
    except Exception as exc:  # no cached model: `dups --exact-only` needs none
        log.info("model not available (%s); facts measured with ViT's default input size", exc)
        return PreprocessSpec()


def fill_missing_facts(lib: Library, ids: Sequence[int] | np.ndarray) -> int:
    """Measures and stores the facts of those ``ids`` that have none; returns how many."""
    wanted = sorted({int(i) for i in ids})
    todo: dict[int, tuple[WorkItem, str | None]] = {}
    with lib.sessions() as session:
        for i in range(0, len(wanted), _CHUNK):
            for r in session.execute(
                select(Image.id, Root.path, Image.rel_path, Image.content_hash)
                .join(Root)
                .where(
                    Image.id.in_(wanted[i : i + _CHUNK]),
                    Image.status == ImageStatus.EMBEDDED,
                    or_(Image.sharpness.is_(None), Image.data_size.is_(None)),
                )
            ):
                todo[r.id] = (WorkItem.in_root(r.id, r.path, r.rel_path), r.content_hash)
    if not todo:
        return 0
    log.info("measuring keeper facts of %d images indexed before they existed", len(todo))
    spec = _ingest_spec(lib)
    workers = lib.settings.decode_workers or os.cpu_count() or 1
    rows = []
    for p in prepared_stream(
        (item for item, _ in todo.values()),
        spec,
        workers=workers,
        window=4 * workers,
        limits=InputLimits.of(lib.settings),
    ):
        item, digest = todo[p.image_id]
        if p.error is not None or p.content_hash != digest:
            log.info(
                "%s: keeper facts left unknown (%s)",
                display_path(item.path),
                p.error or "file changed since it was indexed",
            )
            continue
        rows.append({"id": p.image_id} | p.facts.row())
    try:
        with lib.sessions.begin() as session:
            for i in range(0, len(rows), _CHUNK):
                session.execute(update(Image), rows[i : i + _CHUNK])
    except SQLAlchemyError as exc:
        log.warning("keeper facts measured but not stored (catalog not writable?): %s", exc)
        return 0
    return len(rows)
