"""What the Search page's selection exports, computed without Streamlit so it can be tested
alone: one CSV row per selected photo, as the catalog holds it now (a photo removed from the
catalog since it was ticked is left out: SQL wins), with the score it had when it was ticked.

Paths are written in display form (vitrieve/tables/fsnames.py), as the duplicates export does:
a name that is not UTF-8 shows as ``caf\\xe9.jpg`` instead of making the whole export fail.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from vitrieve.indexer.catalog import describe_images
from vitrieve.indexer.library import Library
from vitrieve.tables.fsnames import display_path

CSV_COLUMNS = ("path", "name", "size", "width", "height", "date", "score")


def selection_csv(lib: Library, ids: Sequence[int], scores: Mapping[int, float | None]) -> str:
    """The CSV text, rows in the order the photos were ticked. `date` is when the photo was
    taken (EXIF), else the file's modification time, as the grid shows it; `score` is the
    similarity to the query it was ticked under (blank when browsing)."""
    with lib.sessions() as session:
        images = describe_images(session, ids)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for image_id in ids:
        im = images.get(image_id)
        if im is None:
            continue
        score = scores.get(image_id)
        writer.writerow(
            [
                display_path(im.path),
                display_path(Path(im.path).name),
                im.size,
                "" if im.width is None else im.width,
                "" if im.height is None else im.height,
                im.taken.isoformat(),
                "" if score is None else f"{score:.4f}",
            ]
        )
    return out.getvalue()
