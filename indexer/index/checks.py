"""Input checks shared by every index operation: ids and vectors are validated once, at the
boundary, in the shapes and dtypes FAISS needs (it would otherwise crash or silently cast)."""

from __future__ import annotations

import numpy as np


def check_ids(ids: np.ndarray) -> np.ndarray:
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"ids must be 1-D, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"ids must be integers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_vectors(vectors: np.ndarray, dim: int) -> np.ndarray:
    arr = np.asarray(vectors)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"vectors must have shape [n, {dim}], got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)
