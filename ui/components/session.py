"""One Library per server process and settings, and the way pages show user-facing errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from vitrieve.core.config import Settings
from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.tables.fsnames import display_path


@st.cache_resource(show_spinner="Opening the library…")
def _open_library(settings_json: str) -> Library:
    # Cached for the server's lifetime, so the model loads at most once per process and every
    # session shares the same engine and index (both are thread-safe).
    return Library(Settings.model_validate_json(settings_json))


def library() -> Library:
    """The library named by the current VITRIEVE_* settings (a new one if they changed)."""
    return _open_library(Settings().model_dump_json())


@contextmanager
def shown_errors() -> Iterator[None]:
    """Shows a VitrieveError's message (it is written for users) instead of a traceback."""
    try:
        yield
    except VitrieveError as exc:
        st.error(display_path(str(exc)), icon=":material/error:")


def empty_library_notice() -> None:
    st.info("No roots yet — add a folder on the Library page.", icon=":material/folder_open:")
    st.page_link("app_pages/library.py", label="Go to Library", icon=":material/arrow_forward:")
