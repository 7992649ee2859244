"""`vitrieve failures` lists what ingest could not read and why; ingest says what it skipped by
extension; `roots add` says plainly what will (and will not) happen to a folder.

The ingest is the real command on a folder holding real photos, two broken files and files
vitrieve does not read (ui/conftest.py's `library_dir` plus .txt, .mov and a file without an
extension).
"""

from __future__ import annotations

import json
import re

import pytest
from rich.console import Console

from tests.support import (
    cli_env,
    cli_invoker,
    invoke_cli,
    invoke_cli_json,
    real_photo,
)
from vitrieve.ui.cli import table

REASONS = {"zero.jpg": "empty file (0 bytes)", "text.png": "not an image (unrecognised format)"}


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return cli_env(tmp_path / "home")


@pytest.fixture
def ingested(env, library_dir):
    for name in ("notes.txt", "README.TXT", "clip.mov", "Makefile"):
        (library_dir / "broken" / name).write_text("not for vitrieve")
    summary = invoke_cli_json(env, "ingest", str(library_dir))
    return library_dir, summary


@pytest.fixture
def invoke(env, monkeypatch):
    """`vitrieve ARGS` in-process (stdout not a terminal) with `env`'s settings."""
    return cli_invoker(env, monkeypatch)


def one_error_line(proc, code: int) -> str:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_ingest_counts_the_files_it_skipped_by_extension(env, ingested):
    photos, summary = ingested
    assert summary["skipped"] == {".txt": 2, "": 1, ".mov": 1}  # most first, then by name
    human = invoke_cli(env, "ingest", str(photos)).stdout  # nothing new: still says what it skipped
    assert "skipped 4 files by extension: .txt 2, (none) 1, .mov 1" in human


def test_failures_lists_each_failed_file_with_its_reason(env, ingested, invoke, monkeypatch):
    photos, summary = ingested
    assert summary["failed"] == 2
    listed = invoke_cli_json(env, "failures")
    assert [(f["path"], f["reason"]) for f in listed] == [
        (str(photos / "broken" / name), REASONS[name]) for name in ("text.png", "zero.jpg")
    ]
    assert all(isinstance(f["image_id"], int) and f["when"] for f in listed)

    piped = invoke("failures")
    assert piped.stdout.splitlines() == [
        f"{f['image_id']}\t{f['reason']}\t{f['path']}" for f in listed
    ]
    assert "2 failed files" in piped.stderr

    monkeypatch.setattr(table, "out", Console(width=80, force_terminal=True, color_system=None))
    lines = invoke("failures").stdout.splitlines()
    assert max(map(len, lines)) <= 80
    assert lines[0].split() == ["name", "id", "reason", "folder"]
    for name, reason in REASONS.items():  # the name whole, the reason beside it (may fold)
        assert any(name in line and reason[:12] in line for line in lines), lines
    assert "2 failed files" in lines[-1]


def test_a_fixed_file_leaves_the_list_and_folder_narrows_it(env, ingested, invoke):
    photos, _ = ingested
    real_photo("coffee").save(photos / "broken" / "zero.jpg")  # the empty file, now a photo
    again = invoke_cli_json(env, "ingest", str(photos))
    assert (again["changed"], again["embedded"], again["failed"]) == (1, 1, 0)
    (left,) = json.loads(invoke("failures", "--json").stdout)
    assert left["path"] == str(photos / "broken" / "text.png")
    assert json.loads(invoke("failures", "--folder", str(photos / "broken"), "--json").stdout)
    assert json.loads(invoke("failures", "--folder", str(photos / "trip"), "--json").stdout) == []
    nothing = invoke("failures", "--folder", str(photos / "trip"))
    assert nothing.stdout == "" and "no failed files under" in nothing.stderr


def test_failures_usage_errors_are_one_line(env, ingested, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    line = one_error_line(invoke_cli(env, "failures", "--folder", str(elsewhere), code=None), 1)
    assert "not inside any registered root" in line
    line = one_error_line(invoke_cli(env, "failures", "--limit", "0", code=None), 2)
    assert "--limit" in line


def test_roots_add_says_what_happens_next(env, invoke, tmp_path):
    new = tmp_path / "new photos"
    new.mkdir()
    said = invoke("roots", "add", str(new)).stdout
    assert f"root {new}: no images in the catalog yet" in said
    assert f"run `vitrieve ingest {new}` to index it" in said

    watched = invoke("roots", "add", str(new), "--watch").stdout
    assert "nothing watches it: VITRIEVE_BROKER_URL is not set" in watched
    assert "`vitrieve worker` and `vitrieve beat`" in watched and "watched:" not in watched
    listed = invoke("roots", "list")
    assert listed.stdout.split("\t")[1] == "yes"
    assert "rescanned only by `vitrieve beat` with VITRIEVE_BROKER_URL set" in listed.stderr


def test_roots_add_with_a_broker_and_no_worker_says_so(
    env, invoke, monkeypatch, redis_url, tmp_path
):
    monkeypatch.setenv("VITRIEVE_BROKER_URL", redis_url)
    folder = tmp_path / "watched"
    folder.mkdir()
    said = invoke("roots", "add", str(folder), "--watch").stdout
    assert re.search(r"watched: queued job \d+ to scan it now", said)
    assert "only while `vitrieve beat` runs" in said
    assert "no worker answered: start `vitrieve worker`" in said
