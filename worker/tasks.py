"""The Celery tasks: thin wrappers around the same pipeline functions in-process ingest uses.

scan(job)       -> scan_roots; cut pending images into batches; send embed(job, seq) per batch
embed(job, seq) -> embed_items on the batch's still-pending images; batch done; send index_add
index_*         -> the index writer applies vectors/deletions, saves, completes the job
calibrate       -> after a completed job, when one is due (search/duplicates/auto_calibrate.py):
                   the near-duplicate threshold measured on an embed worker, which has the model

Every task is idempotent, so redelivery (acks_late after a lost worker, a visibility timeout,
a retry) is always safe: a finished batch is a no-op, vectors are replaced never duplicated,
and counts come from guarded state changes in SQL (see worker/jobs.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import kombu.exceptions
import redis
import redis.exceptions
import sqlalchemy.exc
from celery import Task
from sqlalchemy import select

from vitrieve.indexer.ingest import (
    ScanOutcome,
    count_pending,
    embed_items,
    pending_items,
    scan_roots,
)
from vitrieve.indexer.library import Library
from vitrieve.indexer.pipeline import WorkItem
from vitrieve.search.duplicates.auto_calibrate import auto_calibrate, calibration_due
from vitrieve.search.tagging.apply import auto_tagger
from vitrieve.tables.catalog import Image, ImageStatus, Root
from vitrieve.tables.jobs import BatchState, JobState
from vitrieve.worker import jobs
from vitrieve.worker.app import app
from vitrieve.worker.roots import watched_roots
from vitrieve.worker.runtime import index_writer, library

log = logging.getLogger(__name__)

# Transient: the database is locked/restarting, a concurrent run of the same work won a race
# (unique key), the broker is away. Retried with exponential backoff and jitter.
TRANSIENT = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.IntegrityError,
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
IDS_PER_MESSAGE = 10_000


class PipelineTask(Task):
    autoretry_for = TRANSIENT
    retry_backoff = 1  # 1, 2, 4, ... seconds
    retry_backoff_max = 60
    retry_jitter = True  # workers that failed together do not retry together
    max_retries = 8

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        """Out of retries, or a real error: the job fails with the reason, nothing hangs."""
        job_id = args[0] if args else kwargs.get("job_id")
        if job_id is None:
            return
        try:
            jobs.fail_job(library(), job_id, f"{self.name}: {type(exc).__name__}: {exc}")
        except Exception:
            log.exception("could not mark job %s failed", job_id)


def send(name: str, *args, **options) -> None:
    app.send_task(name, args=list(args), **options)


# -- scan ----------------------------------------------------------------------------------------


@app.task(base=PipelineTask, name="vitrieve.scan")
def scan(job_id: int) -> None:
    run_scan(library(), job_id)


def run_scan(lib: Library, job_id: int) -> None:
    entry = jobs.begin_scan(lib, job_id)
    if entry is None or entry in jobs.FINISHED:
        return
    if entry in (JobState.QUEUED, JobState.SCANNING):
        outcome = scan_roots(lib, jobs.job_paths(lib, job_id))
        with jobs.cutting_batches(lib):  # two overlapping scans never claim one image
            batches, deferred = _cut_batches(lib, outcome, job_id)
            recorded = jobs.record_scan(lib, job_id, outcome, batches, deferred)
        if recorded:
            if entry == JobState.QUEUED:
                _send_index_changes(job_id, outcome.removed_ids, outcome.restored_ids)
            else:  # an earlier delivery died mid-scan: its deletions are unknown, diff with SQL
                send("vitrieve.index_sync", job_id)
        if deferred:
            _follow_up(lib, job_id)
    else:  # scanned by an earlier delivery that died before sending everything
        send("vitrieve.index_sync", job_id)
    for seq, state in jobs.open_batches(lib, job_id):
        send("vitrieve.embed" if state == BatchState.QUEUED else "vitrieve.index_add", job_id, seq)


def _cut_batches(
    lib: Library, outcome: ScanOutcome, job_id: int | None = None
) -> tuple[list[list[int]], int]:
    """Pending images of the job's folders in batches; too-recent files are deferred, and
    images already in another live job's queued batches are left to that job."""
    settle = lib.settings.settle_seconds
    settled_before = time.time_ns() - int(settle * 1e9) if settle > 0 else None
    ids = [
        item.image_id
        for item in pending_items(lib, outcome.targets, settled_before_ns=settled_before)
    ]
    deferred = 0
    if settled_before is not None:
        with lib.sessions() as session:
            deferred = count_pending(session, outcome.targets) - len(ids)
    ids = jobs.unclaimed(lib, job_id, ids)
    size = lib.settings.job_batch_size
    return [ids[i : i + size] for i in range(0, len(ids), size)], max(0, deferred)


