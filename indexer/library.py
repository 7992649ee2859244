"""One open vitrieve library: settings, catalog, model identity and vector index together.

CLI commands, workers and the UI each open a Library; everything heavy (torch and the model,
the FAISS index) loads on first use, so `vitrieve status` stays instant. The model's identity
(its catalog row) comes from the memo in $VITRIEVE_HOME/cache when the weight file is the one
hashed before (indexer/model_memo.py): no hub client, no network, no 350 MB hash.
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from vitrieve.core import migrate
from vitrieve.core.config import Settings
from vitrieve.core.db import session_factory
from vitrieve.indexer.catalog import get_or_create_model, iter_vectors
from vitrieve.indexer.catalog_file import open_catalog
from vitrieve.indexer.index.lock import index_lock
from vitrieve.indexer.index.maintenance import IndexMaintainer
from vitrieve.indexer.index.policy import IndexPolicy
from vitrieve.indexer.index.store import SqlSource, VectorIndex
from vitrieve.indexer.model_memo import Remembered, recall, remember
from vitrieve.indexer.model_source import ModelInfo, ModelLocation, locate_model, read_model_info
from vitrieve.tables.catalog import EmbeddingModel

if TYPE_CHECKING:
    from vitrieve.indexer.embedder import Embedder

log = logging.getLogger(__name__)


class Library:
    def __init__(self, settings: Settings, *, run_migrations: bool = True) -> None:
        self.settings = settings
        settings.ensure_home()
        # A missing SQLite catalog is created here, migrated; a damaged one is refused.
        self.engine = open_catalog(settings.catalog_url, setting=settings.catalog_url_setting)
        if run_migrations:
            migrate.ensure_current(self.engine, on_wait=self._waiting_for_migration)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        self._index: VectorIndex | None = None
        # False for commands that only report the model: its caches, no hub client, no network.
        self.may_download = True

    @staticmethod
    def _waiting_for_migration() -> None:
        log.warning("another vitrieve process is migrating the catalog; waiting for it")

    @cached_property
    def _remembered(self) -> Remembered | None:
        return recall(self.settings.cache_dir, self.settings.model, self.settings.hub_cache)

    @cached_property
    def model_location(self) -> ModelLocation:
        if self._remembered is not None:
            return self._remembered.location
        return locate_model(
            self.settings.model,
            offline=self.settings.offline or None,
            cache_dir=self.settings.hub_cache,
            use_clients=self.may_download,
        )

    @cached_property
    def model_info(self) -> ModelInfo:
        if self._remembered is not None:
            return self._remembered.info
        info = read_model_info(self.model_location)
        remember(self.settings.cache_dir, self.model_location, info, self.settings.hub_cache)
        return info

    @cached_property
    def model_row(self) -> EmbeddingModel:
        return get_or_create_model(self.sessions, self.model_info)

    @cached_property
    def embedder(self) -> Embedder:
        from vitrieve.indexer.embedder import Embedder  # torch loads only when a model must run

        return Embedder(
            self.model_location,
            device=self.settings.device,
            precision=self.settings.precision,
            batch_size=self.settings.batch_size,
            cache_dir=self.settings.cache_dir,
            runtime=self.settings.runtime,
        )

    @property
    def index_path(self) -> Path:
        row = self.model_row
        return self.settings.index_dir / f"model{row.id}-{row.weights_hash[:12]}.faiss"

    @cached_property
    def index_maintainer(self) -> IndexMaintainer:
        """Chooses the index type by collection size and rebuilds it in the background."""
        model = self.model_row
        policy = IndexPolicy.from_settings(self.settings)
        return IndexMaintainer(self.sessions, model.id, model.dim, self.index_path, policy)

    def index(self) -> VectorIndex:
        """The current model's index, checked against SQL on first open, fresh on every call
        (`refresh`: another process's save is merged in, with SQL's ids).

        Changes through it (ingest, the index writer) may start a background rebuild into the
        type the collection's size calls for (docs/INDEXING.md). Its saves take the index
        folder's writer lock and write what SQL says.
        """
        if self._index is None:
            self._index, rebuilt = self._open_index()
            self._index.on_change = self.index_maintainer.check
            if rebuilt:
                log.info("vector index rebuilt from the catalog (%d vectors)", len(self._index))
        else:
            self._index.refresh()
        return self._index

    def rebuild_index(self) -> VectorIndex:
        """Rebuild now by the policy; a build below the recall floor raises and changes
        nothing (IndexBuildRefused is a VitrieveError)."""
        maintainer = self.index_maintainer
        maintainer.wait()
        with index_lock(self.settings.index_dir):
            pass  # a read-only home fails here, before a build that could take minutes
        raw, info = maintainer.build_raw()
        index = VectorIndex(
            self.index_path,
            self.model_row.dim,
            raw,
            self._index.generation if self._index is not None else 0,
            build_info=info,
            use_gpu=self.settings.index_gpu,
            source=SqlSource(maintainer.expected_ids, maintainer.load_by_ids),
        )
        index.on_change = maintainer.check
        index.save()  # raises IndexWriteError (naming the path) in a read-only home
        self._index = index
        return index

    def _open_index(self) -> tuple[VectorIndex, bool]:
        model = self.model_row
        maintainer = self.index_maintainer
        return VectorIndex.open(
            self.index_path,
            model.dim,
            maintainer.expected_ids,
            lambda: iter_vectors(self.sessions, model.id, model.dim),
            load_by_ids=maintainer.load_by_ids,
            rebuild=maintainer.build,
            use_gpu=self.settings.index_gpu,
        )

    def close(self) -> None:
        if "index_maintainer" in self.__dict__:  # a background rebuild finishes and saves
            self.index_maintainer.wait()
        self.engine.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
