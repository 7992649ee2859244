"""Fixtures shared by the search tests: an opened copy of a module's ingested home, and the
duplicate library (ingested once per session, cloned for each test)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import add_duplicates, clone_library, dup_settings, write_photos
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library


@pytest.fixture
def lib(settings, ingested_home):
    """A fresh copy of the module's `ingested_home` (built once per module), opened."""
    shutil.copytree(ingested_home, settings.home)
    with Library(settings) as library:
        yield library


@pytest.fixture(scope="session")
def dup_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real photos plus every kind of copy (tests/support/dups.py), ingested once per
    session; tests work on clones (`clone_library`)."""
    base = tmp_path_factory.mktemp("dup-template")
    photos = write_photos(base / "photos")
    with Library(dup_settings(base / "home")) as lib:
        # Originals first: byte copies decoded side by side would race on their shared
        # thumbnail (indexer/thumbnails.py names its temp file by process only).
        ingest(lib, [photos])
        ingest(lib, [add_duplicates(photos)])
    return base


@pytest.fixture
def dup_library(dup_template: Path, tmp_path: Path) -> Iterator[tuple[Library, Path]]:
    """A clone of `dup_template` for one test, opened: (library, photo root)."""
    photos, settings = clone_library(dup_template, tmp_path / "lib")
    with Library(settings) as lib:
        yield lib, photos
