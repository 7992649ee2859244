"""Browsing the catalog for the UI: roots with their counts, folders, images by folder and date,
and the files that failed with their reasons."""

from __future__ import annotations

from datetime import date

from vitrieve.indexer import catalog
from vitrieve.indexer.catalog import RootRow
from vitrieve.indexer.library import Library
from vitrieve.search.browse import folder_page, folders_of_root
from vitrieve.search.failures import FailedImage, failed_images
from vitrieve.ui.views.grid import GridItem, day_bounds, grid_items


def list_roots(lib: Library) -> list[RootRow]:
    return catalog.list_roots(lib.sessions)


def list_folders(lib: Library, root_id: int) -> list[str]:
    """Every folder of a root that holds catalogued images, relative ('' is the root itself)."""
    return folders_of_root(lib, root_id)


def browse(
    lib: Library,
    root_id: int,
    folder: str = "",
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[GridItem], int]:
    """Searchable images of a folder (and its sub-folders) by path, one page, plus the total."""
    dates = day_bounds(date_from, date_to) if date_from or date_to else None
    ids, total = folder_page(lib, root_id, folder, dates, limit=limit, offset=offset)
    return grid_items(lib, ids), total


def recent_failures(lib: Library, limit: int = 200) -> list[FailedImage]:
    """Files that could not be read or decoded, newest first, with the recorded reason."""
    return failed_images(lib, limit=limit, newest_first=True).failures
