"""Quarantine moves non-keepers, records every move before and after, and undo loses nothing,
even when the process dies in the middle of a move."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support import NEAR, clone_library
from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates import moves as dup_files
from vitrieve.search.duplicates.find import find_duplicates
from vitrieve.search.duplicates.quarantine import apply_quarantine, plan_quarantine, reconcile_moves
from vitrieve.search.duplicates.undo import undo_quarantine
from vitrieve.tables.catalog import Image, ImageStatus
from vitrieve.tables.duplicates import MoveState, QuarantineMove


@pytest.fixture
def library(dup_template, tmp_path):
    photos, settings = clone_library(dup_template, tmp_path / "lib")
    with Library(settings) as lib:
        yield lib, photos, settings


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under folder."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def moves(lib) -> list[tuple[str, MoveState]]:
    with lib.sessions() as session:
        return [
            (Path(r.src_path).name, MoveState(r.state))
            for r in session.scalars(select(QuarantineMove).order_by(QuarantineMove.id))
        ]


def statuses(lib) -> dict[str, ImageStatus]:
    with lib.sessions() as session:
        return {r: ImageStatus(s) for r, s in session.execute(select(Image.rel_path, Image.status))}


NON_KEEPERS = [
    "backup/coffee.jpg",
    "camera-half.png",
    "chelsea-resaved.png",
    "coffee-crop.jpg",
    "misc/IMG_0001.jpg",
    "rocket-q70.jpg",
    "trip/chelsea.png",
]


def test_dry_run_plan_mirrors_relative_paths_and_moves_nothing(library, tmp_path):
    lib, photos, _ = library
    before = snapshot(photos)
    plan = plan_quarantine(lib, find_duplicates(lib, threshold=NEAR).groups, tmp_path / "q")
    assert sorted(m.src.relative_to(photos).as_posix() for m in plan) == NON_KEEPERS
    assert all(m.dst == tmp_path / "q" / "photos" / m.src.relative_to(photos) for m in plan)
    assert snapshot(photos) == before and not (tmp_path / "q").exists() and moves(lib) == []


def test_quarantine_then_undo_restores_every_file_and_its_searchability(library, tmp_path):
    lib, photos, _ = library
    before = snapshot(photos)
    ids_before = set(lib.index().ids().tolist())
    plan = plan_quarantine(lib, find_duplicates(lib, threshold=NEAR).groups, tmp_path / "q")
    report = apply_quarantine(lib, plan)

    assert len(report.done) == 7 and report.problems == []
    assert files_in(tmp_path / "q" / "photos") == NON_KEEPERS
    for rel in NON_KEEPERS:
        assert before[rel] == snapshot(tmp_path / "q" / "photos")[rel]
    assert set(files_in(photos)) == set(before) - set(NON_KEEPERS)
    assert {s for _, s in moves(lib)} == {MoveState.MOVED}
    assert {statuses(lib)[r] for r in NON_KEEPERS} == {ImageStatus.MISSING}
    assert len(lib.index()) == 13 - 7
    assert find_duplicates(lib, threshold=NEAR).groups == []
    assert ingest(lib, [photos]).missing == 0  # already known to be gone

    undone = undo_quarantine(lib)
    assert undone.batch == report.batch and len(undone.done) == 7 and undone.problems == []
    assert snapshot(photos) == before and files_in(tmp_path / "q") == []
    assert set(statuses(lib).values()) == {ImageStatus.EMBEDDED}
    assert set(lib.index().ids().tolist()) == ids_before
    assert ingest(lib, [photos]).unchanged == 13  # same rows, nothing to redo
    with pytest.raises(VitrieveError, match="nothing to undo"):
        undo_quarantine(lib)


def test_undo_removes_the_folders_the_quarantine_made_and_nothing_else(library, tmp_path):
    lib, _, _ = library
    dest = tmp_path / "q"
    (dest / "mine" / "empty").mkdir(parents=True)  # the user's own, before the quarantine
    (dest / "notes.txt").write_text("kept")
    plan = plan_quarantine(lib, find_duplicates(lib, threshold=NEAR).groups, dest)
    apply_quarantine(lib, plan)
    assert (dest / "photos" / "backup").is_dir() and (dest / "photos" / "trip").is_dir()

    undo_quarantine(lib)

    left = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*"))
    assert left == ["mine", "mine/empty", "notes.txt"]


CRASHING_QUARANTINE = """
import os
from pathlib import Path
from vitrieve.core.config import Settings
from vitrieve.indexer.library import Library
import vitrieve.search.duplicates.quarantine as actions
from vitrieve.search.duplicates.find import find_duplicates

real_move, calls = actions.move_file, []

def move_then_die(src, dst):
    real_move(src, dst)
    calls.append(src)
    if len(calls) == {crash_after}:
        os._exit(9)  # killed after the move, before SQL records it

