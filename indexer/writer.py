"""Embeds one prepared batch and writes it to the catalog in a single transaction.

The transaction is the unit of progress: a crash loses at most the batch in flight, which is
still pending in SQL and is simply embedded again next time. Writing is idempotent: an image's
vector for a model is replaced, never duplicated. The writer owns "embed each new content hash
once": it looks up the vectors already stored, runs the model on the rest and times it, so the
pipeline only prepares pixels and ingest only drives batches (one direction, no callbacks).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from vitrieve.indexer.catalog import decode_vectors, encode_vector
from vitrieve.indexer.pipeline import Prepared, StageTimes
from vitrieve.tables.catalog import Embedding, Image, ImageStatus

_CHUNK = 500


@dataclass
class BatchOutcome:
    embedded_ids: np.ndarray
    vectors: np.ndarray  # float32, exactly what SQL now holds (for the index)
    failures: list[Prepared] = field(default_factory=list)
    computed: int = 0  # forward passes run
    reused: int = 0  # vectors copied from a byte-identical file or an unchanged one

    @property
    def size(self) -> int:
        return len(self.embedded_ids) + len(self.failures)


class PixelEmbedder(Protocol):
    """What the writer needs of a model (indexer.embedder.Embedder): uint8 [N, H, W, 3] at the
    model's input size -> float32 [N, dim] unit vectors."""

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray: ...


def known_vectors(session: Session, model_id: int, hashes: Iterable[str]) -> dict[str, bytes]:
    hashes = sorted(set(hashes))
    found: dict[str, bytes] = {}
    for i in range(0, len(hashes), _CHUNK):
        for h, vec in session.execute(
            select(Embedding.content_hash, Embedding.vector).where(
                Embedding.model_id == model_id, Embedding.content_hash.in_(hashes[i : i + _CHUNK])
            )
        ):
            found.setdefault(h, vec)
    return found


def _hash(p: Prepared) -> str:
    assert p.content_hash is not None  # an item without an error was read, so hashed
    return p.content_hash


def embed_new_hashes(
    ok: list[Prepared],
    known: dict[str, bytes],
    embedder: PixelEmbedder,
    times: StageTimes | None = None,
) -> tuple[dict[str, bytes], int]:
    """Stored vectors for every item's hash, and how many forward passes that took.

    Known hashes reuse their stored bytes; each new hash is embedded once, so byte-identical
    files cost one forward pass however many copies exist."""
    todo: dict[str, np.ndarray] = {}
    for p in ok:
        if p.content_hash not in known and p.content_hash not in todo:
            # without an error it was read (hashed) and decoded (pixels): see pipeline.prepare
            assert p.content_hash is not None and p.pixels is not None
            todo[p.content_hash] = p.pixels
    vectors = dict(known)
    if todo:
        t0 = time.perf_counter()
        try:
            computed = embedder.embed_pixels(np.stack(list(todo.values())))
        finally:
            if times is not None:
                times.add("embed", time.perf_counter() - t0)
        vectors.update((h, encode_vector(v)) for h, v in zip(todo.keys(), computed, strict=True))
    return vectors, len(todo)


def write_batch(
    session: Session,
    batch: list[Prepared],
    model_id: int,
    dim: int,
    embedder: PixelEmbedder,
    times: StageTimes | None = None,
) -> BatchOutcome:
    """Embeds what the catalog has no vector for and writes the batch; the model's time goes to
    `times.embed`."""
    ok = [p for p in batch if p.error is None]
    failed = [p for p in batch if p.error is not None]
    known = known_vectors(session, model_id, (_hash(p) for p in ok))
    vectors, computed = embed_new_hashes(ok, known, embedder, times)

    # Replace, never add: re-running a batch (a retried task, a crash) cannot duplicate a vector.
    # Other models' vectors stay: they carry their own content hash and are checked against it.
    session.execute(
        delete(Embedding).where(
            Embedding.image_id.in_([p.image_id for p in ok]), Embedding.model_id == model_id
        )
    )
    # An unreadable file has no valid vector under any model.
    session.execute(delete(Embedding).where(Embedding.image_id.in_([p.image_id for p in failed])))
    if ok:
        session.execute(
            Embedding.__table__.insert(),
            [
                {
                    "image_id": p.image_id,
                    "model_id": model_id,
                    "content_hash": p.content_hash,
                    "vector": vectors[_hash(p)],
                }
                for p in ok
            ],
        )
        session.execute(
            update(Image),
            [
                {
                    "id": p.image_id,
                    "content_hash": p.content_hash,
                    "pixel_hash": p.pixel_hash,
                    "width": p.width,
                    "height": p.height,
                    "format": p.format,
                    "captured_at": p.captured_at,
                    "status": ImageStatus.EMBEDDED,
                    "error": None,
                }
                | p.facts.row()
                for p in ok
            ],
        )
    if failed:
        session.execute(
            update(Image),
            [
                {
                    "id": p.image_id,
                    "content_hash": p.content_hash,
                    "status": ImageStatus.FAILED,
                    "error": p.error,
                }
                for p in failed
            ],
        )
    return BatchOutcome(
        embedded_ids=np.asarray([p.image_id for p in ok], dtype=np.int64),
        vectors=decode_vectors([vectors[_hash(p)] for p in ok], dim),
        failures=failed,
        computed=computed,
        reused=len(ok) - computed,
    )