def _send_index_changes(job_id: int, removed: Sequence[int], restored: Sequence[int]) -> None:
    """Always at least one message: it completes a job that has nothing to embed."""
    step = IDS_PER_MESSAGE
    chunks = max(1, -(-len(removed) // step), -(-len(restored) // step))
    for i in range(chunks):
        rm, rs = removed[i * step : (i + 1) * step], restored[i * step : (i + 1) * step]
        send("vitrieve.index_update", job_id, list(rm), list(rs))


def _follow_up(lib: Library, job_id: int) -> None:
    """Files still being written were left pending: scan again once they may have settled."""
    paths = jobs.job_paths(lib, job_id)
    delay = lib.settings.settle_seconds + 0.5
    jobs.enqueue_scan(app, lib, paths, "settle", dedupe=True, countdown=delay)


@app.task(base=PipelineTask, name="vitrieve.rescan_watched")
def rescan_watched() -> None:
    """Beat's periodic rescan: one scan job per watched root (unless one is under way)."""
    lib = library()
    recent = max(3600.0, lib.settings.visibility_timeout)
    for path in watched_roots(lib):
        # A root still being ingested is not rescanned: the rescan would cut the same pending
        # images into a second set of batches.
        if jobs.active_job(lib, [path], jobs.ACTIVE, newer_than_s=recent) is None:
            jobs.enqueue_scan(app, lib, [path], "watch")


# -- embed ---------------------------------------------------------------------------------------


@app.task(base=PipelineTask, name="vitrieve.embed")
def embed(job_id: int, seq: int) -> None:
    run_embed(library(), job_id, seq)


def run_embed(lib: Library, job_id: int, seq: int) -> None:
    batch = jobs.start_batch(lib, job_id, seq)
    if batch is None or batch.state == BatchState.INDEXED:
        return
    if batch.state == BatchState.QUEUED:
        computed = 0
        items = _still_pending(lib, batch.image_ids)
        if items:
            # The hook in-process ingest uses: active probes tag new images in the transaction
            # that stores their vectors (a rerun replaces a probe's rows, never duplicates).
            for outcome in embed_items(lib, items, on_embedded=auto_tagger(lib)):
                computed += outcome.computed
        jobs.finish_batch(lib, job_id, seq, batch.image_ids, computed)
    send("vitrieve.index_add", job_id, seq)


def _still_pending(lib: Library, image_ids: Sequence[int]) -> list[WorkItem]:
    """The batch's images still pending: the rest were embedded by another run (or vanished)."""
    with lib.sessions() as session:
        rows = session.execute(
            select(Image.id, Root.path, Image.rel_path)
            .join(Root)
            .where(Image.id.in_(list(image_ids)), Image.status == ImageStatus.PENDING)
            .order_by(Image.id)
        ).all()
    return [WorkItem.in_root(i, root, rel) for i, root, rel in rows]


# -- index (one process) -------------------------------------------------------------------------


@app.task(base=PipelineTask, name="vitrieve.index_add")
def index_add(job_id: int, seq: int) -> None:
    lib = library()
    writer = index_writer()
    with writer.locked():
        batch = jobs.get_batch(lib, job_id, seq)
        if batch is not None and batch.state == BatchState.DONE:
            writer.add(batch.image_ids)
            with lib.sessions.begin() as session:
                jobs.mark_indexed(session, job_id, [seq])
        _settle_job(lib, job_id)


@app.task(base=PipelineTask, name="vitrieve.index_update")
def index_update(job_id: int | None, remove: list[int], restore: list[int]) -> None:
    lib = library()
    writer = index_writer()
    with writer.locked():
        if remove:
            writer.remove(remove)
        if restore:
            writer.add(restore)
        _settle_job(lib, job_id)


@app.task(base=PipelineTask, name="vitrieve.index_sync")
def index_sync(job_id: int | None = None) -> None:
    """Reconciles the index with SQL and adopts every embedded-but-unapplied batch."""
    lib = library()
    writer = index_writer()
    with writer.locked():
        with lib.sessions() as session:
            waiting = jobs.done_batches(session)  # read before the diff: their vectors are in it
        writer.sync()
        for job, seq, ids in waiting:
            writer.add(ids)  # re-upsert: a re-embedded image's vector may have changed
            with lib.sessions.begin() as session:
                jobs.mark_indexed(session, job, [seq])
        for job in {j for j, _, _ in waiting} | ({job_id} if job_id else set()):
            _settle_job(lib, job)
        writer.maybe_save(force=True)


def _settle_job(lib: Library, job_id: int | None) -> None:
    """Saves when due; a job whose batches are all applied is saved, then marked done."""
    writer = index_writer()
    if job_id is None:
        writer.maybe_save()
        return
    with lib.sessions() as session:
        complete = jobs.job_complete(session, job_id)
    writer.maybe_save(force=complete)
    if complete and jobs.finish_job(lib, job_id):  # True once per job, however redelivered
        send_calibration_if_due(lib)


def send_calibration_if_due(lib: Library, sender: Callable[..., None] = send) -> bool:
    """A finished job may have left the first MIN_IMAGES photos of a model without a
    calibration: queue one (the task checks again under the calibration lock, so two jobs
    finishing together queue two messages but calibrate once)."""
    if not calibration_due(lib):
        return False
    sender("vitrieve.calibrate")
    return True


@app.task(name="vitrieve.calibrate")
def calibrate() -> None:
    """Never fails: a refusal or an error is the one line it logs (auto_calibrate)."""
    line = auto_calibrate(library())
    if line is None:
        return
    if line.startswith("calibration "):  # skipped, failed or busy: worth a look
        log.warning("%s", line)
    else:
        log.info("%s", line)


@app.task(name="vitrieve.ping", acks_late=False)
def ping(reply_key: str) -> None:
    """An empty task for measuring queue latency (benchmarks/workers.py): it only pushes the
    time it ran to a Redis list the sender waits on (there is no result backend)."""
    client = redis.Redis.from_url(app.conf.broker_url)
    try:
        client.rpush(reply_key, time.time())
        client.expire(reply_key, 60)
    finally:
        client.close()
