"""`vitrieve failures`: the files ingest could not read or decode, with the reason for each.

An ingest prints its failures once, at its end; this lists them whenever asked, from the
catalog, without loading the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vitrieve.core.errors import MAX_ID
from vitrieve.ui.cli.common import emit_json, open_library
from vitrieve.ui.cli.table import Col, Records, note


def failures(
    folder: Annotated[Path | None, typer.Option(help="Only files under this folder.")] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, max=MAX_ID, help="List at most this many.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Files that failed to ingest (empty, truncated, not an image, too large...) and why.

    Piped, one line per file: id, reason, path (TAB-separated)."""
    from vitrieve.search.failures import failed_images
    from vitrieve.search.query import check_folder

    lib = open_library()
    listing = failed_images(lib, folder=check_folder(lib, folder), limit=limit)
    if as_json:
        emit_json([f.to_dict() for f in listing.failures])
        return
    if not listing.total:
        note("no failed files" + (f" under {folder}" if folder else ""))
        return
    records = Records([Col("id", "right"), Col("reason", fold=True)], path="file")
    for f in listing.failures:
        records.add(f.image_id, f.reason, path=f.path)
    records.print()
    more = listing.total - len(listing.failures)
    note(
        f"{listing.total} failed files"
        + (f" ({more} more not shown: raise --limit)" if more else "")
        + "; fix or remove them, then run `vitrieve ingest` again"
    )


def register(app: typer.Typer) -> None:
    app.command("failures")(failures)
