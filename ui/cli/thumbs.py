"""`vitrieve thumbs`: make missing or damaged thumbnails again from the original files.

Thumbnails are derived files (indexer/thumbnails.py); deleting HOME/thumbs, or copying HOME
without it, loses nothing that this command cannot rebuild. The UI also heals the thumbnails a
grid is about to show; this command does the whole catalog at once, with progress.
"""

from __future__ import annotations

from typing import Annotated

import typer

from vitrieve.ui.cli.common import emit_json, err, open_library
from vitrieve.ui.cli.text import count, say
from vitrieve.ui.progress import counted_bars


def thumbs(
    everything: Annotated[
        bool, typer.Option("--all", help="Remake every thumbnail, not only missing ones.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count missing or damaged thumbnails.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Check every thumbnail; remake those missing or damaged from the original files."""
    from vitrieve.indexer.thumb_repair import repair_thumbnails

    lib = open_library()
    bars = counted_bars(err, "thumbnails")
    with bars:
        task = bars.add_task("thumbnails", total=None)
        report = repair_thumbnails(
            lib,
            everything=everything,
            dry_run=dry_run,
            workers=lib.settings.decode_workers,
            progress=lambda done, total: bars.update(task, completed=done, total=total),
        )
    if as_json:
        emit_json(report.to_dict())
        return
    what = "selected" if everything else "missing or damaged"
    checked = count(report.contents, "thumbnail")
    line = f"checked {checked} in {report.seconds:.1f}s: {report.missing} {what}"
    if dry_run:
        say(f"{line}; dry run, nothing written")
        return
    say(f"{line}, {report.remade} remade, {report.failed} could not be remade")
    for path, reason in report.failures:
        say(("failed", "red"), " ", path, ": ", reason)
    if report.failed > len(report.failures):
        say(f"... and {report.failed - len(report.failures)} more (--json lists the first)")


def register(app: typer.Typer) -> None:
    app.command("thumbs")(thumbs)
