"""The catalog's tables. SQL is the source of truth for vitrieve, vectors included.

Schema changes go through Alembic (`migrations/`); these classes must always match the latest
migration, which a test checks with Alembic's autogenerate comparison.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql import false

from vitrieve.tables.fsnames import FsPath, Message

# Named constraints let Alembic's batch mode (SQLite) and PostgreSQL drop/alter them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # SQLAlchemy types it as any FromClause; every model here declares __tablename__,
        # so it is a Table (for .insert()/.update()). Typing only, as DeclarativeBase does.
        __table__: ClassVar[Table]


def str_enum(cls: type[enum.Enum], name: str) -> Enum:
    """A Python enum stored as its string values with a CHECK constraint, not a native type:
    adding a value is then a plain migration on both SQLite and PostgreSQL."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


class ImageStatus(enum.StrEnum):
    PENDING = "pending"  # known file, no vector from the current model yet
    EMBEDDED = "embedded"  # vector stored; searchable
    FAILED = "failed"  # could not be read or decoded; `error` says why
    MISSING = "missing"  # was indexed, no longer on disk; kept so a move can reclaim it


class Root(Base):
    """A registered folder. Image paths are stored relative to it so a root can be remounted."""

    __tablename__ = "roots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)  # see vitrieve/tables/fsnames.py
    # Watched roots are rescanned periodically and by a filesystem watcher (worker/).
    watch: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    images: Mapped[list[Image]] = relationship(back_populates="root", passive_deletes=True)


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (
        UniqueConstraint("root_id", "rel_path"),
        Index("ix_images_status_root", "status", "root_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root_id: Mapped[int] = mapped_column(ForeignKey("roots.id", ondelete="CASCADE"))
    rel_path: Mapped[str] = mapped_column(FsPath)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    # xxh3-128 of the file bytes, hex; NULL until the file has been read once.
    content_hash: Mapped[str | None] = mapped_column(String(32), index=True)
    # xxh3-128 of the decoded RGB pixels and size: equal for lossless re-saves of one picture.
    pixel_hash: Mapped[str | None] = mapped_column(String(32), index=True)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(16))
    captured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    # Facts the duplicate keeper rule weighs (indexer/photo_facts.py, docs/INDEXING.md). NULL:
    # unknown (images embedded before migration 0006 until `dups` fills them in).
    camera: Mapped[str | None] = mapped_column(String(128))  # EXIF Make + Model
    has_gps: Mapped[bool | None] = mapped_column(Boolean)
    software: Mapped[str | None] = mapped_column(String(64))  # EXIF Software
    jpeg_quality: Mapped[int | None] = mapped_column(SmallInteger)  # IJG-equivalent 1..100
    sharpness: Mapped[float | None] = mapped_column(Float)  # Laplacian variance at 512 px
    exposure: Mapped[float | None] = mapped_column(Float)  # 0..1, 1 = well exposed
    blockiness: Mapped[float | None] = mapped_column(Float)  # 8x8 JPEG grid in lossless files
    # Bytes of encoded image data, metadata (EXIF, XMP, ICC, thumbnails) not counted: the
    # keeper's size rule (indexer/image_data.py). NULL before migration 0008 until `dups`.
    data_size: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[ImageStatus] = mapped_column(
        str_enum(ImageStatus, "image_status"),
        default=ImageStatus.PENDING,
    )
    error: Mapped[str | None] = mapped_column(Message)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    root: Mapped[Root] = relationship(back_populates="images")


class EmbeddingModel(Base):
    """One row per distinct set of weights: vectors of different rows never mix."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    revision: Mapped[str | None] = mapped_column(Text)
    weights_hash: Mapped[str] = mapped_column(String(64), unique=True)
    dim: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Embedding(Base):
    """The vector of one image under one model, L2-normalised, stored as float16 bytes."""

    __tablename__ = "embeddings"

    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[int] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    # The content hash the vector was computed from: lets byte-identical files share one
    # forward pass and lets a pending image whose bytes did not change reuse its vector.
    content_hash: Mapped[str] = mapped_column(String(32))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_embeddings_model_hash", "model_id", "content_hash"),)
