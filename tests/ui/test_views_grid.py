"""The justified grid's layout (ui/views/grid.py): rows whose aspect ratios add up to about the
target, so every photo of a row has the same height; a short last row is padded, never blown
up; extreme shapes are clamped. And the tooltip that replaces truncated captions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from vitrieve.indexer.catalog import ImageSummary
from vitrieve.search.duplicates.stacks import StackInfo
from vitrieve.tables.catalog import ImageStatus
from vitrieve.ui.views.grid import (
    MAX_ASPECT,
    MIN_ASPECT,
    GridItem,
    Row,
    clamped_aspect,
    hover_text,
    justified_rows,
)


def test_rows_fill_the_target_and_keep_the_order():
    aspects = [1.5, 1.5, 0.75, 1.0, 1.5, 1.5, 1.5, 0.75, 1.0]
    rows = justified_rows(aspects, 4.0)
    assert [(r.start, r.stop) for r in rows] == [(0, 3), (3, 6), (6, 9)]
    assert rows[0].columns == [1.5, 1.5, 0.75]  # 3.75: closer to 4 than 4.75 with the next
    assert rows[1].columns == [1.0, 1.5, 1.5]  # exactly 4
    assert rows[2].filler == pytest.approx(0.75) and rows[2].columns[-1] == pytest.approx(0.75)
    assert [i for r in rows for i in range(r.start, r.stop)] == list(range(len(aspects)))


def test_a_picture_that_overshoots_the_row_starts_the_next_one_when_that_is_closer():
    # 1 + 1 + 1 = 3 < 3.2; adding 2.5 gives 5.5 (2.3 over) against 3 (0.2 under): it waits,
    # and its row (2.5 + 1 = 3.5) is full.
    rows = justified_rows([1.0, 1.0, 1.0, 2.5, 1.0], 3.2)
    assert [(r.start, r.stop, r.filler) for r in rows] == [(0, 3, 0.0), (3, 5, 0.0)]


def test_a_short_last_row_is_padded_so_its_pictures_keep_the_row_height():
    [row] = justified_rows([1.0, 1.5], 6.0)
    assert row == Row(0, 2, (1.0, 1.5), filler=3.5)
    assert sum(row.columns) == pytest.approx(6.0)
    assert justified_rows([], 6.0) == []


def test_one_picture_wider_than_the_row_is_a_row_of_its_own():
    rows = justified_rows([MAX_ASPECT, MAX_ASPECT], 2.0)
    assert [(r.start, r.stop, r.filler) for r in rows] == [(0, 1, 0.0), (1, 2, 0.0)]
    with pytest.raises(ValueError, match="row_aspect must be positive"):
        justified_rows([1.0], 0)


def test_extreme_shapes_are_clamped_and_an_unknown_size_is_square():
    assert clamped_aspect(4000, 3000) == pytest.approx(4 / 3)
    assert clamped_aspect(10_000, 1000) == MAX_ASPECT  # a panorama
    assert clamped_aspect(500, 4000) == MIN_ASPECT  # a receipt
    assert clamped_aspect(None, 3000) == 1.0 and clamped_aspect(4000, 0) == 1.0


def _item(score: float | None, stack: StackInfo | None = None) -> GridItem:
    image = ImageSummary(
        image_id=7,
        root="/photos",
        rel_path="2024/a very long folder name/IMG_0001 with a long name.jpg",
        size=2_100_000,
        mtime_ns=0,
        width=4000,
        height=3000,
        format="JPEG",
        captured_at=datetime(2024, 5, 1, 12, 0),
        status=ImageStatus.EMBEDDED,
        content_hash="h",
        pixel_hash=None,
    )
    return GridItem(image, score=score, thumb=Path("/nowhere.webp"), stack=stack)


def test_the_tooltip_holds_the_full_path_the_facts_the_score_and_the_stack():
    stack = StackInfo(3, cover=7, members=(7, 8, 9), group=7)
    text = hover_text(_item(0.91234, stack))
    lines = text.split("\n\n")
    assert lines[0] == "`` /photos/2024/a very long folder name/IMG_0001 with a long name.jpg ``"
    assert lines[1] == "2024-05-01 · 4000×3000 · JPEG · 2.0 MB"
    assert lines[2:] == ["similarity 0.912", "cover of a stack of 3 photos"]
    assert hover_text(_item(0.5), "tag score").split("\n\n")[2:] == ["tag score 0.500"]
    assert len(hover_text(_item(None)).split("\n\n")) == 2
