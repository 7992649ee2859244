"""Per-process state of a worker: one Library (model loaded once) and one index writer.

Created lazily inside the first task, i.e. in the pool's child process after the fork, so no
database connection or CUDA context is ever shared across a fork.
"""

from __future__ import annotations

import os

from celery.signals import worker_process_init

from vitrieve.core import migrate
from vitrieve.core.config import Settings
from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.worker.indexing import IndexWriter

_library: Library | None = None
_writer: IndexWriter | None = None


def worker_settings() -> Settings:
    """The worker's settings; with several CPU processes, cores are shared out between them."""
    settings = Settings()
    if settings.worker_concurrency > 1 and not settings.decode_workers:
        cores = os.cpu_count() or 1
        settings = settings.model_copy(
            update={"decode_workers": max(1, cores // settings.worker_concurrency)}
        )
    return settings


def library() -> Library:
    global _library
    if _library is None:
        lib = Library(worker_settings(), run_migrations=False)
        if not migrate.wait_current(lib.engine):
            lib.close()
            raise VitrieveError("the catalog schema is not current: run `vitrieve db upgrade`")
        _share_cpu(lib.settings)
        _library = lib
    return _library


def index_writer() -> IndexWriter:
    global _writer
    if _writer is None:
        _writer = IndexWriter(library())
    return _writer


def _share_cpu(settings: Settings) -> None:
    """Several embedding processes on one CPU: split torch's threads instead of oversubscribing."""
    if settings.worker_concurrency <= 1 or settings.device == "cuda":
        return
    import torch

    if settings.device == "cpu" or not torch.cuda.is_available():
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // settings.worker_concurrency))


@worker_process_init.connect
def _forget_parent_state(**_kwargs) -> None:
    """A forked child must open its own connections and model, never reuse the parent's."""
    global _library, _writer
    _library = None
    _writer = None
