"""One duplicate group, every member reviewable: members paged in order of similarity to the
keeper, each with its facts, how it matches the keeper and its decisions (compare at full size,
keep this one, not a duplicate of the keeper); the group's own actions (quarantine just this
group, not duplicates at all). Decisions call search.duplicates.decisions; the last one can be
undone from the page."""

from __future__ import annotations

import streamlit as st

from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.decisions import (
    ignore_group,
    ignore_pairs,
    keeper_ids,
    remove_decision,
    set_keepers,
    unignore_pairs,
)
from vitrieve.search.duplicates.groups import DupGroup, DupMember
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.components import dup_quarantine as quarantine
from vitrieve.ui.components import stacks
from vitrieve.ui.components.dup_compare import COMPARE, compare, open_compare
from vitrieve.ui.components.picture import thumbnail
from vitrieve.ui.views.dup_review import file_name, names_text
from vitrieve.ui.views.dups import (
    MATCH_WORDS,
    facts_text,
    group_heading,
    keeper_of,
    member_page,
    page_count,
    similarity_text,
)
from vitrieve.ui.views.grid import GridItem, grid_items

LAST = "dup_last_decision"  # what the Undo button reverts
CHANGED = quarantine.CHANGED  # bumped after every decision: the groups must be recomputed
PER_PAGE = "dup_members_per_page"  # the members-per-page selectbox
COLUMNS = 4


def _changed(note: str, undo: dict) -> None:
    quarantine.bump()
    st.session_state[LAST] = {"note": note, **undo}


def _name(group: DupGroup, image_id: int) -> str:
    """A member named by its file name, as every message names it."""
    path = next((m.path for m in group.members if m.image_id == image_id), None)
    return file_name(path) if path is not None else f"image {image_id}"


def choose_keeper(lib: Library, group: DupGroup, image_id: int) -> None:
    """Callback: this member is the group's keeper (the user's earlier keepers in it unmarked)."""
    ids = [m.image_id for m in group.members]
    with lib.sessions.begin() as session:
        previous = sorted(keeper_ids(session) & set(ids))
        if previous:
            set_keepers(session, previous, keep=False)
        set_keepers(session, [image_id], keep=True)
    _changed(
        f"kept {_name(group, image_id)}",
        {"kind": "keep", "chosen": image_id, "previous": previous},
    )


def also_keep(lib: Library, group: DupGroup, image_id: int) -> None:
    """Callback (series): keep this shot too. The current keepers are recorded as chosen as
    well, since a chosen keeper overrides the suggested one and would otherwise replace it."""
    wanted = {m.image_id for m in group.keepers} | {image_id}
    with lib.sessions.begin() as session:
        added = sorted(wanted - keeper_ids(session))
        set_keepers(session, added, keep=True)
    _changed(f"kept {_name(group, image_id)} too", {"kind": "add", "ids": added})


def not_duplicates(lib: Library, group: DupGroup) -> None:
    """Callback: the whole group is "not duplicates", recorded as one group decision (as
    `vitrieve dups ignore --group` does), so `dups decisions` lists it and it can be taken back
    after the group has dissolved."""
    ids = [m.image_id for m in group.members]
    with lib.sessions.begin() as session:
        set_id = ignore_group(session, group.group, ids)
    _changed(f"{names_text(group)}: not duplicates", {"kind": "ignore-set", "set": set_id})


