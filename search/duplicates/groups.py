"""What a duplicate group says about its members, and which one to keep.

The keeper rule itself (resolution, camera EXIF, original encoding, size, age) is in keeper.py;
bursts get theirs from series.py. Images the user marked "keep" (`vitrieve dups keep`) are
keepers whatever the rules say.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from vitrieve.indexer.catalog import ImageSummary, ShowsImage, describe_images, photo_facts_of
from vitrieve.indexer.photo_facts import UNKNOWN_FACTS, PhotoFacts
from vitrieve.search.duplicates.keeper import (
    FORMAT_PREFERENCE,
    ImageFacts,
    keeper_rank,
    keeper_reason,
)
from vitrieve.search.duplicates.prefer import DEFAULT_RULE, KeeperRule
from vitrieve.search.duplicates.vectors import VectorSet

__all__ = ["FORMAT_PREFERENCE", "ImageFacts", "keeper_rank", "keeper_reason"]  # keeper.py's


@dataclass(frozen=True, slots=True)
class DupMember(ShowsImage):
    image: ImageSummary
    similarity: float | None  # cosine to the group's keeper; 1.0 for identical pixels
    keeper: bool
    # How it matches the keeper: "keeper" (it is one), "bytes" (same file content), "pixels"
    # (same decoded pixels), "near" (similar vectors), "pair" (the JPEG/HEIF shot with the RAW
    # listed just before it: it stays or moves with that RAW).
    match: str = "near"
    # camera: EXIF make and model; sharpness: higher is sharper, compares shots of one series
    photo: PhotoFacts = UNKNOWN_FACTS
    pair_of: int | None = None  # match "pair": the RAW it was shot with (raw_pairs.py)

    def to_dict(self) -> dict:
        """The `vitrieve dups --json` record of a member."""
        return {
            "image_id": self.image_id,
            "path": self.path,
            "size": self.size,
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "captured_at": self.captured_at.isoformat() if self.captured_at else None,
            "similarity": self.similarity,
            "keeper": self.keeper,
            "match": self.match,
            "camera": self.photo.camera,
            "has_gps": bool(self.photo.has_gps),
            "sharpness": self.photo.sharpness,
            "pair_of": self.pair_of,
        }


@dataclass(frozen=True, slots=True)
class DupGroup:
    # the keeper's image id: a group is named by its keeper, so one group has one id in every
    # listing (`dups`, `--exact-only`, JSON, CSV, plans, the UI) and `--group` takes it
    group: int
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
    def exact_copies(self) -> int:
        """Members with the keeper's bytes or decoded pixels (an exact pair in a near group
        counts: the header's 'with exact copies' and the 'exact' badge)."""
        return sum(m.match in ("bytes", "pixels") for m in self.members)

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
            "exact_copies": self.exact_copies,
            "kind": self.kind,
            "keepers": [m.image_id for m in self.keepers],
            "keeper_reason": self.keeper_reason,
            "reclaimable": self.reclaimable,
            "members": [m.to_dict() for m in self.members],
        }


def image_facts(session: Session, ids: Iterable[int]) -> dict[int, ImageFacts]:
    """Keeper facts of `ids` still in the catalog: the catalog's summary and photo facts."""
    images = describe_images(session, ids)
    photos = photo_facts_of(session, images)
    # both reads see the same rows but on PostgreSQL (read committed): a row deleted between
    # them is left out, as one gone before the first
    return {i: ImageFacts(image, photos[i]) for i, image in images.items() if i in photos}


def describe_group(
    ids: Sequence[int],
    facts: dict[int, ImageFacts],
    keepers: set[int],
    vectors: VectorSet | None,
    *,
    rank: Callable[[ImageFacts], tuple] | None = None,
    kind: str = "copies",
    reason: Callable[[ImageFacts, Sequence[ImageFacts]], str] | None = None,
    rule: KeeperRule = DEFAULT_RULE,
) -> DupGroup:
    """Orders a group, picks its keepers and measures each member against the best.

    ``rank`` orders the members (the first is the suggested keeper; default ``rule.rank``)
    and ``reason`` words why it won; series.py passes its shot-score rule for bursts. ``rule``
    holds the user's preferences and words why a keeper by decision (``keepers``: the user's
    and those in reference folders) is kept."""
    members = sorted((facts[i] for i in ids if i in facts), key=rank or rule.rank)
    chosen = [m for m in members if m.image_id in keepers]
    keep = chosen or members[:1]
    best = keep[0]
    ordered = keep + [m for m in members if m not in keep]
    sims = _similarities(best, ordered, vectors)
    keep_ids = {m.image_id for m in keep}
    if chosen or reason is None:
        why = rule.reason(best, ordered, keep_ids if chosen else ())
    else:
        why = reason(best, ordered)
    return DupGroup(
        group=best.image_id,
        exact=all(m.same_pixels(best) for m in ordered),
        kind=kind,
        keeper_reason=why,
        members=tuple(
            DupMember(
                m.image,
                s,
                m.image_id in keep_ids,
                _match(m, best, m.image_id in keep_ids),
                m.photo,
            )
            for m, s in zip(ordered, sims, strict=True)
        ),
    )


def _match(m: ImageFacts, best: ImageFacts, is_keeper: bool) -> str:
    if is_keeper:
        return "keeper"
    if m.image.content_hash and m.image.content_hash == best.image.content_hash:
        return "bytes"
    if m.image.pixel_hash and m.image.pixel_hash == best.image.pixel_hash:
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
