"""Search by example: an image file (in the catalog or not) or a catalog image id.

A query image that is itself in the catalog uses its stored vector and is left out of its own
results; byte-identical copies at other paths still show, with score 1.0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import numpy as np
from sqlalchemy import ColumnElement, and_, or_, select

from vitrieve.core.errors import MAX_ID, NotIndexedError, VitrieveError
from vitrieve.indexer.catalog import (
    ImageSummary,
    ShowsImage,
    decode_vectors,
    describe_images,
    encode_vector,
    image_id_of_path,
    photo_date,
)
from vitrieve.indexer.decode import DecodeError
from vitrieve.indexer.library import Library
from vitrieve.indexer.reader import ReadError, content_hash, read_file
from vitrieve.indexer.writer import known_vectors
from vitrieve.search.embed_files import decode_for_model
from vitrieve.tables.catalog import Embedding, Image, ImageStatus, Root

R = TypeVar("R")
S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class SearchResult(ShowsImage):
    image: ImageSummary
    score: float
    raw: str | None = None  # the RAW shot with this JPEG/HEIF (search/duplicates/raw_pairs.py)

    def to_dict(self) -> dict:
        """The `vitrieve search --json` record."""
        return {
            "image_id": self.image_id,
            "path": self.path,
            "score": self.score,
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "size": self.size,
            "captured_at": self.captured_at.isoformat() if self.captured_at else None,
            "raw": self.raw,
        }


@dataclass(frozen=True, slots=True)
class Query:
    vector: np.ndarray  # float32 [dim], unit length
    image_id: int | None  # the catalog row the query came from, left out of the results


def query_from_id(lib: Library, image_id: int) -> Query:
    if not 1 <= image_id <= MAX_ID:  # a driver would raise OverflowError for the query
        raise NotIndexedError(f"no image with id {image_id} in the catalog")
    model = lib.model_row
    with lib.sessions() as session:
        status = session.scalar(select(Image.status).where(Image.id == image_id))
        vector = session.scalar(
            select(Embedding.vector).where(
                Embedding.image_id == image_id, Embedding.model_id == model.id
            )
        )
    if status is None:
        raise NotIndexedError(f"no image with id {image_id} in the catalog")
    if vector is None or status != ImageStatus.EMBEDDED:
        with lib.sessions() as session:  # named by its file: the id alone tells a user nothing
            described = describe_images(session, [image_id]).get(image_id)
        name = described.path if described else f"image id {image_id}"
        raise NotIndexedError(f"{name} is {status}: it has no vector for the current model")
    return Query(decode_vectors([vector], model.dim)[0], image_id)


def query_from_file(lib: Library, path: Path) -> Query:
    path = path.expanduser().resolve()
    with lib.sessions() as session:
        catalog_id = image_id_of_path(session, path)
    if catalog_id is not None:
        try:
            return query_from_id(lib, catalog_id)
        except NotIndexedError:
            pass  # known but not embedded yet (or stale): embed it from the file below
    settings = lib.settings
    if not path.exists():  # the reader would call it vanished, but it was never there
        raise VitrieveError(f"{path}: no such file")
    try:
        # `path` is resolved, so it is read from / without following any link: one swapped in
        # since (a file picked in the UI, approved by servable_path) is refused, not followed.
        data = read_file(path, max_size=settings.max_file_size, root=Path(path.anchor))
        decoded = decode_for_model(lib, data, str(path))
    except (ReadError, DecodeError) as exc:
        raise VitrieveError(f"{path}: {exc.reason}") from None
    # Round through the stored precision so a query and its indexed copy compare exactly.
    embedder = lib.embedder
    stored = encode_vector(embedder.embed_images([decoded.image])[0])
    return Query(decode_vectors([stored], embedder.info.dim)[0], catalog_id)


def query_from_bytes(lib: Library, data: bytes, name: str) -> Query:
    """The query vector of a file's bytes (an upload), rounded through storage precision like
    an index vector; bytes identical to a catalogued file reuse its stored vector (no model)."""
    model = lib.model_row
    with lib.sessions() as session:
        known = known_vectors(session, model.id, [content_hash(data)]) if data else {}
    if known:
        return Query(decode_vectors(list(known.values()), model.dim)[0], None)
    try:
        decoded = decode_for_model(lib, data, name)
    except DecodeError as exc:
        raise VitrieveError(f"{name}: {exc.reason}") from None
    stored = encode_vector(lib.embedder.embed_images([decoded.image])[0])
    return Query(decode_vectors([stored], model.dim)[0], None)


def check_folder(lib: Library, folder: Path | None) -> Path | None:
    """A folder filter, resolved, or VitrieveError when it cannot match anything: a folder that
    is a file, or one neither inside nor around a registered root (an empty result would look
    like 'no similar images')."""
    if folder is None:
        return None
    folder = folder.expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise VitrieveError(f"folder {folder}: not a directory")
    with lib.sessions() as session:
        stored = session.scalars(select(Root.path)).all()
    roots = {Path(p) for p in stored} | {Path(p).resolve() for p in stored}
    if not any(r == folder or r in folder.parents or folder in r.parents for r in roots):
        raise VitrieveError(
            f"folder {folder}: not inside any registered root (see `vitrieve roots list`)"
        )
    return folder


def search(
    lib: Library,
    query: Query,
    k: int = 20,
    *,
    folder: Path | None = None,
    allowed: np.ndarray | None = None,
) -> list[SearchResult]:
    """Top-k by cosine, among the images in `folder` and among `allowed` ids when given.

    The one filtered search (folders, tags, dates all come here): the filters become a set of
    ids that FAISS keeps to inside the search, so a narrow filter needs no over-fetching."""
    if k < 1:
        raise VitrieveError("k must be at least 1")
    index = lib.index()
    exclude = [query.image_id] if query.image_id is not None else []
    folder = folder.expanduser().resolve() if folder else None
    in_folder = folder_ids(lib, folder) if folder is not None else None
    if in_folder is not None:
        allowed = in_folder if allowed is None else np.intersect1d(allowed, in_folder)
    hits = index.search(query.vector[None, :], k, exclude=exclude, allowed=allowed)[0]
    return _describe(lib, hits, folder)[:k]


def top_shown(
    k: int, fetch: Callable[[int], list[R]], shown: Callable[[list[R]], list[S]]
) -> list[S]:
    """The first ``k`` of ``shown(fetch(n))``, fetching more while what is shown falls short.

    A stack shows once by its cover and a RAW+JPEG pair once by its JPEG, so k hits can show as
    fewer than k results; asking the index for twice as many until k show (or the index has
    no more) keeps "top k" meaning k results."""
    n = k
    while True:
        got = fetch(n)
        out = shown(got)
        if len(out) >= k or len(got) < n:
            return out[:k]
        n *= 2


def folder_ids(lib: Library, folder: Path) -> np.ndarray | None:
    """Sorted ids of the embedded images under `folder` (resolved), or None when the folder
    holds every root (no filter needed). Matches `describe`'s test: the folder is a parent of
    the image's stored path."""
    with lib.sessions() as session:
        roots = session.execute(select(Root.id, Root.path)).all()
        whole: list[int] = []
        parts: list[ColumnElement[bool]] = []
        for root_id, root_path in roots:
            root = Path(root_path)
            if root == folder or folder in root.parents:
                whole.append(root_id)
            elif root in folder.parents:
                sub = folder.relative_to(root).as_posix()
                parts.append(
                    (Image.root_id == root_id)
                    & Image.rel_path.startswith(sub + "/", autoescape=True)
                )
        if len(whole) == len(roots):
            return None
        if whole:
            parts.append(Image.root_id.in_(whole))
        if not parts:
            return np.empty(0, np.int64)
        ids = session.scalars(
            select(Image.id).where(Image.status == ImageStatus.EMBEDDED, or_(*parts))
        ).all()
    return np.asarray(sorted(ids), dtype=np.int64)


