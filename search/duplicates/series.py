"""Bursts: near-duplicates shot seconds apart, told apart from copies (docs/DUPLICATES.md).

A copy set is redundant beyond its keeper; a burst is several photographs of which the user
keeps the best (and maybe more). Within a duplicate group, members of one camera and one
resolution whose capture times chain with gaps of at most ``seconds`` form a *series* when they
hold at least two different shots (byte or pixel copies of one shot count once; a file that
shows it was re-encoded is a copy, not a shot). Each series becomes its own group of kind
"series", whose suggested keeper is its best shot: highest sharpness relative to the series'
sharpest, weighted by exposure (indexer/photo_facts.py). What is left of the group stays a
"copies" group when it holds the group's keeper (so its members keep the keeper they were
grouped by); otherwise, or when only one image is left, the leftovers (say, PNG exports of a
shot) are listed in the keeper's series, ranked after the shots, so they are still shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations, pairwise

import numpy as np

from vitrieve.search.duplicates.graph import pair_keys
from vitrieve.search.duplicates.groups import DupGroup, describe_group
from vitrieve.search.duplicates.keeper import ImageFacts, reencode_sign
from vitrieve.search.duplicates.prefer import DEFAULT_RULE, KeeperRule
from vitrieve.search.duplicates.vectors import VectorSet


def split_series(
    ids: Sequence[int],
    facts: dict[int, ImageFacts],
    keepers: set[int],
    vectors: VectorSet | None,
    seconds: float,
    *,
    threshold: float | None = None,
    ignored: frozenset[int] = frozenset(),
    rule: KeeperRule = DEFAULT_RULE,
) -> list[DupGroup]:
    """One duplicate group described, its bursts split off as series (``seconds`` 0: none).

    A series is kept by its best shot, not by the keeper the group was centred on, so a member
    can be near that keeper yet farther than ``threshold`` from the best shot. Such a member
    leaves the series (the rule of centred.py: a member is a duplicate of *its* keeper); those
    that left form groups only as exact copies of one another (same bytes or pixels, never
    across a "not duplicates" pair, whose pair_keys are ``ignored``), else stay ungrouped."""
    members = [facts[i] for i in ids if i in facts]
    bursts = burst_clusters(members, seconds) if seconds > 0 else []
    if not bursts:
        return [describe_group(ids, facts, keepers, vectors, rule=rule)]
    in_burst = {m.image_id for b in bursts for m in b}
    rest = [m for m in members if m.image_id not in in_burst]
    chosen = [m for m in members if m.image_id in keepers]
    keeper = min(chosen or members, key=rule.rank)  # the keeper the whole group would have
    home = next((i for i, b in enumerate(bursts) if keeper in b), None)
    # Leftovers stay centred on the group's keeper: a copy set of their own only when they hold
    # it (so each is still similar enough to its keeper), else listed in its series.
    extra: dict[int, list[ImageFacts]] = {}
    if home is not None or len(rest) == 1:
        extra[home or 0] = rest
        rest = []
    out: list[DupGroup] = []
    for i, burst in enumerate(bursts):
        more = extra.get(i, [])
        series = _describe_series(burst, more, facts, keepers, vectors, rule)
        far = _far_from_keeper(series, threshold)
        if far:  # the keeper stays (it is not far), so every member left is near it
            burst = [m for m in burst if m.image_id not in far]
            more = [m for m in more if m.image_id not in far]
            series = _describe_series(burst, more, facts, keepers, vectors, rule)
            out += _exact_sets(sorted(far), facts, keepers, vectors, ignored, rule)
        if len(series.members) > 1:
            out.append(series)
    if rest:
        out.append(describe_group([m.image_id for m in rest], facts, keepers, vectors, rule=rule))
    return out


def _far_from_keeper(group: DupGroup, threshold: float | None) -> set[int]:
    if threshold is None:
        return set()
    return {
        m.image_id
        for m in group.others
        if m.match == "near" and (m.similarity is None or m.similarity < threshold - 1e-6)
    }


def _exact_sets(
    ids: list[int],
    facts: dict[int, ImageFacts],
    keepers: set[int],
    vectors: VectorSet | None,
    ignored: frozenset[int],
    rule: KeeperRule,
) -> list[DupGroup]:
    copies: dict[str, list[int]] = {}
    for i in ids:
        key = facts[i].image.pixel_hash or facts[i].image.content_hash
        if key:
            copies.setdefault(key, []).append(i)
    out = []
    for same in copies.values():
        if len(same) < 2:
            continue
        a, b = np.asarray(list(combinations(same, 2)), np.int64).T
        if not ignored.intersection(pair_keys(a, b).tolist()):
            out.append(describe_group(same, facts, keepers, vectors, rule=rule))
    return out


def burst_clusters(members: Sequence[ImageFacts], seconds: float) -> list[list[ImageFacts]]:
    """Members in bursts of two or more different shots, each burst sorted by capture time."""
    by_camera: dict[tuple, list[ImageFacts]] = {}
    for m in members:
        if m.photo.camera and m.captured_at and reencode_sign(m) is None:
            by_camera.setdefault((m.photo.camera, m.width, m.height), []).append(m)
    bursts: list[list[ImageFacts]] = []
    for shots in by_camera.values():
        shots.sort(key=lambda m: (m.captured_at, m.image_id))
        run = [shots[0]]
        for prev, m in pairwise(shots):
            assert m.captured_at and prev.captured_at  # filtered above
            if (m.captured_at - prev.captured_at).total_seconds() <= seconds:
                run.append(m)
            else:
                bursts.append(run)
                run = [m]
        bursts.append(run)
    return [b for b in bursts if _distinct_shots(b) >= 2]


def _distinct_shots(burst: Sequence[ImageFacts]) -> int:
    shots: list[ImageFacts] = []
    for m in burst:
        if not any(m.same_pixels(s) for s in shots):
            shots.append(m)
    return len(shots)


def shot_score(f: ImageFacts, sharpest: float) -> float:
    """0..1: sharpness relative to the series' sharpest, times exposure (1 when unknown)."""
    if f.photo.sharpness is None or sharpest <= 0:
        return 0.0
    exposure = 1.0 if f.photo.exposure is None else f.photo.exposure
    return f.photo.sharpness / sharpest * exposure


