"""What every `vitrieve` sub-command shares: the two consoles, JSON output, opening the library.

One place, so every command opens the catalog the same way (migrations under their lock). How
user text is printed (a non-UTF-8 name as `caf\\xe9.jpg`, control characters escaped, never
markup) is ui/cli/text.py's job.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console

from vitrieve.core.config import Settings
from vitrieve.tables.fsnames import displayable

if TYPE_CHECKING:
    from vitrieve.indexer.library import Library

out = Console()
err = Console(stderr=True)


def emit_json(data: Any) -> None:
    """`--json` output: indented, readable names, anything else (dates, paths) as strings."""
    sys.stdout.write(json.dumps(displayable(data), indent=2, default=str) + "\n")


def open_library(settings: Settings | None = None, *, run_migrations: bool = True) -> Library:
    """The library of `settings` (default: from VITRIEVE_*). Imported late: `--help` and
    commands that never touch the catalog do not pay for SQLAlchemy and the model code."""
    from vitrieve.indexer.library import Library

    return Library(settings or Settings(), run_migrations=run_migrations)
