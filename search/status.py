"""What `vitrieve status` and the UI's status page show."""

from __future__ import annotations

from sqlalchemy import func, select

from vitrieve.core.errors import ModelUnavailableError
from vitrieve.indexer.catalog import status_counts
from vitrieve.indexer.library import Library
from vitrieve.tables.catalog import Root


def library_status(lib: Library) -> dict:
    with lib.sessions() as session:
        counts = status_counts(session)
        roots = session.scalar(select(func.count()).select_from(Root))
    info: dict = {
        "home": str(lib.settings.home),
        "database": lib.engine.url.render_as_string(hide_password=True),
        "roots": roots,
        "images": sum(counts.values()),
        **counts,
    }
    try:
        model = lib.model_row
        index = lib.index()
        info |= {
            "model": model.name,
            "model_hash": model.weights_hash,
            "dim": model.dim,
            "index_size": len(index),
            "index_path": str(index.path),
        }
    except ModelUnavailableError as exc:
        info |= {"model": None, "model_error": str(exc), "index_size": None}
    return info
