"""The `vitrieve` command, run as a user runs it: in-process through the entry point
(tests/support/cli.py), and the exit status of the real binary in a real process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import (
    TINY_VIT,
    cli_env,
    invoke_cli,
    invoke_cli_json,
    noise_image,
    real_photo,
    run_cli,
)


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return cli_env(tmp_path / "home")


run = invoke_cli
run_json = invoke_cli_json


def test_ingest_search_and_reingest_end_to_end(env, library_dir, tmp_path):
    photos = library_dir
    summary = run_json(env, "ingest", str(photos))
    assert {
        k: summary[k] for k in ("new", "changed", "moved", "missing", "unchanged", "failed")
    } == {"new": 12, "changed": 0, "moved": 0, "missing": 0, "unchanged": 0, "failed": 2}
    reasons = {Path(f["path"]).name: f["reason"] for f in summary["failures"]}
    assert reasons == {
        "zero.jpg": "empty file (0 bytes)",
        "text.png": "not an image (unrecognised format)",
    }

    outside = tmp_path / "query"
    outside.mkdir()
    real_photo("chelsea").save(outside / "cat.jpg", quality=80)
    results = run_json(env, "search", str(outside / "cat.jpg"), "-k", "3")
    assert results[0]["path"] == str(photos / "trip" / "chelsea.png")
    assert results[0]["score"] >= 0.99 and len(results) == 3

    shutil.move(photos / "generated-0.jpg", photos / "trip" / "moved.jpg")
    noise_image(42).save(photos / "generated-1.jpg", quality=90)
    (photos / "generated-2.jpg").unlink()
    again = run_json(env, "ingest", str(photos))
    assert {k: again[k] for k in ("new", "changed", "moved", "missing", "unchanged")} == {
        "new": 0,
        "changed": 1,
        "moved": 1,
        "missing": 1,
        "unchanged": 9,
    }

    status = run_json(env, "status")
    assert status["embedded"] == 9 and status["index_size"] == 9
    assert status["failed"] == 2 and status["missing"] == 1 and status["images"] == 12
    assert status["model"] == str(TINY_VIT)

    by_moved = run_json(env, "search", str(photos / "trip" / "moved.jpg"), "-k", "20")
    assert str(photos / "trip" / "moved.jpg") not in [r["path"] for r in by_moved]
    assert len(by_moved) == 8


def test_human_output_lists_counts_then_each_failure(env, library_dir):
    out = run(env, "ingest", str(library_dir)).stdout
    assert "12 new" in out and "2 failed" in out
    assert f"{library_dir / 'broken' / 'zero.jpg'}: empty file (0 bytes)" in out


def test_embed_prints_vectors_for_scripting(env, photos):
    rows = run_json(env, "embed", str(photos / "coffee.jpg"), str(photos / "astronaut.jpg"))
    assert [Path(r["path"]).name for r in rows] == ["coffee.jpg", "astronaut.jpg"]
    assert all(len(r["vector"]) == 32 for r in rows)
    norm = sum(x * x for x in rows[0]["vector"]) ** 0.5
    assert abs(norm - 1) < 1e-4


def test_index_rebuild_and_db_upgrade(env, photos):
    run(env, "ingest", str(photos))
    assert "6 vectors" in run(env, "index", "rebuild").stdout
    assert "catalog at revision" in run(env, "db", "upgrade").stdout


def test_missing_model_is_one_line_naming_vitrieve_model(env, photos, tmp_path):
    env |= {
        "VITRIEVE_MODEL": "nobody/no-such-model",
        "HF_HUB_OFFLINE": "1",
        "VITRIEVE_HUB_CACHE": str(tmp_path / "hubs"),
    }
    proc = run(env, "search", str(photos / "coffee.jpg"), code=None)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "VITRIEVE_MODEL" in lines[0] and "Traceback" not in proc.stderr


def test_errors_exit_1_and_usage_errors_exit_2(env, tmp_path):
    """The real binary's exit status (the rest of this file runs in-process)."""
    missing = run_cli(env, "ingest", str(tmp_path / "nope"), code=None)
    assert missing.returncode == 1 and "not a directory" in missing.stderr
    assert run_cli(env, "search", code=None).returncode == 2
    assert run_cli(env, "frobnicate", code=None).returncode == 2
