"""`vitrieve search` and `vitrieve embed` on what is not a photo file: a FIFO, /dev/zero, a
1 TiB sparse file. Each must end promptly with a one-line error naming the file, in a real
subprocess as a user runs it (before the fix a FIFO hung forever and /dev/zero ate memory)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support import TINY_VIT, cli_env, real_photo, run_cli
from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.search.embed_files import embed_files
from vitrieve.search.query import query_from_file

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def hostile(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "fifo.jpg"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.jpg"
    with huge.open("wb") as fh:
        fh.truncate(1024**4)
    return {"fifo": fifo, "zero": Path("/dev/zero"), "huge": huge}


def test_search_on_a_fifo_or_device_fails_at_once_with_one_line(tmp_path, hostile):
    env = cli_env(tmp_path / "home")
    for path, reason in [
        (hostile["fifo"], "not a regular file (FIFO)"),
        (hostile["zero"], "not a regular file (character device)"),
        (hostile["huge"], "file too large: 1.0 TiB is over the 2.0 GiB limit"),
    ]:
        proc = run_cli(env, "search", str(path), code=1)
        assert proc.stderr.splitlines() == [
            f"error: {path}: {reason}" + (" (VITRIEVE_MAX_FILE_SIZE)" if "large" in reason else "")
        ]
        assert proc.stdout == ""


def test_embed_reports_each_bad_file_and_still_embeds_the_good_ones(tmp_path, hostile):
    good = tmp_path / "good.jpg"
    real_photo("coffee").save(good)
    proc = run_cli(
        cli_env(tmp_path / "home"), "embed", str(hostile["fifo"]), str(good), str(hostile["zero"]),
        "--json", code=1,
    )  # fmt: skip
    assert proc.stderr.splitlines() == [
        f"error: {hostile['fifo']}: not a regular file (FIFO); "
        "/dev/zero: not a regular file (character device)"
    ]
    rows = json.loads(proc.stdout)
    dim = json.loads((TINY_VIT / "config.json").read_text())["hidden_size"]
    assert [(r["path"], r.get("error")) for r in rows] == [
        (str(hostile["fifo"]), "not a regular file (FIFO)"),
        (str(good), None),
        ("/dev/zero", "not a regular file (character device)"),
    ]
    assert len(rows[1]["vector"]) == dim


def test_query_from_file_names_the_file_and_reason(settings, hostile):
    with Library(settings) as lib:
        with pytest.raises(VitrieveError) as info:
            query_from_file(lib, hostile["fifo"])
        assert str(info.value) == f"{hostile['fifo']}: not a regular file (FIFO)"
        rows = embed_files(lib, [hostile["zero"], hostile["huge"]])
    assert [(r.vector, r.error) for r in rows] == [
        (None, "not a regular file (character device)"),
        (None, "file too large: 1.0 TiB is over the 2.0 GiB limit (VITRIEVE_MAX_FILE_SIZE)"),
    ]
