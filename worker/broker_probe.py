"""What the background machinery is doing, asked of the broker: which workers answer, what they
run, and how many messages wait in each queue.

Read-only, and every question is guarded: a status page must render when the broker is down or
no worker runs, saying so. Only public APIs are used (kombu's passive queue declaration, Celery's
inspect), so it works for any broker kombu supports and survives kombu's storage changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from vitrieve.core.redact import hide_password, redact
from vitrieve.worker.app import QUEUES


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
    unacked: int | None = None  # delivered to a worker (running or prefetched), not yet acked
    workers: list[WorkerInfo] = field(default_factory=list)
    workers_error: str | None = None


def broker_status(url: str, queues: Sequence[str] = QUEUES, timeout: float = 0.5) -> BrokerStatus:
    status = BrokerStatus(hide_password(url), reachable=False)
    _queue_lengths(status, url, queues, timeout)
    if status.reachable:
        _workers(status, url, timeout)
    return status


def _queue_lengths(status: BrokerStatus, url: str, queues: Sequence[str], timeout: float) -> None:
    """A passive declare answers a queue's message count without creating it; a queue nobody
    declared yet holds no messages."""
    from kombu import Connection
    from kombu.exceptions import OperationalError

    options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    try:
        conn = Connection(url, connect_timeout=timeout, transport_options=options)
    except Exception as exc:  # an unknown transport or a malformed URL
        status.error = redact(f"cannot use the broker: {exc}")
        return
    lengths: dict[str, int] = {}
    try:
        with conn:
            conn.ensure_connection(max_retries=0)
            for name in queues:
                channel = conn.channel()
                try:
                    lengths[name] = channel.queue_declare(queue=name, passive=True).message_count
                except conn.channel_errors:
                    lengths[name] = 0
                finally:
                    channel.close()
    except (OperationalError, OSError, *conn.connection_errors) as exc:
        status.error = redact(f"cannot reach the broker: {exc}")
        return
    status.queues = lengths
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
        reserved = inspect.reserved() or {}
        consuming = inspect.active_queues() or {}
    except Exception as exc:  # kombu/redis connection errors of every kind
        status.workers_error = redact(f"could not ask the workers: {exc}")
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
    # acks_late: a running task and a prefetched one are both delivered but unacknowledged.
    status.unacked = sum(len(v or []) for v in active.values()) + sum(
        len(v or []) for v in reserved.values()
    )
