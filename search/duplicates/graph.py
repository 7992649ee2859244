"""Duplicate edges between image ids and their connected components.

The components of (near-duplicate edges + exact-duplicate edges) minus the pairs the user
marked "not duplicates" are what duplicate groups are cut from: search.duplicates.centred
splits each one into groups centred on a keeper (a component chains: a~b and b~c join a and
c however far apart they are). `vitrieve eval dups --grouping components` still scores them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

_CLIQUE_MAX = 500  # a hash group touched by a decision gets all its pairs up to this size


def pair_keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One int64 per unordered pair of image ids (ids fit in 31 bits: SQL INTEGER)."""
    lo, hi = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    return (lo << 32) | hi


@dataclass(frozen=True, slots=True)
class Edges:
    """Pairs of image ids (a < b) with a similarity; exact duplicates have 1.0."""

    a: np.ndarray  # int64
    b: np.ndarray  # int64
    sim: np.ndarray  # float32

    @staticmethod
    def empty() -> Edges:
        return Edges(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))

    @staticmethod
    def from_pairs(pairs: Iterable[tuple[int, int]], sim: float = 1.0) -> Edges:
        arr = np.asarray(list(pairs), dtype=np.int64).reshape(-1, 2)
        lo, hi = arr.min(axis=1), arr.max(axis=1)
        return Edges(lo, hi, np.full(len(arr), sim, np.float32))

    def __len__(self) -> int:
        return len(self.a)

    def concat(self, *others: Edges) -> Edges:
        """Union; a pair present twice keeps its highest similarity."""
        parts = [self, *others]
        a = np.concatenate([p.a for p in parts])
        b = np.concatenate([p.b for p in parts])
        sim = np.concatenate([p.sim for p in parts])
        keep = a != b
        a, b, sim = a[keep], b[keep], sim[keep]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        order = np.lexsort((-sim, pair_keys(lo, hi)))
        keys = pair_keys(lo, hi)[order]
        first = np.ones(len(keys), bool)
        first[1:] = keys[1:] != keys[:-1]
        order = order[first]
        return Edges(lo[order], hi[order], sim[order])

    def above(self, threshold: float) -> Edges:
        keep = self.sim >= threshold
        return Edges(self.a[keep], self.b[keep], self.sim[keep])

    def restricted_to(self, ids: np.ndarray) -> Edges:
        keep = np.isin(self.a, ids) & np.isin(self.b, ids)
        return Edges(self.a[keep], self.b[keep], self.sim[keep])

    def without(self, ignored: np.ndarray) -> Edges:
        """Drops the pairs whose key (pair_keys) is in ``ignored``."""
        if not len(ignored) or not len(self):
            return self
        keep = ~np.isin(pair_keys(self.a, self.b), ignored)
        return Edges(self.a[keep], self.b[keep], self.sim[keep])


def hash_group_edges(groups: Iterable[Sequence[int]], touched: set[int]) -> Edges:
    """Edges joining images with the same hash: a star from the lowest id (few edges for a
    thousand copies), or every pair when a decision names one of them, so that ignoring a pair
    removes exactly that pair."""
    a: list[int] = []
    b: list[int] = []
    for members in groups:
        ids = sorted(members)
        if len(ids) <= _CLIQUE_MAX and touched.intersection(ids):
            for i, x in enumerate(ids):
                a.extend([x] * (len(ids) - i - 1))
                b.extend(ids[i + 1 :])
        else:
            a.extend([ids[0]] * (len(ids) - 1))
            b.extend(ids[1:])
    return Edges(np.asarray(a, np.int64), np.asarray(b, np.int64), np.ones(len(a), np.float32))


def components(edges: Edges) -> list[np.ndarray]:
    """Connected components with two or more ids, each sorted, ordered by their lowest id."""
    if not len(edges):
        return []
    nodes, inverse = np.unique(np.concatenate([edges.a, edges.b]), return_inverse=True)
    m, e = len(nodes), len(edges)
    graph = coo_matrix((np.ones(e, np.int8), (inverse[:e], inverse[e:])), shape=(m, m))
    _, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")  # nodes are sorted, so members stay sorted
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    groups = [nodes[g] for g in np.split(order, bounds)]
    groups.sort(key=lambda g: int(g[0]))
    return groups
