"""Tables behind tagging: linear probes on frozen embeddings, and the tags they produce.

Probes are stored as arrays in SQL (never pickled) and tied to the embedding model they were
trained on, so a probe can never score vectors from another model.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import true

from vitrieve.tables.catalog import Base, str_enum, utcnow


class Probe(Base):
    __tablename__ = "probes"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    classes: Mapped[list[str]] = mapped_column(JSON)  # label names, in coefficient row order
    multilabel: Mapped[bool] = mapped_column(Boolean, default=False)
    coef: Mapped[bytes] = mapped_column(LargeBinary)  # float32 [n_classes, dim]
    intercept: Mapped[bytes] = mapped_column(LargeBinary)  # float32 [n_classes]
    calibration: Mapped[dict[str, Any]] = mapped_column(JSON)  # how raw scores become probabilities
    metrics: Mapped[dict[str, Any]] = mapped_column(
        JSON
    )  # cross-validated metrics at training time
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TagSource(enum.StrEnum):
    PROBE = "probe"
    MANUAL = "manual"  # a user's label: always wins over a probe's


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (Index("ix_tags_label_score", "label", "score"),)

    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(128), primary_key=True)
    source: Mapped[TagSource] = mapped_column(
        str_enum(TagSource, "tag_source"),
        primary_key=True,
    )
    score: Mapped[float] = mapped_column(Float)
    probe_id: Mapped[int | None] = mapped_column(ForeignKey("probes.id", ondelete="CASCADE"))
    probe_version: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
