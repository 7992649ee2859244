"""Duplicate groups of a real ingested library: exact ones exactly, near ones by similarity,
keepers by the documented rules, decisions that survive re-ingests.

The library (`dup_library`) is ingested once per session and cloned for each test: real
photos from scikit-image plus byte copies, a renamed copy, lossless re-saves (PNG, TIFF), a
JPEG re-encode, a half-size copy and a crop. The tiny random ViT puts unrelated photos as close
as 0.95, and every true near-duplicate above 0.996, so near-duplicate tests use 0.99.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import func, select

from tests.support import NEAR
from vitrieve.indexer.catalog import ImageSummary
from vitrieve.indexer.ingest import ingest
from vitrieve.search.duplicates.decisions import ignore_pairs, set_keepers
from vitrieve.search.duplicates.find import find_duplicates
from vitrieve.search.duplicates.groups import FORMAT_PREFERENCE, ImageFacts, keeper_rank
from vitrieve.tables.catalog import ImageStatus
from vitrieve.tables.duplicates import DupIgnore

EXACT_GROUPS = {
    frozenset({"coffee.jpg", "backup/coffee.jpg"}),
    frozenset({"astronaut.jpg", "misc/IMG_0001.jpg"}),
    frozenset({"trip/chelsea.png", "chelsea-resaved.png", "archive/chelsea.tiff"}),
}
NEAR_GROUPS = {
    frozenset({"coffee.jpg", "backup/coffee.jpg", "coffee-crop.jpg"}),
    frozenset({"astronaut.jpg", "misc/IMG_0001.jpg"}),
    frozenset({"trip/chelsea.png", "chelsea-resaved.png", "archive/chelsea.tiff"}),
    frozenset({"trip/rocket.png", "rocket-q70.jpg"}),
    frozenset({"trip/camera.png", "camera-half.png"}),
}


def rel_groups(report, photos: Path) -> set[frozenset[str]]:
    return {
        frozenset(Path(m.path).relative_to(photos).as_posix() for m in g.members)
        for g in report.groups
    }


def group_with(report, photos: Path, rel: str):
    (group,) = [g for g in report.groups if str(photos / rel) in [m.path for m in g.members]]
    return group


def rel(path: str, photos: Path) -> str:
    return Path(path).relative_to(photos).as_posix()


def test_exact_groups_are_byte_copies_renamed_copies_and_lossless_resaves(dup_library):
    lib, photos = dup_library
    report = find_duplicates(lib, exact_only=True)
    assert rel_groups(report, photos) == EXACT_GROUPS
    assert all(g.exact for g in report.groups)
    assert all(m.similarity == 1.0 for g in report.groups for m in g.members)
    assert report.threshold is None and report.images == 13


def test_near_duplicates_join_reencodes_resizes_and_crops_to_the_exact_groups(dup_library):
    lib, photos = dup_library
    report = find_duplicates(lib, threshold=NEAR)
    assert rel_groups(report, photos) == NEAR_GROUPS
    rocket = group_with(report, photos, "trip/rocket.png")
    assert not rocket.exact and rocket.members[1].similarity >= NEAR
    coffee = group_with(report, photos, "coffee.jpg")
    sims = {rel(m.path, photos): m.similarity for m in coffee.members}
    assert sims["backup/coffee.jpg"] == 1.0 and NEAR <= sims["coffee-crop.jpg"] < 1.0


def test_a_lower_threshold_merges_more(dup_library):
    lib, photos = dup_library
    loose = find_duplicates(lib, threshold=0.94)  # chelsea and coffee are 0.947 apart
    merged = group_with(loose, photos, "coffee.jpg")
    assert str(photos / "trip" / "chelsea.png") in [m.path for m in merged.members]


def test_keepers_follow_resolution_then_format_then_size_then_age(dup_library):
    lib, photos = dup_library
    report = find_duplicates(lib, threshold=NEAR)
    keepers = {rel(g.keepers[0].path, photos) for g in report.groups}
    assert keepers == {
        "coffee.jpg",  # over the crop (resolution) and the byte copy (older)
        "astronaut.jpg",  # over its renamed copy (older)
        "archive/chelsea.tiff",  # lossless like the PNGs, largest file
        "trip/rocket.png",  # PNG over its JPEG re-encode
        "trip/camera.png",  # over the half-size copy
    }
    assert all(len(g.keepers) == 1 and g.members[0].keeper for g in report.groups)


def facts(image_id=1, w=100, h=100, fmt="JPEG", size=1000, captured=None, mtime=0):
    image = ImageSummary(
        image_id,
        "/",
        str(image_id),
        size,
        mtime,
        w,
        h,
        fmt,
        captured,
        ImageStatus.EMBEDDED,
        None,
        None,
    )
    return ImageFacts(image)


def test_keeper_rules_apply_in_their_documented_order():
    from datetime import datetime

    def best(*candidates):
        return min(candidates, key=keeper_rank).image_id

    assert best(facts(1, w=100, fmt="PNG", size=9999), facts(2, w=200, fmt="GIF")) == 2
    assert best(facts(1, fmt="JPEG", size=9999), facts(2, fmt="PNG", size=10)) == 2
    assert best(facts(1, fmt="WEBP", size=9999), facts(2, fmt="JPEG", size=10)) == 2
    assert best(facts(1, size=10, mtime=0), facts(2, size=20, mtime=9)) == 2
    old, new = datetime(2001, 1, 1), datetime(2020, 1, 1)
    assert best(facts(1, captured=new, mtime=0), facts(2, captured=old, mtime=9)) == 2
    assert best(facts(1, captured=None, mtime=0), facts(2, captured=new, mtime=9)) == 2
    assert best(facts(1, mtime=9), facts(2, mtime=0)) == 2
    assert best(facts(3), facts(2)) == 2
    assert FORMAT_PREFERENCE["TIFF"] < FORMAT_PREFERENCE["HEIF"] < FORMAT_PREFERENCE["JPEG"]


def test_user_keepers_override_the_rules_and_survive_a_reingest(dup_library):
    lib, photos = dup_library
    coffee = group_with(find_duplicates(lib, threshold=NEAR), photos, "coffee.jpg")
    crop = next(m for m in coffee.members if m.path.endswith("coffee-crop.jpg"))
    copy = next(m for m in coffee.members if m.path.endswith("backup/coffee.jpg"))
    with lib.sessions.begin() as session:
        set_keepers(session, [crop.image_id, copy.image_id])
    shutil.move(photos / "coffee-crop.jpg", photos / "misc" / "crop-renamed.jpg")
    assert ingest(lib, [photos]).moved == 1
    again = group_with(find_duplicates(lib, threshold=NEAR), photos, "coffee.jpg")
    assert {m.image_id for m in again.keepers} == {crop.image_id, copy.image_id}
    assert [m.keeper for m in again.members] == [True, True, False]
    assert again.members[0].image_id == copy.image_id  # the better of the two is the best


def test_not_duplicates_pairs_split_groups_and_survive_a_reingest(dup_library):
    lib, photos = dup_library
    report = find_duplicates(lib, threshold=NEAR)
    rocket = [m.image_id for m in group_with(report, photos, "trip/rocket.png").members]
    with lib.sessions.begin() as session:
        assert ignore_pairs(session, rocket) == 1
    shutil.move(photos / "rocket-q70.jpg", photos / "misc" / "rocket.jpg")
    assert ingest(lib, [photos]).moved == 1
    after = find_duplicates(lib, threshold=NEAR)
    assert rel_groups(after, photos) == NEAR_GROUPS - {
        frozenset({"trip/rocket.png", "rocket-q70.jpg"})
    }


def test_ignoring_one_pair_of_byte_copies_keeps_them_joined_through_a_third(dup_library):
    lib, photos = dup_library
    chelsea = group_with(find_duplicates(lib, exact_only=True), photos, "trip/chelsea.png")
    ids = sorted(m.image_id for m in chelsea.members)
    with lib.sessions.begin() as session:
        ignore_pairs(session, ids[:2])
    still = group_with(find_duplicates(lib, exact_only=True), photos, "trip/chelsea.png")
    assert sorted(m.image_id for m in still.members) == ids
    with lib.sessions.begin() as session:
        assert ignore_pairs(session, ids) == 2  # the whole group: the two pairs not yet stored
        assert session.scalar(select(func.count()).select_from(DupIgnore)) == 3
    gone = find_duplicates(lib, exact_only=True)
    assert rel_groups(gone, photos) == EXACT_GROUPS - {
        frozenset({"trip/chelsea.png", "chelsea-resaved.png", "archive/chelsea.tiff"})
    }


def test_missing_and_failed_images_never_appear_in_groups(dup_library):
    lib, photos = dup_library
    (photos / "backup" / "coffee.jpg").unlink()
    (photos / "coffee-broken.jpg").write_bytes((photos / "coffee.jpg").read_bytes()[:2000])
    summary = ingest(lib, [photos])
    assert summary.missing == 1 and summary.failed == 1
    report = find_duplicates(lib, threshold=NEAR)
    paths = {m.path for g in report.groups for m in g.members}
    assert str(photos / "backup" / "coffee.jpg") not in paths
    assert str(photos / "coffee-broken.jpg") not in paths
    assert frozenset({"coffee.jpg", "coffee-crop.jpg"}) in rel_groups(report, photos)


def test_group_ids_are_the_keepers_id_and_stable_across_runs(dup_library):
    lib, _ = dup_library
    first = find_duplicates(lib, threshold=NEAR)
    assert all(g.group == g.keepers[0].image_id for g in first.groups)
    assert [g.group for g in find_duplicates(lib, threshold=NEAR).groups] == [
        g.group for g in first.groups
    ]


def test_statuses_are_what_ingest_left(dup_library):
    lib, _ = dup_library
    from vitrieve.indexer.catalog import status_counts

    with lib.sessions() as session:
        assert status_counts(session)[ImageStatus.EMBEDDED.value] == 13
