"""Keeper-centred groups: every member of a group is a duplicate of the group's keeper itself.

Unit tests split hand-made graphs; the library tests give ingested images chosen vectors (the
tiny random ViT's similarities mean nothing) so that a chain A~B~C~D, with A-C and B-D below
the threshold, goes through `find_duplicates`, `--json` and the quarantine plan.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import select

from tests.support import CHAIN_T as T
from tests.support import chain_library, clone_library, on_arc, set_vectors, unique_images
from vitrieve.indexer.catalog import ImageSummary
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.centred import Centring, keeper_centred, keeper_order
from vitrieve.search.duplicates.decisions import ignore_pairs, set_keepers
from vitrieve.search.duplicates.find import find_duplicates
from vitrieve.search.duplicates.graph import Edges, components, pair_keys
from vitrieve.search.duplicates.groups import ImageFacts, keeper_rank
from vitrieve.search.duplicates.plan import plan_quarantine
from vitrieve.tables.catalog import Image, ImageStatus


def edges(*pairs: tuple[int, int]) -> Edges:
    return Edges.from_pairs(pairs, sim=0.95)


def by_id(ids) -> list[int]:
    return sorted(int(i) for i in ids)


def test_a_chain_splits_at_the_member_that_is_not_a_duplicate_of_the_keeper():
    chain = edges((1, 2), (2, 3), (3, 4), (4, 5))  # 1-3, 2-4 ... below the threshold
    assert [g.tolist() for g in components(chain)] == [[1, 2, 3, 4, 5]]
    groups = keeper_centred(chain, by_id)
    assert [g.tolist() for g in groups] == [[1, 2], [3, 4]]  # 5: only 4 is near it, taken


def test_the_keeper_takes_every_neighbour_before_the_next_keeper_is_chosen():
    star = edges((1, 5), (2, 5), (3, 5), (1, 2))
    assert [g.tolist() for g in keeper_centred(star, lambda ids: [5, 1, 2, 3])] == [[5, 1, 2, 3]]
    assert [g.tolist() for g in keeper_centred(star, by_id)] == [[1, 2, 5]]  # 3: only to 5


def test_exact_copies_of_the_keeper_join_without_an_edge_of_their_own():
    # 10, 11, 12 share bytes; the exact edges are a star from the lowest id, 10, which the
    # keeper rule ranks last: 12 keeps and 11 must still join it.
    star = edges((10, 11), (10, 12))
    hashes = {10: ("h", "p"), 11: ("h", "p"), 12: ("h", "p")}
    order = lambda ids: [12, 11, 10]  # noqa: E731
    assert [g.tolist() for g in keeper_centred(star, order)] == [[12, 10]]
    with_copies = keeper_centred(star, order, copy_keys=lambda i: hashes[i])
    assert [sorted(g.tolist()) for g in with_copies] == [[10, 11, 12]]


def test_same_pixels_is_an_exact_copy_too():
    pixels = {1: ("a", "p"), 2: ("b", "p"), 3: ("c", "q")}
    groups = Centring(edges((1, 3))).split([2, 3, 1], lambda i: pixels[i])
    assert groups == [[2, 1]]  # 3 is near 1 only, and 1 is 2's exact copy


def test_byte_copies_share_their_representatives_edges():
    # The search ran on one vector row per content: images 1 and 2 are row 0, 3 is row 1 and
    # the only edge is between the representatives 1 and 3.
    row = {1: 0, 2: 0, 3: 1, 4: 2}
    centring = Centring(
        edges((1, 3), (3, 4)), rows_of=lambda ids: np.array([row[int(i)] for i in ids])
    )
    assert centring.split([3, 2, 1, 4]) == [[3, 2, 1, 4]]
    assert centring.split([2, 4, 1, 3]) == [[2, 1, 3]]  # 4 is near 3 only, and 3 is taken


def test_ignored_pairs_never_join_even_through_a_byte_copy():
    row = {1: 0, 2: 0, 3: 1}
    rows_of = lambda ids: np.array([row[int(i)] for i in ids])  # noqa: E731
    # The user said 2 and 3 are not duplicates; 2 is a byte copy of 1, which is near 3.
    ignored = pair_keys(np.array([2]), np.array([3]))
    centring = Centring(edges((1, 3), (2, 3)), rows_of=rows_of, ignored=ignored)
    assert centring.split([3, 1, 2]) == [[3, 1]]
    assert centring.split([2, 1, 3]) == [[2, 1]]  # 3 is left alone: 1 is taken


def test_user_keepers_come_first_then_the_keeper_rule():
    def facts(i: int, w: int) -> ImageFacts:
        return ImageFacts(
            ImageSummary(
                i,
                "/",
                str(i),
                1000,
                0,
                w,
                w,
                "JPEG",
                datetime(2020, 1, 1),
                ImageStatus.EMBEDDED,
                None,
                None,
            )
        )

    info = {1: facts(1, 100), 2: facts(2, 400), 3: facts(3, 200)}
    assert keeper_order([1, 2, 3, 99], info, set()) == [2, 3, 1]  # 99: no facts, left out
    assert keeper_order([1, 2, 3], info, {1}) == [1, 2, 3]
    assert min(info.values(), key=keeper_rank).image_id == 2


def clustered(n_groups: int, seed: int) -> np.ndarray:
    """Groups of 1-8 vectors around centres, spread so that groups chain at T."""
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(n_groups):
        centre = rng.standard_normal(64)
        centre /= np.linalg.norm(centre)
        size = int(rng.integers(1, 9))
        noise = rng.standard_normal((size, 64)) * rng.uniform(0.02, 0.07)
        parts.append(centre + noise)
    x = np.concatenate(parts)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_property_every_member_is_a_duplicate_of_its_keeper_and_keepers_are_not():
    for seed in range(5):
        x = clustered(60, seed)
        cos = x @ x.T
        a, b = np.nonzero(np.triu(cos >= T, k=1))
        found = Edges(a.astype(np.int64), b.astype(np.int64), cos[a, b].astype(np.float32))
        rank = np.random.default_rng(seed).permutation(len(x))
        groups = keeper_centred(found, lambda ids, rank=rank: ids[np.argsort(rank[ids])].tolist())
        chained = [c for c in components(found) if cos[np.ix_(c, c)].min() < T]
        assert chained, "the set must chain, or the property says nothing"
        members = np.concatenate(groups)
        assert len(members) == len(set(members.tolist()))  # one group per image at most
        keepers = np.array([g[0] for g in groups])
        for g in groups:
            assert (cos[g[0], g[1:]] >= T).all()
            assert rank[g[0]] == rank[g].min()  # the best of its group
        # A keeper near another keeper would have been taken by the better one.
        between = cos[np.ix_(keepers, keepers)]
        assert (between[~np.eye(len(keepers), dtype=bool)] < T).all()
        # Nothing that could join is left out: an image in no group is near no keeper.
        alone = np.setdiff1d(np.arange(len(x)), members)
        assert not (cos[np.ix_(alone, keepers)] >= T).any()


# -- through an ingested library ---------------------------------------------------------------


def test_a_chain_never_puts_c_in_as_group_nor_in_its_quarantine_plan(dup_template, tmp_path):
    lib, (a, b, c, d) = chain_library(dup_template, tmp_path)
    with lib:
        report = find_duplicates(lib, threshold=T)
        groups = {g.group: g for g in report.groups}
        mine = [g for g in groups.values() if {a, b, c, d} & {m.image_id for m in g.members}]
        assert sorted(sorted(m.image_id for m in g.members) for g in mine) == sorted(
            [sorted([a, b]), sorted([c, d])]
        )
        keeper_of = {m.image_id: g.keepers[0].image_id for g in mine for m in g.members}
        assert (keeper_of[b], keeper_of[c], keeper_of[d]) == (a, c, c)
        plan = plan_quarantine(lib, report.groups, tmp_path / "quarantine")
    moved = {m.image_id: m.group for m in plan}
    assert all(m.similarity is not None and m.similarity >= T - 1e-6 for m in plan)
    assert c not in moved and (moved[b], moved[d]) == (a, c)  # groups are named by keepers
    # Every planned move is a duplicate of its group's keeper, as `--json` says.
    listed = {g["group"]: g for g in report.to_dict()["groups"]}
    for image_id, group in moved.items():
        member = next(m for m in listed[group]["members"] if m["image_id"] == image_id)
        assert member["similarity"] >= T - 1e-6  # float16 vectors, float32 dot products
    sims = {m["image_id"]: m["similarity"] for g in listed.values() for m in g["members"]}
    assert abs(sims[b] - 0.95) < 2e-3 and abs(sims[d] - 0.95) < 2e-3


def test_user_keepers_and_ignores_reshape_the_chain(dup_template, tmp_path):
    lib, (a, b, c, d) = chain_library(dup_template, tmp_path)
    with lib:
        with lib.sessions.begin() as session:
            set_keepers(session, [b])  # b now keeps: a and c are both its duplicates
        report = find_duplicates(lib, threshold=T)
        (group,) = [g for g in report.groups if b in {m.image_id for m in g.members}]
        assert [m.image_id for m in group.keepers] == [b]
        assert sorted(m.image_id for m in group.members) == sorted([a, b, c])
        assert d not in {m.image_id for g in report.groups for m in g.members}
        with lib.sessions.begin() as session:
            ignore_pairs(session, [b, c])
        after = find_duplicates(lib, threshold=T)
    members = sorted(sorted(m.image_id for m in g.members) for g in after.groups)
    assert sorted([a, b]) in members and sorted([c, d]) in members


def test_a_byte_copy_joins_its_representatives_keeper(dup_template, tmp_path):
    _, settings = clone_library(dup_template, tmp_path / "lib")
    with Library(settings) as lib:
        with lib.sessions() as session:
            coffee, copy = session.scalars(
                select(Image.id).where(Image.rel_path.in_(["coffee.jpg", "backup/coffee.jpg"]))
            ).all()
        other = unique_images(lib)[0].image_id
        set_vectors(lib, {coffee: on_arc(0), copy: on_arc(0), other: on_arc(1)})
        with lib.sessions.begin() as session:
            set_keepers(session, [other])  # the keeper is not a copy: both copies must join
        found = find_duplicates(lib, threshold=T).groups
        (group,) = [g for g in found if g.keepers[0].image_id == other]
        assert sorted(m.image_id for m in group.others) == sorted([coffee, copy])
        with lib.sessions.begin() as session:
            ignore_pairs(session, [other, copy])  # the copy, not its representative
        after = find_duplicates(lib, threshold=T).groups
    (again,) = [g for g in after if g.keepers[0].image_id == other]
    assert sorted(m.image_id for m in again.members) == sorted([other, coffee])
    # The copy is a duplicate of coffee.jpg only, which is taken: it stays ungrouped.
    assert copy not in {m.image_id for g in after for m in g.members}
