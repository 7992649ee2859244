"""dup_calibrations: the near-duplicate threshold measured on the user's own photos

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 11:00:00.000000

A new table; nothing existing changes. Until a row exists for the current model the fixed
threshold applies, as before (search/duplicates/threshold.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dup_calibrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("negatives", sa.Integer(), nullable=False),
        sa.Column("excluded", sa.JSON(), nullable=False),
        sa.Column("curve", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name=op.f("fk_dup_calibrations_model_id_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dup_calibrations")),
    )
    with op.batch_alter_table("dup_calibrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dup_calibrations_model_id"), ["model_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dup_calibrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dup_calibrations_model_id"))
    op.drop_table("dup_calibrations")
