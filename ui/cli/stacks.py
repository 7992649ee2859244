"""`vitrieve dups stack GROUP` and `vitrieve dups stacks [show|undo]`: bursts kept whole.

`dups stack` records a duplicate group (a series, usually) as a stack: nothing moves, search
and grids show its keeper as the cover with a count, and `dups` no longer lists it. `stacks`
lists them; `show` names every member; `undo` takes one back. Imports are late, as in dups.py,
so `--help` stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from vitrieve.core.errors import MAX_ID, VitrieveError
from vitrieve.ui.cli.common import emit_json, err, out
from vitrieve.ui.cli.settled import library_settled
from vitrieve.ui.cli.text import say, shown

if TYPE_CHECKING:
    from vitrieve.indexer.library import Library
    from vitrieve.search.duplicates.stacks import StackInfo

stacks_app = typer.Typer(
    help="List, show or undo stacks: bursts kept whole, shown as one cover photo.",
    invoke_without_command=True,
)

StackId = Annotated[int, typer.Argument(min=1, max=MAX_ID, help="A stack id (`dups stacks`).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def stack_group(
    group: Annotated[
        int, typer.Argument(min=1, max=MAX_ID, help="A group id, as `vitrieve dups` lists it.")
    ],
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold", "-t", min=0.0, max=1.0, help="Cosine similarity for near-duplicates."
        ),
    ] = None,
) -> None:
    """Keep a group (a burst) as a stack: nothing moves; its keeper is the cover."""
    from vitrieve.search.duplicates.find import find_duplicates
    from vitrieve.search.duplicates.stacks import create_stack
    from vitrieve.search.duplicates.threshold import threshold_in_force

    lib = library_settled()
    chosen = threshold if threshold is not None else threshold_in_force(lib, None)[0]
    by_id = {g.group: g for g in find_duplicates(lib, threshold=chosen).groups}
    if group not in by_id:
        raise VitrieveError(f"no duplicate group {group} (see `vitrieve dups`)")
    found = by_id[group]
    cover = found.members[0].image_id
    with lib.sessions.begin() as session:
        stack, replaced = create_stack(
            session, cover, [m.image_id for m in found.members], group=group
        )
    for old in replaced:
        say(f"stack {old} is part of the new stack now", console=err)
    extra = len(stack.members) - 1
    say(
        f"stack {stack.id}: ",
        found.members[0].path,
        f" + {extra} photo{'s' if extra != 1 else ''}, kept in place",
    )


@stacks_app.callback()
def stacks(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List every stack: its id, cover photo and size."""
    if ctx.invoked_subcommand is not None:
        return
    from vitrieve.search.duplicates.stacks import list_stacks

    lib = library_settled()
    with lib.sessions() as session:
        found = list_stacks(session)
    if as_json:
        emit_json([s.to_dict() for s in found])
        return
    if not found:
        say("no stacks recorded", console=err)  # on stderr: a pipe gets no records
        return
    paths = _paths(lib, [s.cover for s in found])
    for s in found:
        if out.is_terminal:
            extra = len(s.members) - 1
            say(f"stack {s.id}: ", paths.get(s.cover, "?"), f" + {extra} more")
        else:
            out.file.write(f"{s.id}\t{len(s.members)}\t{shown(paths.get(s.cover, ''))}\n")
    out.file.flush()


@stacks_app.command("show")
def show(stack_id: StackId, as_json: AsJson = False) -> None:
    """Every photo of a stack, the cover first."""
    from vitrieve.search.duplicates.stacks import get_stack

    lib = library_settled()
    with lib.sessions() as session:
        stack = get_stack(session, stack_id)
    paths = _paths(lib, list(stack.members))
    if as_json:
        emit_json({**stack.to_dict(), "paths": [paths.get(i) for i in stack.members]})
        return
    _print_members(stack, paths)


@stacks_app.command("undo")
def undo(stack_id: StackId) -> None:
    """Take a stack back: its photos are shown one by one again (nothing on disk changes)."""
    from vitrieve.search.duplicates.stacks import remove_stack

    lib = library_settled()
    with lib.sessions.begin() as session:
        stack = remove_stack(session, stack_id)
    say(f"removed stack {stack.id} ({len(stack.members)} photos shown one by one again)")


def _print_members(stack: StackInfo, paths: dict[int, str]) -> None:
    for i in stack.members:
        role = "cover" if i == stack.cover else "member"
        if out.is_terminal:
            say(f"{role:<6} {i:>8}  ", paths.get(i, "?"))
        else:
            out.file.write(f"{stack.id}\t{role}\t{i}\t{shown(paths.get(i, ''))}\n")
    out.file.flush()


def _paths(lib: Library, ids: list[int]) -> dict[int, str]:
    from vitrieve.indexer.catalog import describe_images
    from vitrieve.tables.fsnames import display_path

    with lib.sessions() as session:
        return {i: display_path(im.path) for i, im in describe_images(session, ids).items()}
