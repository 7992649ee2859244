"""`vitrieve --help` as a reader wants it: the main commands first, the rest in named panels,
no type noise.

Why here and not on each decorator: the order is one decision about the whole command list
(typer lists plain commands before groups, so `dups` fell below `demo` and `calibrate`), and
the noise comes from typer's generic help (`<bool>` after every flag, `[1<=x<=9223372036854775807]`
after every id option, where 9223372036854775807 is SQLite's largest id, not a user's limit).
`tidy` edits the built click command once, before it runs; the parsing and the range checks
are the parameter types' and stay as they were.
"""

from __future__ import annotations

from typing import Any

import typer

from vitrieve.core.errors import MAX_ID

__all__ = ["MAIN_COMMANDS", "PANELS", "tidy"]

MAIN_COMMANDS = ("ingest", "search", "dups", "status", "ui")
PANELS = {
    "Library": (
        "tag",
        "calibrate",
        "failures",
        "export",
        "thumbs",
        "roots",
        "embed",
        "eval",
        "demo",
    ),
    "Background and maintenance": ("jobs", "worker", "beat", "index", "db", "model"),
}


def tidy(command: Any) -> Any:
    """``command`` (the root click group) with its commands ordered and every level's options
    shown without ``<bool>`` and without a range ending at the largest id."""
    commands = getattr(command, "commands", None)
    if commands is not None:
        rank = [*MAIN_COMMANDS, *(name for names in PANELS.values() for name in names)]
        ordered = sorted(commands, key=lambda n: rank.index(n) if n in rank else len(rank))
        command.commands = {name: commands[name] for name in ordered}
        for panel, names in PANELS.items():
            for name in names:
                if name in commands:
                    commands[name].rich_help_panel = panel
    _plain_options(command, None)
    return command


def _plain_options(command: Any, parent: typer.Context | None) -> None:
    ctx = typer.Context(command, parent=parent, info_name=command.name)
    for param in command.get_params(ctx):  # the --help option included
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""  # a flag takes no value: nothing to show
        if getattr(param, "max", None) == MAX_ID:
            param.max = None  # shown as [x>=1]; the type still refuses a larger id
    for sub in getattr(command, "commands", {}).values():
        _plain_options(sub, ctx)
