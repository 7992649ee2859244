"""Fixtures shared by the search tests."""

from __future__ import annotations

import shutil

import pytest

from vitrieve.indexer.library import Library


@pytest.fixture
def lib(settings, ingested_home):
    """A fresh copy of the module's `ingested_home` (built once per module), opened."""
    shutil.copytree(ingested_home, settings.home)
    with Library(settings) as library:
        yield library
