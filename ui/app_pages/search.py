"""Search page: query by an uploaded image, a library image or "more like this"; filter; grid.

The query vector is computed once, when the query is chosen, and kept in the session: reruns
(a filter moved, k changed) only ask the index. A library image uses its stored vector, so
only an upload of a new image ever waits on the model.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import streamlit as st

from vitrieve.core.config import CAMERA_RAW_EXTENSIONS
from vitrieve.indexer.decode import IMAGE_EXTENSIONS
from vitrieve.indexer.library import Library
from vitrieve.search.files import servable_path
from vitrieve.search.query import query_from_file
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.components import lightbox, selection, selection_quarantine
from vitrieve.ui.components.grid import thumbnail_grid
from vitrieve.ui.components.picture import thumbnail
from vitrieve.ui.components.query_state import QUERY, SCROLL, set_query_from_id
from vitrieve.ui.components.session import empty_library_notice, library, shown_errors
from vitrieve.ui.components.tagging import tag_filter_choices
from vitrieve.ui.views.grid import GridItem, grid_items
from vitrieve.ui.views.library import browse, list_folders, list_roots
from vitrieve.ui.views.search import MAX_UPLOAD_MB, SearchFilters, search_grid, upload_preview
from vitrieve.ui.views.search import query_from_upload as embed_upload

UPLOAD_TYPES = sorted(ext.lstrip(".") for ext in IMAGE_EXTENSIONS | CAMERA_RAW_EXTENSIONS)
PICK_PAGE = 20


def _upload_source(lib: Library) -> None:
    upload = st.file_uploader(
        f"Upload an image (up to {MAX_UPLOAD_MB} MB)",
        type=UPLOAD_TYPES,
        max_upload_size=MAX_UPLOAD_MB,
        key="upload",
    )
    if upload is None:
        st.session_state.pop("upload_seen", None)
        return
    if st.session_state.get("upload_seen") == upload.file_id:
        return  # already the query (or already refused); do not embed it again
    st.session_state["upload_seen"] = upload.file_id
    with shown_errors(), st.spinner("Embedding the uploaded image…"):
        query = embed_upload(lib, upload.getvalue(), upload.name)
        st.session_state[QUERY] = {
            "label": upload.name,
            "query": query,
            "item": None,
            "preview": upload_preview(upload.getvalue(), lib.settings.max_image_pixels),
        }


def _library_source(lib: Library, roots) -> None:
    with st.form("path-form", border=False):
        typed = st.text_input(
            "Path of an image inside a registered root", placeholder="/photos/2024/beach.jpg"
        )
        go = st.form_submit_button("Search with this file", icon=":material/search:")
    if go and typed.strip():
        with shown_errors():
            real = servable_path(lib, typed.strip())  # refuses anything outside the roots
            with st.spinner("Reading the image…"):
                query = query_from_file(lib, real)
            item = grid_items(lib, [query.image_id])[0] if query.image_id else None
            st.session_state[QUERY] = {"label": display_path(real), "query": query, "item": item}
            st.session_state[SCROLL] = st.session_state.get(SCROLL, 0) + 1
    st.markdown("**…or browse**")
    c1, c2 = st.columns(2)
    paths = {r.id: display_path(r.path) for r in roots}
    root_id = c1.selectbox(
        "Root", list(paths), format_func=paths.__getitem__, key="pick_root", on_change=_reset_pick
    )
    assert root_id is not None  # options are not empty, so one is always selected
    folders = list_folders(lib, root_id)
    folder = c2.selectbox(
        "Folder",
        folders,
        format_func=lambda f: display_path(f) or "(all)",
        key="pick_folder",
        on_change=_reset_pick,
    )
    assert folder is not None  # list_folders always holds "" (the root itself)
    items, total = browse(
        lib, root_id, folder, limit=PICK_PAGE, offset=st.session_state.get("pick_offset", 0)
    )
    if not items:
        st.caption("Nothing searchable here yet — ingest this folder on the Library page.")
        return
    pager(total)
    thumbnail_grid(items, key="pick", actions=_pick_action(lib))


def _move_pick(delta: int) -> None:
    st.session_state["pick_offset"] = max(0, st.session_state.get("pick_offset", 0) + delta)


def _reset_pick() -> None:
    st.session_state["pick_offset"] = 0


def pager(total: int) -> None:
    offset = st.session_state.get("pick_offset", 0)
    last = min(total, offset + PICK_PAGE)
    c1, c2, c3 = st.columns([1, 2, 1])
    c1.button("Previous", disabled=offset == 0, on_click=_move_pick, args=(-PICK_PAGE,))
    c2.caption(f"{offset + 1}–{last} of {total}")
    c3.button("Next", disabled=last >= total, on_click=_move_pick, args=(PICK_PAGE,))


def _pick_action(lib: Library):
    def action(item: GridItem, i: int) -> None:
        st.button(
            "Search with this",
            key=f"pick-use-{item.image_id}",
            on_click=set_query_from_id,
            args=(lib, item.image_id),
            width="stretch",
        )

    return action


def _result_actions(lib: Library):
    def action(item: GridItem, i: int) -> None:
        if selection.selecting():
            selection.tick(item)
        st.button(
            "More like this",
            key=f"more-{item.image_id}",
            on_click=set_query_from_id,
            args=(lib, item.image_id),
            icon=":material/image_search:",
            width="stretch",
        )

    return action


def _filters(lib: Library, roots) -> tuple[SearchFilters, int]:
    with st.sidebar:
        st.header("Filters")
        k = st.slider("Results (k)", 1, 200, 20, key="k")
        paths = {r.id: r.path for r in roots}
        root_id = st.selectbox(
            "Root",
            [None, *paths],
            format_func=lambda i: "All roots" if i is None else display_path(paths[i]),
        )
        folder = None
        if root_id is not None:
            sub = st.selectbox(
                "Folder",
                list_folders(lib, root_id),
                format_func=lambda f: display_path(f) or "(whole root)",
            )
            folder = Path(paths[root_id]) / sub if sub else Path(paths[root_id])
        use_dates = st.checkbox("Only photos from a date range")
        date_from = date_to = None
        if use_dates:
            picked = st.date_input("Dates", value=(date(2000, 1, 1), date.today()))
            if isinstance(picked, tuple) and len(picked) == 2:
                date_from, date_to = picked
        tag, min_score = tag_filter_choices(lib)
    return SearchFilters(folder, date_from, date_to, tag, min_score), k


def _scroll_to_results() -> None:
    """Brings the results (drawn first on the page) into view once per new query: a picture
    chosen far down the picker would otherwise leave them above the visible part of the page.
    The counter in the markup makes each new query a new element, so its script runs again."""
    bump = st.session_state.get(SCROLL, 0)
    if bump == st.session_state.get("scrolled_for"):
        return
    st.session_state["scrolled_for"] = bump
    st.html(
        f"<script data-query='{int(bump)}'>"
        "document.querySelector('.st-key-results')?.scrollIntoView({block: 'start'});"
        "</script>",
        unsafe_allow_javascript=True,
    )


def _query_header(chosen: dict) -> None:
    """The query photo first, at a size one can see (its thumbnail, or the upload itself),
    then what it is and the way back."""
    head_photo, head_text = st.columns([1, 3], vertical_alignment="center")
    with head_photo, st.container(key="query-photo"):
        if chosen["item"] is not None:
            thumbnail(chosen["item"])
        elif chosen.get("preview"):
            st.image(chosen["preview"], caption=None, width="stretch")
        else:
            st.caption(":material/hide_image: no preview of this file")
    with head_text:
        st.subheader("Results")
        st.caption(f"Similar to {chosen['label']}")
        st.button("Clear query", on_click=st.session_state.pop, args=(QUERY, None))


def _show_results(lib: Library, filters: SearchFilters, k: int) -> None:
    chosen = st.session_state.get(QUERY)
    if chosen is None:
        st.info("Upload an image or pick one from the library to see similar photos.")
        return
    with st.container(key="results"):
        _query_header(chosen)
        selection_quarantine.outcome(lib)  # a move's Undo stays when it emptied the selection
        with shown_errors():
            items = search_grid(lib, chosen["query"], k, filters)
            if not items:
                st.info("No results pass these filters.")
            else:
                selection.selection_bar(lib)
                thumbnail_grid(
                    items,
                    key="result",
                    actions=_result_actions(lib),
                    hover_actions=not selection.selecting(),  # a tick must stay in sight
                )
    _scroll_to_results()


def main() -> None:
    st.title("Search by example")
    lib = library()
    with shown_errors():
        roots = list_roots(lib)
        if not roots:
            empty_library_notice()
            return
        filters, k = _filters(lib, roots)
        # The sources run first (an upload or a typed path sets the query in this run), but
        # draw below the results, which come first on the page.
        results = st.container()
        st.divider()
        upload_tab, library_tab = st.tabs(["Upload an image", "Pick from the library"])
        with upload_tab:
            _upload_source(lib)
        with library_tab:
            _library_source(lib, roots)
        with results:
            _show_results(lib, filters, k)
    lightbox.show_requested(lib, search_page=True)


main()
