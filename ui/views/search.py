"""Search by example for the UI: an uploaded image, and results filtered for a grid.

An upload that is byte-identical to a catalogued file reuses its stored vector (no model); any
other upload is decoded and embedded once. Every filter (folder, date, tag) becomes the set of
ids `search` keeps to inside the index search, so k results come back whenever k pass.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.decode import DecodeError, decode_image
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.raw_pairs import pairs_among, shown_once
from vitrieve.search.duplicates.stacks import collapse, stacks_of
from vitrieve.search.duplicates.strength import strength_levels
from vitrieve.search.duplicates.threshold import latest_calibration
from vitrieve.search.query import Query, dated_ids, query_from_bytes, search, top_shown
from vitrieve.search.tagging.query import DEFAULT_MIN_SCORE
from vitrieve.ui.views.grid import GridItem, day_bounds, grid_items
from vitrieve.ui.views.tags import tagged_ids

MAX_UPLOAD_MB = 50
"""Upload cap, also passed to Streamlit as server.maxUploadSize by `vitrieve ui`."""


def query_from_upload(lib: Library, data: bytes, name: str) -> Query:
    """The query vector of an uploaded file, rounded through storage precision like an index
    vector, so an upload of a catalogued photo scores 1.0 against it."""
    limit = MAX_UPLOAD_MB * 1024 * 1024
    if len(data) > limit:
        raise VitrieveError(
            f"{name}: {len(data) / 2**20:.1f} MB is over the {MAX_UPLOAD_MB} MB upload limit"
        )
    return query_from_bytes(lib, data, name)


def upload_preview(data: bytes, max_pixels: int, size: int = 320) -> str | None:
    """A small JPEG of an uploaded query as a data URI, to show the query above its results;
    decoded as ingest decodes (upright, the pixel limit and the large-decode gate kept); None
    when it cannot be (the search itself has said why, or used a stored vector)."""
    try:
        small = decode_image(data, target_size=size // 2, max_pixels=max_pixels).image
    except DecodeError:
        return None
    small = small.copy()
    small.thumbnail((size, size))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


@dataclass(frozen=True, slots=True)
class SearchFilters:
    folder: Path | None = None  # a root or a folder inside one
    date_from: date | None = None  # inclusive, on the photo's date (EXIF, else file time)
    date_to: date | None = None
    tag: str | None = None  # an effective tag (see search.tagging.query)
    min_tag_score: float = DEFAULT_MIN_SCORE


def search_grid(
    lib: Library,
    query: Query,
    k: int = 20,
    filters: SearchFilters | None = None,
) -> list[GridItem]:
    """Top-k grid items passing every filter, best first; a stack once, by its cover."""
    filters = filters or SearchFilters()
    allowed = None
    if filters.tag:
        allowed = np.asarray(sorted(tagged_ids(lib, filters.tag, filters.min_tag_score)), np.int64)
    if filters.date_from or filters.date_to:
        dated = dated_ids(lib, *day_bounds(filters.date_from, filters.date_to))
        allowed = dated if allowed is None else np.intersect1d(allowed, dated)
    if allowed is not None and not allowed.size:
        return []
    shown = top_shown(
        k,
        lambda n: search(lib, query, n, folder=filters.folder, allowed=allowed),
        lambda got: _shown_once(lib, got),
    )
    items = grid_items(lib, [s for s, _ in shown], dict(shown))
    levels = strength_levels(latest_calibration(lib))  # the score in words, as `vitrieve search`
    return [replace(i, match=levels.word(i.score)) if i.score is not None else i for i in items]


def _shown_once(lib: Library, results: list) -> list[tuple[int, float]]:
    """(id shown, the score of the hit that put it there), best first. A stack is shown once,
    by its cover, where its best member ranked, with that score; so is a RAW+JPEG pair, by its
    JPEG."""
    score = {r.image_id: r.score for r in results}
    with lib.sessions() as session:
        stacks = stacks_of(session, [r.image_id for r in results])
    shown = collapse([r.image_id for r in results], stacks)
    pairs = pairs_among(lib, [s for s, _ in shown])
    hit_of = dict(shown)  # the id shown for a stack -> the hit that put it there
    return [(p, score[hit_of[s]]) for p, s in shown_once(list(hit_of), pairs)]
