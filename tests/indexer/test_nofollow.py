"""Reading only what the scan approved: a file or folder swapped for a symbolic link after the
scan committed its rows is one failure with a reason, and nothing outside the roots is read.

Real files and a real ingest with the tiny ViT: `scan_roots` commits the pending rows, the
swap happens, then `embed_items` reads them, as a background embed task would later.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support import REPO, as_unprivileged, noise_image, reachable_tmp
from vitrieve.indexer.ingest import embed_items, ingest, pending_items, scan_roots
from vitrieve.indexer.library import Library
from vitrieve.indexer.reader import (
    ReadError,
    content_hash,
    open_library_file,
    open_real_path,
    read_file,
    read_library_file,
)
from vitrieve.indexer.thumb_repair import repair_thumbnails
from vitrieve.indexer.thumbnails import thumbnail_path
from vitrieve.tables.catalog import Embedding, Image, ImageStatus

pytestmark = pytest.mark.timeout(300)

SHADOW = Path("/etc/shadow")
MB = 1024 * 1024


@pytest.fixture
def lib(settings):
    with Library(settings) as library:
        yield library


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside every root, holding images named like the library's."""
    folder = tmp_path / "outside"
    folder.mkdir()
    for i, name in enumerate(["coffee.jpg", "chelsea.png", "camera.png", "rocket.png"]):
        noise_image(900 + i).save(folder / name)
    return folder


