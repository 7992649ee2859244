"""The `vitrieve` command line.

Exit codes: 0 success, 1 an error, 2 a usage error; either is one line on stderr (ui/cli/errors.py;
set VITRIEVE_DEBUG=1 for the traceback). Progress goes to stderr so `--json` stays parseable.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer

from vitrieve.core.config import Settings
from vitrieve.core.errors import MAX_ID, VitrieveError
from vitrieve.tables.fsnames import display_streams
from vitrieve.ui.cli import calibrate as cli_calibrate
from vitrieve.ui.cli import demo as cli_demo
from vitrieve.ui.cli import dups as cli_dups
from vitrieve.ui.cli import errors
from vitrieve.ui.cli import export as cli_export
from vitrieve.ui.cli import failures as cli_failures
from vitrieve.ui.cli import jobs as cli_jobs
from vitrieve.ui.cli import manifest as cli_manifest
from vitrieve.ui.cli import references as cli_references
from vitrieve.ui.cli import tags as cli_tags
from vitrieve.ui.cli import thumbs as cli_thumbs
from vitrieve.ui.cli.common import emit_json, err, open_library, out
from vitrieve.ui.cli.text import LogFormatter, count, say, shown
from vitrieve.ui.progress import RichIngestProgress

app = typer.Typer(
    help="vitrieve: self-hosted visual search for image collections.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Catalog schema migrations.", no_args_is_help=True)
index_app = typer.Typer(help="The derived FAISS index.", no_args_is_help=True)
model_app = typer.Typer(help="The ViT weights.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(cli_dups.app, name="dups")
app.add_typer(cli_dups.eval_app, name="eval")
app.add_typer(cli_tags.app, name="tag")
app.add_typer(cli_jobs.roots_app, name="roots")
cli_references.register(cli_jobs.roots_app)  # roots reference
cli_jobs.register(app)  # jobs, worker, beat
cli_thumbs.register(app)  # thumbs
cli_failures.register(app)  # failures
cli_demo.register(app)  # demo
cli_calibrate.register(app)  # calibrate
cli_export.register(app)  # export
app.add_typer(index_app, name="index")
app.add_typer(model_app, name="model")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out.print(f"vitrieve {version('vitrieve')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    pass


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Folders to index (registered as roots).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    background: Annotated[
        bool,
        typer.Option("--background", help="Queue a job for the workers; print its id and return."),
    ] = False,
    manifest: cli_manifest.FromFile = None,
    nul: cli_manifest.Nul = False,
    path_column: cli_manifest.PathColumn = "path",
    tag_columns: cli_manifest.TagColumns = None,
    add_root: cli_manifest.AddRoot = False,
) -> None:
    """Scan folders, embed new and changed images, update the index."""
    listing = cli_manifest.Listing(manifest, nul, path_column, tag_columns, add_root, background)
    if background and not listing.given:
        cli_jobs.ingest_background(paths or [], as_json)
        return
    from vitrieve.indexer.ingest import ingest as run_ingest
    from vitrieve.search.tagging.apply import auto_tagger

    listing.check(paths)  # a manifest, or folders: one of them (before the library opens)
    lib = open_library()
    with RichIngestProgress(err, enabled=err.is_terminal) as progress:
        listed: dict[str, object]
        if listing.given:  # the files a manifest lists (ui/cli/manifest.py)
            summary, listed = cli_manifest.ingest_listed(lib, listing, progress, auto_tagger(lib))
        else:
            summary = run_ingest(lib, paths or [], progress, on_embedded=auto_tagger(lib))
            listed = {}
    if as_json:  # the calibration's line (or null) joins the summary; progress stays on stderr
        emit_json(summary.to_dict() | listed | {"calibration": cli_calibrate.after_ingest(lib)})
        return
    cli_manifest.say_listed(listed)
    counts = ", ".join(
        f"{getattr(summary, k)} {k}"
        for k in ("new", "changed", "moved", "missing", "unchanged", "failed")
    )
    say(("done", "bold"), f" in {summary.seconds:.1f}s: {counts}")
    say(embedded_line(summary.embedded, summary.computed, progress.rate))
    if summary.skipped:
        say(skipped_line(summary.skipped))
    for failure in summary.failures:  # '[draft] a.jpg' or a reason's brackets are not markup
        say(("failed", "red"), " ", failure.path, ": ", failure.reason)
    calibrated = cli_calibrate.after_ingest(lib)  # once per model, never fails the ingest
    if calibrated is not None:
        say(calibrated)


@app.command()
def search(
    image: Annotated[Path | None, typer.Argument(help="Query image file.")] = None,
    image_id: Annotated[
        int | None, typer.Option("--id", min=1, max=MAX_ID, help="Query by catalog id.")
    ] = None,
    k: Annotated[int, typer.Option("-k", "--top", min=1, help="Number of results.")] = 10,
    folder: Annotated[Path | None, typer.Option(help="Only results under this folder.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only images with this tag.")] = None,
    min_score: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Least probe score for --tag.")
    ] = 0.5,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Find the images most similar to an example."""
    from vitrieve.search.query import check_folder, query_from_file, query_from_id
    from vitrieve.search.query import search as run_search

    if (image is None) == (image_id is None):
        raise typer.BadParameter("give an IMAGE file or --id (one of them)")
    lib = open_library()
    folder = check_folder(lib, folder)
    if image_id is not None:
        query = query_from_id(lib, image_id)
    else:
        assert image is not None  # exactly one of the two, checked above
        query = query_from_file(lib, image)
    from vitrieve.search.duplicates.raw_pairs import paired_results
    from vitrieve.search.duplicates.strength import strength_levels
    from vitrieve.search.query import top_shown

    def fetch(n: int) -> list:
        if tag is not None:
            from vitrieve.search.tagging.query import search_tagged

            return search_tagged(lib, query, n, tag=tag, min_score=min_score, folder=folder)
        return run_search(lib, query, n, folder=folder)

    # a RAW+JPEG pair once, by its JPEG; still k results
    results = top_shown(k, fetch, lambda got: paired_results(lib, got))
    from vitrieve.search.duplicates.threshold import latest_calibration

    levels = strength_levels(latest_calibration(lib))  # "same photo" ... on the measured curve
    if as_json:
        emit_json([r.to_dict() | {"match": levels.word(r.score)} for r in results])
        return
    from vitrieve.ui.cli.table import Col, Records

    # Piped: score, id, resolution, date, path (README "Output in a terminal and in a pipe");
    # the match words are the terminal's only.
    records = Records(
        [
            Col("score", "right"),
            Col("match", drop=3, piped=False),
            Col("id", "right", drop=2),
            "resolution",
            Col("date", drop=1),
        ],
        path="file",
    )
    for r in results:
        size = f"{r.width}x{r.height}" if r.width else ""
        date = r.captured_at.strftime("%Y-%m-%d") if r.captured_at else ""
        match = " ".join(filter(None, (levels.word(r.score), "+RAW" if r.raw else "")))
        records.add(f"{r.score:.4f}", match, r.image_id, size, date, path=r.path)
    records.print()


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Catalog counts, model and index."""
    from vitrieve.search.status import library_status

    lib = open_library()
    lib.may_download = False  # status reports a missing model; it never fetches 350 MB
    info = library_status(lib)
    if as_json:
        emit_json(info)
        return
    for key, value in info.items():
        hint = " (listed by `vitrieve failures`)" if key == "failed" and value else ""
        say((key, "bold"), f": {value}{hint}")


@app.command()
def embed(
    images: Annotated[list[Path], typer.Argument(help="Image files.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print the embedding of image files (not stored), for scripting."""
    from vitrieve.search.embed_files import embed_files

    lib = open_library()
    rows = embed_files(lib, images)
    if as_json:
        emit_json([r.to_dict() for r in rows])
    else:  # one line per file, never wrapped: PATH, a TAB, the numbers separated by spaces
        for r in rows:
            if r.vector is not None:  # failures are the one error line below
                vector = " ".join(f"{x:.6f}" for x in r.vector)
                sys.stdout.write(f"{shown(r.path)}\t{vector}\n")
        sys.stdout.flush()
    if any(r.error for r in rows):
        raise VitrieveError("; ".join(f"{r.path}: {r.error}" for r in rows if r.error))


