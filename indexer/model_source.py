"""Finds the ViT weights on disk, fetching them once if allowed.

Order: a local directory; a ModelScope id (the default, `Genius-Society/ViT`, a mirror of
google/vit-base-patch16-224-in21k reachable where Hugging Face is not); a Hugging Face id.
The hubs' caches come first, looked up by their layout without importing a hub client
(indexer/hub_access.py: the ModelScope client imports torch), then through the clients; so a
machine that fetched the weights once works offline for good. A download is only tried from a
hub that answers a TCP connection within a few seconds; when none does, the error says "no
network" and what to do. When nothing works the user gets one sentence naming VITRIEVE_MODEL.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import xxhash

from vitrieve.core.errors import ModelUnavailableError
from vitrieve.indexer.hub_access import (
    WEIGHT_FILES,
    cached_snapshot,
    is_model_dir,
    no_network_message,
    reachable_hubs,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelLocation:
    path: Path
    name: str  # what the user asked for (VITRIEVE_MODEL)
    source: str  # "local" | "modelscope" | "huggingface"
    revision: str | None


def _from_modelscope(model: str, offline: bool, cache_dir: Path | None) -> Path:
    for name in ("modelscope", "modelscope_hub"):  # chatty lines on every cache hit and retry
        logging.getLogger(name).setLevel(logging.ERROR)
    from modelscope import snapshot_download

    cache = str(cache_dir / "modelscope") if cache_dir else None
    return Path(snapshot_download(model, local_files_only=offline, cache_dir=cache))


def _from_huggingface(model: str, offline: bool, cache_dir: Path | None) -> Path:
    from huggingface_hub import snapshot_download

    cache = str(cache_dir / "huggingface") if cache_dir else None
    return Path(snapshot_download(model, local_files_only=offline, cache_dir=cache))


def locate_model(
    model: str,
    *,
    offline: bool | None = None,
    cache_dir: Path | None = None,
    use_clients: bool = True,
) -> ModelLocation:
    """`cache_dir` (VITRIEVE_HUB_CACHE) replaces the hubs' default caches when set.

    `use_clients=False` looks only where no hub client is needed (a directory, the caches'
    layout): for commands that report the model but must stay fast (`status`)."""
    if offline is None:
        offline = os.environ.get("HF_HUB_OFFLINE", "") in {"1", "true", "TRUE", "yes"}
    candidate = Path(model).expanduser()
    if candidate.exists():
        if not is_model_dir(candidate):
            raise ModelUnavailableError(
                f"VITRIEVE_MODEL={model!r} is a path but not a model directory "
                f"(needs config.json and one of {', '.join(WEIGHT_FILES)})"
            )
        return ModelLocation(candidate.resolve(), model, "local", None)
    if model.startswith(("/", ".", "~")) or model.count("/") != 1:
        raise ModelUnavailableError(
            f"VITRIEVE_MODEL={model!r}: no such directory, and not a hub id of the form owner/name"
        )

    cached = cached_snapshot(model, cache_dir)
    if cached is not None:  # no hub client, no network
        return ModelLocation(cached[1], model, cached[0], None)
    if not use_clients:
        raise ModelUnavailableError(
            f"model {model!r} is not in the hub caches on this machine: run `vitrieve model "
            "fetch` (needs network) or set VITRIEVE_MODEL to a local directory with the weights"
        )
    errors: list[str] = []
    missing: set[str] = set()
    # The clients' view of their caches next, then downloads from the hubs that answer.
    attempts = [(True, "modelscope", _from_modelscope), (True, "huggingface", _from_huggingface)]
    if not offline:
        attempts += [
            (False, "modelscope", _from_modelscope),
            (False, "huggingface", _from_huggingface),
        ]
    online: set[str] | None = None
    for local_only, source, fetch in attempts:
        if source in missing:
            continue
        if not local_only:
            if online is None:
                online = {hub.source for hub in reachable_hubs()}
                if not online:
                    raise ModelUnavailableError(no_network_message(model))
            if source not in online:
                errors.append(f"{source}: cannot be reached")
                continue
        try:
            path = fetch(model, local_only, cache_dir)
        except ImportError:  # an optional hub client (modelscope is the `modelscope` extra)
            missing.add(source)
            errors.append(f"{source}: not installed (pip install 'vitrieve[{source}]')")
            continue
        except Exception as exc:  # hubs raise many types: any failure means "try the next"
            errors.append(f"{source}{' cache' if local_only else ''}: {type(exc).__name__}")
            log.debug("model %s not available from %s: %s", model, source, exc)
            continue
        if is_model_dir(path):
            return ModelLocation(path, model, source, None)
        errors.append(f"{source}: download has no weights")
    raise ModelUnavailableError(
        f"cannot load model {model!r} ({'; '.join(errors)}). Set VITRIEVE_MODEL to a local "
        "directory holding the ViT weights (config.json + model.safetensors), e.g. one "
        "copied from a machine that has run `vitrieve model fetch`"
    )


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    revision: str | None
    weights_hash: str
    dim: int


def weights_hash(path: Path) -> str:
    """xxh3-128 of the weight file: two different checkpoints never share a vector space."""
    h = xxhash.xxh3_128()
    for name in WEIGHT_FILES:
        f = path / name
        if f.is_file():
            with f.open("rb") as fh:
                while chunk := fh.read(1 << 22):
                    h.update(chunk)
            return h.hexdigest()
    raise FileNotFoundError(f"no weights in {path}")


def read_model_info(location: ModelLocation) -> ModelInfo:
    """Identity of the weights without loading torch: enough to pick the index and the rows."""
    config = json.loads((location.path / "config.json").read_text())
    return ModelInfo(
        name=location.name,
        revision=location.revision,
        weights_hash=weights_hash(location.path),
        dim=int(config["hidden_size"]),
    )
