"""The Duplicates sidebar's keeper preferences: the user's rules, tried before the built-in
keeper rules (search/duplicates/prefer.py, docs/DUPLICATES.md "Keeper rules").

They start as VITRIEVE_KEEPER_PREFER says and can be edited for this browser session (settings
come only from the environment: set the variable to keep a list for good). A list that does not
parse is said in one line and the setting's list stays in force.
"""

from __future__ import annotations

import streamlit as st

from vitrieve.core.config import KEEPER_PREFERENCES
from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.prefer import preferences

KEY = "keeper_prefer"


def editor(lib: Library) -> str:
    """The preference list in force for this session (VITRIEVE_KEEPER_PREFER syntax)."""
    default = lib.settings.keeper_prefer
    with st.sidebar.expander("Keeper preferences", icon=":material/rule:", expanded=False):
        text = st.text_input(
            "Prefer, first rule first",
            value=default,
            key=KEY,
            placeholder="e.g. raw, heic, folder:/photos/originals",
            help="Comma-separated, tried before the built-in rules: "
            + ", ".join(KEEPER_PREFERENCES)
            + ", folder:PATH. Empty: the built-in order. For this session; set "
            "VITRIEVE_KEEPER_PREFER to keep a list.",
        )
        try:
            rules = preferences(text)
        except VitrieveError as exc:
            st.error(str(exc), icon=":material/error:")
            return default
        st.caption(
            "Keeper chosen by: " + " → ".join([p.rule for p in rules] + ["the built-in rules"])
        )
    return text
