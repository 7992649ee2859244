"""Hostile inputs at ingest time: whatever replaces a file after the scan becomes one failure
with a reason (never a hang), and a root inside the data directory is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.ingest import embed_items, ingest, pending_items, scan_roots
from vitrieve.indexer.library import Library
from vitrieve.tables.catalog import Root
from vitrieve.worker.roots import add_root

pytestmark = pytest.mark.timeout(300)  # a blocking read must fail the test, not hang the suite


@pytest.fixture
def lib(settings):
    with Library(settings) as library:
        yield library


def test_files_swapped_for_a_fifo_or_device_after_the_scan_fail_with_reasons(lib, photos):
    scan = scan_roots(lib, [photos])  # all six are regular files now, and pending
    (photos / "astronaut.jpg").unlink()
    os.mkfifo(photos / "astronaut.jpg")  # no writer: a blocking open would wait forever
    (photos / "trip" / "chelsea.png").unlink()
    (photos / "trip" / "chelsea.png").symlink_to("/dev/zero")  # endless bytes, never opened
    (photos / "coffee.jpg").unlink()
    with (photos / "coffee.jpg").open("wb") as fh:
        fh.truncate(1024**4)  # a 1 TiB sparse file in its place
    outcomes = list(embed_items(lib, pending_items(lib, scan.targets)))
    failures = {p.path.name: p.error for o in outcomes for p in o.failures}
    assert failures == {
        "astronaut.jpg": "not a regular file (FIFO)",
        "chelsea.png": "is a symbolic link",
        "coffee.jpg": "file too large: 1.0 TiB is over the 2.0 GiB limit (VITRIEVE_MAX_FILE_SIZE)",
    }
    assert sum(len(o.embedded_ids) for o in outcomes) == 3


def test_configured_file_size_limit_applies_to_ingest(settings, photos):
    settings = settings.model_copy(update={"max_file_size": 100_000})
    sizes = {p.name: p.stat().st_size for p in photos.rglob("*.*")}
    with Library(settings) as lib:
        summary = ingest(lib, [photos])
    too_big = {name for name, size in sizes.items() if size > 100_000}
    assert too_big and {Path(f.path).name for f in summary.failures} == too_big
    assert all("over the 97.7 KiB limit" in f.reason for f in summary.failures)
    assert summary.embedded == len(sizes) - len(too_big)


def test_configured_pixel_limit_applies_to_ingest(settings, photos):
    settings = settings.model_copy(update={"max_image_pixels": 512 * 512 - 1})
    with Library(settings) as lib:
        summary = ingest(lib, [photos])
    over = "is over the 262,143 pixels limit (VITRIEVE_MAX_IMAGE_PIXELS)"
    assert {Path(f.path).name: f.reason for f in summary.failures} == {
        "astronaut.jpg": f"decompression bomb or oversized image: 512x512 (262,144 pixels) {over}",
        "camera.png": f"decompression bomb or oversized image: 512x512 (262,144 pixels) {over}",
        "immunohistochemistry.jpg": (
            f"decompression bomb or oversized image: 512x512 (262,144 pixels) {over}"
        ),
        "rocket.png": f"decompression bomb or oversized image: 640x427 (273,280 pixels) {over}",
    }
    assert summary.embedded == 2  # chelsea 451x300 and coffee 600x400 are under it


@pytest.mark.parametrize("inside", [".", "thumbs", "index", "thumbs/ab"])
def test_a_folder_inside_the_data_directory_is_refused(lib, inside):
    folder = lib.settings.home / inside
    folder.mkdir(parents=True, exist_ok=True)
    expected = (
        f"{folder}: is inside the vitrieve data directory {lib.settings.home} (catalog, index "
        "and thumbnails live there); choose a folder of your photos"
    )
    with pytest.raises(VitrieveError) as info:
        ingest(lib, [folder])
    assert str(info.value) == expected
    with pytest.raises(VitrieveError) as info:
        add_root(lib, folder, watch=True)
    assert str(info.value) == expected
    with lib.sessions() as session:
        assert session.scalars(select(Root)).all() == []  # nothing was registered


def test_the_data_directory_reached_through_a_symlink_is_refused(lib, tmp_path):
    (tmp_path / "shortcut").symlink_to(lib.settings.home / "thumbs")
    with pytest.raises(VitrieveError, match="is inside the vitrieve data directory"):
        ingest(lib, [tmp_path / "shortcut"])


def test_a_sub_folder_of_a_root_that_is_the_data_directory_is_refused(tmp_path, settings, photos):
    # The data directory lives inside the photo root: the root is fine (the scan skips the
    # data directory), but asking for the data directory as a sub-folder of it is not.
    settings = settings.model_copy(update={"home": photos / "vitrieve-data"})
    with Library(settings) as lib:
        assert ingest(lib, [photos]).new == 6
        with pytest.raises(VitrieveError, match="is inside the vitrieve data directory"):
            ingest(lib, [photos / "vitrieve-data" / "thumbs"])
