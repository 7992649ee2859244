"""What a duplicate group says about its members, and which one to keep.

The keeper rule itself (resolution, camera EXIF, original encoding, size, age) is in keeper.py;
bursts get theirs from series.py. Images the user marked "keep" (`vitrieve dups keep`) are
keepers whatever the rules say.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from vitrieve.search.duplicates.keeper import (
    FORMAT_PREFERENCE,
    ImageFacts,
    keeper_rank,
    keeper_reason,
)
from vitrieve.search.duplicates.vectors import VectorSet
from vitrieve.tables.catalog import Image, Root

_CHUNK = 500
__all__ = ["FORMAT_PREFERENCE", "ImageFacts", "keeper_rank", "keeper_reason"]  # keeper.py's


@dataclass(frozen=True, slots=True)
class DupMember:
    image_id: int
    path: str
    size: int
    width: int | None
    height: int | None
    format: str | None
    captured_at: datetime | None
    similarity: float | None  # cosine to the group's keeper; 1.0 for identical pixels
    keeper: bool
    # How it matches the keeper: "keeper" (it is one), "bytes" (same file content), "pixels"
    # (same decoded pixels), "near" (similar vectors).
    match: str = "near"
    camera: str | None = None  # EXIF make and model, when the file has them
    has_gps: bool = False
    sharpness: float | None = None  # higher is sharper; compares shots of one series only

    def to_dict(self) -> dict:
        d = asdict(self)
        d["captured_at"] = self.captured_at.isoformat() if self.captured_at else None
        return d


@dataclass(frozen=True, slots=True)
class DupGroup:
    group: int  # the lowest image id of the group: stable while the group is
    exact: bool  # every member has the best's bytes or decoded pixels
    members: tuple[DupMember, ...]  # keepers first (the best first), then by the rule
    # "copies": every non-keeper is redundant; "series": shots taken seconds apart (a burst),
    # of which users keep the best one but may keep more.
    kind: str = "copies"
    keeper_reason: str = ""  # why the first keeper was chosen, in words

    @property
    def reclaimable(self) -> int:
        """Bytes freed by quarantining every non-keeper."""
        return sum(m.size for m in self.others)

    @property
    def keepers(self) -> list[DupMember]:
        return [m for m in self.members if m.keeper]

    @property
    def others(self) -> list[DupMember]:
        return [m for m in self.members if not m.keeper]

    def to_dict(self) -> dict:
        return {
            "group": self.group,
            "exact": self.exact,
            "kind": self.kind,
            "keepers": [m.image_id for m in self.keepers],
            "keeper_reason": self.keeper_reason,
            "reclaimable": self.reclaimable,
            "members": [m.to_dict() for m in self.members],
        }


_FACT_COLUMNS = (
    Image.camera,
    Image.has_gps,
    Image.software,
    Image.jpeg_quality,
    Image.sharpness,
    Image.exposure,
    Image.blockiness,
    Image.data_size,
)


def image_facts(session: Session, ids: Iterable[int]) -> dict[int, ImageFacts]:
    wanted = sorted({int(i) for i in ids})
    out: dict[int, ImageFacts] = {}
    for i in range(0, len(wanted), _CHUNK):
        for r in session.execute(
            select(
                Image.id,
                Root.path.label("root"),
                Image.rel_path,
                Image.size,
                Image.width,
                Image.height,
                Image.format,
                Image.captured_at,
                Image.mtime_ns,
                Image.content_hash,
                Image.pixel_hash,
                *_FACT_COLUMNS,
            )
            .join(Root)
            .where(Image.id.in_(wanted[i : i + _CHUNK]))
        ):
            out[r.id] = ImageFacts(
                r.id,
                str(Path(r.root) / r.rel_path),
                r.size,
                r.width,
                r.height,
                r.format,
                r.captured_at,
                r.mtime_ns,
                r.content_hash,
                r.pixel_hash,
                *(getattr(r, c.key) for c in _FACT_COLUMNS),
            )
    return out


def describe_group(
    ids: Sequence[int],
    facts: dict[int, ImageFacts],
    keepers: set[int],
    vectors: VectorSet | None,
    *,
    rank: Callable[[ImageFacts], tuple] = keeper_rank,
    kind: str = "copies",
    reason: Callable[[ImageFacts, Sequence[ImageFacts]], str] | None = None,
) -> DupGroup:
    """Orders a group, picks its keepers and measures each member against the best.

    ``rank`` orders the members (the first is the suggested keeper) and ``reason`` words why
    it won; series.py passes its shot-score rule for bursts."""
    members = sorted((facts[i] for i in ids if i in facts), key=rank)
    chosen = [m for m in members if m.image_id in keepers]
    keep = chosen or members[:1]
    best = keep[0]
    ordered = keep + [m for m in members if m not in keep]
    sims = _similarities(best, ordered, vectors)
    keep_ids = {m.image_id for m in keep}
    if chosen or reason is None:
        why = keeper_reason(best, ordered, chosen=bool(chosen))
    else:
        why = reason(best, ordered)
    return DupGroup(
        group=min(ids),
        exact=all(m.same_pixels(best) for m in ordered),
        kind=kind,
        keeper_reason=why,
        members=tuple(
            DupMember(
                m.image_id,
                m.path,
                m.size,
                m.width,
                m.height,
                m.format,
                m.captured_at,
                s,
                m.image_id in keep_ids,
                _match(m, best, m.image_id in keep_ids),
                camera=m.camera,
                has_gps=bool(m.has_gps),
                sharpness=m.sharpness,
            )
            for m, s in zip(ordered, sims, strict=True)
        ),
    )


def _match(m: ImageFacts, best: ImageFacts, is_keeper: bool) -> str:
    if is_keeper:
        return "keeper"
    if m.content_hash and m.content_hash == best.content_hash:
        return "bytes"
    if m.pixel_hash and m.pixel_hash == best.pixel_hash:
        return "pixels"
    return "near"


def _similarities(
    best: ImageFacts, members: list[ImageFacts], vectors: VectorSet | None
) -> list[float | None]:
    cos: list[float | None] = [None] * len(members)
    if vectors is not None:
        ids = np.asarray([best.image_id] + [m.image_id for m in members], np.int64)
        rows = vectors.rows_of(ids)
        if rows[0] >= 0:
            have = rows[1:] >= 0
            unit = vectors.unit(rows[np.concatenate([[True], have])])
            values = np.clip(unit[1:] @ unit[0], -1.0, 1.0)
            for i, v in zip(np.flatnonzero(have), values, strict=True):
                cos[i] = round(float(v), 6)
    return [1.0 if m.same_pixels(best) else c for m, c in zip(members, cos, strict=True)]
