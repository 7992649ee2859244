"""Search by example: a file from anywhere, or a catalog image; its own row never returned."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import real_photo
from vitrieve.core.errors import NotIndexedError, VitrieveError
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.query import query_from_file, query_from_id, search


@pytest.fixture
def lib(settings, photos):
    with Library(settings) as library:
        ingest(library, [photos])
        yield library


def test_reencoded_copy_from_outside_finds_the_original_first(lib, photos, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    real_photo("coffee").save(outside / "query.jpg", quality=75)
    results = search(lib, query_from_file(lib, outside / "query.jpg"), k=3)
    assert results[0].path == str(photos / "coffee.jpg")
    assert results[0].score >= 0.99
    assert results[1].score < results[0].score


def test_querying_an_indexed_file_leaves_out_its_own_row(lib, photos):
    query = query_from_file(lib, photos / "coffee.jpg")
    assert query.image_id is not None
    results = search(lib, query, k=10)
    assert str(photos / "coffee.jpg") not in [r.path for r in results]
    assert len(results) == 5


def test_byte_identical_copy_at_another_path_scores_one(settings, photos):
    shutil.copy(photos / "coffee.jpg", photos / "trip" / "coffee-again.jpg")
    with Library(settings) as lib:
        ingest(lib, [photos])
        results = search(lib, query_from_file(lib, photos / "coffee.jpg"), k=2)
    assert results[0].path == str(photos / "trip" / "coffee-again.jpg")
    assert results[0].score == pytest.approx(1.0, abs=1e-6)


def test_query_by_id_equals_query_by_its_file(lib, photos):
    by_file = query_from_file(lib, photos / "trip" / "chelsea.png")
    by_id = query_from_id(lib, by_file.image_id)
    assert [r.path for r in search(lib, by_id, k=5)] == [r.path for r in search(lib, by_file, k=5)]


def test_results_carry_metadata(lib, photos):
    (top,) = search(lib, query_from_file(lib, photos / "astronaut.jpg"), k=1)
    assert top.width and top.height and top.format in {"JPEG", "PNG"} and top.size > 0


def test_folder_filter_keeps_only_results_under_it(lib, photos):
    query = query_from_file(lib, photos / "coffee.jpg")
    results = search(lib, query, k=10, folder=photos / "trip")
    assert len(results) == 3
    assert all(r.path.startswith(str(photos / "trip") + "/") for r in results)


def test_folder_filter_is_exactly_the_paths_under_it_even_with_wildcard_names(lib, photos):
    """`_` and `%` are LIKE wildcards and "trip" is a prefix of "trip_2": neither may widen
    the filter; a folder holding the root filters nothing; each answer is the top k of the
    unfiltered ranking that lies under the folder."""
    for name in ("trip_2", "tr%p", "trip/deeper"):
        (photos / name).mkdir(parents=True, exist_ok=True)
        real_photo("coffee").save(photos / name / "copy.jpg", quality=80)
    ingest(lib, [photos])
    query = query_from_file(lib, photos / "coffee.jpg")
    everything = search(lib, query, k=100)
    for folder in (photos / "trip", photos / "trip_2", photos / "tr%p", photos / "trip/deeper"):
        under = [r.path for r in everything if folder in Path(r.path).parents]
        got = search(lib, query, k=2, folder=folder)
        assert [r.path for r in got] == under[:2], folder
    around = search(lib, query, k=100, folder=photos.parent)
    assert [r.path for r in around] == [r.path for r in everything]
    assert search(lib, query, k=5, folder=photos / "nothing-here") == []


def test_unknown_id_is_a_clear_error(lib):
    with pytest.raises(NotIndexedError, match="12345"):
        query_from_id(lib, 12345)


def test_query_file_that_is_not_an_image_names_file_and_reason(lib, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("hello")
    with pytest.raises(VitrieveError, match=r"bad\.jpg: not an image"):
        query_from_file(lib, bad)
