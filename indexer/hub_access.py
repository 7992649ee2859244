"""Where model weights may already be, and whether a hub can be reached, without a hub client.

Why a module of its own, standard library only: importing the ModelScope client imports torch
(seconds, up to ~10 s on a busy 2-core box), and asking a hub that cannot be reached costs
retries and timeouts (~30 s). Commands that only need the model's identity must pay neither,
and `scripts/preflight.py` runs this file before the venv exists (it loads it by path, so
nothing here may import vitrieve or a third-party package).
"""

from __future__ import annotations

import os
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
PROBE_TIMEOUT_S = 3.0


def is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and any((path / f).is_file() for f in WEIGHT_FILES)


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def huggingface_cache(cache_dir: Path | None) -> Path:
    """The folder huggingface_hub's snapshot_download uses for `cache_dir` (its own rules)."""
    if cache_dir is not None:
        return cache_dir / "huggingface"
    hf_home = _env_path("HF_HOME") or Path.home() / ".cache" / "huggingface"
    return _env_path("HF_HUB_CACHE") or _env_path("HUGGINGFACE_HUB_CACHE") or hf_home / "hub"


def modelscope_caches(cache_dir: Path | None) -> list[Path]:
    root = (
        cache_dir / "modelscope"
        if cache_dir is not None
        else _env_path("MODELSCOPE_CACHE") or Path.home() / ".cache" / "modelscope" / "hub"
    )
    return [root / "models", root]  # ModelScope >= 1.20 keeps models under models/


def cached_snapshot(model: str, cache_dir: Path | None) -> tuple[str, Path] | None:
    """(source, folder) of hub id `model` in a hub's cache, found by the caches' own layout.

    The same folders snapshot_download(local_files_only=True) returns, looked up with a few
    stat calls. None when neither cache has it (the hub clients may still know other layouts).
    """
    owner, _, name = model.partition("/")
    for root in modelscope_caches(cache_dir):
        for folder in (root / owner / name, root / owner / name.replace(".", "___")):
            if is_model_dir(folder):
                return "modelscope", folder
    repo = huggingface_cache(cache_dir) / f"models--{owner}--{name}"
    try:
        revision = (repo / "refs" / "main").read_text().strip()
    except OSError:
        return None
    snapshot = repo / "snapshots" / revision
    return ("huggingface", snapshot) if revision and is_model_dir(snapshot) else None


@dataclass(frozen=True, slots=True)
class Hub:
    source: str  # "modelscope" | "huggingface"
    url: str


def hubs() -> list[Hub]:
    """The endpoints the hub clients would use (they read the same variables)."""
    domain = os.environ.get("MODELSCOPE_DOMAIN") or "www.modelscope.cn"
    if "://" not in domain:
        domain = f"https://{domain}"
    return [
        Hub("modelscope", domain),
        Hub("huggingface", os.environ.get("HF_ENDPOINT") or "https://huggingface.co"),
    ]


def _address(url: str) -> tuple[str, int]:
    """Host and port a connection to `url` goes to first: the proxy's when one is set."""
    parts = urlsplit(url)
    proxy = os.environ.get(f"{parts.scheme}_proxy") or os.environ.get(
        f"{parts.scheme.upper()}_PROXY"
    )
    if proxy:
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "", port


def _connects(url: str, timeout: float) -> bool:
    host, port = _address(url)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:  # DNS failure, refused, unreachable, timed out
        return False


def reachable_hubs(timeout: float = PROBE_TIMEOUT_S) -> list[Hub]:
    """The hubs a TCP connection reaches within `timeout` (all probed at once): a download is
    only worth trying from these, and none means "no network" in so many words."""
    candidates = hubs()
    with ThreadPoolExecutor(len(candidates)) as pool:
        ok = list(pool.map(lambda h: _connects(h.url, timeout), candidates))
    return [hub for hub, up in zip(candidates, ok, strict=True) if up]


def no_network_message(model: str) -> str:
    hosts = ", ".join(urlsplit(h.url).hostname or h.url for h in hubs())
    return (
        f"no network: the model hubs ({hosts}) cannot be reached, and the weights of "
        f"{model!r} are not on this machine. On a machine with internet run `vitrieve model "
        "fetch` (it prints the folder the weights are in), copy that folder here and set "
        "VITRIEVE_MODEL=/path/to/that/folder. To try vitrieve without the real weights, run "
        "`vitrieve demo` (a tiny random model: the similarities mean nothing)"
    )
