"""Picking labelled examples for a probe: images from a folder or from the current search,
ticked in a grid and given a label. The picks live in the session until trained on."""

from __future__ import annotations

import streamlit as st

from vitrieve.indexer.library import Library
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.components.grid import thumbnail_grid
from vitrieve.ui.views.grid import GridItem
from vitrieve.ui.views.library import browse, list_folders, list_roots
from vitrieve.ui.views.search import search_grid

EXAMPLES = "tag_examples"  # {label: [image ids]}
SEARCH_QUERY = "search_query"  # set by the search page
PAGE = 24
NO_LABEL = "ex_no_label"  # set by _add when the form came without a label


def examples() -> dict[str, list[int]]:
    return st.session_state.setdefault(EXAMPLES, {})


def _tick(item: GridItem, i: int) -> None:
    labels = [lab for lab, ids in examples().items() if item.image_id in ids]
    st.checkbox(
        ", ".join(labels) if labels else "select",
        key=f"tick-{item.image_id}",
        help="Labelled " + ", ".join(labels) if labels else None,
    )


def _add(ids: list[int]) -> None:
    """Form callback: the ticked images get the typed label; the ticks are cleared for the
    next batch. Without a label nothing changes and the picker says why."""
    label = str(st.session_state.get("ex_label", "")).strip()
    if not label:
        st.session_state[NO_LABEL] = True
        return
    chosen = examples().setdefault(label, [])
    chosen.extend(i for i in ids if i not in chosen)
    for i in ids:
        st.session_state[f"tick-{i}"] = False


def _source_items(lib: Library) -> list[GridItem]:
    source = st.radio(
        "Examples from", ["a folder", "the current search"], horizontal=True, key="ex_source"
    )
    if source == "the current search":
        chosen = st.session_state.get(SEARCH_QUERY)
        if chosen is None:
            st.info("Search on the Search page first; its results show here.")
            return []
        st.caption(f"Results similar to {chosen['label']}")
        return search_grid(lib, chosen["query"], 40)
    roots = list_roots(lib)
    if not roots:
        st.info("No roots yet — add a folder on the Library page.")
        return []
    paths = {r.id: display_path(r.path) for r in roots}
    c1, c2, c3 = st.columns([3, 3, 1])
    root_id = c1.selectbox("Root", list(paths), format_func=paths.__getitem__, key="ex_root")
    assert root_id is not None  # options are not empty, so one is always selected
    folder = c2.selectbox(
        "Folder",
        list_folders(lib, root_id),
        format_func=lambda f: display_path(f) or "(all)",
        key="ex_folder",
    )
    assert folder is not None  # list_folders always holds "" (the root itself)
    page = c3.number_input("Page", min_value=1, value=1, step=1, key="ex_page")
    items, total = browse(lib, root_id, folder, limit=PAGE, offset=(page - 1) * PAGE)
    st.caption(f"{total} images in this folder")
    return items


def picker(lib: Library) -> None:
    items = _source_items(lib)
    if not items:
        return
    thumbnail_grid(items, key="ex", columns=8, actions=_tick, details=False, hover_actions=False)
    ticked = [i.image_id for i in items if st.session_state.get(f"tick-{i.image_id}")]
    # A form, so typing the label and clicking the button is one submission: a text input
    # outside a form commits on blur, and the rerun that blur starts used to swallow the
    # first click on a button that only then became enabled.
    with st.form("ex-form", border=False):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        c1.text_input("Label for the selected images", key="ex_label", placeholder="cats")
        c2.form_submit_button(
            f"Label {len(ticked)} selected",
            disabled=not ticked,
            on_click=_add,
            args=(ticked,),
            key="ex_add",
        )
    if st.session_state.pop(NO_LABEL, False):
        st.error("Give the selected images a label first.")


def summary() -> None:
    """The labels collected so far, with a way to drop one or start over."""
    chosen = {label: ids for label, ids in examples().items() if ids}
    if not chosen:
        st.caption("No examples yet: select images above and give them a label.")
        return
    for label, ids in sorted(chosen.items()):
        c1, c2 = st.columns([4, 1])
        c1.markdown(f"**{label}**: {len(ids)} images")
        c2.button("Remove", key=f"ex-drop-{label}", on_click=_drop, args=(label,))
    st.button("Start over", on_click=_reset, key="ex_reset")


def _drop(label: str) -> None:
    examples().pop(label, None)


def _reset() -> None:
    st.session_state.pop(EXAMPLES, None)
