"""Which near-duplicate threshold is in force, and why: the one place every caller asks.

`dups`, quarantine plans, series, `status`, the UI's Duplicates page and `eval dups` call
``threshold_in_force``: the newest calibration of the current model (`vitrieve calibrate`) at
the asked strictness, else the fixed DEFAULT_THRESHOLD with a line saying it is uncalibrated.
An explicit ``--threshold`` bypasses this function altogether.
"""

from __future__ import annotations

from sqlalchemy import select

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.curve import STRICTNESS, Calibration
from vitrieve.search.duplicates.find import DEFAULT_THRESHOLD
from vitrieve.tables.calibrations import DupCalibration

UNCALIBRATED = f"uncalibrated: fixed {DEFAULT_THRESHOLD:.2f}, run `vitrieve calibrate`"


class UnknownStrictness(VitrieveError):
    pass


def latest_calibration(lib: Library) -> Calibration | None:
    """The newest stored calibration of the library's current model, if any."""
    model_id = lib.model_row.id
    with lib.sessions() as session:
        row = session.scalars(
            select(DupCalibration)
            .where(DupCalibration.model_id == model_id)
            .order_by(DupCalibration.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return Calibration(
            model_id=row.model_id,
            thresholds={k: float(v) for k, v in row.thresholds.items()},
            targets={k: float(v) for k, v in row.targets.items()},
            sample_size=row.sample_size,
            seed=row.seed,
            negatives=row.negatives,
            excluded=dict(row.excluded),
            curve=row.curve,
            created_at=row.created_at,
        )


def threshold_in_force(lib: Library, strictness: str | None = None) -> tuple[float, str]:
    """(cosine threshold, one line saying where it comes from). Without a calibration the
    fixed value applies whatever the strictness: there is no curve to move along."""
    chosen = strictness or "balanced"
    if chosen not in STRICTNESS:
        raise UnknownStrictness(
            f"unknown strictness {chosen!r}: choose one of {', '.join(STRICTNESS)}"
        )
    found = latest_calibration(lib)
    if found is None:
        return DEFAULT_THRESHOLD, UNCALIBRATED
    why = found.describe(chosen)
    if strictness is not None:
        why += f" ({chosen})"
    return found.thresholds[chosen], why
