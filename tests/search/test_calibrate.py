"""`vitrieve calibrate` as a user meets it: deterministic, refuses a small catalog, stores one
whole result per model, survives kill -9, and `dups`/`status` use and explain what it stored.

One library of 210 real photos (tests/support/calibration.py, the tiny ViT) is ingested per
module and copied for each test; calibrations sample 20 photos to stay fast.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.support import TINY_VIT, VITRIEVE_CLI, cli_env, run_cli, write_dup_set, write_photos
from vitrieve.core.config import Settings
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.calibrate import CHUNK, CalibrationRefused, calibrate
from vitrieve.search.duplicates.edits import KINDS
from vitrieve.search.duplicates.threshold import UNCALIBRATED, threshold_in_force
from vitrieve.tables.calibrations import DupCalibration


def _settings(home: Path) -> Settings:
    return Settings(
        home=home,
        model=str(TINY_VIT),
        precision="fp32",
        runtime="torch",
        batch_size=32,
        decode_workers=2,
    )


@pytest.fixture(scope="module")
def calib_home(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("calib")
    write_dup_set(base / "photos")
    with Library(_settings(base / "home")) as lib:
        ingest(lib, [base / "photos"])
    return base


@pytest.fixture
def home(calib_home, tmp_path) -> Path:
    """A copy of the ingested library (photos and home, so the roots' paths still resolve)."""
    shutil.copytree(calib_home / "home", tmp_path / "home")
    return tmp_path / "home"


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_same_seed_same_result_and_nothing_written_outside_home(home, calib_home):
    photos = _snapshot(calib_home / "photos")
    with Library(_settings(home)) as lib:
        first = calibrate(lib, images=20, seed=3)
        again = calibrate(lib, images=20, seed=3)
        other = calibrate(lib, images=20, seed=4)
    assert (first.thresholds, first.curve) == (again.thresholds, again.curve)
    assert first.curve != other.curve
    assert first.sample_size == 20 and first.seed == 3
    assert _snapshot(calib_home / "photos") == photos  # the edits never left memory


def test_a_catalog_under_200_images_is_refused_in_one_line(tmp_path):
    env = cli_env(tmp_path / "home")
    with Library(_settings(tmp_path / "home")) as lib:
        ingest(lib, [write_photos(tmp_path / "photos")])
        with pytest.raises(CalibrationRefused, match="at least 200 embedded images"):
            calibrate(lib)
        assert threshold_in_force(lib) == (0.90, UNCALIBRATED)
    proc = run_cli(env, "calibrate", code=1)  # the real binary: its exit code, its one line
    line = "needs at least 200 embedded images of the current model, the catalog has 6"
    assert line in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def _invoke(env: dict[str, str], monkeypatch, *args: str, code: int = 0):
    from vitrieve.ui.cli.main import app

    for key, value in env.items():
        if key.startswith("VITRIEVE_"):
            monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result


def test_dups_and_status_use_and_explain_the_calibrated_threshold(home, monkeypatch):
    env = cli_env(home)
    before = json.loads(_invoke(env, monkeypatch, "status", "--json").output)
    assert before["dup_threshold"] == 0.90
    assert before["dup_threshold_why"] == "uncalibrated: fixed 0.90, run `vitrieve calibrate`"
    uncalibrated = json.loads(_invoke(env, monkeypatch, "dups", "--json").output)
    assert uncalibrated["threshold"] == 0.90

    stored = json.loads(_invoke(env, monkeypatch, "calibrate", "--images", "20", "--json").output)
    line, *rest = _invoke(env, monkeypatch, "calibrate", "--images", "20").output.splitlines()
    assert rest == ([stored["levels_met"]] if stored["levels_met"] else [])  # 20: levels meet
    assert line.startswith("threshold 0.") and "calibrated on 20 of your photos: catches" in line
    assert "of unrelated nearest neighbours are above it" in line

    status = json.loads(_invoke(env, monkeypatch, "status", "--json").output)
    assert status["dup_threshold"] == stored["threshold"] != 0.90
    assert status["dup_threshold_why"] == line
    report = json.loads(_invoke(env, monkeypatch, "dups", "--json").output)
    assert (report["threshold"], report["threshold_why"]) == (stored["threshold"], line)
    strict = json.loads(
        _invoke(env, monkeypatch, "dups", "--strictness", "strict", "--json").output
    )
    assert strict["threshold"] == stored["thresholds"]["strict"]
    given = json.loads(_invoke(env, monkeypatch, "dups", "--threshold", "0.95", "--json").output)
    assert (given["threshold"], given["threshold_why"]) == (
        0.95,
        "threshold 0.950 given with --threshold",
    )


def _rows(home: Path) -> list[DupCalibration]:
    with Library(_settings(home)) as lib, lib.sessions() as session:
        return list(session.scalars(select(DupCalibration).order_by(DupCalibration.id)))


def test_kill_9_during_calibration_leaves_the_old_result_and_a_rerun_completes(home):
    with Library(_settings(home)) as lib:
        old = calibrate(lib, images=20, seed=1)
    env = cli_env(home)
    proc = subprocess.Popen(
        [*VITRIEVE_CLI, "calibrate", "--images", "200", "--seed", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:  # killed mid-way: the model
        if (home / "cache").exists() and any((home / "cache").iterdir()):  # has loaded
            time.sleep(3.0)
            break
        time.sleep(0.1)
    assert proc.poll() is None, "calibration ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rows = _rows(home)
    assert [r.seed for r in rows] == [1]  # no half-stored row, the old result intact
    with Library(_settings(home)) as lib:
        assert threshold_in_force(lib)[0] == old.threshold
        new = calibrate(lib, images=20, seed=2)
        assert threshold_in_force(lib)[0] == new.threshold
    with Library(_settings(home)) as lib, lib.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DupCalibration)) == 2


def test_the_sample_is_measured_in_chunks_of_bounded_size(home):
    """Bounded memory: whatever the sample, at most CHUNK photos and their edits are decoded
    and embedded at once (the embedder is watched, not replaced: it still does the work)."""
    with Library(_settings(home)) as lib:
        embedder = lib.embedder
        embed_pixels = embedder.embed_pixels
        batches: list[int] = []

        def watched(pixels):
            batches.append(len(pixels))
            return embed_pixels(pixels)

        embedder.embed_pixels = watched  # type: ignore[method-assign]
        steps: list[int] = []
        result = calibrate(lib, images=40, progress=lambda stage, done, total: steps.append(done))
    assert result.sample_size == 40
    assert batches == [CHUNK * len(KINDS)] * (40 // CHUNK)
    assert steps == list(range(CHUNK, 41, CHUNK))
