"""Tables behind duplicate review: decisions that must survive re-ingests, and file moves.

Decisions are keyed by image id, which survives renames and moves (reconcile keeps the row).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
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


class DupIgnoreSet(Base):
    """A whole group marked "not duplicates" at once: one decision, listed and taken back as one.

    Its members are kept (not the group's pairs) so the decision stays removable after the group
    it named has dissolved; `group_id` is the group's id (its keeper's image id; the lowest
    image id before groups were named by keepers) when it was recorded.
    """

    __tablename__ = "dup_ignore_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DupIgnoreSetMember(Base):
    __tablename__ = "dup_ignore_set_members"

    set_id: Mapped[int] = mapped_column(
        ForeignKey("dup_ignore_sets.id", ondelete="CASCADE"), primary_key=True
    )
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )


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
    # What the group's keeper was given from this copy, so undo can take it back:
    # {"keeper": id, "captured_at": iso time, "tags": [manual labels]}
    # (search/duplicates/inherit.py)
    inherited: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class ReferenceFolder(Base):
    """A folder whose images are always kept: never a copy to quarantine (docs/DUPLICATES.md,
    Reference folders). A whole root (`rel_path` "") or one folder inside it, so the rule
    follows the root when it is remounted elsewhere."""

    __tablename__ = "reference_folders"
    __table_args__ = (UniqueConstraint("root_id", "rel_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root_id: Mapped[int] = mapped_column(ForeignKey("roots.id", ondelete="CASCADE"))
    rel_path: Mapped[str] = mapped_column(FsPath)  # "" for the root itself; "/"-separated
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
