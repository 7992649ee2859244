"""A manifest's extra columns (label, split...) stored as manual tags "column=value".

Manual tags are the user's own labels (tables/tagging.py: they always win over a probe's), which
is what a dataset's label column is; `--tag <label>` filters and `vitrieve export` lists them.
Re-ingesting a manifest replaces an image's "column=..." tags, so a relabelled image never keeps
its old label; tags of other columns and probe tags are left alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, or_

from vitrieve.indexer.library import Library
from vitrieve.search.tagging.labels import check_label
from vitrieve.tables.tagging import Tag, TagSource

_CHUNK = 500  # images per transaction


def manifest_label(column: str, value: str) -> str:
    return check_label(f"{column}={value}")


def store_manifest_tags(
    lib: Library, columns: Sequence[str], values: Iterable[tuple[int, Mapping[str, str]]]
) -> int:
    """Stores `column=value` manual tags for (image id, extras) pairs; returns the tags written."""
    rows: list[dict[str, Any]] = [
        {
            "image_id": image_id,
            "label": manifest_label(column, value),
            "source": TagSource.MANUAL,
            "score": 1.0,
        }
        for image_id, extras in values
        for column, value in extras.items()
    ]
    by_id: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_id[r["image_id"]].append(r)
    ids = sorted(by_id)
    written = 0
    for i in range(0, len(ids), _CHUNK):
        chunk = set(ids[i : i + _CHUNK])
        with lib.sessions.begin() as session:
            session.execute(
                delete(Tag).where(
                    Tag.image_id.in_(chunk),
                    Tag.source == TagSource.MANUAL,
                    or_(*[Tag.label.startswith(f"{c}=", autoescape=True) for c in columns]),
                )
            )
            part = [r for image_id in sorted(chunk) for r in by_id[image_id]]
            if part:
                session.execute(Tag.__table__.insert(), part)
            written += len(part)
    return written
