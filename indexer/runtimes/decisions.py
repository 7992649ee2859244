"""Remembered runtime decisions: `VITRIEVE_HOME/cache/runtime.json`, and the lock held while
one is measured or an OpenVINO model is built.

Torch-free on purpose: `vitrieve status` reads the decision without loading a model. The file is
replaced atomically (temp file, fsync, rename) and the lock is an flock that the kernel releases
when its holder dies, so a kill -9 at any moment leaves the old decision or the new one, never
half of either, and never a stale lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vitrieve.indexer.runtimes.choice import Decision

DECISIONS = "runtime.json"
LOCK = "runtime.lock"


def read_decisions(cache_dir: Path | None) -> dict[str, Any]:
    if cache_dir is None:
        return {}
    try:
        data = json.loads((cache_dir / DECISIONS).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def latest_decision(cache_dir: Path | None, weights_hash: str) -> Decision | None:
    """The newest decision recorded for these weights (for `status`, which loads no model)."""
    found = [
        (v.get("recorded_at", 0), v)
        for k, v in read_decisions(cache_dir).items()
        if k.startswith(weights_hash + "|") and isinstance(v, dict)
    ]
    if not found:
        return None
    try:
        return Decision.from_dict(max(found, key=lambda kv: kv[0])[1])
    except (KeyError, TypeError, ValueError):
        return None


def write_decision(cache_dir: Path, key: str, decision: Decision) -> None:
    for stale in cache_dir.glob(f".{DECISIONS}.*.tmp"):  # a writer killed midway
        stale.unlink(missing_ok=True)
    known = read_decisions(cache_dir)
    known[key] = decision.to_dict() | {"recorded_at": time.time()}
    tmp = cache_dir / f".{DECISIONS}.{os.getpid()}.tmp"
    with tmp.open("w") as f:
        json.dump(known, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(cache_dir / DECISIONS)


@contextmanager
def runtime_lock(cache_dir: Path | None) -> Iterator[None]:
    if cache_dir is None:
        yield
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(cache_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock
