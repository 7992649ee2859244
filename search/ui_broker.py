"""What the background machinery is doing, asked of the broker: which workers answer, what they
run, and how many messages wait in each queue.

Read-only, and every question is guarded: a status page must render when Redis is down or no
worker runs, saying so. It needs only the broker URL and the queue names (the caller passes
`worker.app.QUEUES`), so nothing here depends on the worker package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from indexer.redact import hide_password

# kombu's Redis transport keeps a queue's messages in a list named after the queue, plus one
# list per priority step ("<queue>\x06\x16<n>") when priorities are used; taken but not yet
# acknowledged messages sit in the "unacked" hash.
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)
_UNACKED = "unacked"


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    name: str
    active: int  # tasks running now
    queues: list[str]  # the queues it consumes


@dataclass
class BrokerStatus:
    url: str  # password hidden
    reachable: bool
    error: str | None = None
    queues: dict[str, int] = field(default_factory=dict)  # messages waiting per queue
    unacked: int | None = None  # delivered to a worker, not yet acknowledged
    workers: list[WorkerInfo] = field(default_factory=list)
    workers_error: str | None = None


def broker_status(url: str, queues: Sequence[str], timeout: float = 0.5) -> BrokerStatus:
    status = BrokerStatus(hide_password(url), reachable=False)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        status.error = f"only a Redis broker is supported, not {url.split(':', 1)[0]}"
        return status
    _queue_lengths(status, url, queues, timeout)
    if status.reachable:
        _workers(status, url, timeout)
    return status


def _queue_lengths(status: BrokerStatus, url: str, queues: Sequence[str], timeout: float) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        with client.pipeline(transaction=False) as pipe:
            for q in queues:
                pipe.llen(q)
                for step in _PRIORITY_STEPS:
                    pipe.llen(f"{q}{_PRIORITY_SEP}{step}")
            pipe.hlen(_UNACKED)
            counts = pipe.execute()
    except redis.RedisError as exc:
        status.error = f"cannot reach the broker: {exc}"
        return
    finally:
        client.close()
    per = 1 + len(_PRIORITY_STEPS)
    status.queues = {q: sum(counts[i * per : (i + 1) * per]) for i, q in enumerate(queues)}
    status.unacked = counts[-1]
    status.reachable = True


def _workers(status: BrokerStatus, url: str, timeout: float) -> None:
    """Celery's broadcast inspect: every live worker answers within `timeout`, or is absent."""
    from celery import Celery

    app = Celery("vitrieve-status", broker=url)
    app.conf.broker_connection_retry = False
    app.conf.broker_connection_max_retries = 0
    app.conf.broker_transport_options = {"socket_connect_timeout": timeout}
    try:
        inspect = app.control.inspect(timeout=timeout)
        active = inspect.active() or {}
        consuming = inspect.active_queues() or {}
    except Exception as exc:  # kombu/redis connection errors of every kind
        status.workers_error = f"could not ask the workers: {exc}"
        return
    finally:
        app.close()
    names = sorted(set(active) | set(consuming))
    status.workers = [
        WorkerInfo(
            name,
            len(active.get(name) or []),
            sorted(q["name"] for q in consuming.get(name) or []),
        )
        for name in names
    ]
