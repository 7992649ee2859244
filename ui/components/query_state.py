"""The search query a session holds, set from any page (a result, the picker, the lightbox).

Kept apart from the Search page so the lightbox of every grid can start "more like this"
without importing a page script (which would draw that page).
"""

from __future__ import annotations

import streamlit as st

from vitrieve.indexer.library import Library
from vitrieve.search.query import query_from_id
from vitrieve.ui.components.session import shown_errors
from vitrieve.ui.views.grid import grid_items

QUERY = "search_query"  # {"label": str, "query": Query, "item": GridItem | None}
SCROLL = "scroll_to_results"  # a counter: the Search page scrolls to its results once per bump


def set_query_from_id(lib: Library, image_id: int) -> None:
    """Stored vector, no model. Also asks the Search page to bring its results into view: a
    picture chosen far down the picker must not leave them off-screen."""
    with shown_errors():
        query = query_from_id(lib, image_id)
        items = grid_items(lib, [image_id])
        label = items[0].shown if items else f"image {image_id}"
        st.session_state[QUERY] = {
            "label": label,
            "query": query,
            "item": items[0] if items else None,
        }
        st.session_state[SCROLL] = st.session_state.get(SCROLL, 0) + 1
