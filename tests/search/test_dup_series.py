"""Bursts are "series", not copies: near-duplicates from one camera at one resolution shot
seconds apart form a group of kind "series" whose suggested keeper is its best shot (the
sharpest, weighted by exposure), while the same pictures hours apart stay a copy set. Real
files through the real pipeline (tiny ViT); `dup_series_seconds` 0 turns series off."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.support import T0, TINY_VIT, burst, real_photo
from vitrieve.core.config import Settings
from vitrieve.indexer.catalog import ImageSummary
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.indexer.photo_facts import PhotoFacts
from vitrieve.search.duplicates.find import DupReport, find_duplicates
from vitrieve.search.duplicates.groups import DupGroup
from vitrieve.search.duplicates.keeper import ImageFacts
from vitrieve.search.duplicates.series import burst_clusters, split_series
from vitrieve.search.duplicates.vectors import VectorSet
from vitrieve.tables.catalog import ImageStatus

NEAR = 0.99


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("series") / "photos"
    burst(root / "burst", real_photo("astronaut"), timedelta(seconds=1))
    burst(root / "hours", real_photo("coffee"), timedelta(hours=1))
    return root


@pytest.fixture(scope="module")
def ingested_home(folders, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("series-home") / "home"
    settings = Settings(
        home=home, model=str(TINY_VIT), precision="fp32", runtime="torch", batch_size=4
    )
    with Library(settings) as lib:
        assert ingest(lib, [folders]).embedded == 6
    return home


def groups_in(report: DupReport, folder: str) -> list[DupGroup]:
    return [g for g in report.groups if all(f"/{folder}/" in m.path for m in g.members)]


def names(group: DupGroup) -> list[str]:
    return [Path(m.path).name for m in group.members]


def test_shots_a_second_apart_are_one_series_kept_by_its_sharpest_shot(lib):
    [series] = groups_in(find_duplicates(lib, threshold=NEAR), "burst")
    assert series.kind == "series"
    assert names(series)[0] == "IMG_0001.jpg"  # the sharp frame, not the finest-saved one
    assert series.keeper_reason.startswith("sharpest shot of the series (sharpness ")
    assert sorted(names(series)) == ["IMG_0000.jpg", "IMG_0001.jpg", "IMG_0002.jpg"]
    sharp = [m.photo.sharpness for m in series.members]
    assert all(s is not None for s in sharp) and sharp[0] == max(sharp)
    assert all(m.photo.camera == "Canon EOS R6" for m in series.members)


def test_the_same_shots_an_hour_apart_are_copies_kept_by_the_copy_rule(lib):
    [copies] = groups_in(find_duplicates(lib, threshold=NEAR), "hours")
    assert copies.kind == "copies"
    assert names(copies)[0] == "IMG_0000.jpg"  # q98: the least lossy encoding
    assert copies.keeper_reason.startswith("least lossy encoding (JPEG q98")


def test_series_seconds_zero_turns_series_off(lib, settings):
    with Library(settings.model_copy(update={"dup_series_seconds": 0.0})) as off:
        report = find_duplicates(off, threshold=NEAR)
    [group] = groups_in(report, "burst")
    assert group.kind == "copies"
    assert names(group)[0] == "IMG_0000.jpg"


def test_the_window_is_the_setting(lib, settings):
    with Library(settings.model_copy(update={"dup_series_seconds": 7200.0})) as wide:
        report = find_duplicates(wide, threshold=NEAR)
    assert [g.kind for g in groups_in(report, "hours")] == ["series"]


# -- how a group splits, on facts ----------------------------------------------------------


def shot(i, seconds, *, camera="Canon EOS R6", sharp=100.0, w=600, h=400, **more) -> ImageFacts:
    taken = T0 + timedelta(seconds=seconds) if seconds is not None else None
    image = ImageSummary(
        i,
        "/p",
        f"{i}.jpg",
        1000 + i,
        0,
        w,
        h,
        "JPEG",
        taken,
        ImageStatus.EMBEDDED,
        f"c{i}",
        f"p{i}",
    )
    return ImageFacts(
        image, PhotoFacts(camera=camera, sharpness=sharp, **({"exposure": 1.0} | more))
    )


def split(*members: ImageFacts, seconds: float = 3.0, keepers=frozenset()) -> list[DupGroup]:
    facts = {m.image_id: m for m in members}
    return split_series(list(facts), facts, set(keepers), None, seconds)


def test_a_burst_needs_two_different_shots_of_one_camera_and_resolution():
    assert burst_clusters([shot(1, 0), shot(2, 1)], 3.0) != []
    assert burst_clusters([shot(1, 0), shot(2, 1, camera="Pixel 8")], 3.0) == []
    assert burst_clusters([shot(1, 0), shot(2, 1, w=300, h=200)], 3.0) == []
    assert burst_clusters([shot(1, 0), shot(2, 1, camera=None)], 3.0) == []
    assert burst_clusters([shot(1, 0), shot(2, None)], 3.0) == []
    byte_copy = copy_of(shot(1, 0), 2, "/b", "1.jpg")
    assert burst_clusters([shot(1, 0), byte_copy], 3.0) == []  # one shot, twice
    edited = shot(2, 0, software="Adobe Photoshop 25.0")
    assert burst_clusters([shot(1, 0), edited], 3.0) == []  # an edit, not a second shot


def copy_of(f: ImageFacts, image_id: int, root: str, rel_path: str) -> ImageFacts:
    """The same file's facts under another id and path (a byte-identical copy)."""
    image = replace(f.image, image_id=image_id, root=root, rel_path=rel_path)
    return replace(f, image=image)


