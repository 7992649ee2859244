"""The model a library resolved is remembered in its home, and forgotten when the weights change.

A hit is what lets `status`, `search --id` and `dups` skip the hub clients and the 350 MB hash;
a stale hit would put vectors of different weights together, so every change is a miss.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support import TINY_VIT
from vitrieve.core.config import Settings
from vitrieve.indexer import library as library_module
from vitrieve.indexer.library import Library
from vitrieve.indexer.model_memo import MEMO_FILE, recall, remember
from vitrieve.indexer.model_source import locate_model, read_model_info, weights_hash


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(TINY_VIT, tmp_path / "vit"))


def remembered(cache: Path, model_dir: Path) -> None:
    location = locate_model(str(model_dir))
    remember(cache, location, read_model_info(location), None)


def test_a_remembered_model_is_recalled_with_its_identity(tmp_path, model_dir):
    remembered(tmp_path / "cache", model_dir)
    hit = recall(tmp_path / "cache", str(model_dir), None)
    assert hit is not None
    assert hit.location.path == model_dir and hit.location.source == "local"
    assert hit.info.weights_hash == weights_hash(model_dir) and hit.info.dim == 32


def test_replaced_or_touched_weights_are_a_miss(tmp_path, model_dir):
    cache = tmp_path / "cache"
    remembered(cache, model_dir)
    weights = model_dir / "model.safetensors"
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert recall(cache, str(model_dir), None) is None
    remembered(cache, model_dir)
    weights.write_bytes(weights.read_bytes())  # same bytes, a new file: hashed again
    assert recall(cache, str(model_dir), None) is None


def test_another_setting_or_a_moved_folder_is_a_miss(tmp_path, model_dir):
    cache = tmp_path / "cache"
    remembered(cache, model_dir)
    assert recall(cache, str(TINY_VIT), None) is None
    assert recall(cache, str(model_dir), tmp_path / "hub-cache") is None
    model_dir.rename(tmp_path / "moved")
    assert recall(cache, str(model_dir), None) is None


def test_a_newer_hub_snapshot_is_a_miss(tmp_path):
    hub = tmp_path / "hub"
    repo = hub / "huggingface" / "models--owner--vit"
    shutil.copytree(TINY_VIT, repo / "snapshots" / "one")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("one")
    location = locate_model("owner/vit", offline=True, cache_dir=hub)
    remember(tmp_path / "cache", location, read_model_info(location), hub)
    assert recall(tmp_path / "cache", "owner/vit", hub) is not None
    shutil.copytree(TINY_VIT, repo / "snapshots" / "two")
    (repo / "refs" / "main").write_text("two")
    assert recall(tmp_path / "cache", "owner/vit", hub) is None


@pytest.mark.parametrize("content", ["", "not json", "[1, 2]", '{"x": {"path": 3}}'])
def test_a_damaged_memo_is_a_miss_not_an_error(tmp_path, model_dir, content):
    (tmp_path / MEMO_FILE).write_text(content)
    assert recall(tmp_path, str(model_dir), None) is None
    remembered(tmp_path, model_dir)  # and is replaced by a good one
    assert recall(tmp_path, str(model_dir), None) is not None


def test_an_unwritable_home_just_does_not_remember(tmp_path, model_dir):
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache folder should be")  # fails even for root
    remembered(cache, model_dir)
    assert cache.read_text() == "a file where the cache folder should be"
    assert recall(cache, str(model_dir), None) is None


def test_a_second_library_neither_hashes_nor_locates_again(tmp_path, model_dir, monkeypatch):
    settings = Settings(home=tmp_path / "home", model=str(model_dir))
    with Library(settings) as lib:
        first = lib.model_row

    def refuse(*args, **kwargs):
        raise AssertionError("resolved again")

    monkeypatch.setattr(library_module, "read_model_info", refuse)
    monkeypatch.setattr(library_module, "locate_model", refuse)
    with Library(settings) as lib:
        assert lib.model_row.id == first.id
        assert lib.model_location.path == model_dir
