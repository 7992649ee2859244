"""Writes one embedded batch to the catalog in a single transaction.

The transaction is the unit of progress: a crash loses at most the batch in flight, which is
still pending in SQL and is simply embedded again next time. Writing is idempotent: an image's
vector for a model is replaced, never duplicated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from vitrieve.indexer.catalog import decode_vectors, encode_vector
from vitrieve.indexer.pipeline import Prepared, embed_unique
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


def write_batch(
    session: Session,
    batch: list[Prepared],
    model_id: int,
    dim: int,
    embed_pixels: Callable[[np.ndarray], np.ndarray],
) -> BatchOutcome:
    ok = [p for p in batch if p.error is None]
    failed = [p for p in batch if p.error is not None]
    known = known_vectors(session, model_id, (_hash(p) for p in ok))
    vectors, computed = embed_unique(batch, known, embed_pixels, encode_vector)

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
                | p.facts_row()
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
