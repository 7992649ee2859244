"""`vitrieve dups decisions`: every recorded duplicate decision, and taking one back by id.

Listed one a line: the id (what `remove` takes), what it says, when, and its files; piped, the
same as tab-separated records. Imports are late, as in dups.py, so `--help` stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from vitrieve.ui.cli.common import emit_json, err, out
from vitrieve.ui.cli.settled import library_settled
from vitrieve.ui.cli.table import EMPTY
from vitrieve.ui.cli.text import say, shown

if TYPE_CHECKING:
    from vitrieve.search.duplicates.decisions import Decision

decisions_app = typer.Typer(
    help="List or take back recorded decisions: 'not duplicates' pairs and groups, keepers.",
    invoke_without_command=True,
)

_WORDS = {
    "not_duplicates": "not duplicates",
    "not_duplicates_group": "not duplicates (whole group)",
    "keeper": "keep",
}


@decisions_app.callback()
def decisions(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List every recorded decision with the id that `dups decisions remove` takes."""
    if ctx.invoked_subcommand is not None:
        return
    from vitrieve.search.duplicates.decisions import list_decisions

    lib = library_settled()
    with lib.sessions() as session:
        found = list_decisions(session)
    if as_json:
        emit_json([d.to_dict() for d in found])
    else:
        print_decisions(found)


@decisions_app.command("remove")
def remove_decisions(
    ids: Annotated[list[str], typer.Argument(help="Decision ids: pair:A-B, group:N, keep:I.")],
) -> None:
    """Take decisions back by id (see `vitrieve dups decisions`); all or none."""
    from vitrieve.search.duplicates.decisions import remove_decision

    lib = library_settled()
    with lib.sessions.begin() as session:
        removed = [remove_decision(session, i) for i in ids]
    for d in removed:  # the id, then what it was about in words and files
        say(f"removed {d.id} ({_WORDS[d.kind]}): ", " | ".join(shown(p) for p in d.paths))


def print_decisions(decisions: list[Decision]) -> None:
    """One decision a line: its id (what `dups decisions remove` takes), kind, date, files.
    Piped: id, kind, group, date, then the files joined by " | ", each through `shown`."""
    if not decisions:
        say("no decisions recorded", console=err)  # on stderr: a pipe gets no records
        return
    for d in decisions:
        when = d.created_at.strftime("%Y-%m-%d %H:%M") if d.created_at else ""
        group = f" group {d.group}," if d.group is not None else ""
        files = " | ".join(shown(p) for p in d.paths)
        kind = _WORDS[d.kind]
        if out.is_terminal:
            say(f"{d.id:<14} {kind}{group} {when}: ", files, wrap=True)
        else:
            fields = (d.id, d.kind, "" if d.group is None else d.group, when, files)
            out.file.write("\t".join(shown(f) or EMPTY for f in fields) + "\n")
    out.file.flush()
