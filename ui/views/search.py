"""Search by example for the UI: an uploaded image, and results filtered for a grid.

An upload that is byte-identical to a catalogued file reuses its stored vector (no model); any
other upload is decoded and embedded once. Filters the index cannot apply (date, tag) are
applied to an over-fetched result list that grows until k results pass, as `search` does for
folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from vitrieve.indexer.catalog import decode_vectors, encode_vector
from vitrieve.indexer.decode import DecodeError, decode_image
from vitrieve.indexer.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.indexer.reader import content_hash
from vitrieve.indexer.writer import known_vectors
from vitrieve.search.query import Query, search
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
    model = lib.model_row
    with lib.sessions() as session:
        known = known_vectors(session, model.id, [content_hash(data)]) if data else {}
    if known:
        return Query(decode_vectors(list(known.values()), model.dim)[0], None)
    embedder = lib.embedder
    try:
        decoded = decode_image(
            data,
            target_size=embedder.spec.target_size,
            source=name,
            max_pixels=lib.settings.max_image_pixels,
        )
    except DecodeError as exc:
        raise VitrieveError(f"{name}: {exc.reason}") from None
    stored = encode_vector(embedder.embed_images([decoded.image])[0])
    return Query(decode_vectors([stored], model.dim)[0], None)


@dataclass(frozen=True, slots=True)
class SearchFilters:
    folder: Path | None = None  # a root or a folder inside one
    date_from: date | None = None  # inclusive, on the photo's date (EXIF, else file time)
    date_to: date | None = None
    tag: str | None = None  # an effective tag (see search.tagging.query)
    min_tag_score: float = DEFAULT_MIN_SCORE

    @property
    def narrows_after_search(self) -> bool:
        return bool(self.date_from or self.date_to or self.tag)


def search_grid(
    lib: Library,
    query: Query,
    k: int = 20,
    filters: SearchFilters | None = None,
) -> list[GridItem]:
    """Top-k grid items passing every filter, best first."""
    filters = filters or SearchFilters()
    tagged = tagged_ids(lib, filters.tag, filters.min_tag_score) if filters.tag else None
    if tagged is not None and not tagged:
        return []
    total = len(lib.index())
    fetch = k * 4 if filters.narrows_after_search else k
    lo, hi = day_bounds(filters.date_from, filters.date_to)
    while True:
        results = search(lib, query, fetch, folder=filters.folder)
        items = grid_items(
            lib, [r.image_id for r in results], {r.image_id: r.score for r in results}
        )
        items = [i for i in items if i.date is None or lo <= i.date <= hi]
        if tagged is not None:
            items = [i for i in items if i.image_id in tagged]
        if len(items) >= k or fetch >= total:
            return items[:k]
        fetch *= 4
