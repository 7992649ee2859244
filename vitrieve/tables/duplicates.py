"""Tables behind duplicate review: decisions that must survive re-ingests, and file moves.

Decisions are keyed by image id, which survives renames and moves (reconcile keeps the row).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vitrieve.tables.catalog import Base, str_enum, utcnow
from vitrieve.tables.fsnames import FsPath, Message


class DupIgnore(Base):
    """A pair the user said is not a duplicate; a group is stored as all its pairs."""

    __tablename__ = "dup_ignores"
    __table_args__ = (CheckConstraint("image_a < image_b", name="ordered"),)

    image_a: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    image_b: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DupKeeper(Base):
    """An image the user chose to keep: never suggested for quarantine."""

    __tablename__ = "dup_keepers"

    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MoveState(enum.StrEnum):
    PLANNED = "planned"  # recorded before touching the file
    MOVED = "moved"  # file is in quarantine
    RESTORED = "restored"  # undo put it back
    FAILED = "failed"  # the move could not be done; `error` says why


class QuarantineMove(Base):
    """One file moved to quarantine, recorded before and after the move so a crash loses nothing."""

    __tablename__ = "quarantine_moves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch: Mapped[str] = mapped_column(String(32), index=True)
    image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id", ondelete="SET NULL"))
    src_path: Mapped[str] = mapped_column(FsPath)
    dst_path: Mapped[str] = mapped_column(FsPath)
    state: Mapped[MoveState] = mapped_column(
        str_enum(MoveState, "move_state"),
        default=MoveState.PLANNED,
    )
    error: Mapped[str | None] = mapped_column(Message)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
