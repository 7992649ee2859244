"""Background ingestion commands: jobs, roots, worker, beat (and `ingest --background`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from vitrieve.core.config import Settings
from vitrieve.core.errors import MAX_ID, VitrieveError
from vitrieve.core.redact import hide_password
from vitrieve.ui.cli.common import emit_json, err, open_library
from vitrieve.ui.cli.table import Col, Records, note
from vitrieve.ui.cli.text import count, say

roots_app = typer.Typer(help="Registered (and watched) folders.", no_args_is_help=True)


# The CLI gives up on an unreachable broker after a few seconds instead of the workers' ~2 min.
CLI_PUBLISH_RETRY = {"max_retries": 3, "interval_start": 0, "interval_step": 1, "interval_max": 2}


def _settings(need_broker: bool = False) -> Settings:
    settings = Settings()
    if need_broker and not settings.broker_url:
        raise VitrieveError(
            "VITRIEVE_BROKER_URL is not set: background work needs a Redis broker "
            "(e.g. redis://localhost:6379/0)"
        )
    return settings


def _celery(settings: Settings):
    from vitrieve.worker.app import make_app

    return make_app(settings)


def queue_scan(settings: Settings, lib, paths: list[Path], kind: str) -> int:
    """Creates the job and sends its scan; a broker that cannot be reached fails the job."""
    from kombu.exceptions import OperationalError

    from vitrieve.worker.jobs import enqueue_scan

    try:
        return enqueue_scan(_celery(settings), lib, paths, kind, retry_policy=CLI_PUBLISH_RETRY)
    except (OperationalError, OSError) as exc:
        raise VitrieveError(
            f"cannot reach the broker at {hide_password(settings.broker_url or '')}: {exc}"
        ) from None


def ingest_background(paths: list[Path], as_json: bool) -> None:
    """`vitrieve ingest PATH... --background`: queue a job, print its id, return at once."""
    from vitrieve.indexer.catalog import refuse_data_dir

    settings = _settings(need_broker=True)
    resolved = []
    for p in paths:
        if not p.is_dir():
            raise VitrieveError(f"{p}: not a directory")
        refuse_data_dir(p, settings.home)
        resolved.append(p.expanduser().resolve())
    job_id = queue_scan(settings, open_library(settings), resolved, "ingest")
    if as_json:
        emit_json({"job_id": job_id})
    else:
        say(f"queued job {job_id} (follow it with `vitrieve jobs`)")


def jobs(
    job_id: Annotated[
        int | None, typer.Argument(min=1, max=MAX_ID, help="Show only this job.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many recent jobs.", min=1, max=MAX_ID)] = 20,
    wait: Annotated[
        bool, typer.Option("--wait", help="With JOB_ID: wait until it is done or failed.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits at most.")] = 3600.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Background jobs: state, counts, rate and ETA (newest first)."""
    from vitrieve.worker.jobs import FINISHED
    from vitrieve.worker.report import list_jobs

    lib = open_library(_settings())
    if wait and job_id is None:
        raise typer.BadParameter("--wait needs a JOB_ID")
    deadline = time.monotonic() + timeout
    while True:
        rows = list_jobs(lib, limit, job_id)
        if job_id is not None and not rows:
            raise VitrieveError(f"no job {job_id}")
        if not wait or rows[0]["state"] in {s.value for s in FINISHED}:
            break
        if time.monotonic() > deadline:
            raise VitrieveError(f"job {job_id} not finished after {timeout:.0f}s")
        time.sleep(0.5)
    if as_json:
        emit_json(rows)
    elif rows:
        _print_jobs(rows)
    else:  # an empty table and exit 0 read as "something is wrong, but what?"
        note(_no_jobs(lib.settings))
    if wait and rows[0]["state"] != "done":
        raise VitrieveError(f"job {job_id} {rows[0]['state']}: {rows[0]['error'] or ''}")


def _no_jobs(settings: Settings) -> str:
    """Why there is no job to show, and what to do about it."""
    if not settings.broker_url:
        return (
            "no background jobs: no broker is set (VITRIEVE_BROKER_URL), so `vitrieve ingest` "
            "runs in its own process and shows its progress there. For background jobs, start "
            "Redis, set VITRIEVE_BROKER_URL and run `vitrieve worker` (docs/WORKERS.md)."
        )
    return "no background jobs yet: `vitrieve ingest FOLDER --background` queues one"


def _print_jobs(rows: list[dict]) -> None:
    """Piped, one line per job: id, kind, state, total, embedded, failed, queued, img/s, eta."""
    counts = ("total", "embedded", "failed", "queued")
    records = Records(
        [
            Col("id", "right"),
            "kind",
            "state",
            *(Col(k, "right") for k in counts),
            Col("img/s", "right"),
            Col("eta", "right"),
        ]
    )
    for r in rows:
        eta = f"{r['eta_s']:.0f}s" if r["eta_s"] else ""
        rate = f"{r['rate_img_s']:.1f}" if r["rate_img_s"] else ""
        records.add(r["id"], r["kind"], r["state"], *(r[k] for k in counts), rate, eta)
    records.print()
    for r in rows:
        if r["error"]:
            note(f"job {r['id']}: {r['error']}")


# -- roots -------------------------------------------------------------------------------------


