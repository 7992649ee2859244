"""Job bookkeeping on both SQL backends, and the settle rule that keeps half-copied files out
of batches. No broker needed: these are the functions the tasks call."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from tests.support import make_photos
from vitrieve.core.config import Settings
from vitrieve.indexer.ingest import ingest, scan_roots
from vitrieve.indexer.library import Library
from vitrieve.tables.catalog import Image
from vitrieve.tables.jobs import BatchState, Job, JobBatch, JobState
from vitrieve.worker import jobs
from vitrieve.worker.report import list_jobs, report
from vitrieve.worker.tasks import _cut_batches


def _job(**values) -> Job:
    defaults = dict(
        id=1,
        kind="ingest",
        state=JobState.EMBEDDING,
        paths=["/p"],
        total=100,
        deferred=0,
        new=100,
        changed=0,
        moved=0,
        missing=0,
        unchanged=0,
        scan_failures=[],
        error=None,
        created_at=datetime.now(UTC) - timedelta(seconds=11),
        started_at=datetime.now(UTC) - timedelta(seconds=10),
        finished_at=None,
    )
    return Job(**(defaults | values))


def test_rate_and_eta_come_from_finished_batches():
    shown = report(_job(), embedded=38, failed=2, last_finished=None)

    assert (shown["queued"], shown["embedded"], shown["failed"]) == (60, 38, 2)
    assert 3.5 < shown["rate_img_s"] <= 4.0  # 40 images in ~10 s
    assert 14 < shown["eta_s"] < 18  # 60 left at ~4/s


def test_a_finished_job_has_no_queue_and_no_eta():
    start = datetime.now(UTC) - timedelta(seconds=20)
    job = _job(state=JobState.DONE, started_at=start, finished_at=start + timedelta(seconds=10))
    shown = report(job, embedded=100, failed=0, last_finished=None)

    assert (shown["queued"], shown["eta_s"], shown["rate_img_s"]) == (0, 0.0, 10.0)


def test_a_batch_is_counted_once_however_often_it_finishes(database_url, settings, tmp_path):
    settings = Settings(**(settings.model_dump() | {"database_url": database_url}))
    photos = make_photos(tmp_path / "photos", 5)
    (photos / "bad.jpg").write_bytes(b"not a jpeg")
    lib = Library(settings)
    ingest(lib, [photos])
    with lib.sessions() as session:
        ids = session.scalars(select(Image.id).order_by(Image.id)).all()
    job_id = jobs.create_job(lib, [photos])
    with lib.sessions.begin() as session:
        session.execute(insert(JobBatch), [{"job_id": job_id, "seq": 0, "image_ids": ids}])
        session.execute(
            Job.__table__.update().where(Job.id == job_id).values(state=JobState.EMBEDDING)
        )

    assert jobs.finish_batch(lib, job_id, 0, ids, computed=5) is True
    assert jobs.finish_batch(lib, job_id, 0, ids, computed=5) is False  # a redelivered task
    [shown] = list_jobs(lib, job_id=job_id)
    assert (shown["embedded"], shown["failed"]) == (5, 1)

    with lib.sessions() as session:
        assert not jobs.job_complete(session, job_id)  # embedded, not yet in the index
        assert jobs.waiting_batches(session) == 1
    with lib.sessions.begin() as session:
        jobs.mark_indexed(session, job_id, [0])
    with lib.sessions() as session:
        assert jobs.job_complete(session, job_id)
        assert jobs.get_batch(lib, job_id, 0).state == BatchState.INDEXED
    assert jobs.finish_job(lib, job_id) is True
    assert jobs.finish_job(lib, job_id) is False
    assert jobs.fail_job(lib, job_id, "too late") is False  # a done job stays done
    lib.close()


def test_only_files_that_have_settled_are_cut_into_batches(settings, tmp_path):
    settings = Settings(**(settings.model_dump() | {"settle_seconds": 30, "job_batch_size": 2}))
    photos = make_photos(tmp_path / "photos", 5)
    old = time.time() - 120
    for p in sorted(photos.iterdir())[:4]:
        os.utime(p, (old, old))  # four copied a while ago, one still being written
    lib = Library(settings)

    outcome = scan_roots(lib, [photos])
    batches, deferred = _cut_batches(lib, outcome)

    assert [len(b) for b in batches] == [2, 2] and deferred == 1
    with lib.sessions() as session:
        fresh = session.scalar(select(Image.id).where(Image.rel_path == "img0004.jpg"))
    assert fresh not in {i for b in batches for i in b}
    lib.close()


def test_a_job_for_a_folder_whose_name_is_not_utf8(database_url, settings, tmp_path):
    settings = Settings(**(settings.model_dump() | {"database_url": database_url}))
    photos = make_photos(tmp_path / os.fsdecode(b"photos-\xe9"), 2)
    os.mkfifo(photos / os.fsdecode(b"f\xefo.jpg"))  # a scan problem naming a Latin-1 file
    lib = Library(settings)
    job_id = jobs.create_job(lib, [photos])
    assert jobs.active_job(lib, [photos]) == job_id  # dedupe compares the exact names
    assert jobs.job_paths(lib, job_id) == [photos]
    assert jobs.begin_scan(lib, job_id) == JobState.QUEUED
    outcome = scan_roots(lib, jobs.job_paths(lib, job_id))
    assert jobs.record_scan(lib, job_id, outcome, [], 0)
    [shown] = list_jobs(lib, job_id=job_id)
    assert shown["paths"] == [str(photos)] and shown["new"] == 2
    shown_dir = str(tmp_path) + "/photos-\\xe9"
    assert shown["scan_failures"] == [
        {"path": f"{shown_dir}/f\\xefo.jpg", "reason": "not a regular file"}
    ]


def _embedding_job(lib: Library, batches: list[list[int]], **values) -> int:
    job_id = jobs.create_job(lib, ["/p"])
    with lib.sessions.begin() as session:
        session.execute(
            Job.__table__.update()
            .where(Job.id == job_id)
            .values(state=JobState.EMBEDDING, total=sum(map(len, batches)), **values)
        )
        session.execute(
            insert(JobBatch),
            [{"job_id": job_id, "seq": s, "image_ids": ids} for s, ids in enumerate(batches)],
        )
    return job_id


def test_images_in_a_live_jobs_queued_batches_are_left_to_that_job(database_url, settings):
    """A later overlapping scan (follow-up, rescan, the folder queued again) must not count
    the same images a second time; a job whose messages were lost long ago lets go of them."""
    lib = Library(Settings(**(settings.model_dump() | {"database_url": database_url})))
    live = _embedding_job(lib, [[1, 2], [3, 4], [5, 6]])
    jobs.finish_batch(lib, live, 1, [3, 4], computed=0)  # done: its images are free again
    long_ago = datetime.now(UTC) - timedelta(seconds=jobs.claim_window_s(lib) + 60)
    _embedding_job(lib, [[7, 8]], created_at=long_ago)  # its messages were lost long ago
    finished = _embedding_job(lib, [[9]])
    with lib.sessions.begin() as session:
        session.execute(
            Job.__table__.update().where(Job.id == finished).values(state=JobState.DONE)
        )

    everything = list(range(1, 11))
    assert jobs.unclaimed(lib, None, everything) == [3, 4, 7, 8, 9, 10]
    assert jobs.unclaimed(lib, live, everything) == everything  # its own batches do not count
    assert jobs.unclaimed(lib, None, []) == []
    lib.close()
