"""The lightbox: one picture of a grid at full resolution (a small one at 100%, never blown
up), titled by its file name, its EXIF facts, previous / next through the grid (also the left
and right arrow keys), "more like this" and the download link.

The picture is the original file itself, served by vitrieve's originals route (ui/server.py)
to this browser only, like a download: never a thumbnail blown up, never Streamlit's open
/media store. A format a browser cannot draw (HEIF, TIFF) shows its thumbnail and says so.

A thumbnail click only records which grid and picture to show (`request_open`, a button
callback); the page then calls `show_requested` once, after drawing its grids, because a
Streamlit dialog can only be opened from the script run, not from a callback.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.stacks import remove_stack
from vitrieve.search.files import servable_path
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.components.download import download_link, original_url
from vitrieve.ui.components.picture import describe, thumbnail
from vitrieve.ui.components.query_state import set_query_from_id
from vitrieve.ui.views.grid import GridItem, grid_items
from vitrieve.ui.views.lightbox import (
    LightboxState,
    RawView,
    browser_can_show,
    exif_facts,
    is_raw,
    raw_view,
    stack_of_grid,
)

STATE = "lightbox"  # LightboxState of the open (or last opened) lightbox
PENDING = "lightbox_pending"  # set by a thumbnail click, consumed by show_requested
LEAVE = "lightbox_leave"  # set by "More like this": the dialog's next run goes to Search
CLOSE = "lightbox_close"  # set by "Unstack": the dialog's next run closes it
ON_SEARCH = "lightbox_on_search"  # whether the lightbox was opened from the Search page
SEARCH_PAGE = "app_pages/search.py"


def request_open(ids: Sequence[int], position: int, grid: str) -> None:
    """Button callback of a thumbnail: the page opens the lightbox at the end of this run."""
    st.session_state[STATE] = LightboxState.opened(ids, position, grid)
    st.session_state[PENDING] = True


def show_requested(lib: Library, *, search_page: bool = False) -> None:
    """Opens the lightbox if a thumbnail was clicked in this run (once: closing it stays
    closed on the next run). `search_page`: the caller is the Search page, so "More like
    this" only reruns it (a page switch would rebuild every widget of the page)."""
    st.session_state.pop(LEAVE, None)  # a full run already left the lightbox
    st.session_state[ON_SEARCH] = search_page
    if st.session_state.pop(PENDING, False) and isinstance(
        st.session_state.get(STATE), LightboxState
    ):
        _lightbox(lib)


def _step(delta: int) -> None:
    """Previous / Next. In a browser the click reruns only the dialog (a fragment), which
    clears PENDING again at once; where a click reruns the whole page instead (AppTest), it
    reopens the lightbox there, on the new picture."""
    st.session_state[STATE] = st.session_state[STATE].moved(delta)
    st.session_state[PENDING] = True


@st.dialog("Image", width="large")
def _lightbox(lib: Library) -> None:
    st.session_state.pop(PENDING, None)  # a later full run must not reopen it
    if st.session_state.pop(LEAVE, False):  # closes the lightbox; the results come first
        if st.session_state.get(ON_SEARCH):
            st.rerun()
        st.switch_page(SEARCH_PAGE)
    if st.session_state.pop(CLOSE, False):  # the grids behind it changed: draw them again
        st.rerun()
    state: LightboxState = st.session_state[STATE]
    found = grid_items(lib, [state.image_id])
    if not found:
        st.warning("This image has left the catalog since the grid was drawn.")
        _navigation(state)
        return
    item = found[0]
    st.markdown(f"### {_md(item.name)}")  # the file name is the title
    st.caption(item.shown)  # the full path next, so it is named whatever follows fails
    try:
        real = servable_path(lib, item.path)
    except VitrieveError as exc:
        st.error(display_path(str(exc)))
        _navigation(state)
        return
    url = original_url(real)
    raw = None
    if is_raw(item.format):  # rendered here, bounded like ingest (browsers cannot draw RAW)
        limits = lib.settings
        raw = raw_view(real, max_file_size=limits.max_file_size, max_pixels=limits.max_image_pixels)
    picture, facts = st.columns([3, 1])
    with picture:
        _picture(item, url, raw)
    with facts:
        _facts(item, real, raw)
        _navigation(state)
        stack = stack_of_grid(state.grid)
        if stack is not None:
            st.button(
                "Unstack",
                key="lightbox-unstack",
                icon=":material/layers_clear:",
                width="stretch",
                on_click=_unstack,
                args=(lib, stack),
                help="Show these photos one by one again (nothing on disk changes).",
            )
        st.button(
            "More like this",
            key="lightbox-more",
            icon=":material/image_search:",
            width="stretch",
            on_click=_more_like_this,
            args=(lib, item.image_id),
        )
        if url is not None:
            download_link(real, url)


