"""`vitrieve worker`: the right Celery worker processes for this machine, supervised.

- The `index` queue always gets its own single process (solo pool): it is the one writer of the
  FAISS file and keeps the index in memory between tasks.
- With CUDA: one process per GPU (solo pool, CUDA_VISIBLE_DEVICES pinned), because CUDA and
  fork do not mix (a forked child cannot use the parent's CUDA context) and one process per GPU
  with large batches keeps each GPU busy.
- On CPU: a prefork pool; by default one process, since torch already spreads one forward pass
  over every core (more processes share the cores out, see worker/runtime.py).

The children are separate `celery worker` processes; if one exits, the others are stopped and
`vitrieve worker` exits with its code, so a supervisor (docker, systemd) restarts them together.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from vitrieve.core.config import Settings
from vitrieve.core.errors import VitrieveError
from vitrieve.worker.app import QUEUES


@dataclass
class WorkerSpec:
    name: str
    queues: list[str]
    pool: str
    concurrency: int
    env: dict[str, str] = field(default_factory=dict)

    def argv(self, loglevel: str = "INFO") -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "vitrieve.worker.app",
            "worker",
            "--queues",
            ",".join(self.queues),
            "--pool",
            self.pool,
            "--concurrency",
            str(self.concurrency),
            "--hostname",
            f"{self.name}@{socket.gethostname()}",
            "--loglevel",
            loglevel,
            # No start-up handshake with other workers: nothing here uses it, and it costs ~1 s.
            "--without-mingle",
            "--without-gossip",
        ]


def gpu_ids(settings: Settings) -> list[str]:
    """CUDA devices this worker may use ([] on CPU), honouring CUDA_VISIBLE_DEVICES."""
    if settings.device == "cpu":
        return []
    import torch  # only here: `vitrieve worker` on a CPU box need not probe CUDA otherwise

    count = torch.cuda.device_count()
    if count == 0:
        if settings.device == "cuda":
            raise VitrieveError("VITRIEVE_DEVICE=cuda but no CUDA device is available")
        return []
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = [v.strip() for v in visible.split(",") if v.strip()] if visible else []
    return ids[:count] if len(ids) >= count else [str(i) for i in range(count)]


def plan(
    settings: Settings,
    queues: list[str],
    *,
    concurrency: int | None = None,
    gpus: list[str] | None = None,
) -> list[WorkerSpec]:
    unknown = set(queues) - set(QUEUES)
    if unknown or not queues:
        raise VitrieveError(f"unknown queue(s) {sorted(unknown)}; choose from {', '.join(QUEUES)}")
    specs: list[WorkerSpec] = []
    if "index" in queues:
        specs.append(WorkerSpec("index", ["index"], "solo", 1))
    work = [q for q in queues if q != "index"]
    if not work:
        return specs
    gpus = gpu_ids(settings) if gpus is None else gpus
    if gpus:
        for i, gpu in enumerate(gpus):
            specs.append(WorkerSpec(f"gpu{i}", work, "solo", 1, env={"CUDA_VISIBLE_DEVICES": gpu}))
        return specs
    n = concurrency or settings.worker_concurrency or 1
    specs.append(WorkerSpec("cpu", work, "prefork", n, env={"VITRIEVE_WORKER_CONCURRENCY": str(n)}))
    return specs


def supervise(specs: list[WorkerSpec], loglevel: str = "INFO") -> int:
    """Runs the workers until one exits or we are asked to stop; returns the exit code."""
    procs = [
        subprocess.Popen(spec.argv(loglevel), env={**os.environ, **spec.env}) for spec in specs
    ]
    stopping = False

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)  # warm shutdown: running tasks finish or requeue

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = 0
        while True:
            exited = [p for p in procs if p.poll() is not None]
            if exited:
                code = code or exited[0].returncode
                if not stopping:
                    stop(signal.SIGTERM, None)
                if len(exited) == len(procs):
                    return 0 if stopping and code in (0, -signal.SIGTERM) else code
            time.sleep(0.2)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
