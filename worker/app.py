"""The Celery app, configured from the settings object: `celery -A worker.app worker`.

Three queues, one job each:
- `scan`: walk a root, reconcile it with the catalog, cut pending images into batches;
- `embed`: decode + embed one batch (GPU workers: one process per GPU, large batches);
- `index`: the single writer of the FAISS file (one process, concurrency 1).

Job state lives in SQL, not in Celery: there is no result backend for the pipeline's tasks.
"""

from __future__ import annotations

from celery import Celery

from vitrieve.core.config import Settings

QUEUES = ("scan", "embed", "index")

TASK_ROUTES = {
    "vitrieve.scan": {"queue": "scan"},
    "vitrieve.rescan_watched": {"queue": "scan"},
    "vitrieve.embed": {"queue": "embed"},
    "vitrieve.calibrate": {"queue": "embed"},  # embeds edits: where the model is loaded
    "vitrieve.index_add": {"queue": "index"},
    "vitrieve.index_update": {"queue": "index"},
    "vitrieve.index_sync": {"queue": "index"},
}

# Publishing retries while the broker is away (a Redis restart takes seconds): up to ~2 min.
PUBLISH_RETRY = {"max_retries": 30, "interval_start": 0, "interval_step": 1, "interval_max": 5}


def celery_config(settings: Settings) -> dict:
    # How often a worker looks for messages whose owner died without acknowledging them; a
    # quarter of the visibility timeout, so a short timeout (fault tests) also recovers fast.
    restore_every = max(1, min(60, settings.visibility_timeout // 4))
    return {
        "broker_url": settings.broker_url,
        # No result backend: job state is in SQL. (A Redis backend would also subscribe the
        # sender to a result channel for every task it sends.)
        "task_ignore_result": True,
        # Acknowledge after the task ran, not when it was received: a worker that dies mid-batch
        # (OOM, SIGKILL, lost machine) leaves the message unacknowledged, so another runs it.
        "task_acks_late": True,
        # ...and when a pool child is killed, put the message back at once instead of failing it.
        "task_reject_on_worker_lost": True,
        # Take one message at a time: a reserved-but-not-started batch would sit behind a long
        # one instead of going to an idle worker, and would be redelivered if this one died.
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": {
            # Redis has no real acks: an unacknowledged message is redelivered after this long.
            # It must exceed the longest task (one batch), or a slow batch runs twice (harmless,
            # tasks are idempotent, but wasted work). VITRIEVE_VISIBILITY_TIMEOUT.
            "visibility_timeout": settings.visibility_timeout,
            "unacked_restore_interval": restore_every,
            "unacked_restore_throttle": 1,
            # The mutex a restore sweep takes expires after this long: a worker killed while
            # holding it (kill -9 of the whole worker) would otherwise stall redelivery for
            # kombu's default of 5 minutes after the restart.
            "unacked_mutex_expire": max(10, 2 * restore_every),
            # A broker that is down must not hang a publish forever; the retry policy applies.
            "socket_connect_timeout": 10,
        },
        # Redis being down at start (compose starts everything together) is not fatal: wait.
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        # Messages sent while Redis restarts are retried instead of lost.
        "task_publish_retry": True,
        "task_publish_retry_policy": PUBLISH_RETRY,
        # Tasks are idempotent: one that finishes while the connection is down is simply
        # delivered again later and finds its work done; cancelling it would waste the batch.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "task_routes": TASK_ROUTES,
        "task_default_queue": "scan",
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "worker_hijack_root_logger": False,
    }


def make_app(settings: Settings | None = None) -> Celery:
    settings = settings or Settings()
    app = Celery("vitrieve", include=["vitrieve.worker.tasks"])
    app.conf.update(celery_config(settings))
    return app


app = make_app()
