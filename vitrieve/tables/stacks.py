"""Stacks: a burst (a "series" duplicate group) kept whole, shown as one cover photo.

Nothing moves: a stack only records which images belong together and which one is the cover,
so search results and grids show the cover with a count, and the stack can be opened and
undone (search/duplicates/stacks.py). An image is in at most one stack.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from vitrieve.tables.catalog import Base, utcnow


class Stack(Base):
    __tablename__ = "stacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The photo shown for the whole stack; None when it left the catalog (the lowest member
    # id then stands in).
    cover_id: Mapped[int | None] = mapped_column(ForeignKey("images.id", ondelete="SET NULL"))
    group_id: Mapped[int | None] = mapped_column(Integer)  # the duplicate group it came from
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StackMember(Base):
    __tablename__ = "stack_members"

    stack_id: Mapped[int] = mapped_column(
        ForeignKey("stacks.id", ondelete="CASCADE"), primary_key=True
    )
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True, unique=True
    )
