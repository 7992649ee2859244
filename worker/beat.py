"""`vitrieve beat`: periodic rescans of watched roots plus the filesystem watcher, one process.

Run exactly one beat per catalog: two would queue every periodic rescan twice (harmless, since
jobs are idempotent and deduplicated while queued, but wasted work). The watcher turns events
into scan jobs within seconds; the periodic rescan catches everything events cannot see
(network shares, changes while nothing was running) and an index sync repairs the index from
SQL should a message ever have been lost.
"""

from __future__ import annotations

import logging
from pathlib import Path

from celery import Celery

from vitrieve.core.config import Settings
from vitrieve.indexer.library import Library
from vitrieve.worker import jobs
from vitrieve.worker.roots import watched_roots
from vitrieve.worker.watch import FolderWatcher

log = logging.getLogger(__name__)


def beat_schedule(settings: Settings) -> dict:
    return {
        "rescan-watched-roots": {
            "task": "vitrieve.rescan_watched",
            "schedule": settings.rescan_interval,
        },
        "index-sync": {"task": "vitrieve.index_sync", "schedule": settings.rescan_interval},
    }


def make_watcher(app: Celery, lib: Library, *, polling: bool = False) -> FolderWatcher:
    def enqueue(_root: Path, folders: list[Path]) -> None:
        job_id = jobs.enqueue_scan(app, lib, folders, "watch", dedupe=True)
        log.info("job %d: scan %s", job_id, ", ".join(map(str, folders)))

    return FolderWatcher(
        lambda: watched_roots(lib), enqueue, exclude=[lib.settings.home], polling=polling
    )


def run_beat(app: Celery, settings: Settings, *, watch: bool = True, polling: bool = False) -> None:
    """Blocks until SIGTERM/SIGINT."""
    lib = Library(settings)
    app.conf.beat_schedule = beat_schedule(settings)
    app.conf.worker_hijack_root_logger = True  # Celery's log format for the watcher's lines too
    app.log.setup(loglevel="INFO")
    watcher = make_watcher(app, lib, polling=polling)
    if watch:
        watcher.start()
        log.info("watching %d root(s)", len(watcher.watched))
    # Catch up at once on whatever changed while nothing was watching.
    app.send_task("vitrieve.rescan_watched")
    try:
        app.Beat(schedule=str(settings.cache_dir / "celerybeat-schedule"), loglevel="INFO").run()
    finally:
        if watch:
            watcher.stop()
        lib.close()
