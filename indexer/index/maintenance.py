"""Keeps one model's vector index the type its collection size calls for.

Builds from SQL by the policy (`indexer.index.policy`), records every build (refused ones too) in
`index_builds`, and rebuilds in a background thread when the collection has outgrown its
index; the old index answers searches and takes changes until the new one is swapped in.
Only processes that change the index (ingest, the index writer) start rebuilds: the check
hangs on `VectorIndex.on_change`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from vitrieve.core.db import CatalogReadOnlyError
from vitrieve.indexer.catalog import (
    iter_vectors,
    searchable_filter,
    searchable_ids,
    vectors_by_ids,
)
from vitrieve.indexer.index.policy import (
    BuildReport,
    IndexBuildRefused,
    IndexPolicy,
    build_index,
    needs_rebuild,
)
from vitrieve.indexer.index.store import VectorIndex
from vitrieve.tables.catalog import Embedding, Image
from vitrieve.tables.index_builds import IndexBuild

log = logging.getLogger(__name__)


class IndexMaintainer:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        model_id: int,
        dim: int,
        path: Path,
        policy: IndexPolicy,
    ) -> None:
        self.sessions = sessions
        self.model_id = model_id
        self.dim = dim
        self.path = Path(path)
        self.policy = policy
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()  # two writers' changes must not start two rebuilds
        self._refused_at: int | None = None  # N of the last refused build: wait for growth
        self.before_swap: Callable[[], None] | None = None
        """Runs in the rebuild thread just before the swap (tests use it to interleave)."""
        self.last_error: BaseException | None = None

    # -- SQL ---------------------------------------------------------------------------------

    def count(self) -> int:
        with self.sessions() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(Embedding)
                    .join(Image)
                    .where(searchable_filter(self.model_id))
                )
                or 0
            )

    def expected_ids(self) -> np.ndarray:
        with self.sessions() as session:
            return searchable_ids(session, self.model_id)

    def load_vectors(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return iter_vectors(self.sessions, self.model_id, self.dim)

    def load_by_ids(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SQL's vectors for those of `ids` that are searchable now."""
        return vectors_by_ids(self.sessions, self.model_id, self.dim, ids)

    def record(self, report: BuildReport) -> None:
        """Adds the build to `index_builds`; a read-only catalog only logs it (the index built
        from it is still served, from memory)."""
        try:
            self._record(report)
        except CatalogReadOnlyError as exc:
            log.info("%s; index build not recorded: %s", exc, report.kind)

    def _record(self, report: BuildReport) -> None:
        with self.sessions.begin() as session:
            session.add(
                IndexBuild(
                    model_id=self.model_id,
                    kind=report.kind,
                    n=report.n,
                    recall_at_10=report.recall_at_10,
                    params=report.params,
                    build_s=report.build_s,
                    accepted=report.accepted,
                )
            )

    # -- building ----------------------------------------------------------------------------

    def build_raw(self, n: int | None = None) -> tuple[Any, dict]:
        """The policy's index for SQL's vectors now, recorded; raises IndexBuildRefused."""
        n = self.count() if n is None else n
        try:
            index, report = build_index(
                self.dim, self.load_vectors, n, self.policy, scratch_dir=self.path.parent
            )
        except IndexBuildRefused as exc:
            for r in exc.reports:
                self.record(r)
            raise
        self.record(report)
        return index, _info(report)

    def build(self) -> VectorIndex:
        """A policy-built index (unsaved) for `VectorIndex.open`'s rebuild.

        When no approximate index reaches the recall floor and there is nothing to keep, the
        exact index is built instead: slower and bigger, never wrong.
        """
        try:
            index, info = self.build_raw()
        except IndexBuildRefused as exc:
            log.error("%s; building an exact index instead", exc)
            return VectorIndex.build(self.path, self.dim, self.load_vectors)
        return VectorIndex(self.path, self.dim, index, build_info=info)

    # -- background rebuilds -----------------------------------------------------------------

    @property
    def rebuilding(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def due(self, index: VectorIndex) -> bool:
        n_now = len(index)
        if self._refused_at is not None and not needs_rebuild(
            "refused", self._refused_at, n_now, self.policy
        ):
            return False
        n_built = int(index.build_info.get("n") or n_now)
        return needs_rebuild(index.kind, n_built, n_now, self.policy)

    def check(self, index: VectorIndex) -> bool:
        """`VectorIndex.on_change` hook: start a background rebuild when one is due."""
        with self._starting:
            if self.rebuilding or index.rebuilding or not self.due(index):
                return False
            self._thread = threading.Thread(
                target=self._rebuild, args=(index,), name=f"index-rebuild-{self.path.stem}"
            )
            self._thread.start()  # not a daemon: a finishing ingest waits for it at exit
            return True

    def rebuild(self, index: VectorIndex) -> bool:
        """Rebuild `index` in place now (the background thread's body); True if swapped."""
        n = len(index)
        t0 = time.perf_counter()
        log.info("rebuilding %s (%s, %d vectors) in the background", self.path, index.kind, n)
        try:
            index.rebuild_with(
                lambda: self.build_raw(), self.load_by_ids, before_swap=self.before_swap
            )
        except IndexBuildRefused as exc:
            self._refused_at = n
            log.error("%s", exc)
            return False
        self._refused_at = None
        index.save()  # under the writer lock, first made equal to SQL (others' changes too)
        log.info(
            "index %s is now %s (%d vectors) after %.1fs",
            self.path,
            index.kind,
            len(index),
            time.perf_counter() - t0,
        )
        return True

    def _rebuild(self, index: VectorIndex) -> None:
        try:
            self.rebuild(index)
        except BaseException as exc:  # a thread's exception would vanish: keep and log it
            self.last_error = exc
            log.exception("background index rebuild of %s failed", self.path)

    def wait(self, timeout: float | None = None) -> bool:
        """Join a running rebuild; True when none is running any more."""
        thread = self._thread
        if thread is not None:
            if thread.is_alive():
                log.info("waiting for the index rebuild of %s to finish", self.path)
            thread.join(timeout)
        return not self.rebuilding


def _info(report: BuildReport) -> dict:
    """What the sidecar keeps about the build (the `IndexBuild` row has the rest)."""
    return {
        "kind": report.kind,
        "n": report.n,
        "recall_at_10": report.recall_at_10,
        "nprobe": report.params.get("nprobe"),
        "built_at": time.time(),
    }
