"""Watched folders, as a user sets them up: `vitrieve roots add --watch`, `vitrieve beat` and
`vitrieve worker` running, then photos arrive and become searchable with no command typed. A
file still being written is left alone until it has settled, so it is embedded whole, once."""

from __future__ import annotations

import io
import json
import shutil
import time
from datetime import UTC, datetime

import xxhash
from sqlalchemy import select

from tests.support import VITRIEVE_CLI, Stack, index_file_ids, make_photos, real_photo, wait_for
from vitrieve.tables.catalog import Embedding, Image, ImageStatus
from vitrieve.tables.jobs import Job, JobBatch


def searchable_id(stack: Stack, rel_path: str) -> int | None:
    with stack.lib.sessions() as session:
        row = session.execute(
            select(Image.id, Image.status).where(Image.rel_path == rel_path)
        ).first()
    if row is None or ImageStatus(row[1]) != ImageStatus.EMBEDDED:
        return None
    return row[0] if row[0] in set(index_file_ids(stack.lib).tolist()) else None


def test_photos_arriving_in_a_watched_folder_become_searchable_on_their_own(
    stack_factory, redis_url, tmp_path
):
    stack = stack_factory(
        f"sqlite:///{tmp_path / 'catalog.db'}", redis_url, settle_seconds=3, rescan_interval=600
    )
    watched = make_photos(tmp_path / "watched", 2)
    stack.vitrieve("roots", "add", str(watched), "--watch")  # also queues a first scan
    stack.spawn("worker", [*VITRIEVE_CLI, "worker", "--concurrency", "1"])
    stack.spawn("beat", [*VITRIEVE_CLI, "beat"])
    wait_for(lambda: "watching 1 root(s)" in stack.log("beat"), 120, "the watcher", stack)
    wait_for(lambda: searchable_id(stack, "img0001.jpg"), 180, "the first scan", stack)

    # A photo copied into a new sub-folder.
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    real_photo("chelsea").save(incoming / "cat.jpg", quality=90)
    (watched / "trip").mkdir()
    shutil.copy(incoming / "cat.jpg", watched / "trip" / "cat.jpg")
    wait_for(lambda: searchable_id(stack, "trip/cat.jpg"), 120, "the copied photo", stack)
    hits = json.loads(stack.vitrieve("search", str(incoming / "cat.jpg"), "--json").stdout)
    assert hits[0]["path"] == str(watched / "trip" / "cat.jpg")

    # A photo written slowly, in pieces, for longer than the settle time.
    buffer = io.BytesIO()
    real_photo("coffee").save(buffer, format="JPEG", quality=90)
    data = buffer.getvalue()
    pieces = 12
    step = -(-len(data) // pieces)
    with open(watched / "slow.jpg", "wb") as out:
        for i in range(pieces):
            out.write(data[i * step : (i + 1) * step])
            out.flush()
            time.sleep(0.5)
    written = datetime.now().astimezone()
    image_id = wait_for(lambda: searchable_id(stack, "slow.jpg"), 120, "the slow photo", stack)

    with stack.lib.sessions() as session:
        stored = session.scalar(
            select(Embedding.content_hash).where(Embedding.image_id == image_id)
        )
        deferred = session.scalar(select(Job.id).where(Job.deferred > 0).limit(1))
        scans = [
            started
            for started, ids in session.execute(
                select(Job.started_at, JobBatch.image_ids).join(JobBatch, JobBatch.job_id == Job.id)
            )
            if image_id in ids
        ]
    assert stored == xxhash.xxh3_128_hexdigest(data)  # the vector is of the whole file
    assert deferred is not None  # scans did see it while it was being written...
    # ...and only scans that started after the last byte put it in a batch.
    assert scans and all(_aware(s) > written for s in scans)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)  # SQLite returns naive UTC
