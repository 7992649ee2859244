"""What `vitrieve jobs` shows: a job's counts, rate and ETA, derived from its batch rows.

Rate = images processed (embedded + failed, in finished batches) / time since the job started;
ETA = images still queued / rate. Counts are SQL aggregates, so listing a million-image job
never loads its image id lists.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import case, func, select

from vitrieve.indexer.library import Library
from vitrieve.tables.jobs import BatchState, Job, JobBatch, JobState
from vitrieve.worker.jobs import FINISHED


def _aware(dt: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone-aware columns; they were stored as UTC."""
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt


def _iso(dt: datetime | None) -> str | None:
    dt = _aware(dt)
    return dt.isoformat() if dt else None


def report(job: Job, embedded: int, failed: int, last_finished: datetime | None) -> dict:
    """What `vitrieve jobs --json` prints for one job: counts, rate and ETA."""
    state = JobState(job.state)
    processed = embedded + failed
    queued = 0 if state in FINISHED else max(0, job.total - processed)
    started, last = _aware(job.started_at), _aware(last_finished)
    end = _aware(job.finished_at) or (last if state in FINISHED else datetime.now(UTC))
    rate = None
    if started and end and processed:
        seconds = (end - started).total_seconds()
        rate = round(processed / seconds, 2) if seconds > 0 else None
    eta = None
    if state in FINISHED:
        eta = 0.0
    elif rate and queued:
        eta = round(queued / rate, 1)
    return {
        "id": job.id,
        "kind": job.kind,
        "state": state.value,
        "paths": list(job.paths),
        "total": job.total,
        "embedded": embedded,
        "failed": failed,
        "queued": queued,
        "deferred": job.deferred,
        "new": job.new,
        "changed": job.changed,
        "moved": job.moved,
        "missing": job.missing,
        "unchanged": job.unchanged,
        "scan_failures": list(job.scan_failures),
        "rate_img_s": rate,
        "eta_s": eta,
        "error": job.error,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
    }


def list_jobs(lib: Library, limit: int = 20, job_id: int | None = None) -> list[dict]:
    """Newest first; counts are sums over batch rows (SQL aggregates, no image id lists)."""
    done = JobBatch.state != BatchState.QUEUED
    with lib.sessions() as session:
        query = select(Job).order_by(Job.id.desc())
        query = query.where(Job.id == job_id) if job_id is not None else query.limit(limit)
        jobs = session.scalars(query).all()
        sums = {
            j: (e or 0, f or 0, last)
            for j, e, f, last in session.execute(
                select(
                    JobBatch.job_id,
                    func.sum(case((done, JobBatch.embedded), else_=0)),
                    func.sum(case((done, JobBatch.failed), else_=0)),
                    func.max(JobBatch.finished_at),
                )
                .where(JobBatch.job_id.in_([j.id for j in jobs]))
                .group_by(JobBatch.job_id)
            )
        }
    return [report(j, *sums.get(j.id, (0, 0, None))) for j in jobs]
