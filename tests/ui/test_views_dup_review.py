"""The one-group-at-a-time review's view model (ui/views/dup_review.py), free of Streamlit:
where the review stands after a group is removed before or at it, the progress line, and the
groups patched the way a decision changed the catalog."""

from __future__ import annotations

from vitrieve.indexer.catalog import ImageSummary
from vitrieve.search.duplicates.groups import DupGroup, DupMember
from vitrieve.tables.catalog import ImageStatus
from vitrieve.ui.views.dup_review import (
    Place,
    locate,
    names_text,
    patched,
    place_at,
    progress_text,
    with_keeper,
    without_member,
)


def member(i: int, sim: float | None, match: str, size: int = 1024) -> DupMember:
    image = ImageSummary(
        i, "/p", f"IMG_{i:04d}.jpg", size, 0, 10, 10, "JPEG", None, ImageStatus.EMBEDDED, None, None
    )  # fmt: skip
    return DupMember(image, sim, match == "keeper", match)


def group(keeper: int, *others: tuple[int, float, str]) -> DupGroup:
    members = (member(keeper, 1.0, "keeper"), *tuple(member(*o) for o in others))
    return DupGroup(group=min(m.image_id for m in members), exact=False, members=members)


GROUPS = [
    group(1, (2, 0.95, "near")),
    group(3, (4, 1.0, "bytes"), (5, 0.97, "near")),
    group(6, (7, 0.93, "near")),
]


def test_a_group_is_found_by_its_keeper_wherever_it_moved():
    here = place_at(GROUPS, 2)
    assert here == Place(keeper=6, index=2)
    assert locate(GROUPS[1:], here) == 1  # a group before it was decided


def test_when_the_group_is_gone_the_next_one_takes_its_place():
    here = place_at(GROUPS, 1)
    assert locate(patched(GROUPS, 1, None), here) == 1  # the group that came after it
    assert locate(GROUPS[:1], here) == 0  # clamped to the groups there are
    assert locate([], here) == 0


def test_progress_counts_this_group_and_the_ones_after_it():
    assert progress_text(GROUPS, 1) == "group 2 of 3 · 3.0 KB reclaimable left"


def test_choosing_a_keeper_puts_it_first_and_the_old_keeper_among_the_copies():
    chosen = with_keeper(GROUPS[1], 5)
    assert next((m.image_id, m.keeper) for m in chosen.members) == (5, True)
    old = next(m for m in chosen.members if m.image_id == 3)
    assert (old.keeper, old.match, old.similarity) == (False, "near", 0.97)
    assert chosen.keeper_reason == "your choice"


def test_a_member_that_is_not_a_duplicate_leaves_its_group_and_a_pair_dissolves():
    smaller = without_member(GROUPS[1], 4)
    assert smaller is not None and [m.image_id for m in smaller.members] == [3, 5]
    assert without_member(GROUPS[0], 2) is None


def test_a_group_is_named_by_its_keepers_file_in_messages():
    assert names_text(GROUPS[1]) == "IMG_0003.jpg and 2 other photos"
    assert names_text(GROUPS[0]) == "IMG_0001.jpg and 1 other photo"
