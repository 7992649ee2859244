"""Duplicate groups reviewed one at a time, photos first, inside a Streamlit fragment: a decision
(keep this one, accept the suggestion, not duplicates, not a duplicate, quarantine, undo) reruns
only this part of the page, so the page never reloads, the scroll position stays, and the next
group is drawn at once from the groups already found (ui/views/dup_review.py patches them the
way the decision changed the catalog). Every action has a key (views.dup_review.KEYS), shown by
the help panel.

Decisions are recorded by the same callbacks as the list of all groups (ui/components/dups.py),
so `vitrieve dups decisions` and the list's Undo see them too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

import streamlit as st

from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.decisions import keeper_ids
from vitrieve.search.duplicates.find import DupReport
from vitrieve.search.duplicates.groups import DupGroup, DupMember
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.components import dup_quarantine as quarantine
from vitrieve.ui.components import dups
from vitrieve.ui.components.dup_compare import COMPARE, close_compare, compare, open_compare
from vitrieve.ui.components.picture import thumbnail
from vitrieve.ui.views import dup_review as view
from vitrieve.ui.views.dups import facts_text, human_size, keeper_of, ordered_members, plan_summary
from vitrieve.ui.views.grid import grid_items
from vitrieve.ui.views.words import count

REPORT = "dup_report"  # (key, DupReport): the page's groups, patched by the review's decisions
PLACE = "dup_review_place"  # views.dup_review.Place
HELP = "dup_review_help"  # the keys panel is open
RELOAD = "dup_review_reload"  # files moved: find the groups again
SCOPE = "review"  # the quarantine plan of the group under review
COLUMNS = 4
# The photos keep one size whatever the group, and the review fills at least the window: the
# page never gets shorter after a decision (a group of two after one of ten), so the scroll
# position the user had stays where it was; nor does the browser's scroll anchoring move it
# when a message appears above the photos.
_STYLE = """<style>
.stMain {overflow-anchor: none;}
.st-key-dup-review {min-height: 100vh;}
.st-key-dup-review [class*='st-key-review-photo-'] img {height: 220px; object-fit: contain;}
</style>"""


def _groups() -> list[DupGroup]:
    cached = st.session_state.get(REPORT)
    return list(cached[1].groups) if cached is not None else []


def _store(groups: list[DupGroup], index: int) -> None:
    key, report = st.session_state[REPORT]
    report.groups = groups
    st.session_state[REPORT] = (key, report)
    st.session_state[PLACE] = view.place_at(groups, index)


def _here() -> tuple[list[DupGroup], int]:
    groups = _groups()
    return groups, view.locate(groups, st.session_state.get(PLACE, view.Place()))


def _remember(groups: list[DupGroup], index: int) -> None:
    """Kept with the decision just recorded, so its Undo also puts the review back."""
    last = st.session_state.get(dups.LAST)
    if last is not None:
        last["review"] = (groups, index)


def go(step: int) -> None:
    groups, index = _here()
    st.session_state[PLACE] = view.place_at(groups, index + step)
    close_compare()


def keep(lib: Library, image_id: int) -> None:
    """Callback: photo `image_id` is the keeper of the group under review; then the next one."""
    groups, index = _here()
    group = groups[index]
    dups.choose_keeper(lib, group, image_id)
    _remember(groups, index)
    _store(view.patched(groups, index, view.with_keeper(group, image_id)), index + 1)
    close_compare()


def not_duplicates(lib: Library) -> None:
    groups, index = _here()
    dups.not_duplicates(lib, groups[index])
    _remember(groups, index)
    _store(view.patched(groups, index, None), index)
    close_compare()


def not_a_duplicate(lib: Library, image_id: int) -> None:
    groups, index = _here()
    group = groups[index]
    dups.not_duplicate_of_keeper(lib, group, image_id)
    _remember(groups, index)
    _store(view.patched(groups, index, view.without_member(group, image_id)), index)


def also_keep(lib: Library, image_id: int) -> None:
    groups, index = _here()
    dups.also_keep(lib, groups[index], image_id)
    _remember(groups, index)
    st.session_state[RELOAD] = True  # a series keeping two shots: let the rules say the rest


def plan(lib: Library) -> None:
    groups, index = _here()
    if groups:
        quarantine.make_plan(lib, SCOPE, [groups[index]])


def move(lib: Library) -> None:
    pending = st.session_state.get(quarantine.PLAN)
    if pending is None or pending["scope"] != SCOPE:
        return
    groups, index = _here()
    quarantine.apply_plan(lib, pending["folder"], pending["plan"])
    moved = st.session_state.get(quarantine.LAST_BATCH)
    if moved is not None:
        note = f"moved {moved[1]} file{'s' if moved[1] != 1 else ''} to quarantine"
        st.session_state[dups.LAST] = {"note": note, "kind": "move", "batch": moved[0]}
        _remember(groups, index)
    st.session_state[RELOAD] = True


def undo(lib: Library) -> None:
    last = st.session_state.get(dups.LAST)
    if last is None:
        return
    back = last.get("review")
    dups.undo_last(lib)
    if last["kind"] == "move":  # the files are back: find the groups, show the group again
        st.session_state[RELOAD] = True
        if back is not None:
            st.session_state[PLACE] = view.place_at(*back)
    elif back is not None:
        _store(*back)


def toggle_help() -> None:
    st.session_state[HELP] = not st.session_state.get(HELP, False)


@st.fragment
def review(lib: Library, find: Callable[[], DupReport]) -> None:
    """The group under review with its actions. `find` finds the groups again (after a move)."""
    with st.container(key="dup-review"):
        st.html(_STYLE)
        # inside the review (whose height never drops below the window's), so the progress of
        # finding the groups again never takes the review's place and scrolls the page up
        with st.empty().container():
            if st.session_state.pop(RELOAD, False) or st.session_state.get(REPORT) is None:
                find()
        groups, index = _here()
        quarantine.flash(lib)
        if not groups:
            st.info("No duplicates left at this threshold.")
            _actions(lib, None)
            return
        group = groups[index]
        st.session_state[PLACE] = view.place_at(groups, index)
        name = view.file_name(keeper_of(group).path)
        st.markdown(
            f"**{view.progress_text(groups, index)}** · group of {name} · "
            f"{'exact copies' if group.exact else 'near duplicates'}"
            f"{' · a series of shots' if group.kind == 'series' else ''}"
        )
        _actions(lib, group)
        _photos(lib, group)
        shown = st.session_state.get(COMPARE)
        if shown is not None and shown[0] == group.group:
            compare(lib, group, shown[1])
        _details(group)


def _actions(lib: Library, group: DupGroup | None) -> None:
    last = st.session_state.get(dups.LAST)
    with st.container(horizontal=True, key="review-actions"):
        st.button(
            "Previous",
            key="review-prev",
            shortcut="Left",
            on_click=go,
            args=(-1,),
            icon=":material/arrow_back:",
            disabled=group is None,
        )
        st.button(
            "Next",
            key="review-next",
            shortcut="Right",
            on_click=go,
            args=(1,),
            icon=":material/arrow_forward:",
            disabled=group is None,
        )
        if group is not None:
            st.button(
                "Accept and next",
                key="review-accept",
                shortcut="A",
                type="primary",
                on_click=keep,
                args=(lib, keeper_of(group).image_id),
                icon=":material/done:",
                help="Keep the suggested keeper, go to the next group.",
            )
            st.button(
                "Not duplicates",
                key="review-ignore",
                shortcut="N",
                on_click=not_duplicates,
                args=(lib,),
                icon=":material/call_split:",
                help="These are different pictures: never group them again.",
            )
            st.button(
                "Quarantine group",
                key="review-quarantine",
                shortcut="Q",
                on_click=plan,
                args=(lib,),
                icon=":material/move_item:",
                help="A dry run of moving this group's other copies out of the library.",
            )
        st.button(
            "Undo",
            key="review-undo",
            shortcut="U",
            on_click=undo,
            args=(lib,),
            disabled=last is None,
            icon=":material/undo:",
        )
        st.button(
            "Keys",
            key="review-help",
            shortcut="H",
            on_click=toggle_help,
            icon=":material/keyboard:",
        )
    if last is not None:
        st.caption(f":material/check: {last['note'][:1].upper()}{last['note'][1:]}.")
    if st.session_state.get(HELP):
        with st.container(border=True, key="review-keys"):
            st.markdown("\n".join(f"- **{k}**: {what}" for k, what in view.KEYS))
    _confirm(lib)


def _confirm(lib: Library) -> None:
    """The dry run of quarantining the group under review, and its Move and Cancel."""
    failed = st.session_state.get(quarantine.PLAN_ERROR)
    if failed is not None and failed[0] == SCOPE:
        st.error(failed[1])
    pending = st.session_state.get(quarantine.PLAN)
    if pending is None or pending["scope"] != SCOPE:
        return
    files, size, _ = plan_summary(pending["plan"])
    with st.container(border=True, key="review-plan"):
        if not files:
            st.info("Nothing to move: only keepers are left in this group.")
            st.button("Close", key="review-plan-close", shortcut="Esc", on_click=quarantine.cancel)
            return
        names = ", ".join(view.file_name(m.src) for m in pending["plan"])
        st.markdown(
            f"**Dry run:** {files} file{'s' if files != 1 else ''} ({human_size(size)}) would "
            f"move to {display_path(pending['folder'])}: {names}. "
            "Nothing has moved yet."
        )
        with st.container(horizontal=True):
            st.button(
                f"Move {count(files, 'file')}",
                key="review-move",
                shortcut="M",
                type="primary",
                on_click=move,
                args=(lib,),
            )
            st.button(
                "Cancel", key="review-plan-cancel", shortcut="Esc", on_click=quarantine.cancel
            )


def _photos(lib: Library, group: DupGroup) -> None:
    members = ordered_members(group)
    items = {i.image_id: i for i in grid_items(lib, [m.image_id for m in members])}
    with lib.sessions() as session:
        chosen = keeper_ids(session)
    for start in range(0, len(members), COLUMNS):
        row = members[start : start + COLUMNS]
        for n, (col, m) in enumerate(zip(st.columns(COLUMNS), row, strict=False), start + 1):
            with col.container(border=True, key=f"review-photo-{m.image_id}"):
                item = items.get(m.image_id)
                if item is not None:
                    thumbnail(item)
                _photo(lib, group, m, n, chosen)


def _photo(lib: Library, group: DupGroup, m: DupMember, n: int, chosen: set[int]) -> None:
    if m.keeper:
        why = "your choice" if m.image_id in chosen else "suggested"
        st.markdown(f"**{n}** :green-badge[:material/star: keeper ({why})]")
    else:
        st.markdown(f"**{n}** :blue-badge[{view.match_words(m)}]")
    st.markdown(f"**{view.file_name(m.path)}**", help=display_path(m.path))
    st.caption(f"in {display_path(PurePath(m.path).parent.name)}/")  # the whole path: hover
    st.caption("  \n".join(view.plain_facts(m)))
    if m.keeper and group.keeper_reason and m.image_id == keeper_of(group).image_id:
        st.caption(f"Kept because: {group.keeper_reason}.")
    st.button(
        "Keep this one",
        key=f"review-keep-{m.image_id}",
        on_click=keep,
        args=(lib, m.image_id),
        shortcut=str(n) if n <= 9 else None,
        width="stretch",
    )
    if m.keeper:
        return
    st.button(
        "Compare with keeper",
        key=f"review-compare-{m.image_id}",
        on_click=open_compare,
        args=(group.group, m.image_id),
        width="stretch",
        icon=":material/compare:",
    )
    if group.kind == "series":
        st.button(
            "Keep this one too",
            key=f"review-also-{m.image_id}",
            on_click=also_keep,
            args=(lib, m.image_id),
            width="stretch",
        )
    st.button(
        "Not a duplicate",
        key=f"review-ignore-one-{m.image_id}",
        on_click=not_a_duplicate,
        args=(lib, m.image_id),
        width="stretch",
        help="Not a copy of the keeper: never pair these two again.",
    )


def _details(group: DupGroup) -> None:
    """The numbers behind the plain words: ids, similarities, sharpness, the group number."""
    with st.expander("Details"):
        st.caption(f"Group {group.group} (keeper image {keeper_of(group).image_id})")
        for m in ordered_members(group):
            sim = "keeper" if m.keeper else f"similarity {m.similarity}"
            st.caption(f"image {m.image_id} · {display_path(m.path)} · {sim} · {facts_text(m)}")
