"""Catalog queries shared by ingest, search, the CLI and the UI: roots, models, vectors, counts,
and the one image summary (`ImageSummary`, `describe_images`, `image_id_of_path`)."""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import CursorResult, String, cast, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.model_source import ModelInfo
from vitrieve.indexer.photo_facts import FACT_NAMES, PhotoFacts
from vitrieve.tables.catalog import Embedding, EmbeddingModel, Image, ImageStatus, Root

VECTOR_DTYPE = np.float16  # half the bytes of float32; cosine error ~1e-4, far below any threshold


def encode_vector(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=VECTOR_DTYPE).tobytes()


def decode_vectors(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """float16 blobs -> float32 [N, dim], renormalised so a vector's score with itself is 1.0."""
    if not blobs:
        return np.empty((0, dim), dtype=np.float32)
    arr = np.frombuffer(b"".join(blobs), dtype=VECTOR_DTYPE).reshape(len(blobs), dim)
    arr = arr.astype(np.float32)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return arr / np.maximum(norms, 1e-12)


@dataclass(frozen=True, slots=True)
class RootTarget:
    """What one ingest path means: a root, and the sub-folder of it to look at ('' = all)."""

    root_id: int
    root_path: Path
    subdir: str


def refuse_data_dir(path: Path, data_dir: Path) -> None:
    """A folder inside the data directory (or the directory itself) is not a photo folder:
    ingesting $VITRIEVE_HOME/thumbs would index thumbnails, then thumbnails of those, on every
    run. A folder *containing* the data directory is fine: the scan skips it."""
    resolved, home = path.expanduser().resolve(), data_dir.expanduser().resolve()
    if resolved == home or home in resolved.parents:
        raise VitrieveError(
            f"{path}: is inside the vitrieve data directory {home} (catalog, index and "
            "thumbnails live there); choose a folder of your photos"
        )


def resolve_target(session: Session, path: Path) -> RootTarget:
    """Registers `path` as a root unless it lies inside one; a root inside it is absorbed."""
    path = path.expanduser().resolve()
    roots = session.scalars(select(Root)).all()
    for root in roots:
        root_path = Path(root.path)
        if path == root_path or root_path in path.parents:
            rel = path.relative_to(root_path).as_posix()
            return RootTarget(root.id, root_path, "" if rel == "." else rel)
    new = Root(path=str(path))
    session.add(new)
    session.flush()
    for root in roots:
        root_path = Path(root.path)
        if path in root_path.parents:
            prefix = root_path.relative_to(path).as_posix()
            for image in session.scalars(select(Image).where(Image.root_id == root.id)):
                image.root_id = new.id
                image.rel_path = f"{prefix}/{image.rel_path}"
            session.flush()
            session.delete(root)
    return RootTarget(new.id, path, "")


def under_folder(subdir: str):
    """SQL condition: the image's relative path lies in `subdir` ('' = anywhere in the root)."""
    if not subdir:
        return true()
    return or_(Image.rel_path == subdir, Image.rel_path.startswith(subdir + "/", autoescape=True))


def get_or_create_model(factory: sessionmaker[Session], info: ModelInfo) -> EmbeddingModel:
    """Two processes may race to register the same weights: the unique hash settles it."""
    for _ in range(2):
        with factory() as session:
            row = session.scalar(
                select(EmbeddingModel).where(EmbeddingModel.weights_hash == info.weights_hash)
            )
            if row is not None:
                return row
            row = EmbeddingModel(
                name=info.name, revision=info.revision, weights_hash=info.weights_hash, dim=info.dim
            )
            session.add(row)
            try:
                session.commit()
                return row
            except IntegrityError:
                session.rollback()
    raise RuntimeError("could not register the embedding model")


def searchable_filter(model_id: int):
    """The invariant behind the index: searchable = embedded now AND has this model's vector."""
    return (Image.status == ImageStatus.EMBEDDED) & (Embedding.model_id == model_id)


def searchable_ids(session: Session, model_id: int) -> np.ndarray:
    rows = session.scalars(
        select(Embedding.image_id).join(Image).where(searchable_filter(model_id))
    ).all()
    return np.asarray(sorted(rows), dtype=np.int64)


_BY_IDS_CHUNK = 500  # ids per IN (...): under SQLite's oldest parameter limit (999)


def vectors_by_ids(
    factory: sessionmaker[Session],
    model_id: int,
    dim: int,
    ids: Sequence[int] | np.ndarray,
    *,
    searchable: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(ids found, their vectors) of this model among `ids`, in no particular order.

    The one "vectors of these ids" read, for the index (refresh, rebuild replay, adding from
    SQL) and for tagging (training, exact scoring): IN lists are chunked under SQLite's
    parameter limit, each chunk in its own short session so a long read holds no snapshot.
    `searchable` also requires the image to be embedded now (the index's invariant); without
    it any stored vector of the model counts."""
    where = searchable_filter(model_id) if searchable else Embedding.model_id == model_id
    id_list = [int(i) for i in ids]
    got: list[int] = []
    blobs: list[bytes] = []
    for i in range(0, len(id_list), _BY_IDS_CHUNK):
        query = select(Embedding.image_id, Embedding.vector)
        if searchable:
            query = query.join(Image)
        with factory() as session:
            rows = session.execute(
                query.where(Embedding.image_id.in_(id_list[i : i + _BY_IDS_CHUNK]), where)
            ).all()
        got += [r[0] for r in rows]
        blobs += [r[1] for r in rows]
    return np.asarray(got, dtype=np.int64), decode_vectors(blobs, dim)


def iter_vectors(
    factory: sessionmaker[Session], model_id: int, dim: int, chunk: int = 20_000
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Streams (ids, vectors) by keyset pagination: bounded memory at any collection size."""
    last = 0
    while True:
        with factory() as session:
            # Both conditions are written so no index can serve them (`|| ''`, `+ 0`): else
            # SQLite drives the scan by the status or (model, hash) index and sorts every
            # vector on each page (quadratic at 1M rows); walking the primary key is linear.
            rows = session.execute(
                select(Embedding.image_id, Embedding.vector)
                .join(Image)
                .where(
                    cast(Image.status, String).concat("") == ImageStatus.EMBEDDED.value,
                    Embedding.model_id + 0 == model_id,
                    Embedding.image_id > last,
                )
                .order_by(Embedding.image_id)
                .limit(chunk)
            ).all()
        if not rows:
            return
        ids = np.asarray([r[0] for r in rows], dtype=np.int64)
        yield ids, decode_vectors([r[1] for r in rows], dim)
        last = int(ids[-1])


def mark_stale_for_model(session: Session, model_id: int, root_ids: Sequence[int]) -> int:
    """Embedded images with no vector from this model go back to pending (the model changed)."""
    has_vector = (
        select(Embedding.image_id)
        .where(
            Embedding.model_id == model_id,
            Embedding.image_id == Image.id,
            Embedding.content_hash == Image.content_hash,
        )
        .exists()
    )
    result = session.execute(
        update(Image)
        .where(Image.status == ImageStatus.EMBEDDED, Image.root_id.in_(root_ids), ~has_vector)
        .values(status=ImageStatus.PENDING)
        .execution_options(synchronize_session=False)
    )
    # Session.execute is typed to return Result; an UPDATE gives a CursorResult
    return typing.cast("CursorResult[typing.Any]", result).rowcount or 0


def status_counts(session: Session) -> dict[str, int]:
    counts = dict.fromkeys((s.value for s in ImageStatus), 0)
    for status, n in session.execute(select(Image.status, func.count()).group_by(Image.status)):
        counts[ImageStatus(status).value] = n
    return counts


@dataclass(frozen=True, slots=True)
class RootRow:
    id: int
    path: str
    watch: bool
    added_at: datetime
    exists: bool  # False when the folder is gone or its disk is not mounted
    counts: dict[str, int]  # images per status

    @property
    def images(self) -> int:
        return sum(self.counts.values())


def list_roots(factory: sessionmaker[Session]) -> list[RootRow]:
    """Every registered root with its images per status, by path: the one roots listing, for
    `vitrieve roots list` (worker.roots) and the UI's pages (ui.views.library) alike."""
    with factory() as session:
        roots = session.execute(select(Root.id, Root.path, Root.watch, Root.added_at)).all()
        counts: dict[int, dict[str, int]] = {
            r.id: dict.fromkeys((s.value for s in ImageStatus), 0) for r in roots
        }
        for root_id, status, n in session.execute(
            select(Image.root_id, Image.status, func.count()).group_by(Image.root_id, Image.status)
        ):
            counts[root_id][ImageStatus(status).value] = n
    return sorted(
        (
            RootRow(r.id, r.path, bool(r.watch), r.added_at, Path(r.path).is_dir(), counts[r.id])
            for r in roots
        ),
        key=lambda row: row.path,
    )


@dataclass(frozen=True, slots=True)
class ImageSummary:
    """One catalog image as every reader shows it: search results, duplicate members, grid
    items and keeper facts hold one of these (composition) and add only what they measure."""

    image_id: int
    root: str
    rel_path: str
    size: int
    mtime_ns: int
    width: int | None
    height: int | None
    format: str | None
    captured_at: datetime | None
    status: ImageStatus
    content_hash: str | None
    pixel_hash: str | None

    @property
    def path(self) -> str:
        return str(Path(self.root) / self.rel_path)

    @property
    def taken(self) -> datetime:
        """The date a grid shows and a date filter tests: EXIF capture time, else file time."""
        return photo_date(self.captured_at, self.mtime_ns)

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)


def photo_date(captured_at: datetime | None, mtime_ns: int) -> datetime:
    return captured_at or datetime.fromtimestamp(mtime_ns / 1e9)


class ShowsImage:
    """Read-only access to the `image` a value type composes (`result.path` is
    `result.image.path`): the one place these names are spelled for SearchResult, GridItem,
    DupMember and ImageFacts."""

    __slots__ = ()
    image: ImageSummary

    @property
    def image_id(self) -> int:
        return self.image.image_id

    @property
    def path(self) -> str:
        return self.image.path

    @property
    def size(self) -> int:
        return self.image.size

    @property
    def width(self) -> int | None:
        return self.image.width

    @property
    def height(self) -> int | None:
        return self.image.height

    @property
    def format(self) -> str | None:
        return self.image.format

    @property
    def captured_at(self) -> datetime | None:
        return self.image.captured_at


_SUMMARY_COLUMNS = (
    Image.id,
    Root.path,
    Image.rel_path,
    Image.size,
    Image.mtime_ns,
    Image.width,
    Image.height,
    Image.format,
    Image.captured_at,
    Image.status,
    Image.content_hash,
    Image.pixel_hash,
)


def describe_images(session: Session, ids: Iterable[int]) -> dict[int, ImageSummary]:
    """The one "describe these image ids" read (search, duplicates, the UI's grids): ids no
    longer in the catalog are simply absent (SQL wins over a stale index)."""
    wanted = sorted({int(i) for i in ids})
    out: dict[int, ImageSummary] = {}
    for i in range(0, len(wanted), _BY_IDS_CHUNK):
        rows = session.execute(
            select(*_SUMMARY_COLUMNS).join(Root).where(Image.id.in_(wanted[i : i + _BY_IDS_CHUNK]))
        )
        for r in rows:
            out[r[0]] = ImageSummary(*tuple(r))
    return out


def photo_facts_of(session: Session, ids: Iterable[int]) -> dict[int, PhotoFacts]:
    """The stored keeper facts of `ids` (unknown ones None), for the duplicate finder."""
    wanted = sorted({int(i) for i in ids})
    columns = [getattr(Image, name) for name in FACT_NAMES]
    out: dict[int, PhotoFacts] = {}
    for i in range(0, len(wanted), _BY_IDS_CHUNK):
        for image_id, *values in session.execute(
            select(Image.id, *columns).where(Image.id.in_(wanted[i : i + _BY_IDS_CHUNK]))
        ):
            out[image_id] = PhotoFacts(*values)
    return out


def image_id_of_path(session: Session, path: Path) -> int | None:
    """The catalog image at `path` now, or None. The one path-to-id lookup (search by file,
    `vitrieve tag show FILE`, the UI). An image marked missing is not "at" its old path: the
    last scan did not find it there; if the file is back, the next scan restores that row (so
    search embeds the file itself meanwhile, and `tag show` asks for an ingest)."""
    path = path.expanduser().resolve()
    for root_id, root_path in session.execute(select(Root.id, Root.path)):
        root = Path(root_path)
        if root in path.parents:
            return session.scalar(
                select(Image.id).where(
                    Image.root_id == root_id,
                    Image.rel_path == path.relative_to(root).as_posix(),
                    Image.status != ImageStatus.MISSING,
                )
            )
    return None