def _unstack(lib: Library, stack_id: int) -> None:
    with lib.sessions.begin() as session:
        remove_stack(session, stack_id)
    st.session_state[CLOSE] = True


def _more_like_this(lib: Library, image_id: int) -> None:
    """A callback, so the query is set whichever run follows: the dialog's own (a browser),
    which then leaves for the Search page, or the whole page's (AppTest)."""
    set_query_from_id(lib, image_id)
    st.session_state[LEAVE] = True


def _picture(item: GridItem, url: str | None, raw: RawView | None = None) -> None:
    if raw is not None:
        if raw.picture is not None:
            st.image(raw.picture, caption=f"{item.format}: rendered by LibRaw for display")
            return
        thumbnail(item)
        st.caption(f"This RAW cannot be rendered here ({raw.why}): the 256 px thumbnail.")
        return
    if url is not None and browser_can_show(item.format):
        # The route answers with Content-Disposition: attachment, which an <img> ignores; the
        # size attributes let the browser lay out the box before the bytes arrive. A picture
        # smaller than the box is shown at 100% (never blown up), a larger one fitted to it.
        size = f'width="{item.width}" height="{item.height}"' if item.width and item.height else ""
        st.html(
            f'<img class="vitrieve-full" src="{html.escape(url)}" alt="{html.escape(item.shown)}"'
            f' title="{html.escape(item.shown)}" {size} style="display:block;margin:auto;'
            f"max-width:100%;width:auto;height:auto;max-height:78vh;object-fit:contain;"
            f'border-radius:4px">'
        )
        return
    thumbnail(item)
    if url is not None:
        st.caption(f"Browsers cannot draw {item.format} files: this is the 256 px thumbnail.")


def _facts(item: GridItem, real, raw: RawView | None = None) -> None:
    st.caption(describe(item))
    if item.raw:
        st.caption(f"Shot with {display_path(Path(item.raw).name)} (RAW+JPEG)")
    facts = exif_facts(real) if raw is None else raw.facts
    if not facts:
        st.caption("No EXIF data in this file.")
        return
    st.markdown("\n".join(f"- **{label}**: {_md(value)}" for label, value in facts))


def _navigation(state: LightboxState) -> None:
    c1, c3 = st.columns(2)
    c1.button(
        "Previous",
        key="lightbox-prev",
        icon=":material/chevron_left:",
        disabled=not state.has_previous,
        on_click=_step,
        args=(-1,),
        width="stretch",
    )
    c3.button(
        "Next",
        key="lightbox-next",
        icon=":material/chevron_right:",
        disabled=not state.has_next,
        on_click=_step,
        args=(1,),
        width="stretch",
    )
    st.caption(f"{state.position + 1} of {len(state.ids)}")
    _arrow_keys()


ARROW_KEYS = """
<script>
// Left / right arrow: the lightbox's Previous / Next button, while a dialog is open and no
// text field has the focus. One listener per page, however often the lightbox is drawn.
if (!window.vitrieveArrowKeys) {
  window.vitrieveArrowKeys = true;
  document.addEventListener("keydown", (event) => {
    const dialog = document.querySelector("[role=dialog]");
    if (!dialog || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select")) return;
    const which = {ArrowLeft: "prev", ArrowRight: "next"}[event.key];
    const button = which && dialog.querySelector(`.st-key-lightbox-${which} button`);
    if (button && !button.disabled) {
      event.preventDefault();
      button.click();
    }
  });
}
</script>
"""


def _arrow_keys() -> None:
    st.html(ARROW_KEYS, unsafe_allow_javascript=True)


def _md(text: str) -> str:
    """EXIF text is the camera's (or anyone's): no Markdown or HTML of its own."""
    return html.escape(text).replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")
