"""The search page's tag filter: hidden until tagging has produced tags."""

from __future__ import annotations

import streamlit as st

from vitrieve.indexer.library import Library
from vitrieve.search.tagging.query import DEFAULT_MIN_SCORE
from vitrieve.ui.views.tags import tag_labels


def tag_filter_choices(lib: Library) -> tuple[str | None, float]:
    """(label or None, minimum probe score) chosen in the sidebar."""
    labels = tag_labels(lib)
    if not labels:
        return None, DEFAULT_MIN_SCORE
    label = st.selectbox(
        "Tag", [None, *labels], format_func=lambda t: "Any tag" if t is None else t, key="tag"
    )
    if label is None:
        return None, DEFAULT_MIN_SCORE
    score = st.slider("Minimum tag score", 0.0, 1.0, DEFAULT_MIN_SCORE, 0.05, key="tag_score")
    return label, score
