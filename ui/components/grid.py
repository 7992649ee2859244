"""The thumbnail grid: 256 px WebP thumbnails from the data directory, never the originals.

Thumbnails go to the browser as data URIs, which Streamlit passes through untouched, so drawing
a grid decodes nothing on the server (st.image would re-encode bytes it is given).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import streamlit as st

from vitrieve.indexer.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.search.files import servable_path
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.components.download import download_link
from vitrieve.ui.views.grid import GridItem

Actions = Callable[[GridItem, int], None]


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
    parts.append(_size(item.size))
    return " · ".join(parts)


def thumbnail_grid(
    items: Sequence[GridItem],
    *,
    key: str,
    columns: int = 5,
    actions: Actions | None = None,
    details: bool = True,
) -> None:
    """Cards in rows of `columns`; card i is a container keyed `{key}-{i}` (CSS class
    `st-key-{key}-{i}`), which the browser test uses to find the first result. Without
    `details` a card shows the thumbnail and the file name only (the path as a tooltip)."""
    for start in range(0, len(items), columns):
        cols = st.columns(columns)
        for offset, item in enumerate(items[start : start + columns]):
            i = start + offset
            with cols[offset].container(border=True, key=f"{key}-{i}"):
                thumbnail(item)
                if not details:
                    st.caption(item.name)
                elif item.score is not None:
                    st.markdown(f"**{item.score:.3f}** · {item.name}")
                else:
                    st.markdown(f"**{item.name}**")
                if details:
                    st.caption(item.shown)
                    st.caption(describe(item))
                if actions is not None:
                    actions(item, i)


@st.dialog("Original file", width="large")
def original_dialog(lib: Library, item: GridItem) -> None:
    """Metadata and a download link for the original (served only after servable_path)."""
    thumbnail(item)
    st.caption(item.shown)
    st.caption(describe(item))
    try:
        real = servable_path(lib, item.path)
    except VitrieveError as exc:
        st.error(display_path(str(exc)))
        return
    download_link(real)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
