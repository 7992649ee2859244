"""Weights come from a local dir, else the ModelScope cache/hub, else the Hugging Face one."""

from __future__ import annotations

import shutil
import sys

import pytest

from tests.support import TINY_VIT
from vitrieve.core.errors import ModelUnavailableError
from vitrieve.indexer.model_source import locate_model


@pytest.fixture
def empty_hub_caches(tmp_path):
    return tmp_path / "hubs"


def test_local_directory_is_used_as_is():
    loc = locate_model(str(TINY_VIT))
    assert loc.source == "local" and loc.path == TINY_VIT.resolve()


def test_directory_without_weights_is_refused_naming_the_setting(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelUnavailableError, match="VITRIEVE_MODEL"):
        locate_model(str(tmp_path))


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(ModelUnavailableError, match="VITRIEVE_MODEL"):
        locate_model(str(tmp_path / "nope"))


def test_modelscope_cache_is_found_offline(empty_hub_caches):
    cached = empty_hub_caches / "modelscope" / "models" / "Genius-Society" / "ViT"
    shutil.copytree(TINY_VIT, cached)
    loc = locate_model("Genius-Society/ViT", offline=True, cache_dir=empty_hub_caches)
    assert loc.source == "modelscope" and loc.path == cached


def test_huggingface_cache_is_found_offline(empty_hub_caches):
    repo = empty_hub_caches / "huggingface" / "models--google--vit-base-patch16-224-in21k"
    snapshot = repo / "snapshots" / "abc123"
    shutil.copytree(TINY_VIT, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    loc = locate_model(
        "google/vit-base-patch16-224-in21k", offline=True, cache_dir=empty_hub_caches
    )
    assert loc.source == "huggingface" and loc.path == snapshot


def test_offline_with_nothing_cached_names_vitrieve_model(empty_hub_caches):
    with pytest.raises(ModelUnavailableError) as info:
        locate_model("Genius-Society/ViT", offline=True, cache_dir=empty_hub_caches)
    message = str(info.value)
    assert "VITRIEVE_MODEL" in message and "Genius-Society/ViT" in message
    assert "\n" not in message


def test_without_the_modelscope_extra_hugging_face_still_serves_and_the_error_says_so(
    empty_hub_caches, monkeypatch
):
    monkeypatch.setitem(sys.modules, "modelscope", None)  # its import raises ImportError
    with pytest.raises(ModelUnavailableError) as info:
        locate_model("Genius-Society/ViT", offline=True, cache_dir=empty_hub_caches)
    assert "modelscope: not installed (pip install 'vitrieve[modelscope]')" in str(info.value)
    assert "huggingface cache" in str(info.value)

    repo = empty_hub_caches / "huggingface" / "models--Genius-Society--ViT"
    shutil.copytree(TINY_VIT, repo / "snapshots" / "abc123")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    loc = locate_model("Genius-Society/ViT", offline=True, cache_dir=empty_hub_caches)
    assert loc.source == "huggingface"


def hf_snapshot(cache_dir, model="google/vit-base-patch16-224-in21k"):
    repo = cache_dir / "huggingface" / f"models--{model.replace('/', '--')}"
    shutil.copytree(TINY_VIT, repo / "snapshots" / "abc123")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    return repo / "snapshots" / "abc123"


@pytest.fixture
def no_hub_clients(monkeypatch):
    """Importing either hub client raises: what is found is found without them."""
    monkeypatch.setitem(sys.modules, "modelscope", None)
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)


@pytest.fixture
def no_network(monkeypatch):
    """Both hubs at a loopback port nobody listens on, no proxy."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MODELSCOPE_DOMAIN", f"127.0.0.1:{port}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(proxy, raising=False)


def test_hub_caches_are_found_by_their_layout_without_a_hub_client(
    empty_hub_caches, no_hub_clients
):
    snapshot = hf_snapshot(empty_hub_caches)
    loc = locate_model("google/vit-base-patch16-224-in21k", cache_dir=empty_hub_caches)
    assert loc.source == "huggingface" and loc.path == snapshot
    cached = empty_hub_caches / "modelscope" / "models" / "Genius-Society" / "ViT"
    shutil.copytree(TINY_VIT, cached)
    loc = locate_model("Genius-Society/ViT", cache_dir=empty_hub_caches, use_clients=False)
    assert loc.source == "modelscope" and loc.path == cached


def test_without_clients_a_missing_model_says_how_to_get_it(empty_hub_caches, no_hub_clients):
    with pytest.raises(ModelUnavailableError) as info:
        locate_model("Genius-Society/ViT", cache_dir=empty_hub_caches, use_clients=False)
    message = str(info.value)
    assert "not in the hub caches on this machine" in message and "not installed" not in message
    assert "`vitrieve model fetch`" in message and "VITRIEVE_MODEL" in message


def test_unreachable_hubs_are_reported_as_no_network_in_plain_words(empty_hub_caches, no_network):
    with pytest.raises(ModelUnavailableError) as info:
        locate_model("Genius-Society/ViT", offline=False, cache_dir=empty_hub_caches)
    message = str(info.value)
    assert message.startswith("no network: the model hubs (127.0.0.1, 127.0.0.1)")
    assert "`vitrieve model fetch`" in message and "VITRIEVE_MODEL=/path/to/that/folder" in message
    assert "`vitrieve demo`" in message and "\n" not in message
