"""Several `vitrieve` processes writing one index at once, on SQLite and PostgreSQL: the file
ends up holding exactly SQL's searchable set, and a long-running reader process (as the UI
is) serves all of it after its next refresh, without restarting."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.support import TINY_VIT, VITRIEVE_CLI, cli_env, invoke_cli, noise_image
from vitrieve.core.config import Settings
from vitrieve.indexer.catalog import searchable_ids
from vitrieve.indexer.index import files as index_file
from vitrieve.indexer.index.memory import all_ids
from vitrieve.indexer.library import Library

REPO = Path(__file__).resolve().parents[2]

TRIALS = 3
PER_FOLDER = 8  # decode + embed work so that both ingests overlap

READER = textwrap.dedent(
    """
    import json, sys
    from vitrieve.core.config import Settings
    from vitrieve.indexer.library import Library

    lib = Library(Settings())
    print(json.dumps(lib.index().ids().tolist()), flush=True)
    for _ in sys.stdin:  # each line: refresh (as every UI search does) and report
        print(json.dumps(lib.index().ids().tolist()), flush=True)
    """
)


def make_folder(folder: Path, seed: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(PER_FOLDER):
        noise_image(seed * 1000 + i, (128, 96)).save(folder / f"img{i:03d}.jpg", quality=85)
    return folder


class Home:
    """One library home shared by the processes of a test, with a reader process running."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp = tmp_path
        self.env = cli_env(tmp_path / "home") | {"VITRIEVE_DATABASE_URL": database_url}
        self.settings = Settings(
            home=tmp_path / "home", model=str(TINY_VIT), database_url=database_url
        )
        # Schema first, in-process: the migration race is not ours (tests/indexer/
        # test_concurrency.py has it); only the commands raced below are real processes.
        invoke_cli(self.env, "db", "upgrade")
        self.reader = subprocess.Popen(
            [VITRIEVE_CLI[0], "-c", READER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=REPO,
        )
        assert self.read() == []

    def read(self) -> list[int]:
        line = self.reader.stdout.readline()
        assert line, "the reader process died"
        return json.loads(line)

    def reader_refresh(self) -> list[int]:
        self.reader.stdin.write("refresh\n")
        self.reader.stdin.flush()
        return self.read()

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [*VITRIEVE_CLI, *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )

    def sql_ids(self) -> list[int]:
        with Library(self.settings, run_migrations=False) as lib, lib.sessions() as session:
            return searchable_ids(session, lib.model_row.id).tolist()

    def file_ids(self) -> list[int]:
        """The ids in the index file as saved and verified, not repaired by opening it."""
        with Library(self.settings, run_migrations=False) as lib:
            path, dim = lib.index_path, lib.model_row.dim
        loaded = index_file.read_index(path, dim)
        assert loaded is not None, f"{path} does not verify"
        return np.sort(all_ids(loaded.index)).tolist()

    def close(self) -> None:
        self.reader.stdin.close()
        self.reader.wait(60)


@pytest.fixture
def home(tmp_path: Path, database_url: str):
    h = Home(tmp_path, database_url)
    try:
        yield h
    finally:
        h.close()


def finish(*procs: subprocess.Popen) -> None:
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err


def test_two_ingests_of_different_folders_at_once_keep_both(home: Home) -> None:
    for trial in range(TRIALS):
        a = make_folder(home.tmp / f"t{trial}" / "a", seed=2 * trial)
        b = make_folder(home.tmp / f"t{trial}" / "b", seed=2 * trial + 1)
        finish(home.start("ingest", str(a)), home.start("ingest", str(b)))
        want = home.sql_ids()
        assert len(want) == 2 * PER_FOLDER * (trial + 1)
        assert home.file_ids() == want, f"trial {trial}: the file lost a folder's vectors"
        assert home.reader_refresh() == want, f"trial {trial}: the reader serves a stale set"


def test_an_ingest_a_rebuild_and_a_root_removal_at_once_leave_sqls_set(home: Home) -> None:
    previous = make_folder(home.tmp / "first", seed=100)
    invoke_cli(home.env, "ingest", str(previous))  # the starting point, not raced
    for trial in range(TRIALS):
        new = make_folder(home.tmp / f"t{trial}", seed=101 + trial)
        finish(
            home.start("ingest", str(new)),
            home.start("index", "rebuild"),
            home.start("roots", "remove", str(previous)),
        )
        previous = new
        want = home.sql_ids()
        assert len(want) == PER_FOLDER  # only the folder ingested in this trial is left
        assert home.file_ids() == want, f"trial {trial}"
        assert home.reader_refresh() == want, f"trial {trial}"
