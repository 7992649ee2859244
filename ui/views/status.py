"""The status page's facts beyond `library_status`: the compute device, and the index type
with the parameters it was built with. Each fact is guarded: a status page must render even when the
model is missing or CUDA is misconfigured, saying what is wrong instead."""

from __future__ import annotations

from typing import Any

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.search.status import library_status


def system_status(lib: Library) -> dict[str, Any]:
    info = library_status(lib)
    info |= _device(lib)
    if info.get("model") is not None:
        info |= _index_type(lib)
    return info


def _device(lib: Library) -> dict[str, Any]:
    settings = lib.settings
    out: dict[str, Any] = {
        "device_setting": settings.device,
        "precision_setting": settings.precision,
    }
    embedder = lib.__dict__.get("embedder")  # loaded already? then report what it really uses
    if embedder is not None:
        return out | {
            "device": str(embedder.device),
            "precision": embedder.precision,
            "batch_size": embedder.batch_size,
            "model_loaded": True,
        }
    try:
        from vitrieve.indexer.embedder import (
            pick_device,  # imports torch, but never loads the model
        )

        out["device"] = str(pick_device(settings.device))
    except VitrieveError as exc:
        out["device"] = None
        out["device_error"] = str(exc)
    return out | {"model_loaded": False}


def _index_type(lib: Library) -> dict[str, Any]:
    index = lib.index()
    params = {k: v for k, v in index.build_info.items() if k not in ("kind", "n")}
    return {"index_type": index.kind, "index_params": params}
