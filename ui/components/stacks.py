"""The Duplicates page's "Keep as a stack" for a series: nothing moves, the burst is recorded
as a stack (search/duplicates/stacks.py) whose cover is the group's keeper; the page's Undo
takes it back (ui/components/dups.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.groups import DupGroup
from vitrieve.search.duplicates.stacks import create_stack, remove_stack
from vitrieve.tables.fsnames import display_path

Recorded = Callable[[str, dict], None]  # the page's "decision made" (note, how to undo it)


def keep_as_stack(lib: Library, group: DupGroup, recorded: Recorded) -> None:
    """Callback: the group becomes one stack, its keeper the cover."""
    ids = [m.image_id for m in group.members]
    with lib.sessions.begin() as session:
        stack, _ = create_stack(session, ids[0], ids, group=group.group)
    name = display_path(Path(group.members[0].path).name)
    more = len(stack.members) - 1
    recorded(
        f"kept {name} and {more} more photo{'s' if more != 1 else ''} as a stack",
        {"kind": "stack", "stack": stack.id},
    )


def undo_stack(lib: Library, stack_id: int) -> None:
    try:
        with lib.sessions.begin() as session:
            remove_stack(session, stack_id)
    except VitrieveError:
        pass  # already taken back (`vitrieve dups stacks undo`, the lightbox's Unstack)


def stack_button(lib: Library, group: DupGroup, recorded: Recorded) -> None:
    st.button(
        "Keep as a stack",
        key=f"stack-group-{group.group}",
        on_click=keep_as_stack,
        args=(lib, group, recorded),
        help="Keep every shot, in place: search and grids show the best one with a count.",
        icon=":material/burst_mode:",
    )
