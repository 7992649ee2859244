"""Keeper-centred groups: every member is a duplicate of its group's keeper, not of a friend of
a friend.

Connected components chain: A~B and B~C put A and C in one group even when A and C are far
apart, so a large component reaches members at similarity 0.5 to its keeper, and quarantining
its non-keepers would move photos that are not copies of what is kept. Within each component
the members are therefore taken in keeper order (the user's keepers first, then the keeper
rule); the best one left becomes a keeper and takes every member left that is a duplicate of
*it*: an edge to it at the threshold, the same vector (byte copies share one vector row), or
the same bytes or pixels. Members that are only chained in are left for the next keeper. A pair
the user marked "not duplicates" never joins. Groups of one are dropped.

Work is O(edges + members): each keeper looks only at its own neighbours.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence

import numpy as np

from vitrieve.search.duplicates.graph import Edges, components
from vitrieve.search.duplicates.groups import ImageFacts
from vitrieve.search.duplicates.prefer import DEFAULT_RULE, KeeperRule

# Per image: the keys under which two images are exact copies (content hash, pixel hash);
# None for a key the image lacks.
CopyKeys = Callable[[int], Sequence[Hashable | None]]


def _no_copy_keys(image_id: int) -> Sequence[Hashable | None]:
    return ()


class Neighbours:
    """Who is a near-duplicate of whom, by vector key: adjacency lists (CSR, as Python lists:
    one lookup per keeper, no NumPy call per keeper).

    Near-duplicate pairs were searched on one vector row per content, so two images with the
    same row are identical vectors and an image has exactly its row's neighbours."""

    __slots__ = ("_adjacent", "_at", "_indptr", "ignored")

    def __init__(
        self, nodes: np.ndarray, indptr: np.ndarray, adjacent: np.ndarray, ignored: frozenset[int]
    ) -> None:
        self._at = {k: n for n, k in enumerate(nodes.tolist())}
        self._indptr: list[int] = indptr.tolist()
        self._adjacent: list[int] = adjacent.tolist()
        self.ignored = ignored  # pair_keys of image pairs that must never join

    def of(self, key: int) -> list[int]:
        i = self._at.get(key)
        if i is None:
            return []
        return self._adjacent[self._indptr[i] : self._indptr[i + 1]]


def vector_keys(ids: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """Key of each image's vector: its row where it has one, else a key of its own (negative,
    so that it never collides with a row)."""
    ids = np.asarray(ids, np.int64)
    if rows is None:
        return -1 - ids
    return np.where(rows >= 0, rows, -1 - ids).astype(np.int64)


class Centring:
    """Built once from all the edges of a search; splits one component at a time (so callers
    can fetch the facts that order a component in chunks)."""

    def __init__(
        self,
        edges: Edges,
        *,
        rows_of: Callable[[np.ndarray], np.ndarray] | None = None,
        ignored: np.ndarray | None = None,
    ) -> None:
        self._rows_of = rows_of
        ignored = np.empty(0, np.int64) if ignored is None else np.asarray(ignored, np.int64)
        edges = edges.without(ignored)
        ends = np.unique(np.concatenate([edges.a, edges.b]))
        self._key = dict(zip(ends.tolist(), self.keys(ends).tolist(), strict=True))
        a, b = self.keys(edges.a), self.keys(edges.b)
        keep = a != b
        src = np.concatenate([a[keep], b[keep]])
        dst = np.concatenate([b[keep], a[keep]])
        order = np.lexsort((dst, src))
        src, dst = src[order], dst[order]
        nodes, starts = np.unique(src, return_index=True)
        self.near = Neighbours(
            nodes,
            np.append(starts, len(src)).astype(np.int64),
            dst,
            frozenset(ignored.tolist()),
        )

    def keys(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, np.int64)
        return vector_keys(ids, None if self._rows_of is None else self._rows_of(ids))

    def split(self, ordered: Sequence[int], copy_keys: CopyKeys = _no_copy_keys) -> list[list[int]]:
        """Keeper-centred groups of one component (ids best keeper first), keeper first."""
        ids = [int(i) for i in ordered]
        if all(i in self._key for i in ids):  # always, for components of the same edges
            return centre_component(ids, self._key, self.near, copy_keys)
        key = dict(zip(ids, self.keys(np.asarray(ids, np.int64)).tolist(), strict=True))
        return centre_component(ids, key, self.near, copy_keys)


def centre_component(
    ordered: Sequence[int],
    key: dict[int, int],
    near: Neighbours,
    copy_keys: CopyKeys = _no_copy_keys,
) -> list[list[int]]:
    """Splits one component into keeper-centred groups, each in keeper order (keeper first).

    ``ordered``: the component's image ids, best keeper first; ``key``: vector key of each.
    """
    place = {i: n for n, i in enumerate(ordered)}
    by_key: dict[int, list[int]] = {}
    by_copy: dict[tuple[int, Hashable], list[int]] = {}
    for i in ordered:
        by_key.setdefault(key[i], []).append(i)
        for n, k in enumerate(copy_keys(i)):
            if k is not None:
                by_copy.setdefault((n, k), []).append(i)
    taken: set[int] = set()
    groups = []
    for keeper in ordered:
        if keeper in taken:
            continue
        taken.add(keeper)
        candidates = list(by_key[key[keeper]])
        for other in near.of(key[keeper]):
            candidates += by_key.get(other, ())
        for n, k in enumerate(copy_keys(keeper)):
            if k is not None:
                candidates += by_copy[(n, k)]
        joined = []
        for m in candidates:
            if m in taken or (near.ignored and _pair(keeper, m) in near.ignored):
                continue
            taken.add(m)
            joined.append(m)
        if joined:
            groups.append([keeper, *sorted(joined, key=place.__getitem__)])
    return groups


def _pair(a: int, b: int) -> int:
    """graph.pair_keys for two Python ints."""
    return (min(a, b) << 32) | max(a, b)


def keeper_centred(
    edges: Edges,
    order: Callable[[np.ndarray], Sequence[int]],
    *,
    rows_of: Callable[[np.ndarray], np.ndarray] | None = None,
    ignored: np.ndarray | None = None,
    copy_keys: CopyKeys = _no_copy_keys,
) -> list[np.ndarray]:
    """Every keeper-centred group of the edges, keeper first, in one call (for callers that
    can order all components at once: the evaluation and the benchmark)."""
    ignored = np.empty(0, np.int64) if ignored is None else ignored
    centring = Centring(edges, rows_of=rows_of, ignored=ignored)
    return [
        np.asarray(g, np.int64)
        for component in components(edges.without(ignored))
        for g in centring.split(order(component), copy_keys)
    ]


def keeper_order(
    ids: Iterable[int],
    facts: dict[int, ImageFacts],
    keepers: set[int] | frozenset[int],
    rule: KeeperRule = DEFAULT_RULE,
) -> list[int]:
    """Best keeper first: the user's keepers (and reference folders' images), then the keeper
    rule (prefer.KeeperRule: the user's preferences, then keeper.py). Ids without facts (gone
    from the catalog meanwhile) are left out."""
    known = [int(i) for i in ids if int(i) in facts]
    return sorted(known, key=lambda i: (i not in keepers, rule.rank(facts[i])))


def copy_keys_of(facts: dict[int, ImageFacts]) -> CopyKeys:
    """Exact copies of a keeper: same file bytes or same decoded pixels."""
    return lambda i: (facts[i].image.content_hash, facts[i].image.pixel_hash)