def not_duplicate_of_keeper(lib: Library, group: DupGroup, image_id: int) -> None:
    """Callback: the member and its keeper are different pictures. Groups are keeper-centred
    (a member belongs by its similarity to the keeper), so that one pair is the decision."""
    pair = [image_id, keeper_of(group).image_id]
    with lib.sessions.begin() as session:
        ignore_pairs(session, pair)
    _changed(
        f"{_name(group, image_id)} is not a duplicate of {_name(group, pair[1])}",
        {"kind": "ignore", "ids": pair},
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
        elif last["kind"] == "add" and last["ids"]:
            set_keepers(session, last["ids"], keep=False)
        elif last["kind"] == "ignore":
            unignore_pairs(session, last["ids"])
        elif last["kind"] == "ignore-set" and last["set"] is not None:
            remove_decision(session, f"group:{last['set']}")
    if last["kind"] == "stack":
        stacks.undo_stack(lib, last["stack"])
    if last["kind"] == "move":  # a quarantine made from the review (ui/components/dup_review.py)
        quarantine.restore(lib, last["batch"])
    quarantine.bump()


def undo_bar(lib: Library) -> None:
    last = st.session_state.get(LAST)
    if last is None:
        return
    c1, c2 = st.columns([5, 1], vertical_alignment="center")
    c1.info(f"Recorded: {last['note']}.", icon=":material/check:")
    c2.button("Undo", on_click=undo_last, args=(lib,), key="dup_undo", icon=":material/undo:")


def group_card(lib: Library, group: DupGroup, chosen: set[int]) -> None:
    gid = group.group
    with st.container(border=True, key=f"group-{gid}"):
        st.markdown(group_heading(group))
        if group.keeper_reason:
            st.caption(f"Keeper {display_path(keeper_of(group).path)}: {group.keeper_reason}.")
        members = _members_page(group)
        items = {i.image_id: i for i in grid_items(lib, [m.image_id for m in members])}
        for start in range(0, len(members), COLUMNS):
            for col, m in zip(st.columns(COLUMNS), members[start : start + COLUMNS], strict=False):
                with col.container(border=True, key=f"member-{gid}-{m.image_id}"):
                    _member(lib, group, m, items.get(m.image_id), chosen)
        shown = st.session_state.get(COMPARE)
        if shown is not None and shown[0] == gid:
            compare(lib, group, shown[1])
        c1, c2, c3, _ = st.columns([1, 1, 1, 1])
        with c1:
            quarantine.plan_button(
                lib,
                f"group-{gid}",
                [group],
                "Quarantine this group",
                icon=":material/move_item:",
                help="Preview moving this group's non-keepers (nothing moves before you confirm).",
            )
        c2.button(
            "Not duplicates",
            key=f"ignore-{gid}",
            on_click=not_duplicates,
            args=(lib, group),
            help="These images are different pictures: never group them again.",
            icon=":material/call_split:",
        )
        if group.kind == "series":
            with c3:
                stacks.stack_button(lib, group, _changed)
        quarantine.preview(lib, f"group-{gid}")


def clamp_page(key: str, pages: int) -> None:
    """A page number kept from before the groups shrank (a decision, a quarantine) is moved to
    the last page there is, so the number input never holds a value above its maximum."""
    if int(st.session_state.get(key) or 1) > pages:
        st.session_state[key] = pages


def _members_page(group: DupGroup) -> list[DupMember]:
    per_page = int(st.session_state.get(PER_PAGE) or 12)
    n = len(group.members)
    pages = page_count(n, per_page)
    page = 1
    if pages > 1:
        key = f"member-page-{group.group}"
        clamp_page(key, pages)
        page = int(st.number_input(f"Members page (of {pages})", 1, pages, 1, key=key))
    first = (page - 1) * per_page + 1
    last = min(n, page * per_page)
    st.caption(f"Members {first}–{last} of {n}, keeper first, then by similarity to the keeper.")
    return member_page(group, page, per_page)


def _member(
    lib: Library, group: DupGroup, m: DupMember, item: GridItem | None, chosen: set[int]
) -> None:
    if item is not None:
        thumbnail(item)
    if m.keeper:
        why = "your choice" if m.image_id in chosen else "suggested"
        st.markdown(f":green-badge[:material/star: keeper ({why})]")
    else:
        st.markdown(f":blue-badge[{MATCH_WORDS.get(m.match, m.match)}]")
    if not m.keeper:
        st.caption(f"similarity {similarity_text(m)}")
    st.caption(display_path(m.path))
    st.caption(facts_text(m))
    gid = group.group
    if not m.keeper:
        st.button(
            "Compare with keeper",
            key=f"compare-{gid}-{m.image_id}",
            on_click=open_compare,
            args=(gid, m.image_id),
            width="stretch",
            icon=":material/compare:",
        )
        st.button(
            "Keep this one",
            key=f"keep-{gid}-{m.image_id}",
            on_click=choose_keeper,
            args=(lib, group, m.image_id),
            width="stretch",
        )
        if group.kind == "series":
            st.button(
                "Keep this one too",
                key=f"also-keep-{gid}-{m.image_id}",
                on_click=also_keep,
                args=(lib, group, m.image_id),
                help="A series is shots seconds apart: keep more than one of them.",
                width="stretch",
            )
        st.button(
            "Not a duplicate",
            key=f"ignore-one-{gid}-{m.image_id}",
            on_click=not_duplicate_of_keeper,
            args=(lib, group, m.image_id),
            help="Not a copy of the keeper: never pair these two again.",
            width="stretch",
        )
