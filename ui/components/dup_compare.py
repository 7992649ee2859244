"""A member beside its keeper at full resolution, to judge what a 256 px thumbnail cannot
(a crop, a softer re-encode, a burst shot with closed eyes).

The pictures are the original files, loaded by the browser from vitrieve's originals route
(ui/originals.py, mounted by ui/server.py): a link only this browser can use, for this view,
issued after servable_path approved the file. Nothing is decoded or re-encoded on the server
and nothing passes through Streamlit's open /media endpoint.
"""

from __future__ import annotations

import html

import streamlit as st

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.groups import DupGroup, DupMember
from vitrieve.search.files import servable_path
from vitrieve.tables.fsnames import display_path
from vitrieve.ui.components.download import original_url
from vitrieve.ui.views.dups import MATCH_WORDS, facts_text, keeper_of, similarity_text

COMPARE = "dup_compare"  # (group, image id) shown beside its keeper


def open_compare(group: int, image_id: int) -> None:
    st.session_state[COMPARE] = (group, image_id)


def close_compare() -> None:
    st.session_state.pop(COMPARE, None)


def compare(lib: Library, group: DupGroup, image_id: int) -> None:
    member = next((m for m in group.members if m.image_id == image_id), None)
    if member is None:  # the group changed since (a decision, a quarantine)
        close_compare()
        return
    keeper = keeper_of(group)
    gid = group.group
    with st.container(border=True, key=f"compare-{gid}"):
        c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="center")
        c1.markdown(
            f"**Compare** image {member.image_id} ({MATCH_WORDS.get(member.match, member.match)}"
            f", similarity {similarity_text(member)}) with its keeper, at full resolution"
        )
        actual = c2.toggle("Actual pixels", key=f"actual-{gid}", help="1:1, scroll to pan")
        c3.button("Close", key=f"close-compare-{gid}", on_click=close_compare)
        left, right = st.columns(2)
        with left:
            _original(lib, keeper, "keeper", actual)
        with right:
            _original(lib, member, "member", actual)


def _original(lib: Library, m: DupMember, role: str, actual: bool) -> None:
    shown = display_path(m.path)
    st.markdown(f"**{role}** · {html.escape(shown)}")
    st.caption(facts_text(m))
    try:
        real = servable_path(lib, m.path)
    except VitrieveError as exc:
        st.error(display_path(str(exc)))
        return
    url = original_url(real)
    if url is None:
        return
    # max-width keeps the full-size picture inside its column (the browser scales it, its
    # pixels are all there); "Actual pixels" shows it 1:1 in a scrolling frame instead.
    style = "max-width:none" if actual else "max-width:100%;height:auto"
    st.markdown(
        f'<div style="overflow:auto;max-height:80vh"><img class="vitrieve-original" '
        f'data-role="{role}" src="{html.escape(url)}" alt="{html.escape(shown)}" '
        f'style="{style}"></div>',
        unsafe_allow_html=True,
    )
