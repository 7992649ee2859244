"""Several search results at once: ticked in the grid (after *Select photos*), then given a
label as tag examples (the Tags page trains on them, ui/components/examples.py) or listed as
paths to copy. The ticks live in the session, so they survive reruns and new filters."""

from __future__ import annotations

import streamlit as st

from vitrieve.ui.components.examples import examples
from vitrieve.ui.views.grid import GridItem

MODE = "select_mode"  # the "Select photos" toggle
SELECTED = "search_selected"  # {image id: full path shown}
ADDED = "select_added"  # what the last "Add as tag examples" did, said once


def selecting() -> bool:
    return bool(st.session_state.get(MODE))


def selected() -> dict[int, str]:
    return st.session_state.setdefault(SELECTED, {})


def _toggle(item_id: int, shown: str) -> None:
    chosen = selected()
    if st.session_state.get(f"sel-{item_id}"):
        chosen[item_id] = shown
    else:
        chosen.pop(item_id, None)


def tick(item: GridItem) -> None:
    """A card's checkbox: ticked when the image is selected (also after a rerun)."""
    st.session_state[f"sel-{item.image_id}"] = item.image_id in selected()
    st.checkbox(
        "Select",
        key=f"sel-{item.image_id}",
        on_change=_toggle,
        args=(item.image_id, item.shown),
    )


def _clear() -> None:
    for image_id in selected():
        st.session_state.pop(f"sel-{image_id}", None)
    selected().clear()


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


def selection_bar() -> None:
    """The toggle, and with photos ticked: how many, and what can be done with them."""
    st.toggle("Select photos", key=MODE, help="Tick results to tag or list them together.")
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
        st.button("Clear the selection", key="select-clear", on_click=_clear)
