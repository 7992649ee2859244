"""Exporting a probe's effective tags as CSV, streamed by image id (any collection size).

The columns start with path,label, so `vitrieve tag train NAME --csv` reads an export back:
export, correct by hand, retrain.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select

from vitrieve.indexer.library import Library
from vitrieve.search.tagging.query import DEFAULT_MIN_SCORE, check_min_score
from vitrieve.search.tagging.store import latest_probe, probe_ids
from vitrieve.tables.catalog import Image, ImageStatus, Root
from vitrieve.tables.fsnames import display_path
from vitrieve.tables.tagging import Tag, TagSource

_PAGE = 2000


def export_tags(
    lib: Library, name: str, csv_path: Path, *, min_score: float = DEFAULT_MIN_SCORE
) -> int:
    """Writes the effective tags of NAME's labels as CSV (path,label,score,source,version),
    streaming by image id; `tag train --csv` reads it back (the path and label columns)."""
    check_min_score(min_score)
    with lib.sessions() as session:
        classes = list(latest_probe(session, name).classes)
        owned = probe_ids(session, name)
    mine = (Tag.label.in_(classes)) & ((Tag.source == TagSource.MANUAL) | Tag.probe_id.in_(owned))
    written, last = 0, 0
    csv_path = csv_path.expanduser()
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["path", "label", "score", "source", "probe_version"])
        while True:
            with lib.sessions() as session:
                ids = session.scalars(
                    select(Tag.image_id)
                    .join(Image, Image.id == Tag.image_id)
                    .where(mine, Tag.image_id > last, Image.status == ImageStatus.EMBEDDED)
                    .group_by(Tag.image_id)
                    .order_by(Tag.image_id)
                    .limit(_PAGE)
                ).all()
                if not ids:
                    return written
                rows = session.execute(
                    select(
                        Tag.image_id,
                        Tag.label,
                        Tag.score,
                        Tag.source,
                        Tag.probe_version,
                        Root.path,
                        Image.rel_path,
                    )
                    .join(Image, Image.id == Tag.image_id)
                    .join(Root)
                    .where(mine, Tag.image_id.in_(ids))
                    .order_by(Tag.image_id, Tag.score.desc(), Tag.label)
                ).all()
            by_image = defaultdict(list)
            for r in rows:
                by_image[r.image_id].append(r)
            for image_rows in by_image.values():
                has_manual = any(r.source == TagSource.MANUAL for r in image_rows)
                for r in image_rows:
                    if has_manual != (r.source == TagSource.MANUAL) or r.score < min_score:
                        continue
                    out.writerow(
                        [
                            display_path(Path(r.path) / r.rel_path),
                            r.label,
                            f"{r.score:.4f}",
                            TagSource(r.source).value,
                            r.probe_version or "",
                        ]
                    )
                    written += 1
            last = ids[-1]
