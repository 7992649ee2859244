"""The library as every `dups` command opens it: after settling the moves a killed quarantine or
undo left half-done, each one reported on stderr (so no command ever plans over them)."""

from __future__ import annotations

from vitrieve.indexer.library import Library
from vitrieve.ui.cli.common import err, open_library
from vitrieve.ui.cli.text import say


def library_settled() -> Library:
    from vitrieve.search.duplicates.quarantine import reconcile_moves

    lib = open_library()
    for note in reconcile_moves(lib):
        say(("recovered", "yellow"), f" {note}", console=err)
    return lib
