"""Quarantine of the photos ticked on the Search page, in the Duplicates page's three steps: a
dry-run list of the moves (and of the photos that stay, with why: a reference folder, already
quarantined), a ticked confirmation, then the move, whose outcome carries an Undo of exactly
that batch. The plan is search.duplicates.chosen.plan_chosen (files chosen by hand, not
copies); the move and the undo are the duplicates' own (search/duplicates/quarantine.py,
undo.py), so the files land in the same folder layout and come back byte for byte.

A preview is tied to the selection that made it: ticking or unticking a photo drops it, so a
plan never moves a set the user no longer sees.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.chosen import plan_chosen
from vitrieve.search.duplicates.plan import Plan
from vitrieve.search.duplicates.quarantine import apply_quarantine
from vitrieve.search.duplicates.undo import undo_quarantine
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.components.dup_quarantine import (
    last_move_row,
    moved_words,
    run_and_say,
    show_outcome,
)
from vitrieve.ui.views.dups import human_size
from vitrieve.ui.views.words import count

DEST = "select_dest"  # the quarantine folder's text input
PLAN = "select_plan"  # {"ids", "plan"} awaiting confirmation
CONFIRM = "select_confirm"
FLASH = "select_flash"  # (kind, message, problems) of the last move or undo, said once
LAST_BATCH = "select_last_batch"  # (batch, files) of the last move, until it is undone


def panel(lib: Library, chosen: dict[int, str], drop: Callable[[list[int]], None]) -> None:
    """The folder, the Plan button and the pending preview for the ticked photos ``chosen``;
    ``drop`` takes moved photos out of the selection."""
    pending = st.session_state.get(PLAN)
    if pending is not None and pending["ids"] != list(chosen):
        cancel()  # the selection changed since the plan was made
    st.text_input(
        "Quarantine folder (outside every library root)",
        placeholder="/home/me/quarantine",
        key=DEST,
        help="The photos are moved here, mirroring their paths; nothing is deleted.",
    )
    st.button(
        "Plan the quarantine",
        key="select-plan",
        icon=":material/checklist:",
        on_click=_make_plan,
        args=(lib, list(chosen)),
        help="A dry run first: every move is listed before anything is touched.",
    )
    _preview(lib, drop)


def _make_plan(lib: Library, ids: list[int]) -> None:
    cancel()
    dest = str(st.session_state.get(DEST) or "").strip()
    if not dest:
        st.session_state[FLASH] = ("error", "Give the quarantine folder first.", [])
        return
    try:
        plan = plan_chosen(lib, ids, Path(dest))
    except VitrieveError as exc:
        st.session_state[FLASH] = ("error", display_path(str(exc)), [])
        return
    st.session_state[PLAN] = {"ids": ids, "plan": plan}


def _preview(lib: Library, drop: Callable[[list[int]], None]) -> None:
    pending = st.session_state.get(PLAN)
    if pending is None:
        return
    plan: Plan = pending["plan"]
    for stay in plan.left:
        st.warning(
            display_path(f"{stay.path or f'image {stay.image_id}'} stays: {stay.why}."),
            icon=":material/lock:",
        )
    if not plan.moves:
        st.info("Nothing to move.")
        return
    files, size = len(plan), plan.totals.bytes
    st.markdown(
        f"**Dry run:** {count(files, 'file')} ({human_size(size)}) would move "
        f"to {display_path(plan.dest)}. Nothing has moved yet."
    )
    rows = [
        {
            "name": display_path(m.src.name),
            "size": human_size(m.size),
            "from": display_path(m.src),
            "to": display_path(m.dst),
        }
        for m in plan
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    sure = st.checkbox(
        f"Move these {count(files, 'file')} ({human_size(size)}) to {display_path(plan.dest)}",
        key=CONFIRM,
    )
    c1, c2, _ = st.columns([1, 1, 3])
    c1.button(
        f"Move {count(files, 'file')}",
        disabled=not sure,
        type="primary",
        key="select-apply",
        on_click=_apply,
        args=(lib, plan, drop),
    )
    c2.button("Cancel", key="select-cancel", on_click=cancel)


def cancel() -> None:
    st.session_state.pop(PLAN, None)
    st.session_state.pop(CONFIRM, None)


def _apply(lib: Library, plan: Plan, drop: Callable[[list[int]], None]) -> None:
    cancel()
    report = run_and_say(FLASH, lambda: apply_quarantine(lib, plan), moved_words(plan.dest))
    if report is not None:
        drop([m.image_id for m in report.done])
        if report.done:
            st.session_state[LAST_BATCH] = (report.batch, len(report.done))


def _restore(lib: Library, batch: str) -> None:
    report = run_and_say(
        FLASH,
        lambda: undo_quarantine(lib, batch),
        lambda r: f"Restored {count(len(r.done), 'file')}.",
    )
    if report is not None:
        st.session_state.pop(LAST_BATCH, None)


def outcome(lib: Library) -> None:
    """The last plan error, move or undo, and the Undo of the last move until it is used
    (shown even when the moved photos were the whole selection)."""
    show_outcome(FLASH)
    last = st.session_state.get(LAST_BATCH)
    if last is not None:
        text = f"Last quarantine: {count(last[1], 'selected file')} moved."
        last_move_row(text, "select-undo", _restore, (lib, last[0]))
