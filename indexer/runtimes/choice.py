"""Which runtime wins on this machine: every candidate timed on the same images, kept only if
its vectors stay within cosine `MIN_COSINE` of torch fp32, the fastest survivor chosen.

The measuring is a pure function of the candidates it is handed, so a test can hand it a
deliberately unfaithful one and see that it is never chosen. Candidates are built and released
one at a time, and `before_build` lets the caller free the fp32 reference's model before a
candidate that does not need it (select.py drops torch's before OpenVINO's): one copy at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from vitrieve.indexer.runtimes.candidates import REFERENCE, Forward, Runtime
from vitrieve.indexer.runtimes.memory import release_memory

MIN_COSINE = 0.999  # the least agreement with torch fp32 a faster runtime must keep
TIMED_IMAGES = 8  # per candidate: one warm-up and two timed passes over this many images
BATCH_SIZES = (8, 32)  # the winner is timed at each; the faster per image is kept


@dataclass
class Measured:
    runtime: str
    img_s: float | None = None
    min_cos: float | None = None
    error: str | None = None
    kept: bool = False


@dataclass
class Decision:
    runtime: Runtime
    batch_size: int
    measured: list[Measured] = field(default_factory=list)
    batch_img_s: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    note: str | None = None  # e.g. why OpenVINO was not a candidate

    @property
    def speedup(self) -> float | None:
        """The winner's speed as a ratio to torch fp32, as measured."""
        speeds = {m.runtime: m.img_s for m in self.measured}
        ref, won = speeds.get(REFERENCE.name), speeds.get(self.runtime.name)
        return round(won / ref, 2) if ref and won else None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["runtime"] = self.runtime.name
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        return cls(
            runtime=Runtime.parse(data["runtime"]),
            batch_size=int(data["batch_size"]),
            measured=[Measured(**m) for m in data.get("measured", [])],
            batch_img_s={str(k): float(v) for k, v in data.get("batch_img_s", {}).items()},
            seconds=float(data.get("seconds", 0.0)),
            note=data.get("note"),
        )


Offer = tuple[Runtime, Callable[[], Forward]]


def speed(forward: Forward, pixels: np.ndarray) -> tuple[np.ndarray, float]:
    """Images per second, the best of two passes after a warm-up (first calls pay for kernel
    selection and allocation), and the vectors of the last pass."""
    forward(pixels)
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        vectors = forward(pixels)
        best = min(best, time.perf_counter() - started)
    return vectors, len(pixels) / best


def choose(
    reference: Forward,
    offers: Sequence[Offer],
    pixels: np.ndarray,
    *,
    batch_sizes: Sequence[int] = BATCH_SIZES,
    before_build: Callable[[Runtime], None] = lambda runtime: None,
) -> tuple[Decision, Forward]:
    """Times the reference and each offer on `pixels[:TIMED_IMAGES]`, then the winner at each
    batch size (pixels must hold at least the largest). Returns the decision and the winner's
    forward, ready to use. The reference may win only if it is among the offers (a setting
    such as VITRIEVE_PRECISION=bf16 leaves it out); if no offer is faithful, it wins anyway,
    rebuilt by its offer when there is one. `before_build` runs before each offer is built (the
    winner's rebuild included): the caller's chance to free what that offer does not need."""
    started = time.perf_counter()
    timed = pixels[:TIMED_IMAGES]
    truth, ref_speed = speed(reference, timed)
    release_memory()  # the reference's activations, before a candidate's model comes in
    eligible = any(runtime == REFERENCE for runtime, _ in offers)
    measured = [Measured(REFERENCE.name, round(ref_speed, 3), 1.0, kept=eligible)]
    factories = {REFERENCE: dict(offers).get(REFERENCE, lambda: reference)}
    for runtime, build in offers:
        if runtime == REFERENCE:
            continue
        entry = Measured(runtime.name)
        measured.append(entry)
        try:
            before_build(runtime)
            vectors, img_s = speed(build(), timed)  # the copy is released when speed returns
        except Exception as exc:  # a runtime that fails here is simply not a candidate
            entry.error = f"{type(exc).__name__}: {exc}"[:300]
            continue
        finally:
            release_memory()
        entry.img_s = round(img_s, 3)
        entry.min_cos = round(float(np.min(np.sum(vectors * truth, axis=1))), 6)
        entry.kept = entry.min_cos >= MIN_COSINE
        factories[runtime] = build
    kept = [m for m in measured if m.kept] or measured[:1]
    best = max(kept, key=lambda m: m.img_s or 0.0)
    winner = Runtime.parse(best.runtime)
    before_build(winner)
    forward = factories[winner]()
    batch_img_s = {str(TIMED_IMAGES): best.img_s or 0.0}
    for size in batch_sizes:
        if str(size) not in batch_img_s and len(pixels) >= size:
            batch_img_s[str(size)] = round(speed(forward, pixels[:size])[1], 3)
    batch = max(batch_img_s, key=lambda s: batch_img_s[s])
    decision = Decision(
        runtime=winner,
        batch_size=int(batch),
        measured=measured,
        batch_img_s=batch_img_s,
        seconds=round(time.perf_counter() - started, 1),
    )
    return decision, forward
