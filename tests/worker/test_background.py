"""Background ingestion end to end, as a user runs it: `vitrieve ingest --background`, a real
Celery worker on real Redis and PostgreSQL, then `vitrieve jobs`, `search` and `roots`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support import index_file_ids, make_photos, real_photo, write_scenes
from vitrieve.search.tagging.query import image_tags
from vitrieve.tables.catalog import Image


@pytest.mark.postgres
def test_a_queued_folder_becomes_searchable_with_the_right_counts(
    stack_factory, postgres_url, redis_url, tmp_path
):
    stack = stack_factory(postgres_url, redis_url)
    photos = make_photos(tmp_path / "photos", 9)
    real_photo("chelsea").save(photos / "cat.jpg", quality=90)
    (photos / "broken").mkdir()
    (photos / "broken" / "zero.jpg").write_bytes(b"")
    (photos / "broken" / "text.png").write_text("not a picture")

    queued = json.loads(stack.vitrieve("ingest", str(photos), "--background", "--json").stdout)
    job_id = queued["job_id"]
    assert stack.job(job_id)["state"] == "queued"  # returned before any worker exists

    stack.worker("w1")
    stack.wait_job(job_id)

    [job] = json.loads(stack.vitrieve("jobs", str(job_id), "--json").stdout)
    assert {k: job[k] for k in ("state", "total", "embedded", "failed", "queued", "new")} == {
        "state": "done",
        "total": 12,
        "embedded": 10,
        "failed": 2,
        "queued": 0,
        "new": 12,
    }
    assert job["rate_img_s"] > 0 and job["eta_s"] == 0
    assert job["started_at"] <= job["finished_at"]
    stack.assert_consistent(images=12, searchable=10)

    outside = tmp_path / "query"
    outside.mkdir()
    real_photo("chelsea").save(outside / "cat.jpg", quality=75)
    hits = json.loads(
        stack.vitrieve("search", str(outside / "cat.jpg"), "-k", "3", "--json").stdout
    )
    assert hits[0]["path"] == str(photos / "cat.jpg") and hits[0]["score"] > 0.95

    # Re-queueing the unchanged folder embeds nothing and completes.
    again = json.loads(stack.vitrieve("ingest", str(photos), "--background", "--json").stdout)
    job2 = stack.wait_job(again["job_id"])
    assert (job2["total"], job2["unchanged"], job2["new"]) == (0, 12, 0)
    stack.assert_consistent(images=12, searchable=10)


@pytest.mark.postgres
def test_roots_add_list_and_remove_never_touch_files(
    stack_factory, postgres_url, redis_url, tmp_path
):
    stack = stack_factory(postgres_url, redis_url)
    keep = make_photos(tmp_path / "keep", 3)
    drop = make_photos(tmp_path / "drop", 4, start=10)
    stack.vitrieve("ingest", str(keep), str(drop))  # in-process ingest: no worker needed
    stack.vitrieve("roots", "add", str(keep), "--watch")

    roots = {r["path"]: r for r in json.loads(stack.vitrieve("roots", "list", "--json").stdout)}
    assert {p: (r["watch"], r["images"], r["embedded"]) for p, r in roots.items()} == {
        str(keep): (True, 3, 3),
        str(drop): (False, 4, 4),
    }

    stack.vitrieve("roots", "remove", str(drop))
    assert sorted(p.name for p in drop.iterdir()) == [f"img{i:04d}.jpg" for i in range(10, 14)]
    with stack.lib.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Image)) == 3
    assert index_file_ids(stack.lib).size == 3
    listed = json.loads(stack.vitrieve("roots", "list", "--json").stdout)
    assert [r["path"] for r in listed] == [str(keep)]

    missing = stack.vitrieve("roots", "remove", str(tmp_path / "nowhere"), ok=False)
    assert missing.returncode == 1 and "not a registered root" in missing.stderr


def test_background_ingest_without_a_broker_is_a_clear_error(stack_factory, tmp_path):
    stack = stack_factory(f"sqlite:///{tmp_path / 'c.db'}", "")
    stack.env.pop("VITRIEVE_BROKER_URL")
    folder = make_photos(tmp_path / "p", 1)
    proc = stack.vitrieve("ingest", str(folder), "--background", ok=False)
    assert proc.returncode == 1 and "VITRIEVE_BROKER_URL" in proc.stderr
    unreachable = dict(stack.env, VITRIEVE_BROKER_URL="redis://127.0.0.1:9/0")
    stack.env = unreachable
    proc = stack.vitrieve("ingest", str(folder), "--background", ok=False)
    assert proc.returncode == 1 and "cannot reach the broker" in proc.stderr
    assert Path(folder).is_dir()


@pytest.mark.postgres
def test_images_embedded_by_a_worker_are_tagged_by_the_active_probe(
    stack_factory, postgres_url, redis_url, tmp_path
):
    """The embed task runs the same auto-tag hook as in-process ingest, so a background (or
    watched-folder) ingest leaves new images tagged, in the transaction of their vectors."""
    stack = stack_factory(postgres_url, redis_url)
    train = write_scenes(tmp_path / "train", 6, seed=0, by_folder=True)
    stack.vitrieve("ingest", str(train))  # in-process
    stack.vitrieve("tag", "train", "colours", "--folders", str(train))  # active, never applied
    later = write_scenes(tmp_path / "later", 3, seed=900, by_folder=False)

    queued = json.loads(stack.vitrieve("ingest", str(later), "--background", "--json").stdout)
    stack.worker("w1")
    stack.wait_job(queued["job_id"])

    with stack.lib.sessions() as session:
        rows = session.execute(select(Image.id, Image.rel_path)).all()
        tops = {}
        for image_id, rel in rows:
            tags = [t for t in image_tags(session, image_id) if t.source == "probe"]
            tops[rel] = max(tags, key=lambda t: t.score).label if tags else None
    new = {rel: top for rel, top in tops.items() if (later / rel).exists()}
    assert sorted(new) == sorted(p.name for p in later.iterdir()) and len(new) == 9
    assert new == {rel: rel.split("-")[0] for rel in new}, stack.logs()
    trained = [top for rel, top in tops.items() if rel not in new]
    assert trained == [None] * 18  # the probe was never applied to its own training images
