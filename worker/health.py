"""Container health checks of the Celery processes, which also restart a wedged one.

`python -m vitrieve.worker.health worker NODE...` asks each Celery node of this machine
(NODE@hostname, the names `vitrieve worker` gives them: `index`, `cpu`, `gpu0`...) for a ping;
`python -m vitrieve.worker.health beat` checks that `vitrieve beat` still writes its schedule
file. docker-compose.yml runs them as healthchecks.

Docker outside Swarm marks a container unhealthy but never restarts it, so the check acts itself:
after `--strikes` failures in a row it SIGKILLs the container's main process (the child of the
`init: true` process, PID 1). The container then exits and its restart policy starts it again,
so a wedged process is replaced without a sidecar holding the Docker socket. One failure is not
enough: a solo-pool worker answers no ping while it runs a batch. The strike count lives in a
file under /tmp, which a restarted container starts without.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import time
from pathlib import Path

#: `vitrieve beat` writes its schedule at most every `_BEAT_SYNC` seconds (Celery's
#: Scheduler.sync_every), when it sends a periodic task: at least every rescan interval.
_BEAT_SYNC = 180.0
_BEAT_SCHEDULE = "celerybeat-schedule"


def ping_nodes(nodes: list[str], timeout: float) -> list[str]:
    """The nodes (NAME@this host) that did not answer a ping within `timeout` seconds."""
    from vitrieve.core.config import Settings
    from vitrieve.worker.app import make_app

    app = make_app(Settings())
    # A broker that is down fails the check (Docker's timeout would cut it short anyway).
    app.conf.broker_connection_max_retries = 1
    app.conf.broker_connection_timeout = timeout
    wanted = [f"{n}@{socket.gethostname()}" if "@" not in n else n for n in nodes]
    replies = app.control.ping(destination=wanted, timeout=timeout) or []
    answered = {name for reply in replies for name in reply}
    return [n for n in wanted if n not in answered]


def beat_schedule_age(cache_dir: Path, now: float | None = None) -> float | None:
    """Seconds since beat last wrote its schedule file (dbm may add a suffix), None if none."""
    mtimes = [p.stat().st_mtime for p in cache_dir.glob(f"{_BEAT_SCHEDULE}*") if p.is_file()]
    if not mtimes:
        return None
    return (time.time() if now is None else now) - max(mtimes)


def beat_max_age(rescan_interval: float) -> float:
    """How old the schedule file may be: two sync periods and a minute's slack."""
    return 2 * max(rescan_interval, _BEAT_SYNC) + 60


def check(args: argparse.Namespace) -> str | None:
    """None when healthy, else one line saying what is wrong."""
    if args.what == "worker":
        silent = ping_nodes(args.nodes, args.timeout)
        return f"no ping reply from {', '.join(silent)}" if silent else None
    from vitrieve.core.config import Settings

    settings = Settings()
    age = beat_schedule_age(settings.cache_dir)
    limit = beat_max_age(settings.rescan_interval)
    if age is None:
        return f"beat has not written {settings.cache_dir / _BEAT_SCHEDULE} yet"
    if age > limit:
        return f"beat last wrote its schedule {age:.0f} s ago (limit {limit:.0f} s)"
    return None


def record_strike(state: Path, failed: bool) -> int:
    """Failures in a row so far, this one included (0 when this check passed)."""
    strikes = 0
    if failed:
        try:
            strikes = int(state.read_text() or 0)
        except (OSError, ValueError):
            strikes = 0
        strikes += 1
    state.write_text(str(strikes))
    return strikes


def main_process(init_pid: int = 1) -> int | None:
    """The container's main process: the oldest child of PID 1 when PID 1 is an init (tini).
    A process started by `docker exec` (this check) has no parent inside the container."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == init_pid:
            children.append(int(entry.name))
    return min(children, default=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vitrieve.worker.health")
    parser.add_argument("what", choices=["worker", "beat"])
    parser.add_argument("nodes", nargs="*", help="worker node names: index, cpu, gpu0 ...")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for pings")
    parser.add_argument(
        "--strikes", type=int, default=0, help="kill the main process after this many failures"
    )
    parser.add_argument("--state", type=Path, default=None, help="where failures are counted")
    parser.add_argument("--init-pid", type=int, default=1, help="whose child is the main process")
    args = parser.parse_args(argv)
    if args.what == "worker" and not args.nodes:
        parser.error("name the worker nodes to ping (index, cpu, gpu0 ...)")
    try:
        problem = check(args)
    except Exception as exc:  # broker down, bad settings: unhealthy, said in one line
        problem = f"{type(exc).__name__}: {exc}"
    state = args.state or Path("/tmp") / f"vitrieve-health-{args.what}"
    strikes = record_strike(state, problem is not None)
    if problem is None:
        print("healthy")
        return 0
    print(f"unhealthy ({strikes} in a row): {problem}", file=sys.stderr)
    if args.strikes and strikes >= args.strikes:
        pid = main_process(args.init_pid)
        if pid is not None and pid != os.getpid():
            print(f"killing the main process {pid} so the container restarts", file=sys.stderr)
            os.kill(pid, signal.SIGKILL)
    return 1


if __name__ == "__main__":
    sys.exit(main())