@roots_app.command("add")
def roots_add(
    path: Annotated[Path, typer.Argument(help="Folder to register.")],
    watch: Annotated[
        bool | None,
        typer.Option("--watch/--no-watch", help="Rescan it automatically (beat + watcher)."),
    ] = None,
    reference: Annotated[
        bool,
        typer.Option(
            "--reference", help="A reference folder: its images are always kept by `dups`."
        ),
    ] = False,
) -> None:
    """Register a folder (a folder inside a registered root means that root)."""
    from vitrieve.worker.roots import add_root, list_roots

    settings = _settings()
    if not path.is_dir():
        raise VitrieveError(f"{path}: not a directory")
    lib = open_library(settings)
    root, watched = add_root(lib, path, watch)
    if reference:
        from vitrieve.ui.cli.references import mark

        mark(lib, path, on=True)
    inside = " (the registered root containing it)" if root != path.expanduser().resolve() else ""
    images = next((r["images"] for r in list_roots(lib) if Path(r["path"]) == root), 0)
    known = f"{count(images, 'image')} in the catalog" if images else "no images in the catalog yet"
    say(f"root {root}{inside}: {known}")
    if not watched:
        if not images:
            say(f"run `vitrieve ingest {root}` to index it")
        return
    if not settings.broker_url:
        say(
            "marked as watched, but nothing watches it: VITRIEVE_BROKER_URL is not set. Watching "
            "needs a broker, `vitrieve worker` and `vitrieve beat` (docs/WORKERS.md); until then "
            f"run `vitrieve ingest {root}` after adding photos"
        )
        return
    job_id = queue_scan(settings, lib, [root], "watch")
    say(f"watched: queued job {job_id} to scan it now")
    say(_watch_needs(settings))


def _watch_needs(settings: Settings) -> str:
    """What still has to run for a watched root to be rescanned: the beat cannot be seen from
    here (it answers no broadcast), the workers can."""
    from vitrieve.worker.broker_probe import broker_status

    status = broker_status(settings.broker_url or "", timeout=1.0)
    beat = "new photos are noticed only while `vitrieve beat` runs (exactly one)"
    if not status.reachable:
        return f"{beat}; the broker did not answer: {status.error}"
    if not status.workers:
        return f"{beat}; no worker answered: start `vitrieve worker` to process the job"
    return f"{beat}; {len(status.workers)} worker(s) answered"


@roots_app.command("list")
def roots_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Registered folders, whether they are watched, and their image counts."""
    from vitrieve.worker.roots import list_roots

    settings = _settings()
    rows = list_roots(open_library(settings))
    if as_json:
        emit_json(rows)
        return
    # Piped, one line per root: id, watch (yes|-), images, embedded, path.
    records = Records(
        [Col("id", "right"), "watch", Col("images", "right"), Col("embedded", "right")],
        path="folder",
    )
    for r in rows:
        watch = "yes" if r["watch"] else ""
        records.add(r["id"], watch, r["images"], r["embedded"], path=r["path"])
    records.print()
    references = [p for r in rows for p in r["reference"]]
    if references:
        note("reference folders (always kept by `vitrieve dups`): " + ", ".join(references))
    if any(r["watch"] for r in rows) and not settings.broker_url:
        note("watched roots are rescanned only by `vitrieve beat` with VITRIEVE_BROKER_URL set")


@roots_app.command("remove")
def roots_remove(
    root: Annotated[str, typer.Argument(help="Root path or id.")],
) -> None:
    """Forget a root: its images leave the catalog and the index. Files are never touched."""
    from vitrieve.worker.roots import remove_root

    path, removed = remove_root(open_library(_settings()), root)
    say(f"removed root {path}: {count(removed, 'image')} left the catalog (files untouched)")


# -- processes ---------------------------------------------------------------------------------


def worker(
    queues: Annotated[
        str, typer.Option("--queues", "-Q", help="Comma-separated: scan, embed, index.")
    ] = "scan,embed,index",
    concurrency: Annotated[
        int | None, typer.Option(help="CPU worker processes (default VITRIEVE_WORKER_CONCURRENCY).")
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run background workers: one process per GPU, or a CPU pool, plus the index writer."""
    from kombu.exceptions import OperationalError

    from vitrieve.worker.jobs import resume_active
    from vitrieve.worker.launch import plan, supervise

    settings = _settings(need_broker=True)
    lib = open_library(settings)  # applies pending migrations once, before any worker starts
    try:  # re-sends what a killed worker may have lost
        resumed = resume_active(_celery(settings), lib)
    except (OperationalError, OSError) as exc:
        resumed = []
        say(("could not resume unfinished jobs", "yellow"), f" (broker: {exc})", console=err)
    lib.close()
    if resumed:
        say(f"resuming job(s) {', '.join(map(str, resumed))}", console=err)
    specs = plan(
        settings, [q.strip() for q in queues.split(",") if q.strip()], concurrency=concurrency
    )
    for spec in specs:
        say(
            f"worker {spec.name}: queues {','.join(spec.queues)}, {spec.pool} pool x"
            f"{spec.concurrency}" + (f", {spec.env}" if spec.env else ""),
            console=err,
        )
    code = supervise(specs, loglevel)
    if code:
        raise typer.Exit(code)


def beat(
    watch: Annotated[bool, typer.Option("--watch/--no-watch", help="Run the watcher.")] = True,
    polling: Annotated[
        bool, typer.Option(help="Poll folders instead of OS events (network shares).")
    ] = False,
) -> None:
    """Periodic rescans of watched roots plus the filesystem watcher (run exactly one)."""
    from vitrieve.worker.beat import run_beat

    settings = _settings(need_broker=True)
    run_beat(_celery(settings), settings, watch=watch, polling=polling)


def register(app: typer.Typer) -> None:
    app.command("jobs")(jobs)
    app.command("worker")(worker)
    app.command("beat")(beat)
