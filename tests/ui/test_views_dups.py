"""The Duplicates page's view model (ui/views/dups.py), free of Streamlit: member order and
pages, the exact part of a group, totals, and the rows of a quarantine preview."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vitrieve.indexer.catalog import ImageSummary
from vitrieve.search.duplicates.groups import DupGroup, DupMember
from vitrieve.tables.catalog import ImageStatus
from vitrieve.ui.views.dups import (
    exact_part,
    member_page,
    ordered_members,
    page_count,
    plan_rows,
    totals,
)


def member(i: int, sim: float | None, match: str, size: int = 100) -> DupMember:
    image = ImageSummary(
        i, "/p", f"{i}.jpg", size, 0, 10, 10, "JPEG", None, ImageStatus.EMBEDDED, None, None
    )  # fmt: skip
    return DupMember(image, sim, match == "keeper", match)


GROUP = DupGroup(
    group=1,
    exact=False,
    members=(
        member(1, 1.0, "keeper"),
        member(2, 0.95, "near", 10),
        member(3, None, "near", 20),
        member(4, 1.0, "bytes", 30),
        member(5, 0.99, "near", 40),
        member(6, 1.0, "pixels", 50),
    ),
)


def test_members_are_keeper_first_then_by_similarity_and_no_vector_last():
    assert [m.image_id for m in ordered_members(GROUP)] == [1, 4, 6, 5, 2, 3]


def test_pages_cover_every_member_once_and_clamp():
    assert page_count(6, 4) == 2 and page_count(0, 4) == 1
    pages = [member_page(GROUP, p, 4) for p in (1, 2)]
    assert [m.image_id for page in pages for m in page] == [1, 4, 6, 5, 2, 3]
    assert member_page(GROUP, 9, 4) == pages[1]


def test_the_exact_part_keeps_the_keeper_and_its_exact_copies_only():
    part = exact_part(GROUP)
    assert part is not None
    assert [m.image_id for m in part.keepers] == [1]
    assert [m.image_id for m in part.others] == [4, 6]
    assert part.reclaimable == 80
    near_only = DupGroup(2, False, (member(7, 1.0, "keeper"), member(8, 0.9, "near")))
    assert exact_part(near_only) is None


def test_totals_count_all_groups_and_exact_copies_apart():
    other = DupGroup(7, True, (member(7, 1.0, "keeper"), member(8, 1.0, "bytes", 5)))
    t = totals([GROUP, other])
    assert (t.groups, t.members, t.redundant, t.reclaimable) == (2, 8, 6, 155)
    assert (t.exact_files, t.exact_reclaimable) == (3, 85)


@dataclass(frozen=True)
class RicherMove:
    """A planned move as a richer plan (search/duplicates/quarantine.py) may report it."""

    image_id: int
    group: int
    src: Path
    dst: Path
    size: int
    lacks: tuple[str, ...]
    tags: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "image_id": self.image_id,
            "group": self.group,
            "keeper_id": 1,
            "keeper": "/p/1.jpg",
            "similarity": 0.99,
            "reason": "near",
            "src": str(self.src),
            "dst": str(self.dst),
            "size": self.size,
            "metadata_keeper_lacks": list(self.lacks),
            "keeper_inherits": {"tags": list(self.tags), "captured_at": None},
        }


def test_plan_rows_say_keeper_similarity_reason_and_any_further_field():
    move = RicherMove(5, 1, Path("/p/5.jpg"), Path("/q/5.jpg"), 40, ("gps", "tags"), ("cat",))
    (row,) = plan_rows([move], [GROUP])
    assert row == {
        "group": 1,
        "from": "/p/5.jpg",
        "keeper": "/p/1.jpg",
        "similarity": 0.99,
        "reason": "near duplicate",
        "size": "40 B",
        "to": "/q/5.jpg",
        "metadata keeper lacks": "gps, tags",
        "keeper inherits": "tags: cat",
    }
