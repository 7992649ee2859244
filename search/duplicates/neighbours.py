"""The negatives of a calibration: each sampled photo's nearest *unrelated* catalog neighbour.

A false grouping happens at the nearest neighbour, so that is the pair to measure; the index
finds it. Neighbours the catalog itself says are the same photo are not unrelated and are
skipped, each counted by its reason:

- ``copy``: the same bytes (content hash) or the same decoded pixels (pixel hash);
- ``series``: one camera, one resolution, captured within VITRIEVE_DUP_SERIES_SECONDS (a burst,
  which `dups` groups as a series on purpose);
- ``edit_like``: at least as similar as the photo's own weakest in-memory edit: the model
  cannot tell it from an edit we know to be a duplicate, so it is a copy already in the catalog
  (a resize, a crop the user keeps twice); a collection full of copies would otherwise push the
  threshold above its own duplicates. It is the one judgement the catalog cannot check; the
  count is stored so it can be seen. A catalog copy edited harder than every in-memory edit
  still counts as unrelated, so a copy-heavy catalog errs strict.

The next neighbour is then taken, up to ``K`` deep; a photo with no unrelated neighbour within
``K`` adds no negative. Each negative keeps its photo's bar: a photo whose bar is low (a model
that maps some edit far, as a letterbox) excused every neighbour above it, so its negative says
nothing about cosines above its bar, and the false rate there is taken over the photos whose
bar is higher (search/duplicates/curve.py, `false_rate`). Without that, such photos add only
low negatives and pull the threshold loose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from vitrieve.indexer.library import Library
from vitrieve.tables.catalog import Image

K = 32


@dataclass
class Negatives:
    sims: list[float] = field(default_factory=list)
    bars: list[float] = field(default_factory=list)  # each negative's photo's bar (below it)
    excluded: dict[str, int] = field(
        default_factory=lambda: {"copy": 0, "series": 0, "edit_like": 0, "none_within_k": 0}
    )


@dataclass(frozen=True)
class _Facts:
    content_hash: str | None
    pixel_hash: str | None
    camera: str | None
    size: tuple[int | None, int | None]
    captured: float | None  # seconds since the epoch, naive capture time


def _facts(session: Session, ids: Sequence[int]) -> dict[int, _Facts]:
    out: dict[int, _Facts] = {}
    wanted = sorted(set(ids))
    for i in range(0, len(wanted), 500):
        rows = session.execute(
            select(
                Image.id,
                Image.content_hash,
                Image.pixel_hash,
                Image.camera,
                Image.width,
                Image.height,
                Image.captured_at,
            ).where(Image.id.in_(wanted[i : i + 500]))
        ).all()
        for r in rows:
            captured = None if r.captured_at is None else r.captured_at.timestamp()
            out[r.id] = _Facts(
                r.content_hash, r.pixel_hash, r.camera, (r.width, r.height), captured
            )
    return out


def _reason(a: _Facts, b: _Facts, series_seconds: float) -> str | None:
    if (a.content_hash and a.content_hash == b.content_hash) or (
        a.pixel_hash and a.pixel_hash == b.pixel_hash
    ):
        return "copy"
    if (
        series_seconds > 0
        and a.camera
        and a.camera == b.camera
        and a.size == b.size
        and a.captured is not None
        and b.captured is not None
        and abs(a.captured - b.captured) <= series_seconds
    ):
        return "series"
    return None


def nearest_unrelated(
    lib: Library, ids: np.ndarray, vectors: np.ndarray, weakest_edit: np.ndarray
) -> Negatives:
    """Cosine of each image's nearest unrelated neighbour (``vectors``: its unit vectors;
    ``weakest_edit``: the lowest original-to-edit cosine measured for it)."""
    hits = lib.index().search(vectors.astype(np.float32), K)
    with lib.sessions() as session:
        facts = _facts(session, [int(i) for i in ids] + [h.id for row in hits for h in row])
    out = Negatives()
    series_seconds = lib.settings.dup_series_seconds
    for image_id, row, bar in zip(ids.tolist(), hits, weakest_edit.tolist(), strict=True):
        mine = facts.get(image_id)
        found = None
        for hit in row:
            if hit.id == image_id or mine is None or hit.id not in facts:
                continue
            reason = _reason(mine, facts[hit.id], series_seconds)
            if reason is None and hit.score >= bar:
                reason = "edit_like"
            if reason is not None:
                out.excluded[reason] += 1
                continue
            found = float(hit.score)
            break
        if found is None:
            out.excluded["none_within_k"] += 1
        else:
            out.sims.append(found)
            out.bars.append(float(bar))
    return out
