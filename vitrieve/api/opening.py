"""`vitrieve.open`: a library from a few keyword arguments instead of VITRIEVE_* variables."""

from __future__ import annotations

import os
from typing import Any

from vitrieve.api.library import Library
from vitrieve.core.config import Settings


def open_library(
    home: str | os.PathLike[str] | None = None,
    model: str | None = None,
    database_url: str | None = None,
    **settings: Any,
) -> Library:
    """The library at ``home`` (default: VITRIEVE_HOME, else `.vitrieve`), its catalog migrated.

    Any other setting (README "Configuration") may be given by its lower-case name
    (``precision="fp32"``); what is not given comes from the VITRIEVE_* variables as for the
    CLI. A bad value raises InvalidSettingError (a VitrieveError) in one line."""
    given = {"home": home, "model": model, "database_url": database_url, **settings}
    return Library(Settings(**{k: v for k, v in given.items() if v is not None}))
