"""`vitrieve search` says each score in words read off the newest calibration of the model
(search/duplicates/strength.py): in the terminal table and in --json, while the piped record
keeps its documented five fields (README "Output in a terminal and in a pipe")."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.support import (
    TINY_VIT,
    cli_env,
    invoke_cli,
    invoke_cli_json,
    synthetic_calibration,
    write_photos,
)
from vitrieve.core.config import Settings
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.calibrate import store_calibration
from vitrieve.search.duplicates.strength import FIXED, SAME


@pytest.fixture
def home(tmp_path):
    settings = Settings(
        home=tmp_path / "home", model=str(TINY_VIT), precision="fp32", runtime="torch"
    )
    with Library(settings) as lib:
        ingest(lib, [write_photos(tmp_path / "photos")])
    return settings


def _store(settings: Settings, positives: tuple[float, float], negatives: tuple[float, float]):
    """A calibration of the library's model, stored as `vitrieve calibrate` stores one."""
    cal = synthetic_calibration({"jpeg_q30": positives}, negatives)
    with Library(settings) as lib:
        store_calibration(lib, replace(cal, model_id=lib.model_row.id))


def test_search_words_follow_the_calibration_and_the_pipe_keeps_its_fields(home):
    env = cli_env(home.home, home.model) | {"TTY_COMPATIBLE": "0"}
    before = invoke_cli_json(env, "search", "--id", "1")
    assert [r["match"] for r in before] == [FIXED.word(r["score"]) for r in before]

    _store(home, positives=(0.05, 0.15), negatives=(-0.20, 0.05))  # a scale far below
    after = invoke_cli_json(env, "search", "--id", "1")
    assert [r["score"] for r in after] == [r["score"] for r in before]
    assert [r["match"] for r in after] == [SAME] * len(after) != [r["match"] for r in before]

    piped = invoke_cli(env, "search", "--id", "1").stdout.splitlines()
    assert len(piped) == len(after)
    assert all(len(line.split("\t")) == 5 for line in piped), piped  # score, id, res, date, path
    terminal = env | {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "120"}
    table = invoke_cli(terminal, "search", "--id", "1").stdout
    assert "match" in table.splitlines()[0] and table.count(SAME) == len(after)
