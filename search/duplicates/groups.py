"""What a duplicate group says about its members, and which one to keep.

Keeper rules (docs/DUPLICATES.md), applied in order until one image wins:
1. highest resolution (width x height);
2. original over re-encoded format: FORMAT_PREFERENCE below;
3. largest file (of two JPEGs of one picture, the larger kept more detail);
4. oldest: earliest capture time (EXIF), then earliest modification time, then lowest id.
Images the user marked "keep" (`vitrieve dups keep`) are keepers whatever the rules say.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from vitrieve.search.duplicates.vectors import VectorSet
from vitrieve.tables.catalog import Image, Root

# Lower is preferred. Lossless formats hold the pixels as the source had them; HEIF is what
# phones shoot; JPEG is a camera original or a re-encode; WebP is usually a web export; GIF
# has 256 colours. Formats not listed come last.
FORMAT_PREFERENCE: dict[str, int] = {
    "TIFF": 0,
    "PNG": 0,
    "BMP": 0,
    "HEIF": 1,
    "JPEG": 2,
    "MPO": 2,
    "WEBP": 3,
    "GIF": 4,
}
_UNKNOWN_FORMAT = 5
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ImageFacts:
    image_id: int
    path: str
    size: int
    width: int | None
    height: int | None
    format: str | None
    captured_at: datetime | None
    mtime_ns: int
    content_hash: str | None
    pixel_hash: str | None

    def same_pixels(self, other: ImageFacts) -> bool:
        return bool(
            (self.content_hash and self.content_hash == other.content_hash)
            or (self.pixel_hash and self.pixel_hash == other.pixel_hash)
        )


def keeper_rank(f: ImageFacts) -> tuple:
    """Sort key: the first image in this order is the one to keep."""
    return (
        -((f.width or 0) * (f.height or 0)),
        FORMAT_PREFERENCE.get((f.format or "").upper(), _UNKNOWN_FORMAT),
        -f.size,
        f.captured_at is None,
        f.captured_at or datetime.min,
        f.mtime_ns,
        f.image_id,
    )


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
    members: tuple[DupMember, ...]  # keepers first (the best first), then by keeper_rank
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
            )
    return out


def describe_group(
    ids: Sequence[int],
    facts: dict[int, ImageFacts],
    keepers: set[int],
    vectors: VectorSet | None,
) -> DupGroup:
    """Orders a group, picks its keepers and measures each member against the best."""
    members = sorted((facts[i] for i in ids if i in facts), key=keeper_rank)
    chosen = [m for m in members if m.image_id in keepers]
    keep = chosen or members[:1]
    best = keep[0]
    ordered = keep + [m for m in members if m not in keep]
    sims = _similarities(best, ordered, vectors)
    keep_ids = {m.image_id for m in keep}
    return DupGroup(
        group=min(ids),
        exact=all(m.same_pixels(best) for m in ordered),
        keeper_reason=keeper_reason(best, ordered, chosen=bool(chosen)),
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


_RULE_WORDS = (
    "highest resolution",
    "original format",
    "largest file",
    "has a capture date",
    "oldest capture",
    "oldest file",
    "lowest id",
)


def keeper_reason(best: ImageFacts, members: Sequence[ImageFacts], *, chosen: bool) -> str:
    """The first keeper rule on which the keeper beats the runner-up, in words."""
    if chosen:
        return "you chose it (vitrieve dups keep)"
    rivals = [m for m in members if m.image_id != best.image_id]
    if not rivals:
        return ""
    mine, theirs = keeper_rank(best), min(keeper_rank(m) for m in rivals)
    for words, a, b in zip(_RULE_WORDS, mine, theirs, strict=True):
        if a != b:
            return words
    return _RULE_WORDS[-1]


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
