"""Table recording each vector-index build: type chosen, size, and measured recall.

Refused builds (recall@10 below the floor) are recorded too, with `accepted` false, so the
history shows why a collection kept its previous index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import true

from vitrieve.tables.catalog import Base, utcnow


class IndexBuild(Base):
    __tablename__ = "index_builds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(64))  # "flat" or a factory string, "IVF4096,SQ8"
    n: Mapped[int] = mapped_column(Integer)
    recall_at_10: Mapped[float | None] = mapped_column(Float)  # None for exact indexes
    params: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict
    )  # nlist, nprobe, code, timings...
    build_s: Mapped[float] = mapped_column(Float)
    accepted: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