@app.command("ui")
def ui_command(
    host: Annotated[str, typer.Option(help="Address to listen on (localhost only by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8501,
    no_password: Annotated[
        bool,
        typer.Option(
            "--no-password",
            help="Serve beyond localhost with no password or OIDC configured (anyone who "
            "reaches the port can use the UI); also VITRIEVE_UI_ALLOW_NO_PASSWORD=1.",
        ),
    ] = False,
) -> None:
    """Start the web UI (Streamlit) on HOST:PORT.

    Beyond localhost it needs a login: VITRIEVE_UI_PASSWORD, `password` or `[auth]` in
    .streamlit/secrets.toml (docs/UI.md), or --no-password to serve it open on purpose."""
    from vitrieve.ui.client_address import UVICORN_TRUSTS_NOBODY
    from vitrieve.ui.exposure import check_exposure
    from vitrieve.ui.views.search import MAX_UPLOAD_MB

    # A bad VITRIEVE_* variable fails here in one line, not in the server's log; an address
    # beyond this machine without a login is refused before anything listens on it.
    check_exposure(host, port, Settings(), no_password=no_password)
    # ui/server.py wraps ui/app.py in st.App: the download route and the websocket guard.
    server_path = Path(__file__).parents[1] / "server.py"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(server_path),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.maxUploadSize", str(MAX_UPLOAD_MB),
        "--server.fileWatcherType", "none",
        "--client.toolbarMode", "minimal",
        # Browsers get a generic notice for an error, never its message, type or traceback
        # (they go to this process's log).
        "--client.showErrorDetails", "none",
        "--server.enableXsrfProtection", "true",  # its cookie ties download links to a browser
    ]  # fmt: skip
    check_port_free(host, port)  # before the URL is announced, not after
    say(f"vitrieve UI on http://{host}:{port}", console=err)
    sys.stderr.flush()
    # Only ui/client_address.py reads forwarded headers, from the proxies the user named.
    env = os.environ | UVICORN_TRUSTS_NOBODY
    os.execve(sys.executable, cmd, env)  # streamlit takes over this process (and its signals)


def check_port_free(host: str, port: int) -> None:
    """Fails in one line when HOST:PORT cannot be listened on (another server has it), so
    `vitrieve ui` never prints a URL that belongs to someone else."""
    import socket

    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host  # [::1] as typed
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise VitrieveError(f"--host {host}: not an address of this machine ({exc})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind(address)
        except OSError as exc:
            raise VitrieveError(
                f"{host}:{port}: cannot listen there ({exc.strerror or exc}); is another "
                "vitrieve ui running? Pick another port with --port"
            ) from None


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Rebuild the FAISS index from the vectors in the catalog."""
    index = open_library().rebuild_index()
    say(f"rebuilt {index.path} with {count(len(index), 'vector')}")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply catalog migrations (also done automatically on start)."""
    from vitrieve.core import migrate

    lib = open_library(run_migrations=False)
    migrate.upgrade(lib.engine, revision)
    out.print(f"catalog at revision {migrate.current_revision(lib.engine)}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Revert catalog migrations to REVISION ('base' empties the catalog)."""
    from vitrieve.core import migrate

    lib = open_library(run_migrations=False)
    migrate.downgrade(lib.engine, revision)
    out.print(f"catalog at revision {migrate.current_revision(lib.engine)}")


@model_app.command("fetch")
def model_fetch() -> None:
    """Download the weights named by VITRIEVE_MODEL into the hub cache (needs network)."""
    from vitrieve.indexer.model_source import locate_model

    settings = Settings()
    location = locate_model(settings.model, offline=False, cache_dir=settings.hub_cache)
    say(f"{location.name}: {location.path} (from {location.source})")


def embedded_line(embedded: int, computed: int, rate: float | None) -> str:
    """How many images got a vector, at the rate the progress bar showed; no rate when the
    model never ran (nothing new, or only copies of images it had already embedded)."""
    if not embedded:
        return "nothing new to embed"
    if not computed:
        return f"embedded {count(embedded, 'image')} (copies of images already embedded)"
    speed = "" if rate is None else f" ({rate:.1f} img/s)"
    return f"embedded {count(embedded, 'image')}{speed}"


def skipped_line(skipped: dict[str, int]) -> str:
    """'skipped 12 files by extension: .txt 9, .mov 3' (not images vitrieve reads)."""
    kinds = ", ".join(f"{shown(ext) or '(none)'} {n}" for ext, n in skipped.items())
    return f"skipped {count(sum(skipped.values()), 'file')} by extension: {kinds}"


def _quiet_libraries() -> None:
    handler = logging.StreamHandler()  # a file name in a message cannot drive the terminal
    handler.setFormatter(LogFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    warnings.filterwarnings("ignore", module="transformers")


def main() -> None:
    display_streams()  # a non-UTF-8 file name prints as caf\xe9.jpg instead of failing
    _quiet_libraries()
    sys.exit(errors.run(app))


if __name__ == "__main__":
    main()
