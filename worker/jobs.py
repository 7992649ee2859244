"""Job bookkeeping in SQL: the one place a background ingest's state and counts live.

Celery messages can be delivered twice (acks_late, visibility timeout) and in any order after a
redelivery, so every state change here is a guarded UPDATE (`... WHERE state = <expected>`)
whose rowcount says whether this call made the change. Counts are taken from SQL, never
accumulated, so running a task twice can never count an image twice.

An image in a queued batch of a live job is that job's: a scan of an overlapping job (a
follow-up for files still being copied, a rescan, the same folder queued again while workers
were down) leaves it out of its own batches, so two jobs never both count one image and each
job's embedded + failed adds up to its total. Cutting and recording batches runs under a
catalog lock, so two scans at once cannot both claim an image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from vitrieve.core.locks import catalog_lock
from vitrieve.indexer.library import Library
from vitrieve.tables.catalog import Image, ImageStatus, utcnow
from vitrieve.tables.fsnames import display_path
from vitrieve.tables.jobs import BatchState, Job, JobBatch, JobState

if TYPE_CHECKING:  # the CLI imports this module and must not pay for torch
    from vitrieve.indexer.ingest import ScanOutcome

ACTIVE = (JobState.QUEUED, JobState.SCANNING, JobState.EMBEDDING)
FINISHED = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)
MAX_SCAN_FAILURES = 1000  # kept per job; the count of problems is what matters beyond that
BATCHES_LOCK = "job-batches"


@dataclass(frozen=True, slots=True)
class BatchRow:
    state: BatchState
    image_ids: list[int]


def create_job(lib: Library, paths: Sequence[Path | str], kind: str = "ingest") -> int:
    with lib.sessions.begin() as session:
        job = Job(kind=kind, state=JobState.QUEUED, paths=[str(p) for p in paths])
        session.add(job)
        session.flush()
        return job.id


def active_job(
    lib: Library,
    paths: Sequence[Path | str],
    states: Sequence[JobState] = (JobState.QUEUED,),
    newer_than_s: float | None = None,
) -> int | None:
    """A job for exactly these paths in one of `states` (by default: not started yet).

    `newer_than_s` ignores older ones, so a job stuck by a lost message never blocks rescans.
    """
    wanted = [str(p) for p in paths]
    query = select(Job.id, Job.paths).where(Job.state.in_(list(states))).order_by(Job.id)
    if newer_than_s is not None:
        query = query.where(Job.created_at >= utcnow() - timedelta(seconds=newer_than_s))
    with lib.sessions() as session:
        for job_id, job_paths in session.execute(query):
            if list(job_paths) == wanted:
                return job_id
    return None


def enqueue_scan(
    app,
    lib: Library,
    paths: Sequence[Path | str],
    kind: str = "ingest",
    *,
    dedupe: bool = False,
    countdown: float | None = None,
    retry_policy: dict | None = None,
) -> int:
    """Creates a job and sends its scan task; a send that fails marks the job failed.

    With `dedupe`, a job for the same paths still waiting to start is reused (watcher bursts,
    periodic rescans of a root that is already queued).
    """
    if dedupe and (job_id := active_job(lib, paths)) is not None:
        return job_id
    job_id = create_job(lib, paths, kind)
    options: dict = {"countdown": countdown} if countdown else {}
    if retry_policy is not None:
        options |= {"retry": True, "retry_policy": retry_policy}
    try:
        app.send_task("vitrieve.scan", args=[job_id], **options)
    except Exception as exc:
        fail_job(lib, job_id, f"could not queue: {exc}")
        raise
    return job_id


def resume_active(app, lib: Library) -> list[int]:
    """Re-sends the scan of every job still scanning or embedding; returns their ids.

    For `vitrieve worker` at start: Redis loses a message for good when a worker is killed
    between taking it off the queue and recording it as unacknowledged, which would leave a
    job waiting forever. A re-sent scan of a scanned job only re-sends its open batches (a
    batch already finished when its copy arrives is a no-op), so nothing is done twice.
    """
    with lib.sessions() as session:
        ids = session.scalars(
            select(Job.id)
            .where(Job.state.in_([JobState.SCANNING, JobState.EMBEDDING]))
            .order_by(Job.id)
        ).all()
    for job_id in ids:
        app.send_task("vitrieve.scan", args=[job_id])
    return list(ids)


def begin_scan(lib: Library, job_id: int) -> JobState | None:
    """QUEUED -> SCANNING; returns the state the job had (None: no such job)."""
    with lib.sessions.begin() as session:
        state = session.scalar(select(Job.state).where(Job.id == job_id))
        if state == JobState.QUEUED:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == JobState.QUEUED)
                .values(state=JobState.SCANNING, started_at=utcnow())
            )
    return None if state is None else JobState(state)


def job_paths(lib: Library, job_id: int) -> list[Path]:
    with lib.sessions() as session:
        paths = session.execute(select(Job.paths).where(Job.id == job_id)).scalar_one()
        return [Path(p) for p in paths]


def cutting_batches(lib: Library):
    """Held from listing a scan's pending images to recording its batches."""
    return catalog_lock(lib.engine, BATCHES_LOCK)


