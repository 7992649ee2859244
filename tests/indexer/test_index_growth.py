"""A library's index follows its collection: exact while small, rebuilt in the background into
an approximate index past `flat_max` (recall recorded), answering searches all along."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
from sqlalchemy import select, update

from vitrieve.indexer.catalog import encode_vector, searchable_ids
from vitrieve.indexer.index.policy import IndexBuildRefused
from vitrieve.indexer.library import Library
from vitrieve.tables.catalog import Embedding, Image, ImageStatus, Root
from vitrieve.tables.index_builds import IndexBuild

FLAT_MAX = 1000


@pytest.fixture
def lib(settings):
    grown = settings.model_copy(update={"flat_max": FLAT_MAX, "index_recall_queries": 200})
    with Library(grown) as library:
        yield library


class Collection:
    """Synthetic photo vectors (clustered, as real ones are) written straight into SQL."""

    def __init__(self, lib: Library) -> None:
        self.lib = lib
        self.dim = lib.model_row.dim
        self.rng = np.random.default_rng(0)
        centres = self.rng.standard_normal((40, self.dim)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        self.next = 0
        with lib.sessions.begin() as session:
            root = Root(path="/synthetic")
            session.add(root)
            session.flush()
            self.root_id = root.id

    def vectors(self, n: int) -> np.ndarray:
        noise = self.rng.standard_normal((n, self.dim)).astype(np.float32) * 0.15
        x = self.centres[self.rng.integers(0, len(self.centres), n)] + noise
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def insert(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """n embedded images with vectors, committed; returns their ids and vectors as stored."""
        vectors = self.vectors(n)
        model_id = self.lib.model_row.id
        with self.lib.sessions.begin() as session:
            images = [
                Image(
                    root_id=self.root_id,
                    rel_path=f"img{self.next + i:06d}.jpg",
                    size=1,
                    mtime_ns=1,
                    content_hash=f"{self.next + i:032x}",
                    status=ImageStatus.EMBEDDED,
                )
                for i in range(n)
            ]
            session.add_all(images)
            session.flush()
            ids = np.asarray([im.id for im in images], dtype=np.int64)
            session.execute(
                Embedding.__table__.insert(),
                [
                    {
                        "image_id": int(i),
                        "model_id": model_id,
                        "content_hash": f"{self.next + k:032x}",
                        "vector": encode_vector(v),
                    }
                    for k, (i, v) in enumerate(zip(ids, vectors, strict=True))
                ],
            )
        self.next += n
        stored = vectors.astype(np.float16).astype(np.float32)
        return ids, stored / np.linalg.norm(stored, axis=1, keepdims=True)

    def mark_missing(self, ids: np.ndarray) -> None:
        with self.lib.sessions.begin() as session:
            session.execute(
                update(Image)
                .where(Image.id.in_([int(i) for i in ids]))
                .values(status=ImageStatus.MISSING)
            )


class Searcher(threading.Thread):
    """Searches in a loop, as users would during an ingest, recording every answer."""

    def __init__(self, lib: Library, queries: np.ndarray) -> None:
        super().__init__()
        self.lib, self.queries = lib, queries
        self.stop = threading.Event()
        self.answers: list[int] = []
        self.kinds: set[str] = set()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                index = self.lib.index()
                q = self.queries[len(self.answers) % len(self.queries)]
                self.answers.append(len(index.search(q, k=10)[0]))
                self.kinds.add(index.kind)
        except BaseException as exc:
            self.error = exc


def builds(lib: Library) -> list[IndexBuild]:
    with lib.sessions() as session:
        return list(session.scalars(select(IndexBuild).order_by(IndexBuild.id)))


def test_growing_past_flat_max_switches_to_ivf_with_recall_recorded_while_answering(lib):
    coll = Collection(lib)
    first_ids, first_vectors = coll.insert(800)
    index = lib.index()
    assert index.kind == "flat" and len(index) == 800
    searcher = Searcher(lib, first_vectors[:50])
    searcher.start()

    # The rebuild pauses just before its swap until the main thread has changed the index
    # (adds and removals, as ingest makes them) and the searcher has answered meanwhile.
    at_swap, resume = threading.Event(), threading.Event()

    def before_swap() -> None:
        at_swap.set()
        assert resume.wait(60)

    lib.index_maintainer.before_swap = before_swap
    try:
        grown_ids, grown_vectors = coll.insert(1400)  # 2200 > FLAT_MAX: a rebuild is due
        index.add(grown_ids, grown_vectors)  # ingest's add starts it in the background
        assert lib.index_maintainer.rebuilding
        assert at_swap.wait(120), lib.index_maintainer.last_error
        answered_before = len(searcher.answers)
        late_ids, late_vectors = coll.insert(100)
        index.add(late_ids, late_vectors)
        gone = first_ids[:20]
        coll.mark_missing(gone)
        index.remove(gone)
        elsewhere_ids, _ = coll.insert(30)  # another process's work: in SQL, not journaled here
        coll.mark_missing(first_ids[20:25])
        assert index.kind == "flat"  # still the old index until the swap
        while len(searcher.answers) < answered_before + 5:
            searcher.join(0.01)
        resume.set()
        assert lib.index_maintainer.wait(120)
    finally:
        resume.set()
        searcher.stop.set()
        searcher.join(60)
    assert searcher.error is None and lib.index_maintainer.last_error is None
    assert searcher.answers and set(searcher.answers) == {10}  # every search answered fully
    assert "flat" in searcher.kinds and any(k.startswith("IVF") for k in searcher.kinds)

    assert index.kind.startswith("IVF") and index.kind.endswith(",SQ8")
    with lib.sessions() as session:
        expected = searchable_ids(session, lib.model_row.id)
    np.testing.assert_array_equal(index.ids(), expected)  # changes during the build kept
    assert not set(first_ids[:25].tolist()) & set(index.ids().tolist())
    assert set(elsewhere_ids.tolist()) <= set(index.ids().tolist())
    assert index.search(late_vectors[:1], k=1)[0][0].id == late_ids[0]

    flat, ivf = builds(lib)
    assert (flat.kind, flat.n, flat.recall_at_10, flat.accepted) == ("flat", 800, None, True)
    assert ivf.kind == index.kind and ivf.accepted
    assert ivf.n == 2200 and ivf.recall_at_10 >= 0.95
    assert ivf.params["nprobe"] >= 1 and ivf.params["queries"] >= 50
    assert index.build_info["recall_at_10"] == ivf.recall_at_10

    with Library(lib.settings) as again:  # the swapped index was saved: no rebuild on open
        reopened = again.index()
        assert reopened.kind == index.kind
        np.testing.assert_array_equal(reopened.ids(), expected)
        assert len(builds(again)) == 2


def test_a_refused_build_keeps_the_old_index_and_is_recorded(lib):
    coll = Collection(lib)
    coll.insert(500)
    index = lib.index()
    maintainer = lib.index_maintainer
    # a budget only the smallest PQ code fits, and a floor it cannot reach
    maintainer.policy = replace(maintainer.policy, memory_budget_mb=0.001, recall_floor=0.999)
    ids, vectors = coll.insert(1200)
    index.add(ids, vectors)
    assert maintainer.wait(120)
    assert index.kind == "flat" and len(index) == 1700  # nothing lost, still exact
    refused = builds(lib)[-1]
    assert refused.accepted is False and refused.recall_at_10 < 0.999
    assert refused.kind.startswith("IVF")
    assert maintainer.check(index) is False  # no retry before the collection grows again


def test_rebuild_now_follows_the_policy_and_a_refusal_changes_nothing(lib):
    coll = Collection(lib)
    coll.insert(1500)
    before = lib.index()
    assert before.kind.startswith("IVF")  # opened past flat_max: built by the policy
    rebuilt = lib.rebuild_index()
    assert rebuilt.kind.startswith("IVF") and len(rebuilt) == 1500
    assert [b.kind.startswith("IVF") for b in builds(lib)] == [True, True]
    lib.index_maintainer.policy = replace(
        lib.index_maintainer.policy, memory_budget_mb=0.001, recall_floor=0.999
    )
    with pytest.raises(IndexBuildRefused, match="keeping the previous index"):
        lib.rebuild_index()
    assert lib.index() is rebuilt and rebuilt.kind.startswith("IVF")
    assert builds(lib)[-1].accepted is False
