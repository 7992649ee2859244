"""Tables behind background ingestion: jobs and their batches.

Job counts are sums over batch rows, and a batch is marked done at most once, so a task that
Celery runs twice (acks_late after a lost worker) can never count an image twice. A batch goes
queued -> done (vectors committed) -> indexed (applied to the FAISS file by the index writer);
a job is done when its scan has finished and every batch is indexed.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vitrieve.tables.catalog import Base, str_enum, utcnow
from vitrieve.tables.fsnames import FsPathList, Message


class JobState(enum.StrEnum):
    QUEUED = "queued"
    SCANNING = "scanning"
    EMBEDDING = "embedding"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BatchState(enum.StrEnum):
    QUEUED = "queued"
    DONE = "done"  # embedded; its vectors are in SQL but maybe not yet in the index file
    INDEXED = "indexed"  # applied to the index by the index writer


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default="ingest")
    state: Mapped[JobState] = mapped_column(
        str_enum(JobState, "job_state"), default=JobState.QUEUED
    )
    paths: Mapped[list[str]] = mapped_column(FsPathList, default=list)
    total: Mapped[int] = mapped_column(Integer, default=0)  # images queued for embedding
    new: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    moved: Mapped[int] = mapped_column(Integer, default=0)
    missing: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    # Files left for a follow-up job because they were modified too recently (being copied).
    deferred: Mapped[int] = mapped_column(Integer, default=0)
    scan_failures: Mapped[list[dict[str, str]]] = mapped_column(
        JSON, default=list
    )  # [{path, reason}]
    error: Mapped[str | None] = mapped_column(Message)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class JobBatch(Base):
    __tablename__ = "job_batches"
    # The index writer asks "is any batch waiting to be applied?" after every batch.
    __table_args__ = (Index("ix_job_batches_state", "state"),)

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_ids: Mapped[list[int]] = mapped_column(JSON)
    state: Mapped[BatchState] = mapped_column(
        str_enum(BatchState, "batch_state"), default=BatchState.QUEUED
    )
    embedded: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    computed: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
