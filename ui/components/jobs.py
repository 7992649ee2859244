"""Background ingestion in the UI: queue a job, a live panel of job progress, workers and queues.

Shown only when VITRIEVE_BROKER_URL is set. Jobs and their counts come from worker.jobs (SQL),
workers and queue lengths from worker.broker_probe (the broker); nothing is computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from vitrieve.core.errors import VitrieveError
from vitrieve.core.redact import hide_password
from vitrieve.indexer.library import Library
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.components.session import shown_errors

# The UI gives up on an unreachable broker after a few seconds (the workers' policy waits ~2 min).
UI_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 1, "interval_max": 1}
REFRESH_S = 2.0


def available(lib: Library) -> bool:
    return bool(lib.settings.broker_url)


def submit(lib: Library, paths: Sequence[Path], kind: str = "ingest") -> int:
    """Queues a scan job for the workers ("ingest", or "rescan" / "watch" of a root); returns
    its id."""
    from kombu.exceptions import OperationalError

    from vitrieve.indexer.catalog import refuse_data_dir
    from vitrieve.worker.app import make_app
    from vitrieve.worker.jobs import enqueue_scan

    for p in paths:
        if not p.is_dir():
            raise VitrieveError(f"{p}: not a directory")
        refuse_data_dir(p, lib.settings.home)
    resolved = [p.expanduser().resolve() for p in paths]
    try:
        return enqueue_scan(
            make_app(lib.settings), lib, resolved, kind, retry_policy=UI_PUBLISH_RETRY
        )
    except (OperationalError, OSError) as exc:
        assert lib.settings.broker_url is not None  # callers queue only when available(lib)
        raise VitrieveError(
            f"cannot reach the broker at {hide_password(lib.settings.broker_url)}: {exc}"
        ) from None


def progress_panel(lib: Library) -> None:
    if not available(lib):
        return
    st.subheader("Background jobs")
    _jobs_fragment(lib)


@st.fragment(run_every=REFRESH_S)
def _jobs_fragment(lib: Library) -> None:
    from vitrieve.worker.report import list_jobs

    with shown_errors():
        rows = list_jobs(lib, limit=10)
        if not rows:
            st.caption("No background jobs yet.")
            return
        for r in rows:
            _job(r)


def _job(r: dict) -> None:
    with st.container(border=True, key=f"job-{r['id']}"):
        where = ", ".join(map(display_path, r["paths"]))
        st.markdown(f"**Job {r['id']}** · {r['state']} · {where}")
        done = r["embedded"] + r["failed"]
        total = r["total"]
        if r["state"] in ("queued", "scanning"):
            st.caption(f"{r['state']}…")
        else:
            rate = f"{r['rate_img_s']:.1f} img/s" if r["rate_img_s"] else "—"
            eta = f", about {r['eta_s']:.0f} s left" if r["eta_s"] else ""
            text = f"{done} / {total} ({r['embedded']} embedded, {r['failed']} failed; {rate}{eta})"
            st.progress(min(1.0, done / total) if total else 1.0, text=text)
        counts = ", ".join(
            f"{r[k]} {k}" for k in ("new", "changed", "moved", "missing", "unchanged", "deferred")
        )
        st.caption(counts)
        if r["error"]:
            st.error(r["error"])
        if r["scan_failures"]:
            st.dataframe(r["scan_failures"], hide_index=True, width="stretch")


def workers_panel(lib: Library) -> None:
    st.subheader("Workers and queues")
    if not available(lib):
        st.caption("No broker configured (VITRIEVE_BROKER_URL): ingestion runs in-process.")
        return
    from vitrieve.worker.app import QUEUES
    from vitrieve.worker.broker_probe import broker_status

    assert lib.settings.broker_url is not None  # available(lib) said so above
    status = broker_status(lib.settings.broker_url, QUEUES)
    st.caption(f"Broker: {status.url}")
    if not status.reachable:
        st.error(status.error or "the broker cannot be reached")
        return
    cols = st.columns(len(status.queues) + 1)
    for col, (name, n) in zip(cols, status.queues.items(), strict=False):
        col.metric(f"{name} queue", n)
    cols[-1].metric("taken, not yet acknowledged", status.unacked or 0)
    if status.workers_error:
        st.warning(status.workers_error)
    elif not status.workers:
        st.warning("No worker answered: start them with `vitrieve worker`.")
    else:
        st.dataframe(
            [
                {"worker": w.name, "running tasks": w.active, "queues": ", ".join(w.queues)}
                for w in status.workers
            ],
            hide_index=True,
            width="stretch",
        )


def register_watched(lib: Library, folder: Path) -> None:
    """Registers the folder as a watched root (the beat process rescans it on changes)."""
    from vitrieve.worker.roots import add_root

    if not folder.is_dir():
        raise VitrieveError(f"{folder}: not a directory")
    add_root(lib, folder, True)
