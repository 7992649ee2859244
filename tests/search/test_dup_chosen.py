"""A quarantine plan of hand-picked files (search/duplicates/chosen.py): files that are no copy
of anything move through the duplicates' plan, apply and undo, and come back byte for byte;
a reference folder, a folder inside a root and a file already gone are refused with why."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.catalog import image_id_of_path
from vitrieve.search.duplicates.chosen import CHOSEN, plan_chosen
from vitrieve.search.duplicates.quarantine import apply_quarantine
from vitrieve.search.duplicates.reference import set_reference
from vitrieve.search.duplicates.undo import undo_quarantine
from vitrieve.tables.catalog import Image, ImageStatus


def ids_of(lib, *paths: Path) -> list[int]:
    with lib.sessions() as session:
        return [image_id_of_path(session, p) for p in paths]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_chosen_files_are_planned_moved_and_undone_byte_identically(dup_library, tmp_path):
    lib, photos = dup_library
    picked = [photos / "astronaut.jpg", photos / "trip" / "rocket.png"]  # keepers, not copies
    before = {p: (digest(p), p.stat().st_mtime_ns) for p in picked}
    dest = tmp_path / "quarantine"

    ids = ids_of(lib, *picked)
    plan = plan_chosen(lib, ids, dest)
    assert [m.src for m in plan] == picked  # in the order chosen
    assert [m.dst for m in plan] == [
        dest / "photos" / "astronaut.jpg",
        dest / "photos" / "trip" / "rocket.png",
    ]
    assert {m.reason for m in plan} == {CHOSEN} and plan.totals.by_reason[CHOSEN]["files"] == 2
    assert [(g.kind, g.keeper_id) for g in plan.groups] == [(CHOSEN, None)]
    assert all(p.exists() for p in picked) and not dest.exists()  # a dry run

    done = apply_quarantine(lib, plan)
    assert (len(done.done), done.problems, done.not_moved) == (2, [], 0)
    assert not any(p.exists() for p in picked)
    with lib.sessions() as session:
        statuses = {session.get(Image, i).status for i in ids}
    assert statuses == {ImageStatus.MISSING}

    back = undo_quarantine(lib, done.batch)
    assert len(back.done) == 2 and not back.problems
    assert {p: (digest(p), p.stat().st_mtime_ns) for p in picked} == before
    assert not dest.exists() or not any(dest.rglob("*"))  # nothing left behind


def test_a_reference_folder_photo_is_left_in_place_with_why(dup_library, tmp_path):
    lib, photos = dup_library
    backup, plain = photos / "backup" / "coffee.jpg", photos / "coffee-crop.jpg"
    set_reference(lib, photos / "backup")
    plan = plan_chosen(lib, ids_of(lib, backup, plain), tmp_path / "q")
    assert [m.src for m in plan] == [plain]
    [left] = plan.left
    assert left.path == str(backup)
    assert left.why == f"in the reference folder {photos / 'backup'} (always kept)"


def test_a_file_already_quarantined_is_not_planned_again(dup_library, tmp_path):
    lib, photos = dup_library
    ids = ids_of(lib, photos / "coffee-crop.jpg")
    apply_quarantine(lib, plan_chosen(lib, ids, tmp_path / "q"))
    again = plan_chosen(lib, ids, tmp_path / "q")
    assert not again.moves
    assert [x.why for x in again.left] == ["already quarantined or gone from disk"]


def test_the_quarantine_folder_must_be_outside_every_root(dup_library):
    lib, photos = dup_library
    with pytest.raises(VitrieveError, match="must be outside every library root"):
        plan_chosen(lib, ids_of(lib, photos / "coffee-crop.jpg"), photos / "quarantine")