def claim_window_s(lib: Library) -> float:
    """A job that neither started nor finished a batch for this long (its messages were lost)
    no longer holds its queued images: a later scan may take them."""
    return max(3600.0, lib.settings.visibility_timeout)


def unclaimed(lib: Library, job_id: int | None, ids: Sequence[int]) -> list[int]:
    """`ids` without those in a queued batch of another live job (see the module doc)."""
    wanted = set(ids)
    if not wanted:
        return []
    cutoff = utcnow() - timedelta(seconds=claim_window_s(lib))
    progressed = exists().where(JobBatch.job_id == Job.id, JobBatch.finished_at >= cutoff)
    live = select(Job.id).where(
        Job.state == JobState.EMBEDDING,
        Job.id != (job_id if job_id is not None else -1),
        or_(Job.created_at >= cutoff, progressed),
    )
    claimed: set[int] = set()
    with lib.sessions() as session:
        rows = session.execute(
            select(JobBatch.image_ids).where(
                JobBatch.job_id.in_(live), JobBatch.state == BatchState.QUEUED
            )
        )
        for (batch_ids,) in rows:
            claimed.update(i for i in batch_ids if i in wanted)
    return [i for i in ids if i not in claimed]


def record_scan(
    lib: Library,
    job_id: int,
    scan: ScanOutcome,
    batches: Sequence[Sequence[int]],
    deferred: int,
) -> bool:
    """Stores the scan's counts and the job's batches, SCANNING -> EMBEDDING, in one transaction.

    False when another delivery of the same scan got there first (its batches stand).
    """
    s = scan.summary
    failures = [  # shown only, so in display form (a JSON column holds no lone surrogate)
        {"path": display_path(f.path), "reason": f.reason} for f in s.failures[:MAX_SCAN_FAILURES]
    ]
    with lib.sessions.begin() as session:
        done = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.SCANNING)
            .values(
                state=JobState.EMBEDDING,
                total=sum(len(b) for b in batches),
                new=s.new,
                changed=s.changed,
                moved=s.moved,
                missing=s.missing,
                unchanged=s.unchanged,
                deferred=deferred,
                scan_failures=failures,
            )
        )
        if cast("CursorResult[Any]", done).rowcount != 1:  # DML: a CursorResult
            return False
        if batches:
            session.execute(
                insert(JobBatch),
                [
                    {"job_id": job_id, "seq": seq, "image_ids": list(ids)}
                    for seq, ids in enumerate(batches)
                ],
            )
    return True


def open_batches(lib: Library, job_id: int) -> list[tuple[int, BatchState]]:
    """Batches of a job not yet applied to the index, to (re)send their tasks."""
    with lib.sessions() as session:
        rows = session.execute(
            select(JobBatch.seq, JobBatch.state)
            .where(JobBatch.job_id == job_id, JobBatch.state != BatchState.INDEXED)
            .order_by(JobBatch.seq)
        ).all()
    return [(seq, BatchState(state)) for seq, state in rows]


