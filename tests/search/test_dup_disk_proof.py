"""Quarantine believes the disk, not only the catalog: a copy moves only while it still holds
the bytes it was grouped by and its keeper is on disk, readable and unchanged; the quarantine
folder is never inside the data directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import NEAR, clone_library
from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.find import find_duplicates
from vitrieve.search.duplicates.quarantine import apply_quarantine, plan_quarantine
from vitrieve.search.duplicates.undo import undo_quarantine

CHANGED = "not moved: changed since it was indexed"


@pytest.fixture
def library(dup_template, tmp_path):
    photos, settings = clone_library(dup_template, tmp_path / "lib")
    with Library(settings) as lib:
        yield lib, photos, settings


def plan_of(lib, dest: Path):
    return plan_quarantine(lib, find_duplicates(lib, threshold=NEAR).groups, dest)


def rewrite_keeping_size_and_time(path: Path) -> None:
    """Other bytes of the same length, with the old modification time put back (rsync -t,
    touch -r, a restore from backup)."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(255 - b for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)


def reasons(report, photos: Path) -> dict[str, str]:
    return {Path(p).relative_to(photos).as_posix(): why for p, why in report.problems}


def test_a_copy_rewritten_with_its_size_and_time_kept_is_not_moved(library, tmp_path):
    lib, photos, _ = library
    plan = plan_of(lib, tmp_path / "q")
    by_name = {m.src.relative_to(photos).as_posix(): m for m in plan}
    # one of each kind of copy: identical bytes, identical pixels, near
    changed = ["backup/coffee.jpg", "chelsea-resaved.png", "rocket-q70.jpg"]
    assert [by_name[n].reason for n in changed] == ["bytes", "pixels", "near"]
    for name in changed:
        rewrite_keeping_size_and_time(photos / name)
    edited = {n: (photos / n).read_bytes() for n in changed}

    report = apply_quarantine(lib, plan)
    assert reasons(report, photos) == dict.fromkeys(changed, CHANGED)
    assert report.not_moved == 3 and len(report.done) == len(plan) - 3
    assert {n: (photos / n).read_bytes() for n in changed} == edited  # left where they were
    assert not any((tmp_path / "q" / "photos" / n).exists() for n in changed)


def keeper_group(plan, photos: Path, keeper: str) -> list[str]:
    return sorted(
        m.src.relative_to(photos).as_posix() for m in plan if m.keeper_path == str(photos / keeper)
    )


def break_keeper(path: Path, how: str) -> None:
    if how == "deleted":
        path.unlink()
    elif how == "rewritten":
        rewrite_keeping_size_and_time(path)
    else:  # a FIFO where the photo was: unreadable, and reading it must not hang
        path.unlink()
        os.mkfifo(path)


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("deleted", "is missing"),
        ("rewritten", "changed on disk since indexing"),
        ("fifo", "is unreadable (not a regular file (FIFO))"),
    ],
)
def test_a_group_whose_keeper_is_gone_or_changed_keeps_all_its_copies(library, tmp_path, how, said):
    lib, photos, _ = library
    plan = plan_of(lib, tmp_path / "q")  # planned while the keeper was there
    copies = keeper_group(plan, photos, "coffee.jpg")
    assert copies == ["backup/coffee.jpg", "coffee-crop.jpg"]
    before = {n: (photos / n).read_bytes() for n in copies}
    break_keeper(photos / "coffee.jpg", how)  # outside vitrieve, no re-ingest

    report = apply_quarantine(lib, plan)
    keeper = photos / "coffee.jpg"
    why = f"not moved: its keeper {keeper} {said}; re-ingest its folder and plan again"
    assert reasons(report, photos) == dict.fromkeys(copies, why)
    assert {n: (photos / n).read_bytes() for n in copies} == before  # the picture is still here
    assert report.not_moved == 2 and len(report.done) == len(plan) - 2  # other groups moved
    assert sorted(m.group for m in report.done) == sorted(
        m.group for m in plan if m.keeper_path != str(photos / "coffee.jpg")
    )
    assert len(undo_quarantine(lib).done) == len(plan) - 2


def test_a_quarantine_folder_inside_the_data_directory_is_refused(library, tmp_path):
    lib, _, settings = library
    groups = find_duplicates(lib, threshold=NEAR).groups
    for dest in (settings.home / "quar", settings.home):
        with pytest.raises(VitrieveError) as refused:
            plan_quarantine(lib, groups, dest)
        assert str(refused.value) == (
            f"{dest}: the quarantine folder must be outside the vitrieve data directory "
            f"{settings.home} (deleting it to reset vitrieve would delete the quarantined "
            "photos with it)"
        )
    assert plan_quarantine(lib, groups, tmp_path / "q")  # beside it is fine
