"""Specification tests for indexer.scan.scan_tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import REPO, as_unprivileged, reachable_tmp
from vitrieve.indexer import scan as scan_mod
from vitrieve.indexer.scan import JUNK_DIRS, ScannedFile, ScanProblem, scan_tree

EXTS = {".jpg", ".jpeg", ".png", ".heic"}


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def run(root: Path, **kw) -> tuple[list[str], list[ScanProblem]]:
    problems: list[ScanProblem] = []
    kw.setdefault("extensions", EXTS)
    files = [f.rel_path for f in scan_tree(root, on_problem=problems.append, **kw)]
    return files, problems


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    touch(root / "top.jpg")
    touch(root / "2023" / "IMG_1.JPG")
    touch(root / "2023" / "img_2.Png")
    touch(root / "2023" / "notes.txt")
    touch(root / "2023" / "raw.cr2")
    touch(root / "2023" / "trip" / "deep" / "a.jpeg")
    touch(root / "2023" / "trip" / "b.HEIC")
    touch(root / "2023" / "trip" / "noext")
    touch(root / "empty.png", b"")
    return root


def test_nested_mixed_case_extensions(tree: Path) -> None:
    files, problems = run(tree)
    assert sorted(files) == [
        "2023/IMG_1.JPG",
        "2023/img_2.Png",
        "2023/trip/b.HEIC",
        "2023/trip/deep/a.jpeg",
        "empty.png",
        "top.jpg",
    ]
    assert problems == []


def test_files_left_out_for_their_extension_are_counted_per_extension(tree: Path) -> None:
    touch(tree / "2023" / "trip" / "NOTES.TXT")
    touch(tree / ".hidden.txt")  # hidden files are junk, not "skipped"
    skipped: Counter[str] = Counter()
    files = list(scan_tree(tree, extensions=EXTS, skipped=skipped))
    assert len(files) == 6
    assert skipped == Counter({".txt": 2, ".cr2": 1, "": 1})


def test_zero_byte_file_is_yielded(tree: Path) -> None:
    found = {f.rel_path: f for f in scan_tree(tree, extensions=EXTS)}
    assert found["empty.png"].size == 0


def test_size_and_mtime_match_stat(tree: Path) -> None:
    touch(tree / "big.jpg", b"y" * 1234)
    os.utime(tree / "big.jpg", ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    found = list(scan_tree(tree, extensions=EXTS))
    assert found
    for f in found:
        st = os.stat(tree / f.rel_path)
        assert f == ScannedFile(f.rel_path, st.st_size, st.st_mtime_ns)
    big = next(f for f in found if f.rel_path == "big.jpg")
    assert (big.size, big.mtime_ns) == (1234, 1_600_000_000_123_456_789)


def test_deterministic_order(tmp_path: Path) -> None:
    root = tmp_path / "r"
    # Created in non-sorted order so directory listing order differs from name order.
    for name in ["m.jpg", "b/z.jpg", "z.jpg", "a/y.jpg", "a.jpg", "b/a.jpg", "a/c/x.jpg"]:
        touch(root / name)
    expected = ["a.jpg", "m.jpg", "z.jpg", "a/y.jpg", "a/c/x.jpg", "b/a.jpg", "b/z.jpg"]
    assert run(root)[0] == expected
    assert run(root)[0] == expected


def test_rel_paths_are_posix_and_relative(tree: Path) -> None:
    for rel in run(tree)[0]:
        assert not rel.startswith("/") and "\\" not in rel
        assert (tree / rel).is_file()


def test_hidden_and_junk_skipped(tmp_path: Path) -> None:
    root = tmp_path / "r"
    touch(root / "keep.jpg")
    touch(root / ".hidden.jpg")
    touch(root / ".Trash-1000" / "files" / "gone.jpg")
    touch(root / ".git" / "x.jpg")
    touch(root / "sub" / ".cache" / "x.jpg")
    for junk in [
        "@eaDir",
        "$RECYCLE.BIN",
        "System Volume Information",
        "__MACOSX",
        "lost+found",
        ".thumbnails",
    ]:
        touch(root / junk / "thumb.jpg")
        touch(root / "sub" / junk.upper() / "thumb.jpg")  # case-insensitive
    assert run(root) == (["keep.jpg"], [])


def test_junk_dirs_constant_is_lowercase_and_complete() -> None:
    assert all(n == n.lower() for n in JUNK_DIRS)
    assert {
        "@eadir",
        "$recycle.bin",
        "system volume information",
        "__macosx",
        "lost+found",
        ".thumbnails",
    } <= JUNK_DIRS


def test_junk_name_only_applies_to_directories(tmp_path: Path) -> None:
    root = tmp_path / "r"
    touch(root / "@eaDir.jpg")
    assert run(root)[0] == ["@eaDir.jpg"]


def test_excluded_data_dir_skipped_with_resolved_compare(tmp_path: Path) -> None:
    root = tmp_path / "r"
    touch(root / "a.jpg")
    touch(root / "vitrieve-data" / "thumbs" / "t.jpg")
    touch(root / "other" / "b.jpg")
    # Spelled with '..' and via a symlinked alias: only a resolved compare matches.
    alias = tmp_path / "alias"
    alias.symlink_to(root)
    files, _ = run(root, exclude=[alias / "other" / ".." / "vitrieve-data"])
    assert files == ["a.jpg", "other/b.jpg"]
    # ...and scanning through the alias root still honours a plainly spelled exclude.
    files, _ = run(alias, exclude=[root / "vitrieve-data"])
    assert files == ["a.jpg", "other/b.jpg"]


def test_excluded_file_and_excluded_root(tmp_path: Path) -> None:
    root = tmp_path / "r"
    touch(root / "a.jpg")
    touch(root / "b.jpg")
    assert run(root, exclude=[root / "b.jpg"])[0] == ["a.jpg"]
    assert run(root, exclude=[root])[0] == []


def test_subdir_reports_root_relative_paths(tree: Path) -> None:
    files, _ = run(tree, subdir="2023/trip")
    assert files == ["2023/trip/b.HEIC", "2023/trip/deep/a.jpeg"]
    assert run(tree, subdir="2023/trip/")[0] == files


def test_subdir_invalid(tree: Path) -> None:
    with pytest.raises(ValueError):
        run(tree, subdir="../x")
    with pytest.raises(FileNotFoundError, match="nope"):
        run(tree, subdir="nope")
    with pytest.raises(NotADirectoryError):
        run(tree, subdir="top.jpg")


def test_root_missing_or_not_dir_raises(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError, match="missing"):
        list(scan_tree(missing, extensions=EXTS))
    f = touch(tmp_path / "file.jpg")
    with pytest.raises(NotADirectoryError, match=r"file\.jpg"):
        list(scan_tree(f, extensions=EXTS))


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    root = tmp_path / "r"
    outside = tmp_path / "outside"
    touch(root / "real.jpg")
    touch(outside / "o.jpg")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    (root / "link.jpg").symlink_to(outside / "o.jpg")
    (root / "broken.jpg").symlink_to(tmp_path / "nowhere.jpg")
    return root


def test_symlinks_not_followed_by_default(linked: Path) -> None:
    assert run(linked) == (["real.jpg"], [])


def test_symlinks_followed_with_flag(linked: Path) -> None:
    files, problems = run(linked, follow_symlinks=True)
    assert files == ["link.jpg", "real.jpg", "linkdir/o.jpg"]
    assert problems == [ScanProblem("broken.jpg", "broken symlink")]


def test_symlink_cycle_terminates(tmp_path: Path) -> None:
    root = tmp_path / "r"
    touch(root / "a" / "x.jpg")
    (root / "a" / "loop").symlink_to(root, target_is_directory=True)
    (root / "a" / "self").symlink_to(root / "a", target_is_directory=True)
    files, problems = run(root, follow_symlinks=True)
    assert files == ["a/x.jpg"]
    assert sorted(p.rel_path for p in problems) == ["a/loop", "a/self"]
    assert all("loop" in p.reason for p in problems)


@contextmanager
def _listing(entries: list[os.DirEntry[str]]) -> Iterator[Iterator[os.DirEntry[str]]]:
    yield iter(entries)


def test_permission_denied_simulated(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_scandir = os.scandir
    locked = os.fspath(tree / "2023" / "trip")

    def fake_scandir(path):  # type: ignore[no-untyped-def]
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(scan_mod.os, "scandir", fake_scandir)
    files, problems = run(tree)
    assert files == ["empty.png", "top.jpg", "2023/IMG_1.JPG", "2023/img_2.Png"]
    assert problems == [ScanProblem("2023/trip", "permission denied")]


def test_permission_denied_on_root_is_reported_not_raised(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_scandir(path):  # type: ignore[no-untyped-def]
        raise PermissionError(13, "Permission denied", os.fspath(path))

    monkeypatch.setattr(scan_mod.os, "scandir", fake_scandir)
    assert run(tree) == ([], [ScanProblem("", "permission denied")])


_SCAN_AS_A_USER = """
import json, sys
from pathlib import Path
from vitrieve.indexer.scan import scan_tree
problems, extensions = [], set(json.loads(sys.argv[2]))
found = scan_tree(Path(sys.argv[1]), on_problem=problems.append, extensions=extensions)
files = [f.rel_path for f in found]
print(json.dumps([files, [[p.rel_path, p.reason] for p in problems]]))
"""


def run_unprivileged(root: Path) -> tuple[list[str], list[ScanProblem]]:
    """`run(root)` in a child process of an unprivileged user, for whom modes count."""
    argv = [sys.executable, "-c", _SCAN_AS_A_USER, str(root), json.dumps(sorted(EXTS))]
    proc = subprocess.run(as_unprivileged(argv), capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    files, problems = json.loads(proc.stdout)
    return files, [ScanProblem(*p) for p in problems]


def test_permission_denied_real_chmod(tree: Path) -> None:
    with reachable_tmp() as folder:
        root = Path(shutil.copytree(tree, folder / "photos"))
        locked = root / "2023" / "trip"
        locked.chmod(0)
        try:
            files, problems = run_unprivileged(root)
        finally:
            locked.chmod(0o755)
    assert files == ["empty.png", "top.jpg", "2023/IMG_1.JPG", "2023/img_2.Png"]
    assert problems == [ScanProblem("2023/trip", "permission denied")]


def test_file_vanishing_between_listing_and_stat(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_scandir = os.scandir
    victim = tree / "2023" / "IMG_1.JPG"

    def fake_scandir(path):  # type: ignore[no-untyped-def]
        with real_scandir(path) as it:
            entries = list(it)
        if os.fspath(path) == os.fspath(victim.parent):
            victim.unlink()  # listed, then gone before the scanner stats it
        return _listing(entries)

    monkeypatch.setattr(scan_mod.os, "scandir", fake_scandir)
    files, problems = run(tree)
    assert "2023/IMG_1.JPG" not in files and "2023/img_2.Png" in files
    assert problems == [ScanProblem("2023/IMG_1.JPG", "vanished during scan")]


def test_dir_vanishing_between_listing_and_scan(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_scandir = os.scandir
    doomed = tree / "2023" / "trip"

    def fake_scandir(path):  # type: ignore[no-untyped-def]
        with real_scandir(path) as it:
            entries = list(it)
        if os.fspath(path) == os.fspath(doomed.parent):
            for p in sorted(doomed.rglob("*"), reverse=True):
                p.rmdir() if p.is_dir() else p.unlink()
            doomed.rmdir()
        return _listing(entries)

    monkeypatch.setattr(scan_mod.os, "scandir", fake_scandir)
    files, problems = run(tree)
    assert files == ["empty.png", "top.jpg", "2023/IMG_1.JPG", "2023/img_2.Png"]
    assert problems == [ScanProblem("2023/trip", "vanished during scan")]


def test_fifo_with_image_extension_skipped(tmp_path: Path) -> None:
    root = tmp_path / "r"
    touch(root / "a.jpg")
    os.mkfifo(root / "x.jpg")
    os.mkfifo(root / "pipe.txt")  # not an image: ignored without a report
    assert run(root) == (["a.jpg"], [ScanProblem("x.jpg", "not a regular file")])


def test_problems_logged_when_no_callback(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "r"
    root.mkdir()
    os.mkfifo(root / "x.jpg")
    assert list(scan_tree(root, extensions=EXTS)) == []
    assert "not a regular file" in caplog.text


def test_deep_tree_does_not_recurse(tmp_path: Path) -> None:
    # A tree deeper than the (temporarily lowered) recursion limit: a recursive walker
    # dies, the explicit stack does not. Kept shallow so tmp_path cleanup (rmtree) is safe.
    depth = 300
    root = tmp_path / "r"
    (root / "/".join(["d"] * depth)).mkdir(parents=True)
    touch(root / "/".join(["d"] * depth) / "z.jpg")
    frames, f = 0, sys._getframe()
    while f is not None:
        frames, f = frames + 1, f.f_back
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(frames + 100)
    try:
        files = run(root)[0]
    finally:
        sys.setrecursionlimit(old)
    assert files == ["d/" * depth + "z.jpg"]
