"""The "Download original" link of the Open dialog, and the end of a session's links.

The link comes from ui/originals.py: it serves the file only to this browser, while this
session is logged in and has not moved on, for `ui_download_ttl` seconds. Nothing is read
from the file here; the route streams it from disk when the browser asks.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit import config
from streamlit.runtime.scriptrunner import get_script_run_ctx

from vitrieve.core.config import Settings
from vitrieve.ui import originals
from vitrieve.ui.throttle import describe_wait


def _session_id() -> str | None:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def original_url(real: Path) -> str | None:
    """A link to `real` (already approved by servable_path) for this browser, or None after
    saying why there is none. The lightbox draws the full-resolution picture from it, the
    download button offers it: both through vitrieve's route, never Streamlit's /media."""
    if not originals.is_mounted():
        st.caption("Downloads are served by `vitrieve ui` (ui/server.py), not a bare app.py.")
        return None
    session_id = _session_id()
    browser = originals.browser_token(st.context.cookies.get(originals.XSRF_COOKIE))
    if session_id is None or browser is None:
        st.caption(
            "Downloads need Streamlit's XSRF protection (server.enableXsrfProtection, on by "
            "default): its cookie is what ties a download link to this browser."
        )
        return None
    token = originals.GRANTS.issue(real, session_id, browser, Settings().ui_download_ttl)
    return originals.link(str(config.get_option("server.baseUrlPath") or ""), token)


def download_link(real: Path, url: str | None = None) -> None:
    """A link to `real` (already approved by servable_path), or why there is none; `url` is
    one already issued by original_url for this view."""
    url = url or original_url(real)
    if url is None:
        return
    st.link_button("Download original", url, icon=":material/download:")
    ttl = Settings().ui_download_ttl
    st.caption(f"The link works in this browser for {describe_wait(ttl)}, until the page changes.")


def end_session_downloads() -> None:
    """Revokes this session's links: called at the start of every full run (so a link lives
    only as long as the view that showed it) and when the session locks or logs out."""
    session_id = _session_id()
    if session_id is not None:
        originals.GRANTS.revoke_session(session_id)
