"""Are the vectors in an index file SQL's? A cheap, seeded spot check on open.

The sidecar's checksum proves the file is the one its sidecar describes, and the id set is
compared with SQL's, but neither proves the vectors are SQL's: an index file written for
another catalog (or by hand) with a sidecar rewritten to match, over the same ids, would be
served, and every search would rank the wrong pictures. So opening also compares the stored
vectors of a sample of ids (up to `SAMPLE`, drawn with a seed taken from the file's checksum:
the same file is always checked the same way) with SQL's vectors.

Approximate indexes store lossy codes, so the comparison allows what the index's own codec
loses: the stored vector of id i, decoded, must be about as close to SQL's vector v as
decode(encode(v)) is. A file built from SQL's vectors decodes to exactly that; a foreign
vector lies at the distance between two different pictures, far beyond a codec's error.
Cost: one pass over the inverted lists' ids for an IVF (like reading the id set) and SAMPLE
vectors from SQL, whatever the collection's size.
"""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

from vitrieve.indexer.index.memory import ByIdsLoader

SAMPLE = 64
# Unit vectors: 0.02 is a cosine of 0.9998 for an exact index (float16 rounding is ~1e-3);
# lossy codes get 1.5x their own error on top.
_SLACK = 0.02
_CODEC_FACTOR = 1.5


def foreign_vectors(
    index: Any, ids: np.ndarray, load_by_ids: ByIdsLoader, seed: int, sample: int = SAMPLE
) -> int:
    """How many of a seeded sample of `ids` (the index's ids, which agree with SQL's) have a
    stored vector that is not SQL's. 0 for an index type it cannot read vectors from."""
    if not ids.size:
        return 0
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(np.unique(ids), size=min(sample, ids.size), replace=False))
    got, want = load_by_ids(chosen)
    if not len(got):
        return 0
    order = np.argsort(got)
    got = np.asarray(got, dtype=np.int64)[order]
    want = np.ascontiguousarray(np.asarray(want)[order], dtype=np.float32)
    stored, codec = _stored_and_codec(index, got, want)
    if stored is None or codec is None:
        return 0
    err_stored = np.linalg.norm(stored - want, axis=1)
    err_codec = np.linalg.norm(codec - want, axis=1)
    return int(np.count_nonzero(err_stored > _CODEC_FACTOR * err_codec + _SLACK))


def _stored_and_codec(
    index: Any, ids: np.ndarray, vectors: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The index's decoded vectors for `ids`, and `vectors` passed through its codec."""
    if isinstance(index, faiss.IndexIDMap2):  # exact: the rev map finds each id
        return np.vstack([index.reconstruct(int(i)) for i in ids]), vectors
    found = faiss.try_extract_index_ivf(index)
    if found is None:
        return None, None
    ivf: Any = faiss.downcast_index(found)  # the codec's class: sa_encode, reconstruct_from_offset
    stored = np.empty((ids.size, ivf.d), dtype=np.float32)
    lists, offsets = _locate(ivf, ids)
    for row, (list_no, offset) in enumerate(zip(lists, offsets, strict=True)):
        if list_no < 0:  # not found: the id check said it is there; treat as foreign
            stored[row] = np.inf
            continue
        ivf.reconstruct_from_offset(int(list_no), int(offset), faiss.swig_ptr(stored[row]))
    return stored, ivf.sa_decode(ivf.sa_encode(vectors))


def _locate(ivf: Any, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(list number, offset) of each of the sorted `ids` in an IVF's inverted lists; -1 when
    absent. One pass over all lists' ids (as reading the id set does), one vectorised lookup."""
    invlists = ivf.invlists
    sizes = np.array([invlists.list_size(i) for i in range(ivf.nlist)], dtype=np.int64)
    parts = [
        faiss.rev_swig_ptr(invlists.get_ids(i), int(sizes[i])) for i in range(ivf.nlist) if sizes[i]
    ]
    held = np.concatenate(parts) if parts else np.empty(0, np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes)))
    lists = np.full(ids.size, -1, dtype=np.int64)
    offsets = np.full(ids.size, -1, dtype=np.int64)
    at = np.flatnonzero(np.isin(held, ids))
    rows = np.searchsorted(ids, held[at])
    lists[rows] = np.searchsorted(starts, at, side="right") - 1
    offsets[rows] = at - starts[lists[rows]]
    return lists, offsets
