"""`vitrieve ingest --from-file LIST`: the options, and the manifest's files ingested.

The reading is indexer/manifest.py, the ingest indexer/listed.py (the same stages as a folder
ingest), the extra columns as tags search/tagging/manifest_tags.py; this module only wires the
command's options to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from vitrieve.indexer.ingest import EmbeddedHook, IngestProgress, IngestSummary
from vitrieve.indexer.library import Library
from vitrieve.ui.cli.text import count, say

_PANEL = "Manifest (a list of files instead of folders)"
FromFile = Annotated[
    str | None,
    typer.Option(
        "--from-file",
        metavar="LIST",
        help="Ingest the files LIST names: one path per line ('-' reads stdin), or a .csv / "
        ".parquet table with a path column. Relative paths: from LIST's folder.",
        rich_help_panel=_PANEL,
    ),
]
Nul = Annotated[
    bool,
    typer.Option(
        "-0", "--null", help="LIST is NUL-separated (find -print0).", rich_help_panel=_PANEL
    ),
]
PathColumn = Annotated[
    str,
    typer.Option(help="The path column of a CSV/Parquet LIST.", rich_help_panel=_PANEL),
]
TagColumns = Annotated[
    str | None,
    typer.Option(
        help="Comma-separated columns stored as manual tags 'column=value' (e.g. label,split).",
        rich_help_panel=_PANEL,
    ),
]
AddRoot = Annotated[
    bool,
    typer.Option(
        "--add-root",
        help="Register the common parent folder of listed files outside every root as a root "
        "(default: refuse them).",
        rich_help_panel=_PANEL,
    ),
]


@dataclass(frozen=True)
class Listing:
    source: str | None
    nul: bool
    path_column: str
    tag_columns: str | None
    add_root: bool
    background: bool

    @property
    def given(self) -> bool:
        return self.source is not None

    @property
    def columns(self) -> list[str]:
        return [c.strip() for c in (self.tag_columns or "").split(",") if c.strip()]

    def check(self, paths: list[Path] | None) -> None:
        """Folders or a manifest, one of them; manifest options only with a manifest."""
        if self.given and paths:
            raise typer.BadParameter("give FOLDERS or --from-file LIST, not both")
        if not self.given and not paths:
            raise typer.BadParameter("give FOLDERS to index, or --from-file LIST")
        if not self.given and (self.nul or self.tag_columns or self.add_root):
            raise typer.BadParameter("-0, --tag-columns and --add-root go with --from-file LIST")
        if self.given and self.background:
            raise typer.BadParameter("--background takes folders; run --from-file without it")


def ingest_listed(
    lib: Library, listing: Listing, progress: IngestProgress, on_embedded: EmbeddedHook
) -> tuple[IngestSummary, dict[str, Any]]:
    """The manifest read, its files ingested, its tag columns stored; returns the summary and
    what a manifest adds to it (the root registered, the tags written)."""
    from vitrieve.indexer.listed import ingest_listed as run_listed
    from vitrieve.indexer.manifest import read_manifest
    from vitrieve.search.tagging.manifest_tags import store_manifest_tags

    assert listing.source is not None  # checked by Listing.check
    manifest = read_manifest(
        listing.source,
        nul=listing.nul,
        path_column=listing.path_column,
        tag_columns=listing.columns,
    )
    outcome = run_listed(
        lib,
        [e.path for e in manifest.entries],
        manifest.source,
        progress,
        add_root=listing.add_root,
        on_embedded=on_embedded,
    )
    tags = 0
    if listing.columns:
        ids = outcome.ids
        values = [(ids[e.path], e.extras) for e in manifest.entries if e.path in ids]
        tags = store_manifest_tags(lib, listing.columns, values)
    new_root = None if outcome.new_root is None else str(outcome.new_root)
    return outcome.summary, {"listed": len(manifest.entries), "new_root": new_root, "tags": tags}


def say_listed(listed: dict[str, Any]) -> None:
    if listed.get("new_root"):
        say("registered ", listed["new_root"], " as a root (the common folder of listed files)")
    if listed.get("tags"):
        say("stored ", count(listed["tags"], "manifest tag"))
