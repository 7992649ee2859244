"""`vitrieve roots reference DIR [--off]` (and `roots add DIR --reference`): reference folders,
whose images duplicate review always keeps (search/duplicates/reference.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vitrieve.core.config import Settings
from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.ui.cli.common import open_library
from vitrieve.ui.cli.text import say


def mark(lib: Library, path: Path, *, on: bool) -> None:
    """Marks or unmarks the folder and says what that means, in one line."""
    from vitrieve.search.duplicates.reference import set_reference

    row, changed = set_reference(lib, path, on)
    if on:
        state = "is a reference folder" if changed else "was already a reference folder"
        say(row.path, f" {state}: its images are always kept, never planned for quarantine")
    else:
        state = "is no longer a reference folder" if changed else "was not a reference folder"
        say(row.path, f" {state}")


def reference(
    path: Annotated[Path, typer.Argument(help="A registered root or a folder inside one.")],
    off: Annotated[bool, typer.Option("--off", help="No longer a reference folder.")] = False,
) -> None:
    """Mark a folder as a reference folder: `vitrieve dups` always keeps its images (a
    subfolder counts too); --off takes the mark back."""
    if not off and not path.is_dir():
        raise VitrieveError(f"{path}: not a directory")
    mark(open_library(Settings()), path, on=not off)


def register(roots_app: typer.Typer) -> None:
    roots_app.command("reference")(reference)