def start_batch(lib: Library, job_id: int, seq: int) -> BatchRow | None:
    with lib.sessions.begin() as session:
        session.execute(
            update(JobBatch)
            .where(JobBatch.job_id == job_id, JobBatch.seq == seq)
            .values(attempts=JobBatch.attempts + 1)
        )
        row = session.execute(
            select(JobBatch.state, JobBatch.image_ids).where(
                JobBatch.job_id == job_id, JobBatch.seq == seq
            )
        ).first()
    return None if row is None else BatchRow(BatchState(row[0]), list(row[1]))


def get_batch(lib: Library, job_id: int, seq: int) -> BatchRow | None:
    with lib.sessions() as session:
        row = session.execute(
            select(JobBatch.state, JobBatch.image_ids).where(
                JobBatch.job_id == job_id, JobBatch.seq == seq
            )
        ).first()
    return None if row is None else BatchRow(BatchState(row[0]), list(row[1]))


def finish_batch(lib: Library, job_id: int, seq: int, image_ids: Sequence[int], computed: int):
    """QUEUED -> DONE with counts read from SQL; False if another run already finished it."""
    with lib.sessions.begin() as session:
        counts = dict(
            session.execute(
                select(Image.status, func.count())
                .where(Image.id.in_(list(image_ids)))
                .group_by(Image.status)
            ).all()
        )
        result = session.execute(
            update(JobBatch)
            .where(
                JobBatch.job_id == job_id,
                JobBatch.seq == seq,
                JobBatch.state == BatchState.QUEUED,
            )
            .values(
                state=BatchState.DONE,
                embedded=counts.get(ImageStatus.EMBEDDED, 0),
                failed=counts.get(ImageStatus.FAILED, 0),
                computed=computed,
                finished_at=utcnow(),
            )
        )
        return cast("CursorResult[Any]", result).rowcount == 1  # DML: a CursorResult


def mark_indexed(session: Session, job_id: int, seqs: Sequence[int]) -> None:
    session.execute(
        update(JobBatch)
        .where(
            JobBatch.job_id == job_id,
            JobBatch.seq.in_(list(seqs)),
            JobBatch.state == BatchState.DONE,
        )
        .values(state=BatchState.INDEXED)
    )


def done_batches(session: Session) -> list[tuple[int, int, list[int]]]:
    """(job_id, seq, image_ids) of every batch embedded but not yet applied to the index."""
    rows = session.execute(
        select(JobBatch.job_id, JobBatch.seq, JobBatch.image_ids).where(
            JobBatch.state == BatchState.DONE
        )
    ).all()
    return [(j, s, list(ids)) for j, s, ids in rows]


def waiting_batches(session: Session) -> int:
    return session.execute(
        select(func.count()).select_from(JobBatch).where(JobBatch.state == BatchState.DONE)
    ).scalar_one()


def job_complete(session: Session, job_id: int) -> bool:
    """Scan finished and every batch applied to the index."""
    state = session.scalar(select(Job.state).where(Job.id == job_id))
    if state != JobState.EMBEDDING:
        return False
    left = session.scalar(
        select(func.count())
        .select_from(JobBatch)
        .where(JobBatch.job_id == job_id, JobBatch.state != BatchState.INDEXED)
    )
    return left == 0


def finish_job(lib: Library, job_id: int) -> bool:
    with lib.sessions.begin() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.EMBEDDING)
            .values(state=JobState.DONE, finished_at=utcnow())
        )
        return cast("CursorResult[Any]", result).rowcount == 1  # DML: a CursorResult


def fail_job(lib: Library, job_id: int, error: str) -> bool:
    with lib.sessions.begin() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state.in_(ACTIVE))
            .values(state=JobState.FAILED, error=error[:2000], finished_at=utcnow())
        )
        return cast("CursorResult[Any]", result).rowcount == 1  # DML: a CursorResult
