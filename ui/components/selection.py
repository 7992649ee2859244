"""Several search results at once: ticked in the grid (after *Select photos*), then given a
label as tag examples (the Tags page trains on them, ui/components/examples.py), listed as
paths to copy, exported as CSV (ui/views/selection.py) or quarantined with a dry run, a
confirmation and an undo (ui/components/selection_quarantine.py). The ticks live in the
session, so they survive reruns and new filters."""

from __future__ import annotations

import streamlit as st

from vitrieve.indexer.library import Library
from vitrieve.ui.components import selection_quarantine
from vitrieve.ui.components.examples import examples
from vitrieve.ui.views.grid import GridItem
from vitrieve.ui.views.selection import selection_csv

MODE = "select_mode"  # the "Select photos" toggle
SELECTED = "search_selected"  # {image id: full path shown}
SCORES = "search_selected_scores"  # {image id: its score when ticked}, for the export
ADDED = "select_added"  # what the last "Add as tag examples" did, said once


def selecting() -> bool:
    return bool(st.session_state.get(MODE))


def selected() -> dict[int, str]:
    return st.session_state.setdefault(SELECTED, {})


def _scores() -> dict[int, float | None]:
    return st.session_state.setdefault(SCORES, {})


def _toggle(item_id: int, shown: str, score: float | None) -> None:
    chosen = selected()
    if st.session_state.get(f"sel-{item_id}"):
        chosen[item_id] = shown
        _scores()[item_id] = score
    else:
        chosen.pop(item_id, None)
        _scores().pop(item_id, None)


def tick(item: GridItem) -> None:
    """A card's checkbox: ticked when the image is selected (also after a rerun)."""
    st.session_state[f"sel-{item.image_id}"] = item.image_id in selected()
    st.checkbox(
        "Select",
        key=f"sel-{item.image_id}",
        on_change=_toggle,
        args=(item.image_id, item.shown, item.score),
    )


def _clear() -> None:
    _drop(list(selected()))


def _drop(ids: list[int]) -> None:
    """Unticks these photos (cleared, or moved to quarantine and so no longer results)."""
    for image_id in ids:
        st.session_state.pop(f"sel-{image_id}", None)
        selected().pop(image_id, None)
        _scores().pop(image_id, None)


def _add_examples() -> None:
    label = str(st.session_state.get("select_label", "")).strip()
    if not label:
        st.session_state[ADDED] = "Type a label first."
        return
    ids = list(selected())
    chosen = examples().setdefault(label, [])
    chosen.extend(i for i in ids if i not in chosen)
    st.session_state[ADDED] = (
        f"{len(ids)} photo{'s' if len(ids) != 1 else ''} added to the examples of “{label}”: "
        "train a probe on the Tags page."
    )
    _clear()


def selection_bar(lib: Library) -> None:
    """The toggle, and with photos ticked: how many, and what can be done with them."""
    st.toggle(
        "Select photos",
        key=MODE,
        help="Tick results to tag, export, list or quarantine them together.",
    )
    note = st.session_state.pop(ADDED, None)
    if note:
        st.info(note, icon=":material/label:")
    chosen = selected()
    if not selecting() or not chosen:
        return
    with st.container(border=True, key="selection-bar"):
        st.markdown(f"**{len(chosen)} selected**")
        with st.form("select-tag", border=False):
            c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
            c1.text_input("Label", key="select_label", placeholder="cats")
            c2.form_submit_button(
                "Add as tag examples", icon=":material/label:", on_click=_add_examples
            )
        with st.expander("Their paths, to copy"):
            st.code("\n".join(chosen.values()), language=None)
        with st.expander("Quarantine them", expanded=selection_quarantine.PLAN in st.session_state):
            selection_quarantine.panel(lib, chosen, _drop)
        c1, c2, _ = st.columns([1, 1, 3])
        c1.download_button(
            "Export CSV",
            selection_csv(lib, list(chosen), _scores()),
            "selection.csv",
            "text/csv",
            key="select-export",
            icon=":material/download:",
            help="Path, name, size, dimensions, date and score of each selected photo.",
        )
        c2.button("Clear the selection", key="select-clear", on_click=_clear)
