"""One picture as the grid and the lightbox draw it: its 256 px thumbnail (as a data URI, so
drawing decodes nothing on the server) and its one-line caption of facts. Both the grid and the
lightbox use it, so it sits below both."""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

import streamlit as st

from vitrieve.ui.views.dups import human_size
from vitrieve.ui.views.grid import GridItem


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
    parts = []
    if item.date is not None:
        parts.append(item.date.strftime("%Y-%m-%d") + ("" if item.date_is_exif else " (file)"))
    if item.width and item.height:
        parts.append(f"{item.width}×{item.height}")
    if item.format:
        parts.append(item.format)
    parts.append(human_size(item.size))
    return " · ".join(parts)
