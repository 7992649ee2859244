"""Table of near-duplicate threshold calibrations: one row per `vitrieve calibrate` run.

The newest row of the current model is the threshold in force (search/duplicates/threshold.py);
older rows stay as history. A row is written whole in one transaction, so a calibration killed
at any moment leaves the previous result or the new one, never half a curve.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from vitrieve.tables.catalog import Base, utcnow


class DupCalibration(Base):
    __tablename__ = "dup_calibrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    threshold: Mapped[float] = mapped_column(Float)  # the balanced one
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)  # strictness -> cosine
    targets: Mapped[dict[str, Any]] = mapped_column(JSON)  # strictness -> false rate
    sample_size: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    negatives: Mapped[int] = mapped_column(Integer)
    excluded: Mapped[dict[str, Any]] = mapped_column(JSON)  # reason -> neighbours skipped
    curve: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
