"""Only a missing catalog is a new library. An existing catalog that is empty, not SQLite,
another program's database or truncated stops every command with one line naming the file,
and nothing is migrated or rebuilt over it (the index file stays as it was). New catalogs
appear whole: several commands creating one library at once all succeed, and a creator killed
half-way leaves nothing that locks the next one out. Real processes, real files."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import (
    VITRIEVE_CLI,
    cli_env,
    invoke_cli,
    noise_image,
    run_cli,
    run_cli_together,
)

TRIALS = 3


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> tuple[Path, Path]:
    """(home, photos): three photos ingested, so the home holds a catalog and an index file."""
    base = tmp_path_factory.mktemp("lib")
    photos = base / "photos"
    photos.mkdir()
    for i in range(3):
        noise_image(i, (96, 72)).save(photos / f"n{i}.jpg", quality=90)
    invoke_cli(cli_env(base / "home"), "ingest", str(photos))  # setup: in-process is enough
    return base / "home", photos


@pytest.fixture
def home(library, tmp_path) -> Path:
    """A copy of the ingested home, for one test to damage."""
    return Path(shutil.copytree(library[0], tmp_path / "home"))


def index_files(home: Path) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in (home / "index").iterdir() if p.is_file()}
    assert any(name.endswith(".faiss") for name in files)
    return files


def one_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def damage(catalog: Path, how: str) -> None:
    if how == "empty":
        catalog.write_bytes(b"")
    elif how == "garbage":
        catalog.write_bytes(b"these are not the bytes of a database\n" * 200)
    elif how == "foreign":
        catalog.unlink()
        with sqlite3.connect(catalog) as db:
            db.execute("CREATE TABLE notes (body TEXT)")
    elif how == "truncated":
        catalog.write_bytes(catalog.read_bytes()[:8192])


def test_a_zero_byte_catalog_stops_status_ingest_and_search_and_keeps_the_index(home, library):
    photos = library[1]
    catalog = home / "catalog.db"
    catalog.write_bytes(b"")
    before = index_files(home)
    env = cli_env(home)
    for args in (["status"], ["ingest", str(photos)], ["search", str(photos / "n0.jpg")]):
        line = one_line(run_cli(env, *args, code=None))
        assert f"catalog {catalog} is empty (0 bytes)" in line, args
        assert "move it away to start a new library" in line
    assert catalog.stat().st_size == 0  # not migrated into a new library
    assert index_files(home) == before  # not thrown away


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("garbage", "is not an SQLite database"),
        ("foreign", "is an SQLite database without vitrieve's tables"),
        ("truncated", "is truncated (8192 of "),
    ],
)
def test_a_damaged_or_foreign_catalog_is_an_error_naming_the_file(home, how, says):
    catalog = home / "catalog.db"
    damage(catalog, how)
    damaged, before = catalog.read_bytes(), index_files(home)
    line = one_line(run_cli(cli_env(home), "status", code=None))
    assert line.startswith(f"error: catalog {catalog} {says}"), line
    assert catalog.read_bytes() == damaged and index_files(home) == before


def test_a_database_error_names_the_catalog_file(home):
    catalog = home / "catalog.db"
    with sqlite3.connect(catalog) as db:
        db.execute("DROP TABLE images")
    line = one_line(run_cli(cli_env(home), "status", code=None))
    assert line.startswith(f"error: catalog {catalog}: catalog database error: "), line
    assert "no such table: images" in line


def no_temp_files(home: Path) -> None:
    assert not list(home.glob(".catalog.db.new-*")), list(home.iterdir())


def test_commands_creating_one_new_library_at_once_all_succeed(tmp_path):
    for trial in range(TRIALS):
        home = tmp_path / f"home{trial}"
        results = run_cli_together(cli_env(home), ["status", "--json"], ["roots", "list", "--json"])
        for r in results:
            assert r.returncode == 0 and not r.stderr.strip(), r.stderr
        with sqlite3.connect(home / "catalog.db") as db:
            assert db.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
        no_temp_files(home)


def test_a_creator_killed_half_way_leaves_nothing_that_locks_the_next_one_out(tmp_path):
    """The creator is killed as soon as anything appears in the home; whatever it left, the
    next command finds either no catalog (and creates one) or a whole one."""
    home = tmp_path / "home"
    env = cli_env(home)
    proc = subprocess.Popen([*VITRIEVE_CLI, "status"], env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if (home / "catalog.db").exists() or list(home.glob(".catalog.db.new-*")):
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.002)
    proc.wait()
    catalog = home / "catalog.db"
    assert not catalog.exists() or catalog.stat().st_size > 0  # never an empty catalog
    run_cli(env, "status")
    no_temp_files(home)


def test_a_missing_catalog_next_to_an_index_is_a_new_library(home):
    """Moving the damaged catalog away is the way to start again: it works at once."""
    (home / "catalog.db").unlink()
    run_cli(cli_env(home), "status")
    assert (home / "catalog.db").stat().st_size > 0
