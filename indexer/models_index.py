"""Table recording each vector-index build: type chosen, size, and measured recall."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from indexer.models import Base, utcnow


class IndexBuild(Base):
    __tablename__ = "index_builds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(64))  # e.g. "flat", "ivf4096,sq8", "hnsw32"
    n: Mapped[int] = mapped_column(Integer)
    recall_at_10: Mapped[float | None] = mapped_column(Float)  # None for exact indexes
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    build_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
