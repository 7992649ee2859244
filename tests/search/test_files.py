"""The UI serves only image files under registered roots: no traversal, no symlink escapes."""

from __future__ import annotations

import os

import pytest

from vitrieve.core.config import Settings
from vitrieve.indexer.catalog import resolve_target
from vitrieve.indexer.library import Library
from vitrieve.search.files import PathRefusedError, servable_path, thumbnail_file


@pytest.fixture
def lib(settings, photos):
    """A library with `photos` registered as a root (no model needed to register one)."""
    with Library(settings) as library:
        with library.sessions.begin() as session:
            resolve_target(session, photos)
        yield library


@pytest.fixture
def outside(tmp_path):
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "secret.jpg").write_bytes(b"\xff\xd8 not for the browser")
    return secret


def test_an_image_under_a_root_is_served_as_its_resolved_path(lib, photos):
    assert servable_path(lib, photos / "coffee.jpg") == (photos / "coffee.jpg").resolve()
    assert servable_path(lib, str(photos / "trip" / "chelsea.png")).name == "chelsea.png"


def test_a_file_outside_every_root_is_refused(lib, outside):
    with pytest.raises(PathRefusedError, match="no such image under the registered roots"):
        servable_path(lib, outside / "secret.jpg")
    with pytest.raises(PathRefusedError):
        servable_path(lib, "/etc/passwd")


def refusal(lib, path) -> str:
    with pytest.raises(PathRefusedError) as caught:
        servable_path(lib, path)
    return str(caught.value).replace(str(path), "PATH")


def test_a_refusal_never_tells_whether_a_file_exists_outside_the_roots(lib, photos, outside):
    """A visitor probing the disk learns nothing: outside the roots, an existing file, a
    missing one, a folder, and symlinks inside a root to any of them all read the same as a
    file missing inside a root."""
    os.symlink(outside / "secret.jpg", photos / "to-secret.jpg")
    os.symlink(outside / "nothing.jpg", photos / "to-nothing.jpg")
    os.symlink(outside, photos / "linked-folder")
    probes = [
        outside / "secret.jpg",  # exists
        outside / "nothing.jpg",  # does not
        outside,  # a folder
        outside / "secret.jpg" / "x.jpg",  # under a file
        photos / "to-secret.jpg",
        photos / "to-nothing.jpg",
        photos / "linked-folder" / "secret.jpg",
        photos / "linked-folder" / "nothing.jpg",
        photos / "nope.jpg",  # missing inside the root
    ]
    messages = {refusal(lib, p) for p in probes}
    assert messages == {"refused: PATH: no such image under the registered roots"}


def test_dot_dot_traversal_is_refused_even_when_it_would_land_inside(lib, photos, outside):
    escape = f"{photos}/../outside/secret.jpg"
    with pytest.raises(PathRefusedError, match="path traversal"):
        servable_path(lib, escape)
    with pytest.raises(PathRefusedError, match="path traversal"):
        servable_path(lib, f"{photos}/trip/../coffee.jpg")


def test_a_symlink_inside_a_root_pointing_outside_is_refused(lib, photos, outside):
    os.symlink(outside / "secret.jpg", photos / "innocent.jpg")
    os.symlink(outside, photos / "linked-folder")
    with pytest.raises(PathRefusedError, match="no such image under the registered roots"):
        servable_path(lib, photos / "innocent.jpg")
    with pytest.raises(PathRefusedError, match="no such image under the registered roots"):
        servable_path(lib, photos / "linked-folder" / "secret.jpg")


def test_a_symlink_that_stays_inside_the_root_is_served(lib, photos):
    os.symlink(photos / "coffee.jpg", photos / "trip" / "alias.jpg")
    assert servable_path(lib, photos / "trip" / "alias.jpg") == (photos / "coffee.jpg").resolve()


def test_relative_empty_and_nul_paths_are_refused(lib, photos):
    for bad in ("coffee.jpg", "", f"{photos}/coffee.jpg\x00.png"):
        with pytest.raises(PathRefusedError):
            servable_path(lib, bad)


def test_missing_files_folders_and_non_images_under_a_root_are_refused(lib, photos):
    (photos / "notes.txt").write_text("hello")
    (photos / ".hidden").mkdir()
    (photos / ".hidden" / "a.jpg").write_bytes((photos / "coffee.jpg").read_bytes())
    cases = {
        photos / "nope.jpg": "no such image under the registered roots",
        photos / "trip": "not a regular file",
        photos / "notes.txt": "not an image",
        photos / ".hidden" / "a.jpg": "hidden",
    }
    for path, reason in cases.items():
        with pytest.raises(PathRefusedError, match=reason):
            servable_path(lib, path)


def test_the_data_directory_is_refused_even_inside_a_root(settings, tmp_path):
    root = tmp_path / "everything"
    home = root / "vitrieve-home"
    home.mkdir(parents=True)
    inner = Settings(home=home, model=settings.model, precision="fp32", runtime="torch")
    with Library(inner) as lib:
        with lib.sessions.begin() as session:
            resolve_target(session, root)
        (home / "thumbs" / "x.webp").write_bytes(b"RIFF")
        with pytest.raises(PathRefusedError, match="data directory"):
            servable_path(lib, home / "thumbs" / "x.webp")


def test_with_no_roots_registered_nothing_is_served(settings, photos):
    with Library(settings) as lib, pytest.raises(PathRefusedError):
        servable_path(lib, photos / "coffee.jpg")


def test_thumbnail_lookup_accepts_only_hex_hashes(lib):
    assert thumbnail_file(lib, "../../etc/passwd") is None
    assert thumbnail_file(lib, None) is None
    good = "ab" * 16
    path = lib.settings.thumb_dir / "ab" / f"{good}.webp"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"RIFF")
    assert thumbnail_file(lib, good) == path
