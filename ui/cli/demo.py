"""`vitrieve demo FOLDER [QUERY]`: the whole flow (ingest, then search by example) on the tiny
random test model, for a machine that cannot get the real weights yet.

Why a command and not a flag on `ingest`: the demo must never touch the user's catalog or mix
its meaningless vectors with real ones, so it keeps everything in its own library,
`$VITRIEVE_HOME/demo` (SQLite, whatever VITRIEVE_DATABASE_URL says), and says loudly, before
and after, that its similarities mean nothing.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

import vitrieve
from vitrieve.core.config import Settings
from vitrieve.core.errors import VitrieveError
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.cli.common import err, open_library, out
from vitrieve.ui.cli.text import count, say, shown

TINY_VIT = Path(vitrieve.__file__).resolve().parent.parent / "tests" / "fixtures" / "tiny-vit"
WARNING = (
    "[bold yellow]demo mode[/]: a tiny RANDOM model (tests/fixtures/tiny-vit), not ViT-B/16. "
    "Everything runs as it would with the real weights, but the similarity scores are "
    "meaningless. For real results get the weights (README: Model weights)."
)


def demo_settings(settings: Settings) -> Settings:
    """The demo's own library: under VITRIEVE_HOME, never the user's catalog or broker."""
    if not (TINY_VIT / "config.json").is_file():
        raise VitrieveError(
            f"{TINY_VIT}: the demo model is missing (it comes with a source checkout; "
            "`python scripts/make_tiny_vit.py` writes it)"
        )
    return settings.model_copy(
        update={
            "home": settings.home / "demo",
            "database_url": None,
            "broker_url": None,
            "model": str(TINY_VIT),
            "hub_cache": None,
            "precision": "fp32",  # no calibration run for a model this small
        }
    )


def first_photo(folder: Path) -> Path:
    from vitrieve.indexer.decode import IMAGE_EXTENSIONS
    from vitrieve.indexer.scan import scan_tree

    for found in scan_tree(folder, extensions=IMAGE_EXTENSIONS):
        return folder / found.rel_path
    raise VitrieveError(f"{display_path(str(folder))}: no photo found to search with")


def demo(
    folder: Annotated[Path, typer.Argument(help="A folder of photos.")],
    query: Annotated[
        Path | None, typer.Argument(help="Query image (default: the first photo found).")
    ] = None,
    k: Annotated[int, typer.Option("-k", "--top", min=1, help="Number of results.")] = 10,
) -> None:
    """Try vitrieve without the real weights: ingest FOLDER and search it with a tiny random
    model (its similarities are meaningless)."""
    from vitrieve.indexer.ingest import ingest
    from vitrieve.search.query import query_from_file, search
    from vitrieve.ui.progress import RichIngestProgress

    if not folder.is_dir():
        raise VitrieveError(f"{display_path(str(folder))}: not a folder")
    settings = demo_settings(Settings())
    err.print(WARNING, highlight=False, soft_wrap=not err.is_terminal)
    lib = open_library(settings)
    with RichIngestProgress(err, enabled=err.is_terminal) as progress:
        summary = ingest(lib, [folder], progress)
    say(
        f"demo library {shown(settings.home)}: {count(summary.embedded, 'image')} embedded, "
        f"{summary.unchanged} unchanged, {summary.failed} failed"
    )
    for failure in summary.failures:  # which file, and why: the count alone helps nobody
        say(("failed", "red"), " ", failure.path, ": ", failure.reason)
    query = query or first_photo(folder.resolve())
    say(f"searching for images like {query}")
    table = Table("score", "path", title="demo results (random model: scores mean nothing)")
    for r in search(lib, query_from_file(lib, query), k):
        table.add_row(f"{r.score:.4f}", Text(shown(r.path)))
    out.print(table)
    err.print(WARNING, highlight=False, soft_wrap=not err.is_terminal)
    # the UI opens the demo's own catalog only with the user's database URL out of the way
    unset = "env -u VITRIEVE_DATABASE_URL " if os.environ.get("VITRIEVE_DATABASE_URL") else ""
    say(
        "to browse the demo library in the web UI: ",
        f"{unset}VITRIEVE_HOME={shlex.quote(shown(settings.home))} "
        f"VITRIEVE_MODEL={shlex.quote(shown(TINY_VIT))} vitrieve ui",
        console=err,
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
