"""The catalog as a table: one row per image, streamed as Arrow record batches.

`vitrieve export` (writers in search/table_writers.py) and the export benchmark read the catalog
through `catalog_batches`: keyset-paginated SQL (`id > last ORDER BY id LIMIT n`), one query per
batch, so at most one batch of rows (and of vectors) is in memory at any catalog size, on SQLite
and PostgreSQL alike, without holding one read transaction open for the whole export.

Vectors are exported as float32 fixed-size lists decoded from the catalog's float16 bytes
without renormalising: float16 -> float32 is exact, so casting the column back to float16 gives
the stored bytes bit for bit (the index renormalises; the export gives what SQL stores).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from sqlalchemy import and_, select
from sqlalchemy.orm import Session, sessionmaker

from vitrieve.indexer.catalog import VECTOR_DTYPE
from vitrieve.indexer.library import Library
from vitrieve.search.tagging.query import DEFAULT_MIN_SCORE
from vitrieve.tables.catalog import Embedding, Image, ImageStatus, Root
from vitrieve.tables.fsnames import display_path
from vitrieve.tables.tagging import Probe, Tag, TagSource

BATCH_ROWS = 10_000  # rows per record batch (= per Parquet row group)
_TAG_CHUNK = 500  # ids per IN (...) of the tag query


@dataclass(frozen=True, slots=True)
class DupMark:
    """An image's place in the duplicate groups: its group (named by its keeper's id, as in
    `vitrieve dups`) and whether it is a keeper of that group."""

    group: int
    keeper: bool


def export_schema(dim: int | None) -> pa.Schema:
    """The columns, in order; `dim`: with a `vector` column of that many float32 values."""
    fields = [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("format", pa.string()),
        pa.field("captured_at", pa.timestamp("us")),
        pa.field("status", pa.string(), nullable=False),
        pa.field("error", pa.string()),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("dup_group", pa.int64()),
        pa.field("dup_keeper", pa.bool_()),
    ]
    if dim is not None:
        fields.append(pa.field("vector", pa.list_(pa.float32(), dim)))
    return pa.schema(fields)


def duplicate_marks(lib: Library) -> dict[int, DupMark]:
    """Every grouped image's mark, from the duplicate finder at the threshold in force (the one
    `vitrieve dups` uses). Holds one entry per grouped image, not per image."""
    from vitrieve.search.duplicates.find import find_duplicates
    from vitrieve.search.duplicates.threshold import threshold_in_force

    threshold, _ = threshold_in_force(lib)
    marks: dict[int, DupMark] = {}
    for group in find_duplicates(lib, threshold=threshold).groups:
        for m in group.members:
            marks.setdefault(m.image_id, DupMark(group.group, m.keeper))
    return marks


def catalog_batches(
    sessions: sessionmaker[Session],
    model_id: int,
    dim: int,
    *,
    vectors: bool = False,
    dups: Mapping[int, DupMark] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """The catalog's images by id, `batch_rows` at a time, as record batches of
    `export_schema(dim if vectors else None)`. A vector is given for embedded images only."""
    schema = export_schema(dim if vectors else None)
    dups = dups or {}
    columns = [
        Image.id,
        Root.path,
        Image.rel_path,
        Image.size,
        Image.width,
        Image.height,
        Image.format,
        Image.captured_at,
        Image.status,
        Image.error,
    ]
    last = 0
    while True:
        query = select(*columns).join(Root, Root.id == Image.root_id)
        if vectors:
            query = query.add_columns(Embedding.vector).outerjoin(
                Embedding,
                and_(
                    Embedding.image_id == Image.id,
                    Embedding.model_id == model_id,
                    Image.status == ImageStatus.EMBEDDED,
                ),
            )
        with sessions() as session:
            rows = session.execute(
                query.where(Image.id > last).order_by(Image.id).limit(batch_rows)
            ).all()
            if not rows:
                return
            tags = _tags(session, [r.id for r in rows])
        yield _batch(rows, tags, dups, schema, dim if vectors else None)
        last = rows[-1].id


def _tags(session: Session, ids: list[int]) -> dict[int, list[str]]:
    """Effective tags, as `--tag` filters and `tag show` count them (docs/TAGGING.md): every
    manual tag, and a probe tag at the default least score unless a manual tag of the image is
    among that probe's labels."""
    rows: dict[int, list[tuple[str, bool, float, set[str]]]] = defaultdict(list)
    for i in range(0, len(ids), _TAG_CHUNK):
        for image_id, label, source, score, classes in session.execute(
            select(Tag.image_id, Tag.label, Tag.source, Tag.score, Probe.classes)
            .outerjoin(Probe, Probe.id == Tag.probe_id)
            .where(Tag.image_id.in_(ids[i : i + _TAG_CHUNK]))
        ):
            is_manual = source == TagSource.MANUAL
            rows[image_id].append((label, is_manual, score, set(classes or ())))
    out: dict[int, list[str]] = {}
    for image_id, tags in rows.items():
        labelled = {label for label, is_manual, _, _ in tags if is_manual}
        out[image_id] = sorted(
            {
                label
                for label, is_manual, score, classes in tags
                if is_manual or (score >= DEFAULT_MIN_SCORE and not labelled & classes)
            }
        )
    return out


def _batch(rows, tags, dups, schema: pa.Schema, dim: int | None) -> pa.RecordBatch:
    marks = [dups.get(r.id) for r in rows]
    data = {
        "id": [r.id for r in rows],
        "path": [display_path(str(Path(r[1]) / r.rel_path)) for r in rows],
        "size": [r.size for r in rows],
        "width": [r.width for r in rows],
        "height": [r.height for r in rows],
        "format": [r.format for r in rows],
        "captured_at": [r.captured_at for r in rows],
        "status": [ImageStatus(r.status).value for r in rows],
        "error": [r.error for r in rows],
        "tags": [tags.get(r.id, []) for r in rows],
        "dup_group": [None if m is None else m.group for m in marks],
        "dup_keeper": [None if m is None else m.keeper for m in marks],
    }
    arrays = [pa.array(data[f.name], type=f.type) for f in schema if f.name != "vector"]
    if dim is not None:
        arrays.append(_vectors([r.vector for r in rows], dim))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _vectors(blobs: list[bytes | None], dim: int) -> pa.FixedSizeListArray:
    """float16 bytes -> float32 lists, exactly (no renormalising); NULL where no vector."""
    values = np.zeros((len(blobs), dim), dtype=np.float32)
    present = np.fromiter((b is not None for b in blobs), dtype=bool, count=len(blobs))
    if present.any():
        stored = b"".join(b for b in blobs if b is not None)
        values[present] = np.frombuffer(stored, dtype=VECTOR_DTYPE).reshape(-1, dim)
    return pa.FixedSizeListArray.from_arrays(
        pa.array(values.reshape(-1)), dim, mask=pa.array(~present)
    )
