"""The status page's view of the broker, asked through kombu's and Celery's public APIs."""

from __future__ import annotations

import socket
import time

from kombu import Connection

from vitrieve.worker.broker_probe import broker_status


def test_counts_the_messages_waiting_in_each_queue(redis_url):
    with Connection(redis_url) as conn:
        queue = conn.SimpleQueue("embed")
        for i in range(3):
            queue.put({"batch": i})
        queue.close()
    status = broker_status(redis_url, timeout=2)
    assert status.reachable and status.error is None
    assert status.queues == {"scan": 0, "embed": 3, "index": 0}
    assert status.workers == [] and status.unacked == 0  # nobody consumes


def test_an_unreachable_broker_is_reported_quickly_without_a_password():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    started = time.monotonic()
    status = broker_status(f"redis://:s3cret@127.0.0.1:{port}/0", timeout=0.5)
    assert time.monotonic() - started < 10
    assert not status.reachable and "cannot reach the broker" in status.error
    assert "s3cret" not in status.url and "s3cret" not in status.error
