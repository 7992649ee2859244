"""Fixtures of the worker tests: a background stack per test (processes killed at teardown)
and a Redis server a test may restart."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import REPO, TINY_VIT, Stack
from vitrieve.core.config import Settings


@pytest.fixture
def stack_factory(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    stacks: list[Stack] = []

    def make(database_url: str, broker_url: str, **settings: object) -> Stack:
        values: dict[str, object] = {
            "home": tmp_path / "home",
            "database_url": database_url,
            "broker_url": broker_url,
            "model": str(TINY_VIT),
            "precision": "fp32",
            "runtime": "torch",
            "auto_calibrate": False,
            "batch_size": 2,
            "decode_workers": 1,
            "job_batch_size": 4,
            "visibility_timeout": 8,
            "settle_seconds": 0,
        } | settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("VITRIEVE_")}
        env |= {f"VITRIEVE_{k.upper()}": str(v) for k, v in values.items()}
        env |= {"OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        stack = Stack(tmp_path, env, Settings(**values))
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        for proc, _ in stack.procs:
            stack.kill(proc)
        if stack._lib is not None:
            stack._lib.close()


@pytest.fixture
def own_redis(tmp_path: Path, redis_url: str) -> Iterator[Path]:
    """A Redis server this test may stop and restart (same folder and port, AOF persistence).

    Asks for `redis_url` only for its rule: skipped locally, failed under CI, without Redis."""
    folder = tmp_path / "redis"
    subprocess.run(["bash", "scripts/redis.sh", "start", str(folder)], cwd=REPO, check=True)
    try:
        yield folder
    finally:
        subprocess.run(["bash", "scripts/redis.sh", "stop", str(folder)], cwd=REPO, check=False)
