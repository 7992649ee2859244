"""Duplicate groups as CSV (one row per member) and JSON (groups with their members).

Paths are written in display form (vitrieve/tables/fsnames.py): a name that is not UTF-8 shows as
``caf\\xe9.jpg`` instead of making the whole export fail; `image_id` identifies the file exactly.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from vitrieve.search.duplicates.groups import DupGroup
from vitrieve.tables.fsnames import display_path, displayable

CSV_COLUMNS = (
    "group",
    "image_id",
    "path",
    "size",
    "width",
    "height",
    "format",
    "captured_at",
    "similarity",
    "keeper",
    "match",
    "camera",
    "has_gps",
    "sharpness",
    "pair_of",  # match "pair": the id of the RAW this JPEG/HEIF was shot with
)


def write_csv(groups: Iterable[DupGroup], out: TextIO) -> int:
    """Writes one row per member, groups in order, keepers first; returns the rows written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for g in groups:
        for m in g.members:
            writer.writerow(
                [
                    g.group,
                    m.image_id,
                    display_path(m.path),
                    m.size,
                    _blank(m.width),
                    _blank(m.height),
                    _blank(m.format),
                    m.captured_at.isoformat() if m.captured_at else "",
                    "" if m.similarity is None else f"{m.similarity:.6f}",
                    "true" if m.keeper else "false",
                    m.match,
                    _blank(m.photo.camera),
                    "true" if m.photo.has_gps else "false",
                    "" if m.photo.sharpness is None else f"{m.photo.sharpness:.4f}",
                    _blank(m.pair_of),
                ]
            )
            rows += 1
    return rows


def save_csv(groups: Iterable[DupGroup], path: Path) -> int:
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        return write_csv(groups, f)


def to_json(data: dict) -> str:
    return json.dumps(displayable(data), indent=2, default=str)


def _blank(value) -> str:
    return "" if value is None else str(value)
