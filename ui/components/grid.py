"""The thumbnail grid, justified (rows of equal height, widths by aspect ratio): 256 px WebP
thumbnails from the data directory, never the originals; a click on one opens the lightbox
(ui/components/lightbox.py), which shows the original.

Thumbnails go to the browser as data URIs, which Streamlit passes through untouched, so drawing
a grid decodes nothing on the server (st.image would re-encode bytes it is given).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from vitrieve.ui.components.lightbox import request_open
from vitrieve.ui.components.picture import thumbnail
from vitrieve.ui.views.grid import GridItem, clamped_aspect, hover_text, justified_rows
from vitrieve.ui.views.lightbox import stack_grid

Actions = Callable[[GridItem, int], None]


GRID_CSS = """
<style>
/* A justified grid: each row's columns are as wide as its photos' aspect ratios, so every
   thumbnail of a row has the same height; the thumbnail fills its card, uncropped but for the
   clamped range of ui/views/grid.py (a panorama or a tall photo). */
[class*="st-key-thumb-"] { position: relative; gap: 0; }
[class*="st-key-thumb-"] img { width: 100%; height: auto; object-fit: cover; border-radius: 4px;
  display: block; }
/* No "fullscreen" of a 256 px thumbnail: the lightbox shows the original instead. */
[class*="st-key-thumb-"] [data-testid="stElementToolbar"] { display: none; }
/* The whole thumbnail is the "Open" button: a real, focusable button laid over it, whose
   tooltip says everything about the photo (its full path first). */
[class*="st-key-open-"] { position: absolute !important; inset: 0; z-index: 2; }
[class*="st-key-open-"], [class*="st-key-open-"] * {
  width: 100% !important; max-width: none !important; height: 100% !important;
}
[class*="st-key-open-"] button { opacity: 0; cursor: zoom-in; border: none; padding: 0; }
[class*="st-key-open-"] button:focus-visible { opacity: .25; }
/* Badges on the picture: the similarity, and the "+7" of a stack's cover (a button). */
[class*="st-key-badges-"] { position: absolute !important; right: 4px; bottom: 4px; z-index: 3;
  width: auto !important; flex-direction: row; gap: 4px; }
[class*="st-key-badges-"] p { margin: 0; padding: 0 .35rem; border-radius: 3px; font-size: .8rem;
  background: rgba(0, 0, 0, .6); color: #fff; }
[class*="st-key-badges-"] button { min-height: 0; padding: 0 .4rem; line-height: 1.4;
  background: rgba(0, 0, 0, .7); color: #fff; border: none; font-size: .8rem; }
[class*="st-key-card-"] { gap: .25rem; }
.stVerticalBlock:has(> [class*="st-key-card-"]) { padding: 0; }
/* Actions show on hover or keyboard focus. */
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
    score_label: str = "similarity",
) -> None:
    """A justified grid: rows about `columns` square photos wide, every photo at its own aspect
    ratio (ui/views/grid.py). Card i is a container keyed `{key}-{i}` (CSS class
    `st-key-{key}-{i}`), which the browser tests use. Clicking a thumbnail opens the lightbox on
    this grid (the page calls lightbox.show_requested); a stack's cover shows its count, which
    opens the stack's photos in the lightbox. No text under the pictures: the full path and the
    facts are the thumbnail's tooltip, and the lightbox's. With `details` the similarity is a
    badge. Actions appear on hover unless `hover_actions` is False (a checkbox that hides would
    hide what is ticked); `score_label` names the score in the tooltip."""
    grid_style()
    ids = [item.image_id for item in items]
    aspects = [clamped_aspect(item.width, item.height) for item in items]
    for row in justified_rows(aspects, float(columns)):
        cols = st.columns(row.columns, gap="small")
        for offset, item in enumerate(items[row.start : row.stop]):
            i = row.start + offset
            with cols[offset].container(border=False, key=f"{key}-{i}"):
                _card(item, i, ids, key, actions, details, hover_actions, score_label)


def _card(
    item: GridItem,
    i: int,
    ids: list[int],
    key: str,
    actions: Actions | None,
    details: bool,
    hover_actions: bool,
    score_label: str,
) -> None:
    with st.container(key=f"card-{key}-{i}"):
        with st.container(key=f"thumb-{key}-{i}"):
            thumbnail(item)
            st.button(
                "Open",
                key=f"open-{key}-{item.image_id}",
                on_click=request_open,
                args=(ids, i, key),
                help=hover_text(item, score_label),
            )
            _badges(item, key, i, details)
        if actions is not None:
            with st.container(key=f"{'hover' if hover_actions else 'actions'}-{key}-{i}"):
                actions(item, i)


def _badges(item: GridItem, key: str, i: int, details: bool) -> None:
    if item.stack is None and not item.raw and not (details and item.score is not None):
        return
    with st.container(key=f"badges-{key}-{i}", horizontal=True):
        if details and item.score is not None:
            match = f" · {item.match}" if item.match else ""  # the score in words
            st.markdown(f"{item.score:.2f}{match}")
        if item.raw:  # a RAW+JPEG pair, shown once by its JPEG (hover says which RAW)
            st.markdown("RAW")
        if item.stack is not None:
            st.button(
                f"+{item.stacked}",
                key=f"stack-{key}-{item.image_id}",
                on_click=request_open,
                args=(list(item.stack.members), 0, stack_grid(item.stack.id)),
                help=f"Open the stack: {item.stacked + 1} photos kept together",
            )