actions.move_file = move_then_die
lib = Library(Settings())
groups = find_duplicates(lib, threshold={threshold}).groups
actions.apply_quarantine(lib, actions.plan_quarantine(lib, groups, Path({dest!r})))
"""


def run_crashing_quarantine(settings, dest: Path, crash_after: int) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITRIEVE_")}
    env |= {
        "VITRIEVE_HOME": str(settings.home),
        "VITRIEVE_MODEL": settings.model,
        "VITRIEVE_PRECISION": "fp32",
        "VITRIEVE_RUNTIME": "torch",
    }
    code = textwrap.dedent(CRASHING_QUARANTINE).format(
        crash_after=crash_after, threshold=NEAR, dest=str(dest)
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 9, proc.stderr[-3000:]
    return proc.returncode


def test_a_crash_mid_move_loses_nothing_and_undo_restores_every_file(library, tmp_path):
    lib, photos, settings = library
    before = snapshot(photos)
    assert run_crashing_quarantine(settings, tmp_path / "q", crash_after=3) == 9
    # Two moves recorded, the third moved on disk but still `planned` in SQL.
    assert [s for _, s in moves(lib)] == [MoveState.MOVED] * 2 + [MoveState.PLANNED]
    assert len(files_in(tmp_path / "q")) == 3
    assert set(before) == set(files_in(photos)) | set(
        p.removeprefix("photos/") for p in files_in(tmp_path / "q")
    )

    report = undo_quarantine(lib)  # settles the planned move first, then restores all three
    assert len(report.done) == 3 and report.problems == []
    assert snapshot(photos) == before and files_in(tmp_path / "q") == []
    assert {s for _, s in moves(lib)} == {MoveState.RESTORED}
    assert set(statuses(lib).values()) == {ImageStatus.EMBEDDED}


def planned_row(lib, src: Path, dst: Path) -> int:
    with lib.sessions.begin() as session:
        row = QuarantineMove(batch="b1", src_path=str(src), dst_path=str(dst))
        session.add(row)
        session.flush()
        return row.id


def test_reconcile_settles_planned_moves_by_where_the_file_is(library, tmp_path):
    lib, photos, _ = library
    q = tmp_path / "q"
    q.mkdir()
    moved, kept, linked, lost = (
        photos / n for n in ("coffee.jpg", "camera-half.png", "rocket-q70.jpg", "gone.jpg")
    )
    data = {p: p.read_bytes() for p in (moved, kept, linked)}
    os.rename(moved, q / "moved.jpg")  # crash after the move
    os.link(linked, q / "linked.jpg")  # crash between hard link and unlink
    planned_row(lib, moved, q / "moved.jpg")
    planned_row(lib, kept, q / "kept.png")  # crash before the move
    planned_row(lib, linked, q / "linked.jpg")
    planned_row(lib, lost, q / "lost.jpg")  # neither here nor there

    notes = reconcile_moves(lib)
    assert len(notes) == 4
    assert [s for _, s in moves(lib)] == [
        MoveState.MOVED,
        MoveState.FAILED,
        MoveState.MOVED,
        MoveState.FAILED,
    ]
    assert (q / "moved.jpg").read_bytes() == data[moved] and not moved.exists()
    assert kept.read_bytes() == data[kept] and not (q / "kept.png").exists()
    assert (q / "linked.jpg").read_bytes() == data[linked] and not linked.exists()
    assert reconcile_moves(lib) == []  # nothing planned is left


def test_existing_files_are_never_overwritten_either_way(library, tmp_path):
    lib, photos, _ = library
    q = tmp_path / "q"
    (q / "photos").mkdir(parents=True)
    (q / "photos" / "rocket-q70.jpg").write_bytes(b"someone else's file")
    plan = plan_quarantine(lib, find_duplicates(lib, threshold=NEAR).groups, q)
    apply_quarantine(lib, plan)
    assert (q / "photos" / "rocket-q70.jpg").read_bytes() == b"someone else's file"
    assert (q / "photos" / "rocket-q70~1.jpg").exists()

    (photos / "camera-half.png").write_bytes(b"a new file at the old path")
    report = undo_quarantine(lib)
    assert [Path(p).name for p, _ in report.problems] == ["camera-half.png"]
    assert (photos / "camera-half.png").read_bytes() == b"a new file at the old path"
    assert (q / "photos" / "camera-half.png").exists()  # still safe in quarantine
    assert len(report.done) == 6


def test_quarantine_inside_a_library_root_is_refused(library):
    lib, photos, _ = library
    groups = find_duplicates(lib, threshold=NEAR).groups
    with pytest.raises(VitrieveError, match="outside every library root"):
        plan_quarantine(lib, groups, photos / "quarantine")
    with pytest.raises(VitrieveError, match="outside every library root"):
        plan_quarantine(lib, groups, photos.parent)


def test_a_file_changed_since_it_was_indexed_is_not_moved(library, tmp_path):
    lib, photos, _ = library
    plan = plan_quarantine(lib, find_duplicates(lib, threshold=NEAR).groups, tmp_path / "q")
    with open(photos / "coffee-crop.jpg", "ab") as f:
        f.write(b"edited")
    report = apply_quarantine(lib, plan)
    assert [(Path(p).name, why) for p, why in report.problems] == [
        ("coffee-crop.jpg", "not moved: changed since it was indexed")
    ]
    assert (photos / "coffee-crop.jpg").exists() and len(report.done) == 6


@pytest.mark.parametrize("link_error", [errno.EXDEV, errno.EPERM], ids=["other-fs", "no-links"])
def test_moves_without_hard_links_keep_bytes_and_time_and_never_overwrite(
    tmp_path, monkeypatch, link_error
):
    def refuse(src, dst):
        raise OSError(link_error, os.strerror(link_error))

    monkeypatch.setattr(dup_files.os, "link", refuse)
    src, dst = tmp_path / "a" / "one.jpg", tmp_path / "q" / "sub" / "one.jpg"
    src.parent.mkdir()
    src.write_bytes(b"picture")
    os.utime(src, ns=(1_000_000_000, 1_234_567_890_123_456_789))
    dup_files.move_file(src, dst)
    assert not src.exists() and dst.read_bytes() == b"picture"
    assert dst.stat().st_mtime_ns == 1_234_567_890_123_456_789
    assert [p.name for p in dst.parent.iterdir()] == ["one.jpg"]  # no partial copy left

    src.write_bytes(b"another picture")
    with pytest.raises(FileExistsError):
        dup_files.move_file(src, dst)
    assert src.read_bytes() == b"another picture" and dst.read_bytes() == b"picture"
    assert [p.name for p in dst.parent.iterdir()] == ["one.jpg"]
