"""Quarantine from the Duplicates page, in three steps wherever it is started (one group, every
exact copy, every group): a dry-run preview of the moves, a ticked confirmation, then the move,
whose success message carries an Undo for exactly that batch. Before any plan, the page says
when copies sit in folders vitrieve cannot move files out of (a read-only photo mount); after a
move, every file left in place is listed with why (changed on disk, its keeper missing or
changed, a move that could not finish), and a move of nothing offers no Undo.

Only one preview exists at a time, tied to the scope that made it; the page drops it whenever
the groups are recomputed (search.duplicates.quarantine plans from the groups it is given, so a
plan of groups that changed since must never be applied).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.groups import DupGroup
from vitrieve.search.duplicates.quarantine import PlannedMove, apply_quarantine, plan_quarantine
from vitrieve.search.duplicates.undo import undo_quarantine
from vitrieve.search.duplicates.writable import blocked_roots, blocked_words
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.views.dups import human_size, metadata_notes, plan_rows, plan_summary
from vitrieve.ui.views.words import count

PLAN = "dup_plan"  # {"scope", "folder", "plan", "groups"} awaiting confirmation
PLAN_ERROR = "dup_plan_error"  # (scope, message) of a plan that could not be made
FLASH = "dup_flash"  # (kind, message, problems, batch) of the last quarantine or undo
DEST = "dup_dest"  # the quarantine folder's text input
CHANGED = "dup_changed"  # bumped when files moved: the groups must be recomputed
LAST_BATCH = "dup_last_batch"  # (batch, files) of the last move, until it is undone


def bump() -> None:
    st.session_state[CHANGED] = st.session_state.get(CHANGED, 0) + 1


def destination() -> None:
    st.text_input(
        "Quarantine folder (outside every library root)",
        placeholder="/home/me/duplicates-quarantine",
        key=DEST,
        help="Quarantined files are moved here, mirroring their paths; nothing is deleted.",
    )


def read_only_notice(lib: Library, groups: Sequence[DupGroup]) -> None:
    """Said before any plan: copies in folders vitrieve cannot move files out of (a read-only
    photo mount, as in the Docker stack's default) would all be left in place."""
    copies = [m.path for g in groups for m in g.others]
    blocked = blocked_roots(lib, copies)
    if blocked:
        st.warning(
            display_path(f"The library is read-only here: {blocked_words(blocked, len(copies))}."),
            icon=":material/lock:",
        )


def make_plan(lib: Library, scope: str, groups: Sequence[DupGroup]) -> None:
    """Callback: the dry run of moving the non-keepers of `groups` (nothing moves yet)."""
    st.session_state.pop(PLAN, None)
    st.session_state.pop(PLAN_ERROR, None)
    st.session_state.pop("dup_confirm", None)
    dest = str(st.session_state.get(DEST) or "").strip()
    if not dest:
        st.session_state[PLAN_ERROR] = (scope, "Give the quarantine folder first (in the sidebar).")
        return
    folder = Path(dest).expanduser()
    try:
        # The page's threshold as a safety net: a series member can be farther from the
        # series' best shot than the threshold; such a member is never moved.
        exact = bool(st.session_state.get("dup_exact"))
        threshold = None if exact else st.session_state.get("dup_threshold")
        plan = plan_quarantine(lib, groups, folder, threshold=threshold)
    except VitrieveError as exc:
        st.session_state[PLAN_ERROR] = (scope, display_path(str(exc)))
        return
    st.session_state[PLAN] = {"scope": scope, "folder": folder, "plan": plan, "groups": groups}


def plan_button(lib: Library, scope: str, groups: Sequence[DupGroup], label: str, **kw) -> None:
    st.button(label, key=f"plan-{scope}", on_click=make_plan, args=(lib, scope, groups), **kw)


def preview(lib: Library, scope: str) -> None:
    """The pending plan of `scope`, if any: every move with its keeper, similarity and reason,
    the totals, the confirmation and the buttons to move or cancel."""
    failed = st.session_state.get(PLAN_ERROR)
    if failed is not None and failed[0] == scope:
        st.error(failed[1])
    pending = st.session_state.get(PLAN)
    if pending is None or pending["scope"] != scope:
        return
    plan: Iterable[PlannedMove] = pending["plan"]
    files, size, groups = plan_summary(plan)
    if not files:
        st.info("Nothing to move: only keepers are left here.")
        return
    st.markdown(
        f"**Dry run:** {count(files, 'file')} ({human_size(size)}) from {groups} "
        f"group{'s' if groups != 1 else ''} would move to "
        f"{display_path(pending['folder'])}. Nothing has moved yet."
    )
    st.dataframe(plan_rows(plan, pending["groups"]), hide_index=True, width="stretch")
    notes = metadata_notes(plan)
    if notes:
        st.warning(
            f"{len(notes)} of these files carry metadata their keeper lacks; the keeper inherits "
            "the capture time and tags in the catalog, and the files keep all of it in "
            "quarantine:\n\n" + "\n".join(f"- {n}" for n in notes),
            icon=":material/info:",
        )
    sure = st.checkbox(
        f"Move these {count(files, 'file')} ({human_size(size)}) to "
        f"{display_path(pending['folder'])}",
        key="dup_confirm",
    )
    c1, c2, _ = st.columns([1, 1, 3])
    c1.button(
        f"Move {count(files, 'file')}",
        disabled=not sure,
        type="primary",
        key="dup_apply",
        on_click=apply_plan,
        args=(lib, pending["folder"], plan),
    )
    c2.button("Cancel", key="dup_cancel", on_click=cancel)


def cancel() -> None:
    st.session_state.pop(PLAN, None)
    st.session_state.pop(PLAN_ERROR, None)
    st.session_state.pop("dup_confirm", None)


def apply_plan(lib: Library, folder: Path, plan: Iterable[PlannedMove]) -> None:
    """Callback, so the page that follows already shows the groups without the moved files."""
    cancel()
    _after(lambda: apply_quarantine(lib, list(plan)), moved_words(folder), undoable=True)


def moved_words(folder: Path) -> Callable[[Any], str]:
    def words(r) -> str:
        verb = "was" if r.not_moved == 1 else "were"
        left = (
            f" {count(r.not_moved, 'file')} {verb} not moved (reasons below)."
            if r.not_moved
            else ""
        )
        if not r.done:
            return f"Nothing was moved to {display_path(folder)}.{left}"
        return f"Moved {count(len(r.done), 'file')} to {display_path(folder)}.{left}"

    return words


def restore(lib: Library, batch: str) -> None:
    _after(
        lambda: undo_quarantine(lib, batch),
        lambda r: f"Restored {count(len(r.done), 'file')} from quarantine.",
        undoable=False,
    )


def _after(action: Callable[[], Any], message: Callable[[Any], str], *, undoable: bool) -> None:
    result = run_and_say(FLASH, action, message)
    if result is None:
        return
    if undoable and result.done:
        st.session_state[LAST_BATCH] = (result.batch, len(result.done))
    elif not undoable and st.session_state.get(LAST_BATCH, (None,))[0] == result.batch:
        st.session_state.pop(LAST_BATCH)


def run_and_say(key: str, action: Callable[[], Any], message: Callable[[Any], str]) -> Any:
    """Runs a move or an undo and keeps its outcome under ``key`` for `show_outcome`: an error
    in one line, or success / a warning (some files stayed) / an error (none moved) with the
    files left and why; the groups are recomputed. Returns the report, None on an error."""
    try:
        result = action()
    except VitrieveError as exc:
        st.session_state[key] = ("error", display_path(str(exc)), [])
        return None
    kind = "success" if not result.problems else "warning" if result.done else "error"
    st.session_state[key] = (kind, message(result), result.problems)
    bump()
    return result


def show_outcome(key: str) -> None:
    """The outcome `run_and_say` kept, said once, then each file left in place with why."""
    kind, text, problems = st.session_state.pop(key, (None, None, []))
    if kind is not None:
        getattr(st, kind)(text)
    for path, why in problems:
        st.warning(display_path(f"{path}: {why}"))


def last_move_row(text: str, key: str, on_click: Callable[..., None], args: tuple) -> None:
    """The line naming the last move, with its Undo button beside it."""
    c1, c2 = st.columns([5, 1], vertical_alignment="center")
    c1.info(text, icon=":material/move_item:")
    c2.button("Undo this move", key=key, icon=":material/undo:", on_click=on_click, args=args)


def flash(lib: Library) -> None:
    """The outcome of the last move or undo, and the Undo of the last move until it is used."""
    show_outcome(FLASH)
    last = st.session_state.get(LAST_BATCH)
    if last is not None:
        text = f"Last quarantine: {count(last[1], 'file')} moved."
        last_move_row(text, "dup_undo_batch", restore, (lib, last[0]))
