"""What `vitrieve status` and the UI's status page show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from vitrieve.core.errors import ModelUnavailableError
from vitrieve.indexer.catalog import status_counts
from vitrieve.indexer.library import Library
from vitrieve.indexer.runtimes.decisions import latest_decision
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
        info |= runtime_status(lib.settings.cache_dir, model.weights_hash)
        info |= dup_threshold_status(lib)
    except ModelUnavailableError as exc:
        info |= {"model": None, "model_error": str(exc), "index_size": None}
    return info


def dup_threshold_status(lib: Library) -> dict[str, Any]:
    """The near-duplicate threshold `dups` uses now, and why (calibrated or the fixed one)."""
    from vitrieve.search.duplicates.threshold import threshold_in_force

    value, why = threshold_in_force(lib)
    return {"dup_threshold": value, "dup_threshold_why": why}


def runtime_status(cache_dir: Path, weights_hash: str) -> dict[str, Any]:
    """The CPU runtime measured for this model on this machine, in words and in numbers."""
    decision = latest_decision(cache_dir, weights_hash)
    if decision is None:
        return {"runtime": "not measured yet (the first ingest or search measures it)"}
    ratio = f", {decision.speedup}x torch fp32" if decision.speedup else ""
    return {
        "runtime": f"{decision.runtime.name}, batch {decision.batch_size}{ratio}",
        "runtime_measured": {
            m.runtime: {"img_s": m.img_s, "min_cos": m.min_cos, "kept": m.kept, "error": m.error}
            for m in decision.measured
        },
        **({"runtime_note": decision.note} if decision.note else {}),
    }
