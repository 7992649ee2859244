"""Library page: an ingest in this window calibrates the near-duplicate threshold when one is
due, as `vitrieve ingest` does (ui/components/calibration_after_ingest.py), and says so in one
line; with VITRIEVE_AUTO_CALIBRATE=false it does not.

One library of 210 real photos (tests/support/calibration.py, the tiny ViT), ingested per
module without calibrating and copied per test; calibrations sample 20 photos to stay fast.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support import TINY_VIT, texts, write_dup_set
from vitrieve.core.config import Settings
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.tables.calibrations import DupCalibration
from vitrieve.tables.catalog import Root

STARTING = "calibrating the near-duplicate threshold on up to 20 of your photos"


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("ui-auto-calib")
    write_dup_set(base / "photos")
    settings = Settings(
        home=base / "home", model=str(TINY_VIT), precision="fp32", runtime="torch", batch_size=32
    )
    with Library(settings) as lib:  # in-process ingest never calibrates
        ingest(lib, [base / "photos"])
    return base


@pytest.fixture
def due(ingested, app_env, monkeypatch) -> Path:
    """The app's library is a copy of the ingested one: 210 embedded photos, no calibration."""
    shutil.copytree(ingested / "home", app_env.home)
    monkeypatch.setenv("VITRIEVE_CALIBRATION_IMAGES", "20")
    monkeypatch.setenv("VITRIEVE_BATCH_SIZE", "32")
    return ingested / "photos"


def _seeds(home: Path) -> list[int]:
    settings = Settings(home=home, model=str(TINY_VIT), precision="fp32", runtime="torch")
    with Library(settings) as lib, lib.sessions() as session:
        return list(session.scalars(select(DupCalibration.seed)))


def _root_id(home: Path) -> int:
    settings = Settings(home=home, model=str(TINY_VIT), precision="fp32", runtime="torch")
    with Library(settings) as lib, lib.sessions() as session:
        return session.scalars(select(Root.id)).one()


def _ingest(at, how: str, photos: Path, home: Path):
    if how == "add a folder":
        at.text_input[0].set_value(str(photos))
        next(b for b in at.button if b.label == "Ingest now").click()
    else:
        at.button(key=f"rescan-{_root_id(home)}").click()
    return at.run()


@pytest.mark.parametrize("how", ["add a folder", "rescan"])
def test_an_ingest_in_this_window_calibrates_once_when_due(
    due, app_env, open_page, monkeypatch, how
):
    monkeypatch.setenv("VITRIEVE_AUTO_CALIBRATE", "true")
    at = _ingest(open_page("library"), how, due, app_env.home)
    assert not at.exception and not at.error, texts(at.error)
    assert not any(STARTING in c for c in texts(at.caption))  # the result took its place
    done, result = texts(at.success)
    assert done.startswith("Done in ")
    assert result.startswith("threshold 0.") and "calibrated on 20 of your photos" in result
    assert _seeds(app_env.home) == [0]

    again = _ingest(open_page("library"), how, due, app_env.home)  # calibrated: not due
    assert [t for t in texts(again.success) if not t.startswith("Done in ")] == []
    assert _seeds(app_env.home) == [0]


def test_with_the_setting_off_an_ingest_does_not_calibrate(due, app_env, open_page):
    at = _ingest(open_page("library"), "add a folder", due, app_env.home)  # app_env: off
    assert not at.error and not at.warning, texts(at.error)
    (done,) = texts(at.success)
    assert done.startswith("Done in ") and "210 unchanged" in done
    assert _seeds(app_env.home) == []
