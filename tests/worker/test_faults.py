"""Faults with the real parts: a worker SIGKILLed mid-batch, Redis restarted mid-job, two
workers on one folder. Whatever happens, every image is embedded exactly once, the job
completes with the right counts, and the index file holds exactly SQL's searchable set."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from sqlalchemy import func, select

from tests.support import REPO, VITRIEVE_CLI, Stack, make_photos, wait_for
from vitrieve.tables.catalog import Image, ImageStatus
from vitrieve.tables.jobs import BatchState, JobBatch


def queue(stack: Stack, folder) -> int:
    return json.loads(stack.vitrieve("ingest", str(folder), "--background", "--json").stdout)[
        "job_id"
    ]


def half_done_batch(stack: Stack, job_id: int) -> tuple[int, int, int] | None:
    """(seq, embedded, pending) of a batch a worker is in the middle of, if any."""
    with stack.lib.sessions() as session:
        started = session.execute(
            select(JobBatch.seq, JobBatch.image_ids).where(
                JobBatch.job_id == job_id,
                JobBatch.state == BatchState.QUEUED,
                JobBatch.attempts >= 1,
            )
        ).all()
        for seq, ids in started:
            counts = dict(
                session.execute(
                    select(Image.status, func.count())
                    .where(Image.id.in_(ids))
                    .group_by(Image.status)
                ).all()
            )
            embedded, pending = (
                counts.get(ImageStatus.EMBEDDED, 0),
                counts.get(ImageStatus.PENDING, 0),
            )
            if embedded and pending:
                return seq, embedded, pending
    return None


def batch_attempts(stack: Stack, job_id: int, seq: int) -> tuple[str, int]:
    with stack.lib.sessions() as session:
        state, attempts = session.execute(
            select(JobBatch.state, JobBatch.attempts).where(
                JobBatch.job_id == job_id, JobBatch.seq == seq
            )
        ).one()
    return BatchState(state).value, attempts


@pytest.mark.postgres
def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
    stack_factory, postgres_url, redis_url, tmp_path
):
    stack = stack_factory(postgres_url, redis_url, job_batch_size=8)
    photos = make_photos(tmp_path / "photos", 40, size=(1280, 960))
    job_id = queue(stack, photos)

    victim = stack.worker("victim")
    seq, _embedded, _pending = wait_for(
        lambda: half_done_batch(stack, job_id), 240, "a half-embedded batch", stack
    )
    stack.kill(victim)  # SIGKILL: its batch's message is never acknowledged
    assert batch_attempts(stack, job_id, seq) == ("queued", 1)
    assert stack.job(job_id)["state"] == "embedding"

    stack.worker("rescuer")
    job = stack.wait_job(job_id, 300)

    assert (job["total"], job["embedded"], job["failed"], job["queued"]) == (40, 40, 0, 0)
    assert batch_attempts(stack, job_id, seq) == ("indexed", 2)  # redelivered, finished once
    stack.assert_consistent(40)


@pytest.mark.postgres
def test_a_redis_restart_mid_job_does_not_stop_the_job(
    stack_factory, postgres_url, own_redis, tmp_path
):
    port = (own_redis / "port").read_text().strip()
    stack = stack_factory(postgres_url, f"redis://127.0.0.1:{port}/0")
    photos = make_photos(tmp_path / "photos", 32, size=(640, 480))
    job_id = queue(stack, photos)
    stack.worker("w")

    def some_batch_done():
        with stack.lib.sessions() as session:
            return session.scalar(
                select(func.count())
                .select_from(JobBatch)
                .where(JobBatch.job_id == job_id, JobBatch.state != BatchState.QUEUED)
            )

    wait_for(some_batch_done, 240, "a finished batch", stack)
    redis_sh = ["bash", "scripts/redis.sh"]
    subprocess.run([*redis_sh, "stop", str(own_redis)], cwd=REPO, check=True)
    time.sleep(3)  # the worker notices, and its sends and acks fail meanwhile
    subprocess.run([*redis_sh, "start", str(own_redis), port], cwd=REPO, check=True)

    job = stack.wait_job(job_id, 300)
    assert (job["total"], job["embedded"], job["queued"]) == (32, 32, 0)
    stack.assert_consistent(32)
    assert "Connection to broker lost" in stack.log("w")  # the outage really hit the worker


def test_two_workers_on_one_folder_neither_duplicate_nor_lose_images(
    stack_factory, database_url, redis_url, tmp_path
):
    """On SQLite too: several processes write the catalog at once without 'database is locked'."""
    stack = stack_factory(database_url, redis_url)
    photos = make_photos(tmp_path / "photos", 32)
    first, second = queue(stack, photos), queue(stack, photos)  # the same folder, twice

    stack.worker("a", "scan,embed,index")
    stack.worker("b", "scan,embed")
    jobs = [stack.wait_job(first, 300), stack.wait_job(second, 300)]

    assert jobs[0]["total"] + jobs[1]["total"] == 32  # no image in both jobs' batches
    assert [j["embedded"] + j["failed"] for j in jobs] == [j["total"] for j in jobs]
    stack.assert_consistent(32)
    logs = {name: stack.log(name) for name in ("a", "b")}
    assert all("vitrieve.embed[" in text for text in logs.values())  # both really embedded
    assert not any("database is locked" in text for text in logs.values())


def done_batches(stack: Stack, job_id: int) -> int:
    with stack.lib.sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(JobBatch)
            .where(JobBatch.job_id == job_id, JobBatch.state != BatchState.QUEUED)
        )


def test_a_whole_worker_killed_and_restarted_keeps_every_jobs_counts_exact(
    stack_factory, database_url, redis_url, tmp_path
):
    """`vitrieve worker` (supervisor, embed pool and index writer) SIGKILLed as a whole three
    times mid-job and started again, and the folder queued a second time meanwhile, as a user
    whose job seemed stuck would: each image is counted once, by one job, and each job's
    embedded + failed adds up to its total."""
    stack = stack_factory(database_url, redis_url, job_batch_size=4)
    photos = make_photos(tmp_path / "photos", 40)
    first = queue(stack, photos)
    again = None
    for trial, batches_done in enumerate((1, 4, 7)):
        worker = stack.spawn(f"worker{trial}", [*VITRIEVE_CLI, "worker"])
        wait_for(lambda n=batches_done: done_batches(stack, first) >= n, 240, "batches", stack)
        stack.kill(worker)  # the whole process group at once
        if again is None:
            again = queue(stack, photos)
    stack.spawn("last", [*VITRIEVE_CLI, "worker"])
    counts = [stack.wait_job(job_id, 300) for job_id in (first, again)]

    assert [(j["embedded"] + j["failed"], j["queued"]) for j in counts] == [
        (j["total"], 0) for j in counts
    ]
    assert (counts[0]["total"], counts[0]["embedded"]) == (40, 40)
    assert counts[1]["total"] == 0  # every pending image was still in the first job's batches
    stack.assert_consistent(40)


def test_a_job_whose_messages_were_lost_finishes_when_the_worker_starts_again(
    stack_factory, database_url, redis_url, tmp_path
):
    """Redis drops a message for good if its worker dies between taking it off the queue and
    recording it as unacknowledged; here every message is dropped while the worker is down.
    `vitrieve worker` re-sends what unfinished jobs still need when it starts."""
    import redis

    stack = stack_factory(database_url, redis_url, job_batch_size=4)
    photos = make_photos(tmp_path / "photos", 16)
    job_id = queue(stack, photos)
    worker = stack.spawn("first", [*VITRIEVE_CLI, "worker"])
    wait_for(lambda: done_batches(stack, job_id) >= 1, 240, "a finished batch", stack)
    stack.kill(worker)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()  # the queues and the unacknowledged messages: all lost
    client.close()

    stack.spawn("again", [*VITRIEVE_CLI, "worker"])
    job = stack.wait_job(job_id, 300)
    assert (job["total"], job["embedded"], job["failed"], job["queued"]) == (16, 16, 0, 0)
    assert f"resuming job(s) {job_id}" in stack.log("again")
    stack.assert_consistent(16)
