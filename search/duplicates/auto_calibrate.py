"""Calibration without being asked: after the ingest that first leaves enough photos.

A user who never runs `vitrieve calibrate` would otherwise keep the fixed 0.90 chosen on a
random ViT. So once the current model has at least MIN_IMAGES embedded photos and no
calibration of its own (a first large ingest, or a new model: calibrations are per model), the
next ingest to finish calibrates: at the end of `vitrieve ingest` in the embedded default, as
the `vitrieve.calibrate` worker task when a broker is configured (worker/tasks.py). Off with
VITRIEVE_AUTO_CALIBRATE=false.

It must never fail the ingest that triggered it: every refusal or error becomes the one line
``auto_calibrate`` returns. Two ingests finishing together must not both pay for it: the
calibration lock (core/locks.py, released by the kernel or the server if its holder dies) is
tried without waiting, and whoever gets it checks again that no calibration was stored
meanwhile. `vitrieve calibrate` waits for the same lock, so an explicit run follows an automatic
one instead of racing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import func, select

from vitrieve.core.locks import CatalogLock, catalog_lock
from vitrieve.indexer.catalog import searchable_filter
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.calibrate import (
    MIN_IMAGES,
    CalibrationRefused,
    ProgressFn,
    calibrate,
)
from vitrieve.search.duplicates.threshold import latest_calibration
from vitrieve.tables.catalog import Embedding, Image

log = logging.getLogger(__name__)

CALIBRATION_LOCK = "calibration"
BUSY = "calibration: another process is calibrating this library; its result will be used"


def calibration_due(lib: Library) -> bool:
    """Auto-calibration is on, the current model has no calibration and enough photos."""
    if not lib.settings.auto_calibrate or latest_calibration(lib) is not None:
        return False
    with lib.sessions() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Embedding)
            .join(Image)
            .where(searchable_filter(lib.model_row.id))
        )
    return int(count or 0) >= MIN_IMAGES


@contextmanager
def calibration_turn(lib: Library, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Held by an explicit `vitrieve calibrate`: waits for a running calibration to finish."""
    with catalog_lock(lib.engine, CALIBRATION_LOCK, on_wait=on_wait):
        yield


def auto_calibrate(
    lib: Library,
    progress: ProgressFn | None = None,
    on_start: Callable[[], None] | None = None,
) -> str | None:
    """Calibrate if due; None when not due, else one line: the result (the sentence
    `vitrieve calibrate` prints) or why there is none. Never raises an Exception."""
    try:
        if not calibration_due(lib):
            return None
        lock = CatalogLock(lib.engine, CALIBRATION_LOCK)
        if not lock.acquire(blocking=False):
            return BUSY
        try:
            if not calibration_due(lib):  # another process stored one before we got the lock
                return None
            if on_start is not None:
                on_start()
            return calibrate(lib, progress=progress).describe()
        finally:
            lock.release()
    except CalibrationRefused as exc:
        return f"calibration skipped: {exc}"
    except Exception as exc:  # the ingest succeeded: a failed calibration must not undo that
        log.debug("automatic calibration failed", exc_info=True)
        return f"calibration failed ({type(exc).__name__}: {exc}); retry with `vitrieve calibrate`"