def _describe_series(
    burst: list[ImageFacts],
    extra: list[ImageFacts],
    facts: dict[int, ImageFacts],
    keepers: set[int],
    vectors: VectorSet | None,
    rule: KeeperRule,
) -> DupGroup:
    shots = {m.image_id for m in burst}
    sharpest = max((m.photo.sharpness or 0.0 for m in burst), default=0.0)

    def rank(f: ImageFacts) -> tuple:
        return (f.image_id not in shots, -shot_score(f, sharpest), rule.rank(f))

    def reason(best: ImageFacts, ordered: Sequence[ImageFacts]) -> str:
        rivals = [m for m in ordered if m.image_id in shots and not m.same_pixels(best)]
        if sharpest <= 0 or best.photo.sharpness is None or not rivals:
            return "series without shot scores: " + rule.reason(best, ordered)
        runner = max(rivals, key=lambda m: shot_score(m, sharpest))
        if best.photo.sharpness >= sharpest:
            return (
                f"sharpest shot of the series (sharpness {best.photo.sharpness:.0f}"
                f" vs {runner.photo.sharpness or 0:.0f})"
            )
        return (
            f"best exposed shot of the series (exposure {best.photo.exposure or 0:.2f}"
            f" vs {runner.photo.exposure or 0:.2f}, sharpness {best.photo.sharpness:.0f}"
            f" vs {runner.photo.sharpness or 0:.0f})"
        )

    ids = [m.image_id for m in burst + extra]
    return describe_group(
        ids, facts, keepers, vectors, rank=rank, kind="series", reason=reason, rule=rule
    )
