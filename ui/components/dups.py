"""One duplicate group drawn side by side: thumbnails, metadata, the keeper, and the decisions
(keep this one, not duplicates). Decisions call search.dup_decisions; the last one can be
undone from the page."""

from __future__ import annotations

import streamlit as st

from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.decisions import (
    ignore_pairs,
    keeper_ids,
    set_keepers,
    unignore_pairs,
)
from vitrieve.search.duplicates.groups import DupGroup, DupMember
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.components.grid import describe, thumbnail
from vitrieve.ui.views.grid import grid_items

LAST = "dup_last_decision"  # what the Undo button reverts
CHANGED = "dup_changed"  # bumped after every decision: the groups must be recomputed
MAX_SIDE_BY_SIDE = 6


def _changed(note: str, undo: dict) -> None:
    st.session_state[CHANGED] = st.session_state.get(CHANGED, 0) + 1
    st.session_state[LAST] = {"note": note, **undo}


def choose_keeper(lib: Library, group: DupGroup, image_id: int) -> None:
    """Callback: this member is the group's keeper (the user's earlier keepers in it unmarked)."""
    ids = [m.image_id for m in group.members]
    with lib.sessions.begin() as session:
        previous = sorted(keeper_ids(session) & set(ids))
        if previous:
            set_keepers(session, previous, keep=False)
        set_keepers(session, [image_id], keep=True)
    _changed(f"kept image {image_id}", {"kind": "keep", "chosen": image_id, "previous": previous})


def not_duplicates(lib: Library, ids: list[int], note: str) -> None:
    """Callback: every pair among `ids` is recorded as "not duplicates"."""
    with lib.sessions.begin() as session:
        ignore_pairs(session, ids)
    _changed(note, {"kind": "ignore", "ids": ids})


def not_duplicate_of_rest(lib: Library, group: DupGroup, image_id: int) -> None:
    others = [m.image_id for m in group.members if m.image_id != image_id]
    with lib.sessions.begin() as session:
        for other in others:
            ignore_pairs(session, [image_id, other])
    _changed(
        f"image {image_id} is not a duplicate of the rest of group {group.group}",
        {"kind": "ignore_one", "id": image_id, "others": others},
    )


def undo_last(lib: Library) -> None:
    last = st.session_state.pop(LAST, None)
    if last is None:
        return
    with lib.sessions.begin() as session:
        if last["kind"] == "keep":
            set_keepers(session, [last["chosen"]], keep=False)
            if last["previous"]:
                set_keepers(session, last["previous"], keep=True)
        elif last["kind"] == "ignore":
            unignore_pairs(session, last["ids"])
        elif last["kind"] == "ignore_one":
            for other in last["others"]:
                unignore_pairs(session, [last["id"], other])
    st.session_state[CHANGED] = st.session_state.get(CHANGED, 0) + 1


def undo_bar(lib: Library) -> None:
    last = st.session_state.get(LAST)
    if last is None:
        return
    c1, c2 = st.columns([5, 1], vertical_alignment="center")
    c1.info(f"Recorded: {last['note']}.", icon=":material/check:")
    c2.button("Undo", on_click=undo_last, args=(lib,), key="dup_undo", icon=":material/undo:")


def group_card(lib: Library, group: DupGroup, chosen: set[int]) -> None:
    kind = "identical files or pixels" if group.exact else "near-duplicates"
    with st.container(border=True, key=f"group-{group.group}"):
        st.markdown(f"**Group {group.group}** · {len(group.members)} images · {kind}")
        items = {i.image_id: i for i in grid_items(lib, [m.image_id for m in group.members])}
        shown = group.members[:MAX_SIDE_BY_SIDE]
        for col, member in zip(st.columns(len(shown)), shown, strict=True):
            with col:
                _member(lib, group, member, items.get(member.image_id), chosen)
        if len(group.members) > len(shown):
            st.caption(f"…and {len(group.members) - len(shown)} more (see the export)")
        st.button(
            "Not duplicates",
            key=f"ignore-{group.group}",
            on_click=not_duplicates,
            args=(lib, [m.image_id for m in group.members], f"group {group.group}: not duplicates"),
            help="These images are different pictures: never group them again.",
            icon=":material/call_split:",
        )


def _member(lib: Library, group: DupGroup, m: DupMember, item, chosen: set[int]) -> None:
    if item is not None:
        thumbnail(item)
    if m.keeper:
        why = "your choice" if m.image_id in chosen else "suggested"
        st.markdown(f":green-badge[:material/star: keeper ({why})]")
    sim = "—" if m.similarity is None else f"{m.similarity:.3f}"
    sim = "identical" if m.similarity == 1.0 else sim
    st.caption(f"similarity {sim}")
    st.caption(display_path(m.path))
    if item is not None:
        st.caption(describe(item))
    if not m.keeper:
        st.button(
            "Keep this one",
            key=f"keep-{group.group}-{m.image_id}",
            on_click=choose_keeper,
            args=(lib, group, m.image_id),
            width="stretch",
        )
    if len(group.members) > 2:
        st.button(
            "Not a duplicate",
            key=f"ignore-one-{group.group}-{m.image_id}",
            on_click=not_duplicate_of_rest,
            args=(lib, group, m.image_id),
            width="stretch",
        )
