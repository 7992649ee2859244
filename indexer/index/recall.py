"""Recall@10 of an approximate index against exact search, and the nprobe that reaches a floor.

Queries are stored vectors (their own ids excluded: "more like this image" is the use case);
exact neighbours are computed from the same streamed chunks the index is built from, so the
measurement costs no extra pass over SQL.
"""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

RECALL_K = 10
TRUTH_K = 2 * RECALL_K  # exact neighbours kept per query, so ties at the 10th place count
_TIE_EPS = 1e-6
_TRUTH_BLOCK = 4096  # vectors per exact-search block: queries x block scores stay small
_TUNE_MARGIN = 0.015  # nprobe is tuned to floor + this on one half of the queries...
_PLATEAU, _PLATEAU_MARGIN = 0.002, 0.01  # ...or until doubling gains < 0.2 points above +0.01


class ExactTopK:
    """Running exact top-k of some queries over streamed chunks, each query's own id excluded."""

    def __init__(self, q_ids: np.ndarray, q_vecs: np.ndarray, k: int) -> None:
        self.q_ids = q_ids
        self.q_vecs = q_vecs
        self.k = k
        self.scores = np.full((len(q_ids), k), -np.inf, dtype=np.float32)
        self.ids = np.full((len(q_ids), k), -1, dtype=np.int64)

    def update(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        for start in range(0, len(ids), _TRUTH_BLOCK):  # bounded temporaries per block
            self._update(ids[start : start + _TRUTH_BLOCK], vecs[start : start + _TRUTH_BLOCK])

    def _update(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        if not len(self.q_ids):
            return
        s = self.q_vecs @ vecs.T
        s[self.q_ids[:, None] == ids[None, :]] = -np.inf
        if s.shape[1] > self.k:  # the chunk's own top-k first: the merge stays small
            top = np.argpartition(-s, self.k - 1, axis=1)[:, : self.k]
            s, chunk_ids = np.take_along_axis(s, top, axis=1), ids[top]
        else:
            chunk_ids = np.broadcast_to(ids, s.shape)
        all_s = np.concatenate([self.scores, s], axis=1)
        all_i = np.concatenate([self.ids, chunk_ids], axis=1)
        top = np.argpartition(-all_s, self.k - 1, axis=1)[:, : self.k]
        self.scores = np.take_along_axis(all_s, top, axis=1)
        self.ids = np.take_along_axis(all_i, top, axis=1)

    def recall(self, rows: slice, found: np.ndarray) -> float:
        """Tie-aware recall@10: a hit counts when its exact score reaches the 10th best."""
        total = correct = 0
        for r, hits in zip(range(*rows.indices(len(self.q_ids))), found, strict=True):
            valid = np.isfinite(self.scores[r])
            if not valid.any():
                continue
            order = np.argsort(-self.scores[r][valid])
            exact_ids = self.ids[r][valid][order]
            exact_scores = self.scores[r][valid][order]
            want = min(RECALL_K, exact_ids.size)
            kth = exact_scores[want - 1] - _TIE_EPS
            score_of = dict(zip(exact_ids.tolist(), exact_scores.tolist(), strict=True))
            got = [h for h in hits.tolist() if h != -1 and h != self.q_ids[r]][:want]
            correct += sum(1 for h in got if score_of.get(h, -np.inf) >= kth)
            total += want
        return correct / total if total else 1.0


def _search_ids(index: Any, truth: ExactTopK, rows: slice, nprobe: int) -> np.ndarray:
    params = faiss.SearchParametersIVF(nprobe=nprobe)  # type: ignore[call-arg]  # faiss's stubs omit its kwargs wrapper
    _, found = index.search(truth.q_vecs[rows], RECALL_K + 1, params=params)
    return found


def recall_at(index: Any, truth: ExactTopK, rows: slice, nprobe: int) -> float:
    return truth.recall(rows, _search_ids(index, truth, rows, nprobe))


def tune_nprobe(index: Any, truth: ExactTopK, rows: slice, floor: float) -> tuple[int, float]:
    """The least power-of-two nprobe whose recall on the tuning queries clears the floor with
    a margin (so the held-out half, measured next, clears it too), or where doubling stops
    paying (recall then is bounded by the codes, not the lists); all lists at most."""
    nlist = faiss.extract_index_ivf(index).nlist
    target = min(0.995, floor + _TUNE_MARGIN)
    nprobe, previous = 1, -1.0
    while True:
        recall = recall_at(index, truth, rows, nprobe)
        if recall >= target or nprobe >= nlist:
            return nprobe, recall
        if recall - previous < _PLATEAU and recall >= floor + _PLATEAU_MARGIN:
            return nprobe, recall
        previous, nprobe = recall, min(nlist, nprobe * 2)
