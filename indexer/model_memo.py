"""The model a library last resolved, remembered in $VITRIEVE_HOME/cache/model.json.

Why: `status`, `search --id`, `dups` and the rest only need the model's catalog row, found by
the hash of its weight file. Finding the weights through a hub client (ModelScope's imports
torch) and hashing ~350 MB on every command cost seconds. The memo keeps, per configured
VITRIEVE_MODEL (and hub cache), where the weights were and their identity, together with the
weight file's size, mtime and inode: a replaced or touched file, a moved folder or a newer
snapshot in the hub cache is a miss and is resolved and hashed again. A read-only or damaged
memo is a miss, never an error.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from vitrieve.indexer.hub_access import WEIGHT_FILES, cached_snapshot, is_model_dir
from vitrieve.indexer.model_source import ModelInfo, ModelLocation

log = logging.getLogger(__name__)

MEMO_FILE = "model.json"


@dataclass(frozen=True, slots=True)
class Remembered:
    location: ModelLocation
    info: ModelInfo


def _key(model: str, hub_cache: Path | None) -> str:
    return f"{model}|{hub_cache or ''}"


def _weights_stat(folder: Path) -> list[int] | None:
    for name in WEIGHT_FILES:
        try:
            st = (folder / name).stat()
        except OSError:
            continue
        return [st.st_size, st.st_mtime_ns, st.st_ino]
    return None


def _read(cache_dir: Path) -> dict:
    try:
        data = json.loads((cache_dir / MEMO_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def recall(cache_dir: Path, model: str, hub_cache: Path | None) -> Remembered | None:
    """The remembered model if its weight file is still exactly the one that was hashed."""
    entry = _read(cache_dir).get(_key(model, hub_cache))
    if not isinstance(entry, dict):
        return None
    try:
        location = ModelLocation(Path(entry["path"]), model, entry["source"], entry.get("revision"))
        info = ModelInfo(model, entry.get("revision"), entry["weights_hash"], int(entry["dim"]))
        weights = entry["weights"]
    except (TypeError, KeyError, ValueError):
        return None
    if not is_model_dir(location.path) or _weights_stat(location.path) != weights:
        return None
    if location.source != "local":  # a newer snapshot fetched since: resolve again
        now = cached_snapshot(model, hub_cache)
        if now is not None and now[1] != location.path:
            return None
    elif Path(model).expanduser().resolve() != location.path:
        return None
    return Remembered(location, info)


def remember(
    cache_dir: Path, location: ModelLocation, info: ModelInfo, hub_cache: Path | None
) -> None:
    weights = _weights_stat(location.path)
    if weights is None:
        return
    entry = {
        "path": str(location.path),
        "source": location.source,
        "revision": location.revision,
        "weights_hash": info.weights_hash,
        "dim": info.dim,
        "weights": weights,
    }
    memo = _read(cache_dir)
    memo[_key(location.name, hub_cache)] = entry
    target = cache_dir / MEMO_FILE
    tmp = target.with_name(f"{MEMO_FILE}.{os.getpid()}.tmp")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(memo, indent=1))
        tmp.replace(target)
    except OSError as exc:  # a read-only home: the next command resolves the model again
        log.debug("model memo not saved in %s: %s", cache_dir, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