def _describe(lib: Library, hits, folder: Path | None) -> list[SearchResult]:
    return describe(lib, [h.id for h in hits], [h.score for h in hits], folder)


def describe(
    lib: Library, ids: list[int], scores: list[float], folder: Path | None
) -> list[SearchResult]:
    """Results for scored ids, best first as given; ids gone from SQL are dropped (SQL wins)."""
    with lib.sessions() as session:
        images = describe_images(session, ids)
    out = []
    for image_id, score in zip(ids, scores, strict=True):
        image = images.get(image_id)
        if image is None:
            continue  # removed since the index was saved
        if folder is not None and folder not in Path(image.path).parents:
            continue
        out.append(SearchResult(image, min(1.0, float(score))))
    return out


def dated_ids(lib: Library, lo: datetime, hi: datetime) -> np.ndarray:
    """Sorted ids of the embedded images whose photo date (`ImageSummary.taken`: EXIF capture
    time, else file time) lies in [lo, hi], for a search to keep to. SQL narrows by file time
    with a day's margin (local time vs the epoch, DST), then `photo_date` decides, so the set is
    exactly what the grid's dates show."""
    by_file: list[ColumnElement[bool]] = [Image.captured_at.is_(None)]
    low, high = _epoch_ns(lo, -1), _epoch_ns(hi, 1)
    if lo > datetime.min and low is not None:
        by_file.append(Image.mtime_ns >= low)
    if hi < datetime.max and high is not None:
        by_file.append(Image.mtime_ns <= high)
    with lib.sessions() as session:
        rows = session.execute(
            select(Image.id, Image.captured_at, Image.mtime_ns).where(
                Image.status == ImageStatus.EMBEDDED,
                or_(Image.captured_at.between(lo, hi), and_(*by_file)),
            )
        ).all()
    ids = [i for i, captured, mtime in rows if lo <= photo_date(captured, mtime) <= hi]
    return np.asarray(sorted(ids), dtype=np.int64)


def _epoch_ns(moment: datetime, margin_days: int) -> int | None:
    try:
        return int((moment + timedelta(days=margin_days)).timestamp() * 1e9)
    except (OverflowError, OSError, ValueError):  # near datetime.min/max: no bound
        return None
