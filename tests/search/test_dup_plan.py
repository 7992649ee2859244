"""A quarantine plan explains every move (group, keeper, similarity to it, reason, size), obeys
its filters, adds up, and never loses metadata: the keeper inherits the copy's capture time and
manual tags on apply, and undo takes exactly that back."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support import (
    CHAIN_T,
    NEAR,
    camera_exif,
    chain_library,
    clone_library,
    dup_settings,
    real_photo,
    save_camera_jpeg,
)
from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.catalog import ImageSummary
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.indexer.photo_facts import PhotoFacts
from vitrieve.search.duplicates.find import find_duplicates
from vitrieve.search.duplicates.groups import DupMember
from vitrieve.search.duplicates.plan import metadata_keeper_lacks, plan_quarantine
from vitrieve.search.duplicates.quarantine import apply_quarantine, reconcile_moves
from vitrieve.search.duplicates.undo import undo_quarantine
from vitrieve.tables.catalog import Image, ImageStatus
from vitrieve.tables.duplicates import QuarantineMove
from vitrieve.tables.tagging import Tag, TagSource

REASONS = {
    "backup/coffee.jpg": "bytes",
    "misc/IMG_0001.jpg": "bytes",
    "chelsea-resaved.png": "pixels",
    "trip/chelsea.png": "pixels",
    "coffee-crop.jpg": "near",
    "rocket-q70.jpg": "near",
    "camera-half.png": "near",
}
KEEPERS = {
    "backup/coffee.jpg": "coffee.jpg",
    "coffee-crop.jpg": "coffee.jpg",
    "misc/IMG_0001.jpg": "astronaut.jpg",
    "chelsea-resaved.png": "archive/chelsea.tiff",
    "trip/chelsea.png": "archive/chelsea.tiff",
    "rocket-q70.jpg": "trip/rocket.png",
    "camera-half.png": "trip/camera.png",
}


@pytest.fixture
def library(dup_template, tmp_path):
    photos, settings = clone_library(dup_template, tmp_path / "lib")
    with Library(settings) as lib:
        yield lib, photos


def rel(path, photos: Path) -> str:
    return Path(path).relative_to(photos).as_posix()


def state_of(folder: Path) -> dict[str, tuple[str, int]]:
    """Relative path -> (sha256, mtime_ns) of every file under folder."""
    return {
        p.relative_to(folder).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def image_id(lib, rel_path: str) -> int:
    with lib.sessions() as session:
        return session.scalars(select(Image.id).where(Image.rel_path == rel_path)).one()


def test_every_move_names_its_group_keeper_similarity_reason_and_size(library, tmp_path):
    lib, photos = library
    report = find_duplicates(lib, threshold=NEAR)
    plan = plan_quarantine(lib, report.groups, tmp_path / "q", threshold=report.threshold)
    groups = {g.group: g for g in report.groups}

    assert {rel(m.src, photos): m.reason for m in plan.moves} == REASONS
    assert {rel(m.src, photos): rel(m.keeper_path, photos) for m in plan.moves} == KEEPERS
    for m in plan.moves:
        group = groups[m.group]
        assert m.image_id in [x.image_id for x in group.others]
        assert m.keepers[0] == group.keepers[0].image_id and Path(m.keeper_path).exists()
        assert m.similarity is not None and NEAR <= m.similarity <= 1.0
        assert (m.similarity == 1.0) == (m.reason != "near")
        assert m.size == m.src.stat().st_size and m.mtime_ns == m.src.stat().st_mtime_ns
        d = m.to_dict()
        assert d["keeper_id"] == m.keepers[0] and d["reason"] == m.reason
        assert d["similarity"] == m.similarity and d["group"] == m.group
    for g in plan.groups:
        source = groups[g.group]
        assert (g.kind, g.keeper_reason, g.keeper_path) == (
            source.kind,
            source.keeper_reason,
            source.keepers[0].path,
        )
        sims = [m.similarity for m in g.moves]
        assert sims == sorted(sims, reverse=True)  # most certain first


def test_totals_add_up_to_the_moves_and_the_files_on_disk(library, tmp_path):
    lib, photos = library
    plan = plan_quarantine(lib, find_duplicates(lib, threshold=NEAR).groups, tmp_path / "q")
    t = plan.totals
    assert t.files == len(plan) == 7 and t.groups == 5
    assert t.bytes == sum((photos / r).stat().st_size for r in REASONS)
    assert t.by_reason == {
        r: {
            "files": sum(v == r for v in REASONS.values()),
            "bytes": sum((photos / p).stat().st_size for p, v in REASONS.items() if v == r),
        }
        for r in ("bytes", "pixels", "near")
    }
    assert sum(g.size for g in plan.groups) == t.bytes
    assert plan.to_dict()["totals"] == t.to_dict() and plan.left == ()


def test_group_filter_plans_only_the_groups_named_and_names_an_unknown_one(library, tmp_path):
    lib, photos = library
    groups = find_duplicates(lib, threshold=NEAR).groups
    coffee = next(g for g in groups if any(m.path.endswith("/coffee.jpg") for m in g.keepers))
    rocket = next(g for g in groups if "rocket" in g.keepers[0].path)
    plan = plan_quarantine(lib, groups, tmp_path / "q", groups_only=[coffee.group, rocket.group])
    assert sorted(rel(m.src, photos) for m in plan) == [
        "backup/coffee.jpg",
        "coffee-crop.jpg",
        "rocket-q70.jpg",
    ]
    assert {g.group for g in plan.groups} == {coffee.group, rocket.group}
    with pytest.raises(VitrieveError, match="no duplicate group 999999"):
        plan_quarantine(lib, groups, tmp_path / "q", groups_only=[coffee.group, 999999])


def test_exact_only_moves_only_byte_and_pixel_copies_and_says_what_it_left(library, tmp_path):
    lib, photos = library
    plan = plan_quarantine(
        lib, find_duplicates(lib, threshold=NEAR).groups, tmp_path / "q", exact_only=True
    )
    exact = sorted(r for r, why in REASONS.items() if why != "near")
    assert sorted(rel(m.src, photos) for m in plan) == exact
    assert sorted(rel(x.path, photos) for x in plan.left) == sorted(set(REASONS) - set(exact))
    assert all("exact" in x.why for x in plan.left)


def test_min_similarity_keeps_each_move_at_or_above_it_and_leaves_the_rest(library, tmp_path):
    lib, _ = library
    groups = find_duplicates(lib, threshold=NEAR).groups
    every = plan_quarantine(lib, groups, tmp_path / "q")
    near = sorted(m.similarity for m in every if m.reason == "near")
    assert len(near) == 3 and len(set(near)) == 3
    cut = near[1]  # one near copy below, two at or above
    plan = plan_quarantine(lib, groups, tmp_path / "q", min_similarity=cut)
    assert all(m.similarity >= cut for m in plan)
    assert {m.image_id for m in plan} == {
        m.image_id for m in every if m.similarity is not None and m.similarity >= cut
    }
    assert len(plan) == 6 and [x.image_id for x in plan.left] == [
        m.image_id for m in every if m.similarity == near[0]
    ]
    assert plan.totals.files == 6 and plan.to_dict()["filters"]["min_similarity"] == cut


def test_a_member_below_the_threshold_to_its_keeper_is_never_planned(library, tmp_path):
    """Whatever grouped it (a chain A~B~C joins C to A through B), C stays in place."""
    lib, _ = library
    groups = find_duplicates(lib, threshold=NEAR).groups
    rocket = next(g for g in groups if "rocket" in g.keepers[0].path)
    far = dataclasses.replace(rocket.others[0], similarity=0.5)
    chained = dataclasses.replace(rocket, members=(*rocket.keepers, far))
    plan = plan_quarantine(lib, [chained], tmp_path / "q", threshold=NEAR)
    assert list(plan) == [] and [x.image_id for x in plan.left] == [far.image_id]
    assert "below the threshold" in plan.left[0].why


def member(i: int, **kw) -> DupMember:
    image = ImageSummary(
        i, "/p", f"{i}.jpg", 1, 0, 1, 1, "JPEG", kw.pop("captured_at", None),
        ImageStatus.EMBEDDED, None, None,
    )  # fmt: skip
    photo = PhotoFacts(**{k: kw.pop(k) for k in ("camera", "has_gps") if k in kw})
    return DupMember(image, **({"similarity": 1.0, "keeper": False, "photo": photo} | kw))


def test_metadata_the_keeper_lacks_is_each_of_time_camera_gps_and_tags():
    when = datetime(2020, 5, 1, 12, 0, 0)
    keeper = member(1, keeper=True, match="keeper")
    rich = member(2, captured_at=when, camera="Canon EOS 5D", has_gps=True)
    tags = {1: {"cat": 1.0}, 2: {"cat": 1.0, "holiday": 1.0}}
    assert metadata_keeper_lacks(rich, keeper, tags) == (
        ("captured_at", "camera", "gps", "tags"),
        ("holiday",),
    )
    full = member(3, keeper=True, captured_at=when, camera="Nikon", has_gps=True)
    assert metadata_keeper_lacks(rich, full, {1: {}, 3: {"holiday": 1.0}}) == ((), ())


def tag(session, image: int, label: str) -> None:
    session.add(Tag(image_id=image, label=label, source=TagSource.MANUAL, score=1.0))


def manual_labels(lib, image: int) -> set[str]:
    with lib.sessions() as session:
        return set(
            session.scalars(
                select(Tag.label).where(Tag.image_id == image, Tag.source == TagSource.MANUAL)
            )
        )


def captured(lib, image: int):
    with lib.sessions() as session:
        return session.get(Image, image).captured_at


def test_keeper_inherits_capture_time_and_tags_and_undo_takes_them_back(library, tmp_path):
    lib, photos = library
    keeper, copy, crop = (
        image_id(lib, r) for r in ("coffee.jpg", "backup/coffee.jpg", "coffee-crop.jpg")
    )
    when = datetime(2019, 7, 14, 9, 30, 5)
    with lib.sessions.begin() as session:
        session.get(Image, crop).captured_at = when
        tag(session, copy, "holiday")
        tag(session, copy, "coffee")
        tag(session, keeper, "coffee")
    assert captured(lib, keeper) is None
    before = state_of(photos)

    report = find_duplicates(lib, threshold=NEAR)
    plan = plan_quarantine(lib, report.groups, tmp_path / "q", threshold=report.threshold)
    by_id = {m.image_id: m for m in plan}
    assert by_id[crop].metadata_keeper_lacks == ("captured_at",)
    assert by_id[crop].to_dict()["keeper_inherits"] == {
        "tags": [],
        "captured_at": when.isoformat(),
    }
    assert by_id[copy].metadata_keeper_lacks == ("tags",)
    assert by_id[copy].tags_keeper_lacks == ("holiday",)
    assert all(m.metadata_keeper_lacks == () for i, m in by_id.items() if i not in (crop, copy))

    moved = apply_quarantine(lib, plan)
    assert len(moved.done) == 7 and moved.problems == []
    assert captured(lib, keeper) == when
    assert manual_labels(lib, keeper) == {"coffee", "holiday"}
    assert manual_labels(lib, copy) == {"coffee", "holiday"}  # the copy's own row keeps them

    undone = undo_quarantine(lib, moved.batch)
    assert len(undone.done) == 7 and undone.problems == []
    assert captured(lib, keeper) is None and captured(lib, crop) == when
    assert manual_labels(lib, keeper) == {"coffee"}
    assert state_of(photos) == before  # every byte and modification time back
    assert not [p for p in (tmp_path / "q").rglob("*") if p.is_file()]


def test_undo_keeps_a_capture_time_changed_after_the_quarantine(library, tmp_path):
    lib, _ = library
    keeper, crop = image_id(lib, "coffee.jpg"), image_id(lib, "coffee-crop.jpg")
    with lib.sessions.begin() as session:
        session.get(Image, crop).captured_at = datetime(2019, 7, 14, 9, 30, 5)
    groups = find_duplicates(lib, threshold=NEAR).groups
    batch = apply_quarantine(lib, plan_quarantine(lib, groups, tmp_path / "q")).batch
    later = datetime(2021, 1, 2, 3, 4, 5)
    with lib.sessions.begin() as session:
        session.get(Image, keeper).captured_at = later  # the user's (or EXIF's) word since
    undo_quarantine(lib, batch)
    assert captured(lib, keeper) == later


def test_a_move_a_crash_left_planned_still_gives_the_keeper_its_metadata(library, tmp_path):
    """The planned row names the heir, so settling the move after a crash inherits too."""
    lib, photos = library
    keeper, copy = image_id(lib, "coffee.jpg"), image_id(lib, "backup/coffee.jpg")
    with lib.sessions.begin() as session:
        tag(session, copy, "holiday")
        row = QuarantineMove(
            batch="crashed",
            image_id=copy,
            src_path=str(photos / "backup/coffee.jpg"),
            dst_path=str(tmp_path / "q" / "coffee.jpg"),
            inherited={"keeper": keeper},
        )
        session.add(row)
    (tmp_path / "q").mkdir()
    os.rename(photos / "backup/coffee.jpg", tmp_path / "q" / "coffee.jpg")  # then killed
    assert len(reconcile_moves(lib)) == 1
    assert manual_labels(lib, keeper) == {"holiday"}
    undo_quarantine(lib, "crashed")
    assert manual_labels(lib, keeper) == set() and (photos / "backup/coffee.jpg").exists()


def test_a_camera_copy_of_a_larger_png_says_the_keeper_lacks_its_exif(tmp_path):
    """Real files: the PNG wins on resolution, the smaller camera JPEG has capture time, camera
    and GPS; the plan says so, and on apply the keeper inherits the capture time."""
    photos = tmp_path / "photos"
    taken = datetime(2024, 5, 1, 10, 0, 0)
    shot = real_photo("rocket")
    save_camera_jpeg(shot, photos / "IMG_2001.jpg", camera_exif(taken=taken, gps=True))
    shot.resize((shot.width * 2, shot.height * 2)).save(photos / "rocket-big.png")
    with Library(dup_settings(tmp_path / "home")) as lib:
        ingest(lib, [photos])
        report = find_duplicates(lib, threshold=NEAR)
        plan = plan_quarantine(lib, report.groups, tmp_path / "q", threshold=report.threshold)
        (move,) = plan.moves
        assert move.src.name == "IMG_2001.jpg" and Path(move.keeper_path).name == "rocket-big.png"
        assert move.metadata_keeper_lacks == ("captured_at", "camera", "gps")
        assert move.to_dict()["keeper_inherits"] == {"tags": [], "captured_at": taken.isoformat()}
        apply_quarantine(lib, plan)
        assert captured(lib, move.keepers[0]) == taken
        undo_quarantine(lib)
        assert captured(lib, move.keepers[0]) is None


def test_on_a_chain_the_threshold_guard_plans_exactly_the_keeper_centred_moves(
    dup_template,
    tmp_path,
):
    """A~B~C~D at 0.95 a step, threshold 0.90 (tests/search/test_dup_centred.py): C is never
    planned, and the threshold guard still plans B and D (0.95 to their keepers)."""
    lib, (a, b, c, d) = chain_library(dup_template, tmp_path)
    with lib:
        report = find_duplicates(lib, threshold=CHAIN_T)
        plan = plan_quarantine(lib, report.groups, tmp_path / "q", threshold=report.threshold)
    mine = {m.image_id: m for m in plan if m.image_id in (a, b, c, d)}
    assert set(mine) == {b, d} and (mine[b].keepers[0], mine[d].keepers[0]) == (a, c)
    assert all(m.similarity >= CHAIN_T - 1e-6 for m in plan)
    assert not [x for x in plan.left if x.image_id in (a, b, c, d)]