def test_capture_times_chain_within_the_window():
    [chain] = burst_clusters([shot(1, 0), shot(2, 3), shot(3, 6), shot(4, 60)], 3.0)
    assert [m.image_id for m in chain] == [1, 2, 3]


def test_the_best_shot_weighs_sharpness_by_exposure():
    [g] = split(shot(1, 0, sharp=100), shot(2, 1, sharp=90))
    assert (g.kind, g.members[0].image_id) == ("series", 1)
    burnt = shot(1, 0, sharp=100, exposure=0.3)
    [g] = split(burnt, shot(2, 1, sharp=90))
    assert g.members[0].image_id == 2
    assert g.keeper_reason.startswith("best exposed shot of the series (exposure 1.00 vs 0.30")


def test_a_users_keeper_wins_in_a_series_too():
    [g] = split(shot(1, 0, sharp=100), shot(2, 1, sharp=10), keepers={2})
    assert g.members[0].image_id == 2
    assert g.keeper_reason == "you chose it (vitrieve dups keep)"


def test_a_single_leftover_joins_the_series_after_its_shots():
    export = shot(9, None, camera=None, sharp=500, w=1200, h=800)  # a bigger, EXIF-less export
    [g] = split(shot(1, 0, sharp=100), shot(2, 1, sharp=50), export)
    assert g.kind == "series"
    assert [m.image_id for m in g.members] == [1, 2, 9]


def test_leftovers_holding_the_groups_keeper_stay_a_copy_set_around_it():
    left = [shot(8, None, camera=None, w=1200, h=800), shot(9, None, camera=None, w=1200, h=800)]
    series, copies = split(shot(1, 0), shot(2, 1), *left)
    assert (series.kind, sorted(m.image_id for m in series.members)) == ("series", [1, 2])
    assert (copies.kind, [m.image_id for m in copies.members]) == ("copies", [9, 8])
    assert copies.group == 9  # named by its keeper


def test_leftovers_of_a_group_kept_by_a_shot_are_listed_in_its_series():
    left = [shot(8, None, camera=None, w=300, h=200), shot(9, None, camera=None, w=300, h=200)]
    [series] = split(shot(1, 0, sharp=50), shot(2, 1, sharp=100), *left)
    assert series.kind == "series"
    assert [m.image_id for m in series.members][:2] == [2, 1]
    assert sorted(m.image_id for m in series.members[2:]) == [8, 9]


def test_series_seconds_zero_leaves_the_group_whole():
    [g] = split(shot(1, 0), shot(2, 1), seconds=0)
    assert g.kind == "copies"


# -- a series is centred on its own keeper ---------------------------------------------------


def vectors_at(angles: dict[int, float]) -> VectorSet:
    """One unit vector per image id in a plane, at the given angle (degrees): the cosine of two
    images is the cosine of their angle difference. Images sharing an angle share a row, as
    byte copies share one vector row in the catalog."""
    ids = np.asarray(sorted(angles), np.int64)
    distinct = sorted(set(angles.values()))
    rows = np.asarray([distinct.index(angles[i]) for i in ids.tolist()], np.int64)
    rep_ids = np.asarray([ids[rows == r].min() for r in range(len(distinct))], np.int64)
    rad = np.radians(distinct)
    vecs = np.zeros((len(distinct), 8), np.float16)
    vecs[:, 0], vecs[:, 1] = np.cos(rad), np.sin(rad)
    return VectorSet(ids=ids, rep=rows, rep_ids=rep_ids, vectors=vecs)


def centred_split(members, vectors, *, threshold, ignored=frozenset()) -> list[DupGroup]:
    facts = {m.image_id: m for m in members}
    return split_series(
        list(facts), facts, set(), vectors, 3.0, threshold=threshold, ignored=ignored
    )


def test_a_shot_far_from_the_best_shot_leaves_its_series():
    # 1 is the sharpest shot; 3 is 0.96 from 2 (the group was centred near there) but only
    # cos(32 deg) = 0.85 from 1, below the threshold 0.9
    shots = [shot(1, 0, sharp=100), shot(2, 1, sharp=50), shot(3, 2, sharp=40)]
    vectors = vectors_at({1: 0.0, 2: 16.0, 3: 32.0})
    [series] = centred_split(shots, vectors, threshold=0.9)
    assert series.kind == "series" and series.members[0].image_id == 1
    assert [m.image_id for m in series.members] == [1, 2]
    assert all(m.similarity is not None and m.similarity >= 0.9 for m in series.members)
    without = centred_split(shots, vectors, threshold=None)  # the rule off: 3 stays in
    assert sorted(m.image_id for m in without[0].members) == [1, 2, 3]


def test_exact_copies_of_a_far_shot_stay_grouped_with_each_other_unless_ignored():
    copy = copy_of(shot(3, 2, sharp=40), 4, "/backup", "3.jpg")
    shots = [shot(1, 0, sharp=100), shot(2, 1, sharp=50), shot(3, 2, sharp=40), copy]
    vectors = vectors_at({1: 0.0, 2: 16.0, 3: 32.0, 4: 32.0})
    groups = centred_split(shots, vectors, threshold=0.9)
    [series] = [g for g in groups if g.kind == "series"]
    [copies] = [g for g in groups if g.kind == "copies"]
    assert [m.image_id for m in series.members] == [1, 2]
    assert (copies.kind, sorted(m.image_id for m in copies.members)) == ("copies", [3, 4])
    assert copies.exact
    ignored = frozenset({(3 << 32) | 4})
    [series] = centred_split(shots, vectors, threshold=0.9, ignored=ignored)
    assert [m.image_id for m in series.members] == [1, 2]
