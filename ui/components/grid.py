"""The thumbnail grid: 256 px WebP thumbnails from the data directory, never the originals;
a click on one opens the lightbox (ui/components/lightbox.py), which shows the original.

Thumbnails go to the browser as data URIs, which Streamlit passes through untouched, so drawing
a grid decodes nothing on the server (st.image would re-encode bytes it is given).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from vitrieve.ui.components.lightbox import request_open
from vitrieve.ui.components.picture import describe, thumbnail
from vitrieve.ui.views.grid import GridItem

Actions = Callable[[GridItem, int], None]


GRID_CSS = """
<style>
/* Square thumbnails, so every card of a row lines up whatever the photo's shape. */
[class*="st-key-thumb-"] { position: relative; gap: 0; }
[class*="st-key-thumb-"] img { aspect-ratio: 1 / 1; object-fit: cover; border-radius: 4px; }
/* No "fullscreen" of a 256 px thumbnail: the lightbox shows the original instead. */
[class*="st-key-thumb-"] [data-testid="stElementToolbar"] { display: none; }
/* The whole thumbnail is the "Open" button: a real, focusable button laid over it. */
[class*="st-key-open-"] { position: absolute !important; inset: 0; z-index: 2; }
[class*="st-key-open-"], [class*="st-key-open-"] * {
  width: 100% !important; max-width: none !important; height: 100% !important;
}
[class*="st-key-open-"] button { opacity: 0; cursor: zoom-in; border: none; padding: 0; }
[class*="st-key-open-"] button:focus-visible { opacity: .25; }
/* Denser cards: one line per caption, the rest in the tooltip (the path) or the lightbox. */
[class*="st-key-card-"] { gap: .25rem; }
.stVerticalBlock:has(> [class*="st-key-card-"]) { padding: .35rem; }
[class*="st-key-card-"] [data-testid="stCaptionContainer"],
[class*="st-key-card-"] [data-testid="stMarkdownContainer"] p {
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; margin: 0;
}
/* Actions show on hover or keyboard focus, in a row of fixed height so cards stay even. */
[class*="st-key-hover-"] { opacity: 0; transition: opacity .12s; }
[class*="st-key-card-"]:hover [class*="st-key-hover-"],
[class*="st-key-card-"]:focus-within [class*="st-key-hover-"] { opacity: 1; }
</style>
"""


def grid_style() -> None:
    """The grid's CSS, once per run (st.html with only a style tag takes no room)."""
    st.html(GRID_CSS)


def thumbnail_grid(
    items: Sequence[GridItem],
    *,
    key: str,
    columns: int = 6,
    actions: Actions | None = None,
    details: bool = True,
    hover_actions: bool = True,
) -> None:
    """Cards in rows of `columns`; card i is a container keyed `{key}-{i}` (CSS class
    `st-key-{key}-{i}`), which the browser test uses to find the first result. Clicking a
    thumbnail opens the lightbox on this grid (the page calls lightbox.show_requested).
    Without `details` a card shows the thumbnail and the file name only. Actions appear on
    hover unless `hover_actions` is False (a checkbox that hides would hide what is ticked)."""
    grid_style()
    ids = [item.image_id for item in items]
    for start in range(0, len(items), columns):
        cols = st.columns(columns, gap="small")
        for offset, item in enumerate(items[start : start + columns]):
            i = start + offset
            with cols[offset].container(border=True, key=f"{key}-{i}"):
                _card(item, i, ids, key, actions, details, hover_actions)


def _card(
    item: GridItem,
    i: int,
    ids: list[int],
    key: str,
    actions: Actions | None,
    details: bool,
    hover_actions: bool,
) -> None:
    with st.container(key=f"card-{key}-{i}"):
        with st.container(key=f"thumb-{key}-{i}"):
            thumbnail(item)
            st.button(
                "Open",
                key=f"open-{key}-{item.image_id}",
                on_click=request_open,
                args=(ids, i, key),
                help=f"Open {item.shown} at full size",
            )
        if not details:
            st.caption(item.name)
        elif item.score is not None:
            match = f"{item.match} · " if item.match else ""  # the score in words
            st.markdown(f"**{item.score:.3f}** · {match}{item.name}")
        else:
            st.markdown(f"**{item.name}**")
        if details:
            st.caption(item.shown)
            st.caption(describe(item))
        if actions is not None:
            with st.container(key=f"{'hover' if hover_actions else 'actions'}-{key}-{i}"):
                actions(item, i)
