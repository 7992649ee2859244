"""The Streamlit front end: `vitrieve ui` (or `streamlit run ui/app.py`).

Every run goes through this script, so the gate below guards every page. Two details keep it
so: the page scripts live in `app_pages/`, not `pages/` (a `pages/` folder next to the entry
script switches Streamlit to its legacy multipage mode, which runs a requested page script
directly, without this file, until some run calls st.navigation); and st.navigation is called
on every run, before login too, with only the login page registered then.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from vitrieve.ui.auth import gate, login_page, logout_control
from vitrieve.ui.components.download import end_session_downloads
from vitrieve.ui.gc_freeze import freeze_imports

# A bundled file, served from this server: a ":material/...:" page icon makes the browser fetch
# the favicon from a third-party font host, and no request of the UI may leave the machine.
FAVICON = Path(__file__).with_name("static") / "favicon.png"

st.set_page_config(page_title="vitrieve", page_icon=str(FAVICON), layout="wide")
end_session_downloads()  # a download link lives only as long as the view that showed it

if gate():
    pages = [
        st.Page(
            "app_pages/search.py", title="Search", icon=":material/image_search:", default=True
        ),
        st.Page("app_pages/duplicates.py", title="Duplicates", icon=":material/content_copy:"),
        st.Page("app_pages/tags.py", title="Tags", icon=":material/sell:"),
        st.Page("app_pages/library.py", title="Library", icon=":material/photo_library:"),
        st.Page("app_pages/status.py", title="Status", icon=":material/monitor_heart:"),
    ]
    logout_control()
else:
    pages = [st.Page(login_page, title="Log in", icon=":material/lock:", default=True)]

try:
    st.navigation(pages).run()
finally:  # the page's imports are done: Streamlit's collection after each run skips them
    freeze_imports()