def swap_for_link(path: Path, target: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
    path.symlink_to(target)


def row(lib: Library, rel_path: str) -> tuple[ImageStatus, str | None, str | None, bytes | None]:
    with lib.sessions() as session:
        r = session.execute(
            select(Image.id, Image.status, Image.error, Image.content_hash).where(
                Image.rel_path == rel_path
            )
        ).one()
        vector = session.scalar(select(Embedding.vector).where(Embedding.image_id == r.id))
    return ImageStatus(r.status), r.error, r.content_hash, vector


def failures_of(outcomes) -> dict[str, str | None]:
    return {p.path.name: p.error for o in outcomes for p in o.failures}


def thumbs(lib: Library) -> set[str]:
    return {p.stem for p in lib.settings.thumb_dir.rglob("*.webp")}


def test_a_pending_file_swapped_for_a_link_to_an_outside_image_fails_unread(lib, photos, outside):
    scan = scan_roots(lib, [photos])  # the six rows are committed, pending
    swap_for_link(photos / "coffee.jpg", outside / "coffee.jpg")
    secret_hash = content_hash((outside / "coffee.jpg").read_bytes())

    outcomes = list(embed_items(lib, pending_items(lib, scan.targets)))

    assert failures_of(outcomes) == {"coffee.jpg": "is a symbolic link"}
    status, error, digest, vector = row(lib, "coffee.jpg")
    assert (status, error, digest, vector) == (ImageStatus.FAILED, "is a symbolic link", None, None)
    assert not thumbnail_path(lib.settings.thumb_dir, secret_hash).exists()
    assert len(thumbs(lib)) == 5 and secret_hash not in thumbs(lib)


def test_a_link_to_a_root_only_system_file_is_refused_without_reading_it(lib, photos):
    if not SHADOW.exists():
        pytest.skip("no /etc/shadow on this system")
    scan = scan_roots(lib, [photos])
    swap_for_link(photos / "astronaut.jpg", SHADOW)

    outcomes = list(embed_items(lib, pending_items(lib, scan.targets)))

    # Read, it would have failed as "not an image" with its hash stored (and, as root, read).
    assert failures_of(outcomes) == {"astronaut.jpg": "is a symbolic link"}
    status, error, digest, vector = row(lib, "astronaut.jpg")
    assert (status, error, digest, vector) == (ImageStatus.FAILED, "is a symbolic link", None, None)
    with lib.sessions() as session:
        stored = set(session.scalars(select(Image.content_hash)))
    if os.access(SHADOW, os.R_OK):
        assert content_hash(SHADOW.read_bytes()) not in stored


def test_the_link_target_is_never_even_opened(lib, photos, tmp_path):
    """Proof by a FIFO outside the roots: a writer blocked on it wakes the moment anyone opens
    it for reading, so a writer still waiting after the embed means nobody opened it."""
    fifo = tmp_path / "trap.jpg"
    os.mkfifo(fifo)
    opened = threading.Event()

    def writer() -> None:
        fd = os.open(fifo, os.O_WRONLY)  # blocks until a reader opens the FIFO
        opened.set()
        os.close(fd)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    scan = scan_roots(lib, [photos])
    swap_for_link(photos / "coffee.jpg", fifo)
    try:
        outcomes = list(embed_items(lib, pending_items(lib, scan.targets)))
        assert failures_of(outcomes) == {"coffee.jpg": "is a symbolic link"}
        assert not opened.is_set()
    finally:
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # release the writer
        thread.join(10)


def test_a_parent_folder_swapped_for_a_link_to_an_outside_folder_fails(lib, photos, outside):
    scan = scan_roots(lib, [photos])
    swap_for_link(photos / "trip", outside)  # trip/ held chelsea, camera and rocket .png
    outside_hashes = {content_hash(p.read_bytes()) for p in outside.iterdir()}

    outcomes = list(embed_items(lib, pending_items(lib, scan.targets)))

    reason = "a parent folder is a symbolic link"
    assert failures_of(outcomes) == {n: reason for n in ("chelsea.png", "camera.png", "rocket.png")}
    for name in ("chelsea.png", "camera.png", "rocket.png"):
        assert row(lib, f"trip/{name}") == (ImageStatus.FAILED, reason, None, None)
    assert len(thumbs(lib)) == 3 and not thumbs(lib) & outside_hashes


def test_thumbnail_repair_does_not_follow_a_link_even_to_the_same_bytes(lib, photos, outside):
    ingest(lib, [photos])
    copy = outside / "coffee-copy.jpg"
    shutil.copy(photos / "coffee.jpg", copy)  # the very bytes: only where they are differs
    swap_for_link(photos / "coffee.jpg", copy)
    shutil.rmtree(lib.settings.thumb_dir)

    report = repair_thumbnails(lib)

    assert (report.contents, report.remade, report.failed) == (6, 5, 1)
    assert [(Path(p).name, r) for p, r in report.failures] == [("coffee.jpg", "is a symbolic link")]


# -- the reader itself ---------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/a/photo.jpg, and root/elsewhere.jpg outside a/."""
    (tmp_path / "root" / "a").mkdir(parents=True)
    (tmp_path / "root" / "a" / "photo.jpg").write_bytes(b"the photo")
    (tmp_path / "secret.jpg").write_bytes(b"outside")
    return tmp_path / "root"


def library_reason(root: Path, rel: str) -> str:
    with pytest.raises(ReadError) as info:
        read_library_file(root, rel, max_size=MB)
    return info.value.reason


def test_a_library_file_is_read_from_its_root(tree):
    assert read_library_file(tree, "a/photo.jpg", max_size=MB) == b"the photo"
    assert read_file(tree / "a" / "photo.jpg", max_size=MB, root=tree) == b"the photo"
    fd = open_library_file(tree, "a/photo.jpg")
    try:
        assert os.read(fd, 100) == b"the photo"
    finally:
        os.close(fd)


def test_a_link_anywhere_below_the_root_is_refused_even_one_that_stays_inside(tree):
    (tree / "file-link.jpg").symlink_to(tree.parent / "secret.jpg")
    (tree / "inside-link.jpg").symlink_to(tree / "a" / "photo.jpg")
    (tree / "b").symlink_to(tree / "a")
    (tree / "c").symlink_to(tree.parent)
    assert library_reason(tree, "file-link.jpg") == "is a symbolic link"
    assert library_reason(tree, "inside-link.jpg") == "is a symbolic link"
    assert library_reason(tree, "b/photo.jpg") == "a parent folder is a symbolic link"
    assert library_reason(tree, "c/secret.jpg") == "a parent folder is a symbolic link"
    with pytest.raises(ReadError, match=r"^is a symbolic link$"):
        open_library_file(tree, "file-link.jpg")


def test_paths_that_leave_the_root_textually_or_are_not_files_are_refused(tree):
    assert library_reason(tree, "../secret.jpg") == "not a relative path inside its root"
    assert library_reason(tree, str(tree.parent / "secret.jpg")) == (
        "not a relative path inside its root"
    )
    assert library_reason(tree, "a/photo.jpg/x.jpg") == "a parent folder is no longer a folder"
    assert library_reason(tree, "gone/x.jpg") == "vanished before it could be read"
    assert library_reason(tree, "a") == "is a directory"


def test_the_root_itself_may_sit_behind_a_link_the_user_made(tree):
    (tree.parent / "root-link").symlink_to(tree)
    assert read_library_file(tree.parent / "root-link", "a/photo.jpg", max_size=MB) == b"the photo"


def test_a_resolved_path_is_opened_from_slash_without_any_link(tree):
    fd = open_real_path(tree / "a" / "photo.jpg")
    os.close(fd)
    (tree / "b").symlink_to(tree / "a")
    with pytest.raises(ReadError, match=r"^a parent folder is a symbolic link$"):
        open_real_path(tree / "b" / "photo.jpg")


ENTER_NOT_LIST = """
import os, sys
from pathlib import Path
from vitrieve.indexer.reader import read_library_file
root = Path(sys.argv[1])
try:
    os.listdir(root / "a")
    print("listed")
except PermissionError:
    print("not listed")
print(read_library_file(root, "a/photo.jpg", max_size=1 << 20).decode())
"""


def test_folders_need_only_search_permission_as_for_a_plain_open():
    """A folder one may enter but not list (a 0711 home directory) still serves its files:
    the walk opens folders with O_PATH, which needs search permission only. Run as an
    unprivileged user (setpriv under root), since chmod cannot stop root."""
    with reachable_tmp() as root:
        (root / "a").mkdir()
        (root / "a" / "photo.jpg").write_bytes(b"the photo")
        (root / "a" / "photo.jpg").chmod(0o644)
        (root / "a").chmod(0o311)  # enter, not list
        proc = subprocess.run(
            as_unprivileged([sys.executable, "-c", ENTER_NOT_LIST, str(root)]),
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["not listed", "the photo"]
