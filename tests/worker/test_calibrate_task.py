"""Automatic calibration through the queue, as a user with a broker meets it: `vitrieve ingest
--background` of a first large folder, a real Celery worker on real Redis, and the
`vitrieve.calibrate` task that the finished job queues (worker/tasks.py) calibrates the model
once and logs its one line.

The tiny ViT in fp32 on SQLite; calibration samples 20 photos to stay fast.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from tests.support import Stack, make_photos, wait_for, write_dup_set
from vitrieve.tables.calibrations import DupCalibration

CALIBRATED = "calibrated on 20 of your photos"


def _seeds(stack: Stack) -> list[int]:
    with stack.lib.sessions() as session:
        return list(session.scalars(select(DupCalibration.seed).order_by(DupCalibration.id)))


def _calibrations_run(stack: Stack) -> int:
    """Celery's own line for each finished `vitrieve.calibrate` task in the worker's log."""
    lines = stack.log("w1").splitlines()
    return sum(1 for line in lines if "Task vitrieve.calibrate[" in line and " succeeded " in line)


def test_a_first_large_background_ingest_calibrates_once_in_the_worker(
    stack_factory, redis_url, tmp_path: Path
):
    stack = stack_factory(
        f"sqlite:///{tmp_path / 'catalog.db'}",
        redis_url,
        auto_calibrate=True,
        calibration_images=20,
        batch_size=32,
        job_batch_size=70,
    )
    photos = tmp_path / "photos"
    write_dup_set(photos)  # 210 real photos and their edited copies: enough to be due
    queued = json.loads(stack.vitrieve("ingest", str(photos), "--background", "--json").stdout)
    stack.worker("w1")
    job = stack.wait_job(queued["job_id"])
    assert job["embedded"] == 210

    wait_for(lambda: _calibrations_run(stack) >= 1, 240, "the calibration task", stack)
    assert _seeds(stack) == [0], stack.logs()
    lines = [line for line in stack.log("w1").splitlines() if CALIBRATED in line]
    assert len(lines) == 1 and "threshold 0." in lines[0], stack.logs()
    status = json.loads(stack.vitrieve("status", "--json").stdout)
    assert status["dup_threshold_why"] == lines[0][lines[0].index("threshold 0.") :]

    # A later job finds the model calibrated: no second task, no second row.
    more = make_photos(tmp_path / "more", 2)
    again = json.loads(stack.vitrieve("ingest", str(more), "--background", "--json").stdout)
    stack.wait_job(again["job_id"])
    assert _seeds(stack) == [0], stack.logs()
    assert sum(CALIBRATED in line for line in stack.log("w1").splitlines()) == 1, stack.logs()
