"""scripts/quickstart.sh checks for the weights before building anything, and says what to do.

Each test runs the real script in a copy of the repository's scripts/ and indexer/hub_access.py
whose scripts/setup.sh only records that it ran, and whose .venv/bin/vitrieve (when present)
only records its arguments: so "nothing was built" is checked, not assumed. The network is
made unreachable by pointing both hubs at a closed loopback port (and HOME at an empty folder,
so no real hub cache is found).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support import TINY_VIT
from vitrieve.core.config import Settings

REPO = Path(__file__).parents[1]
HUB_ID = "google/vit-base-patch16-224-in21k"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "indexer").mkdir(parents=True)
    shutil.copytree(REPO / "scripts", root / "scripts")
    shutil.copy(REPO / "indexer" / "hub_access.py", root / "indexer")
    (root / "scripts" / "setup.sh").write_text('touch "$(dirname "$0")/../SETUP_RAN"\n')
    (root / "photos").mkdir()
    return root


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("VITRIEVE_", "HF_", "MODELS"))}
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        keep.pop(proxy, None)
    (tmp_path / "home").mkdir()
    return keep | {
        "HOME": str(tmp_path / "home"),
        "HF_ENDPOINT": f"http://127.0.0.1:{port}",
        "MODELSCOPE_DOMAIN": f"127.0.0.1:{port}",
        "VITRIEVE_HUB_CACHE": str(tmp_path / "empty-hub-cache"),
    }


def quickstart(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(root / "scripts" / "quickstart.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a bound for a hung test, not a speed claim
        cwd=root,
    )


def assert_nothing_built(root: Path) -> None:
    assert not (root / "SETUP_RAN").exists() and not (root / ".venv").exists()


def test_without_network_it_says_so_and_what_to_do_before_building(checkout, offline_env):
    proc = quickstart(checkout, offline_env, str(checkout / "photos"))
    assert proc.returncode == 3, proc.stderr
    message = proc.stderr
    assert "no network: cannot reach the model hubs" in message
    assert "`vitrieve model fetch`" in message
    assert "VITRIEVE_MODEL=/path/to/that/folder scripts/quickstart.sh" in message
    assert "scripts/quickstart.sh --demo PHOTO_FOLDER" in message and "meaningless" in message
    assert "Error" not in message and "Traceback" not in message  # no exception class names
    assert_nothing_built(checkout)


def test_hub_offline_mode_with_nothing_cached_is_refused_in_plain_words(checkout, offline_env):
    proc = quickstart(checkout, offline_env | {"HF_HUB_OFFLINE": "1"}, str(checkout / "photos"))
    assert proc.returncode == 3
    assert "offline mode is set" in proc.stderr and "`vitrieve model fetch`" in proc.stderr
    assert_nothing_built(checkout)


def test_weights_in_the_hub_cache_are_enough_offline(checkout, offline_env):
    repo = Path(offline_env["VITRIEVE_HUB_CACHE"]) / "huggingface" / "models--google--vit-b"
    shutil.copytree(TINY_VIT, repo / "snapshots" / "abc123")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    env = offline_env | {"VITRIEVE_MODEL": "google/vit-b"}
    proc = quickstart(checkout, env, str(checkout / "photos"))
    assert "model weights found in the huggingface cache" in proc.stdout
    assert (checkout / "SETUP_RAN").exists()  # went on to build (the fake setup stops there)


def test_a_local_model_folder_is_enough(checkout, offline_env):
    env = offline_env | {"VITRIEVE_MODEL": str(TINY_VIT)}
    proc = quickstart(checkout, env, str(checkout / "photos"))
    assert f"model weights found in {TINY_VIT}" in proc.stdout
    assert (checkout / "SETUP_RAN").exists()


def test_a_folder_without_weights_names_the_setting(checkout, offline_env, tmp_path):
    env = offline_env | {"VITRIEVE_MODEL": str(tmp_path)}
    proc = quickstart(checkout, env, str(checkout / "photos"))
    assert proc.returncode == 2
    assert f"VITRIEVE_MODEL={tmp_path} is a folder but holds no model" in proc.stderr
    assert_nothing_built(checkout)


def test_demo_skips_the_weights_check_and_runs_vitrieve_demo(checkout, offline_env):
    bin_dir = checkout / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "vitrieve").write_text('#!/bin/sh\necho "vitrieve $*" > "$(dirname "$0")/ARGS"\n')
    (bin_dir / "vitrieve").chmod(0o755)
    proc = quickstart(checkout, offline_env, "--demo", str(checkout / "photos"))
    assert proc.returncode == 0, proc.stderr
    assert (checkout / "SETUP_RAN").exists()
    assert (bin_dir / "ARGS").read_text().strip() == f"vitrieve demo {checkout / 'photos'}"


def test_the_preflight_default_model_is_the_settings_default():
    spec = importlib.util.spec_from_file_location("preflight", REPO / "scripts" / "preflight.py")
    assert spec is not None and spec.loader is not None
    preflight = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(preflight)
    assert Settings.model_fields["model"].default == preflight.DEFAULT_MODEL
