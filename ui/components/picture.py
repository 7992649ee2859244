"""One picture as the grid and the lightbox draw it: its 256 px thumbnail (as a data URI, so
drawing decodes nothing on the server) and its one-line caption of facts. Both the grid and the
lightbox use it, so it sits below both."""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

import streamlit as st

from vitrieve.ui.views.grid import GridItem, facts_line


@lru_cache(maxsize=4096)
def _data_uri(path: Path, mtime_ns: int) -> str:
    return "data:image/webp;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def thumbnail(item: GridItem) -> None:
    if item.thumb is None:
        st.caption(":material/hide_image: no thumbnail")
        return
    try:
        uri = _data_uri(item.thumb, item.thumb.stat().st_mtime_ns)
    except OSError:
        st.caption(":material/hide_image: thumbnail unreadable")
        return
    st.image(uri, alt=item.shown, width="stretch")


def describe(item: GridItem) -> str:
    return facts_line(item)
