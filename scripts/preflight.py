"""Before scripts/quickstart.sh builds anything: can the model weights be had on this machine?

Why: building the venv takes minutes, and used to end in a wall of exception class names when
the weights could not be fetched. This runs with the system Python and the standard library
only (no venv yet): it loads indexer/hub_access.py by path (not through the package, which
needs the venv) and asks what vitrieve would: a local directory, the hubs' caches, then
whether a hub answers at all (a TCP connection, 3 s at most).

Exit status 0: the weights are here or can be downloaded (one line on stdout says which);
3: they cannot, with what to do in plain words on stderr; 2: VITRIEVE_MODEL is malformed.
Usage: python3 scripts/preflight.py
(reads VITRIEVE_MODEL, VITRIEVE_HUB_CACHE, VITRIEVE_OFFLINE, HF_HUB_OFFLINE, the hubs' endpoints)
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "Genius-Society/ViT"  # vitrieve/core/config.py's default (a test checks they agree)
NO_WEIGHTS = 3


def _hub_access():
    spec = importlib.util.spec_from_file_location("hub_access", ROOT / "indexer" / "hub_access.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["hub_access"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _what_to_do(model: str, why: str) -> str:
    return f"""\
quickstart: {why}
The model weights ({model!r}, about 350 MB) cannot be had on this machine, so nothing was built.
What to do:
  1. On a machine with internet, with vitrieve installed: run `vitrieve model fetch`.
     It prints the folder the weights were saved in.
  2. Copy that folder to this machine.
  3. Run again with it: VITRIEVE_MODEL=/path/to/that/folder scripts/quickstart.sh PHOTO_FOLDER
Or try vitrieve now without the real weights: scripts/quickstart.sh --demo PHOTO_FOLDER
  (it uses the tiny random test model: the whole flow runs, but its similarities are meaningless).
"""


def main() -> int:
    hub = _hub_access()
    model = os.environ.get("VITRIEVE_MODEL") or DEFAULT_MODEL
    cache = os.environ.get("VITRIEVE_HUB_CACHE")
    cache_dir = Path(cache).expanduser() if cache else None
    offline = any(
        os.environ.get(name, "").lower() in {"1", "true", "yes", "on"}
        for name in ("VITRIEVE_OFFLINE", "HF_HUB_OFFLINE")
    )
    path = Path(model).expanduser()
    if path.exists():
        if hub.is_model_dir(path):
            print(f"quickstart: model weights found in {path}")
            return 0
        sys.stderr.write(
            f"quickstart: VITRIEVE_MODEL={model} is a folder but holds no model "
            f"(needs config.json and {' or '.join(hub.WEIGHT_FILES)})\n"
        )
        return 2
    if model.startswith(("/", ".", "~")) or model.count("/") != 1:
        sys.stderr.write(
            f"quickstart: VITRIEVE_MODEL={model}: no such folder, and not a hub id "
            "of the form owner/name\n"
        )
        return 2
    cached = hub.cached_snapshot(model, cache_dir)
    if cached is not None:
        print(f"quickstart: model weights found in the {cached[0]} cache: {cached[1]}")
        return 0
    if offline:
        sys.stderr.write(
            _what_to_do(
                model,
                "offline mode is set (VITRIEVE_OFFLINE or HF_HUB_OFFLINE) and no cache has them.",
            )
        )
        return NO_WEIGHTS
    up = hub.reachable_hubs()
    if not up:
        names = ", ".join(h.url for h in hub.hubs())
        sys.stderr.write(_what_to_do(model, f"no network: cannot reach the model hubs ({names})."))
        return NO_WEIGHTS
    print(f"quickstart: the model weights will be downloaded from {up[0].url} (about 350 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
