"""A real background stack for one test: Redis, a catalog (PostgreSQL or SQLite) and real
`celery worker` / `vitrieve beat` subprocesses, plus what the tests observe of it.

Every process a test starts is in its own session and is killed (whole process group) at
teardown (see tests/worker/conftest.py), whatever the test did; its output goes to a log file
that failed assertions quote.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.support.cli import REPO, VITRIEVE_CLI
from tests.support.photos import noise_image
from vitrieve.core.config import Settings
from vitrieve.indexer.catalog import searchable_ids
from vitrieve.indexer.index import files as index_file
from vitrieve.indexer.index.memory import all_ids
from vitrieve.indexer.library import Library
from vitrieve.tables.catalog import Embedding, Image
from vitrieve.worker.jobs import FINISHED
from vitrieve.worker.report import list_jobs


@dataclass
class Stack:
    tmp: Path
    env: dict[str, str]
    settings: Settings
    procs: list[tuple[subprocess.Popen, Path]] = field(default_factory=list)
    _lib: Library | None = None

    @property
    def lib(self) -> Library:
        if self._lib is None:
            self._lib = Library(self.settings)  # migrates before any worker starts
        return self._lib

    # -- processes ---------------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str], **env: str) -> subprocess.Popen:
        log = self.tmp / f"{name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                argv,
                env={**self.env, **env},
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed whole at teardown
            )
        self.procs.append((proc, log))
        return proc

    def worker(self, name: str, queues: str = "scan,embed,index", **env: str) -> subprocess.Popen:
        self.lib  # noqa: B018 -- schema first
        argv = [sys.executable, "-m", "celery", "-A", "vitrieve.worker.app", "worker", "-Q", queues]
        argv += ["--pool", "solo", "-n", f"{name}@%h", "--without-mingle", "--without-gossip"]
        return self.spawn(name, [*argv, "--loglevel", "INFO"], **env)

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text()

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-6000:]}" for _, log in self.procs)

    def vitrieve(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [*VITRIEVE_CLI, *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    # -- observing -----------------------------------------------------------------------------

    def job(self, job_id: int) -> dict:
        return list_jobs(self.lib, job_id=job_id)[0]

    def wait_job(self, job_id: int, timeout: float = 180) -> dict:
        job = wait_for(lambda: _finished(self.job(job_id)), timeout, f"job {job_id}", self)
        assert job["state"] == "done", (job, self.logs())
        return job

    def assert_consistent(self, images: int, searchable: int | None = None) -> None:
        """Each image has at most one vector, `searchable` of them have one, and the index file
        holds exactly SQL's searchable set, each id once."""
        searchable = images if searchable is None else searchable
        lib = self.lib
        with lib.sessions() as session:
            n_images = session.scalar(select(func.count()).select_from(Image))
            rows = session.scalar(select(func.count()).select_from(Embedding))
            distinct = session.scalar(select(func.count(func.distinct(Embedding.image_id))))
            want = searchable_ids(session, lib.model_row.id)
        assert (n_images, rows, distinct, want.size) == (images, searchable, searchable, searchable)
        assert np.array_equal(index_file_ids(lib), want), self.logs()


def _finished(job: dict) -> dict | None:
    return job if job["state"] in {s.value for s in FINISHED} else None


def wait_for(check: Callable, timeout: float, what: str, stack: Stack | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    logs = stack.logs() if stack else ""
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")


def index_file_ids(lib: Library) -> np.ndarray:
    """The ids in the FAISS file as saved (not via Library.index(), which would repair it)."""
    model = lib.model_row
    loaded = index_file.read_index(lib.index_path, model.dim)
    assert loaded is not None, f"no verified index file at {lib.index_path}"
    return np.sort(all_ids(loaded.index))


def make_photos(folder: Path, n: int, size: tuple[int, int] = (320, 240), start: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        noise_image(i, size).save(folder / f"img{i:04d}.jpg", quality=85)
    return folder
