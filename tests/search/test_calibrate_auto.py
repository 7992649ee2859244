"""Automatic calibration: the first ingest that leaves 200 embedded photos of a model with no
calibration calibrates it, once; a refusal or an error is one line and never fails the ingest;
two at once calibrate once; the worker queues it after a finished job when due.

One library of 210 real photos (tests/support/calibration.py, the tiny ViT), ingested per
module without calibrating and copied per test; calibrations sample 20 photos to stay fast.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support import TINY_VIT, cli_env, invoke_cli, run_cli_together, stand_in, write_dup_set
from vitrieve.core.config import Settings
from vitrieve.core.locks import CatalogLock
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.auto_calibrate import (
    BUSY,
    CALIBRATION_LOCK,
    auto_calibrate,
    calibration_due,
)
from vitrieve.search.duplicates.calibrate import calibrate
from vitrieve.tables.calibrations import DupCalibration
from vitrieve.tables.catalog import Root


def _settings(home: Path, model: Path = TINY_VIT, **extra: object) -> Settings:
    return Settings(
        home=home,
        model=str(model),
        precision="fp32",
        runtime="torch",
        batch_size=32,
        decode_workers=2,
        calibration_images=20,
        **extra,
    )


@pytest.fixture(scope="module")
def auto_home(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("auto-calib")
    write_dup_set(base / "photos")
    with Library(_settings(base / "home")) as lib:  # in-process ingest never calibrates
        ingest(lib, [base / "photos"])
    return base


@pytest.fixture
def base(auto_home, tmp_path) -> Path:
    """A copy of the ingested library; the photos stay shared (the roots' paths resolve)."""
    shutil.copytree(auto_home / "home", tmp_path / "home")
    return tmp_path


def _env(base: Path, **extra: str) -> dict[str, str]:
    env = cli_env(base / "home") | {"VITRIEVE_CALIBRATION_IMAGES": "20"}
    return env | {"VITRIEVE_AUTO_CALIBRATE": "true", "VITRIEVE_BATCH_SIZE": "32"} | extra


def _seeds(home: Path) -> list[int]:
    with Library(_settings(home)) as lib, lib.sessions() as session:
        return list(session.scalars(select(DupCalibration.seed).order_by(DupCalibration.id)))


def test_ingest_calibrates_once_when_due_and_says_so_in_one_line(base, auto_home):
    first = invoke_cli(_env(base), "ingest", str(auto_home / "photos"))
    assert "calibrating the near-duplicate threshold on up to 20 of your photos" in first.stderr
    result = first.stdout.strip().splitlines()[-1]
    assert result.startswith("threshold 0.") and "calibrated on 20 of your photos" in result
    assert _seeds(base / "home") == [0]
    status = json.loads(invoke_cli(_env(base), "status", "--json").stdout)
    assert status["dup_threshold_why"] == result  # the sentence `vitrieve calibrate` prints
    again = invoke_cli(_env(base), "ingest", str(auto_home / "photos"), "--json")
    assert json.loads(again.stdout)["calibration"] is None  # calibrated: not due any more
    assert "calibrating" not in again.stderr and _seeds(base / "home") == [0]


def test_the_setting_off_skips_it(base, auto_home):
    env = _env(base, VITRIEVE_AUTO_CALIBRATE="false")
    proc = invoke_cli(env, "ingest", str(auto_home / "photos"), "--json")
    assert json.loads(proc.stdout)["calibration"] is None
    assert _seeds(base / "home") == []


def test_a_refused_calibration_is_one_line_and_the_ingest_still_succeeds(base, auto_home):
    # Photos that rotted after ingest (same size and mtime, so ingest does not read them):
    # calibration reads none of them, says so in one line, and ingest exits 0.
    photos = base / "rotten"
    shutil.copytree(auto_home / "photos", photos)
    with Library(_settings(base / "home")) as lib:
        ingest(lib, [photos])  # a second root: still no calibration
    for f in (p for p in photos.rglob("*") if p.is_file()):
        st = f.stat()
        f.write_bytes(b"\0" * st.st_size)
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    shutil.move(auto_home / "photos", base / "hidden")  # the first root's photos unreadable too
    try:
        proc = invoke_cli(_env(base), "ingest", str(photos), code=0)
    finally:
        shutil.move(base / "hidden", auto_home / "photos")
    line = proc.stdout.strip().splitlines()[-1]
    assert line == (
        "calibration skipped: calibration found no readable photo among the sampled ones"
    ), proc.stdout
    assert "Traceback" not in proc.stderr and _seeds(base / "home") == []


def test_due_only_with_enough_photos_of_the_current_model_and_none_stored(base, tmp_path):
    home = base / "home"
    with Library(_settings(home, auto_calibrate=False)) as lib:
        assert not calibration_due(lib)  # switched off
    with Library(_settings(home)) as lib:
        assert calibration_due(lib)  # 210 embedded, nothing stored
        calibrate(lib, images=20)
        assert not calibration_due(lib)
    squashed = stand_in("squashed", tmp_path / "squashed")  # another model: its own scale
    with Library(_settings(home, squashed)) as lib:
        assert not calibration_due(lib)  # no photo embedded by it yet
        ingest(lib, _roots(lib))
        assert calibration_due(lib)  # its first ingest leaves 210: due again


def _roots(lib: Library) -> list[Path]:
    with lib.sessions() as session:
        return [Path(p) for p in session.scalars(select(Root.path))]


def test_a_calibration_under_way_elsewhere_is_not_repeated(base):
    with Library(_settings(base / "home")) as lib:
        other = CatalogLock(lib.engine, CALIBRATION_LOCK)  # as another process holds it
        assert other.acquire(blocking=False)
        try:
            assert auto_calibrate(lib) == BUSY
        finally:
            other.release()
        assert _seeds(base / "home") == []
        assert auto_calibrate(lib) is not None and _seeds(base / "home") == [0]
        assert auto_calibrate(lib) is None  # stored: nothing due


def test_two_ingests_finishing_together_calibrate_once(base, auto_home):
    env = _env(base)
    procs = run_cli_together(
        env,
        ["ingest", str(auto_home / "photos"), "--json"],
        ["ingest", str(auto_home / "photos"), "--json"],
    )
    assert [p.returncode for p in procs] == [0, 0], [p.stderr for p in procs]
    lines = [json.loads(p.stdout)["calibration"] for p in procs]
    assert _seeds(base / "home") == [0], lines
    assert sum(1 for line in lines if line and line.startswith("threshold 0.")) == 1, lines


def test_the_worker_queues_a_calibration_only_when_one_is_due(base):
    from vitrieve.worker.tasks import send_calibration_if_due

    sent: list[str] = []
    with Library(_settings(base / "home")) as lib:
        assert send_calibration_if_due(lib, sender=sent.append)
        assert sent == ["vitrieve.calibrate"]
        calibrate(lib, images=20)
        assert not send_calibration_if_due(lib, sender=sent.append)
    with Library(_settings(base / "home", auto_calibrate=False)) as lib:
        assert not send_calibration_if_due(lib, sender=sent.append)
    assert sent == ["vitrieve.calibrate"]
