"""duplicates: group-wide "not duplicates" decisions, metadata a keeper inherited

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dup_ignore_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dup_ignore_sets")),
    )
    with op.batch_alter_table("dup_ignore_sets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dup_ignore_sets_group_id"), ["group_id"], unique=False)
    op.create_table(
        "dup_ignore_set_members",
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_dup_ignore_set_members_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["dup_ignore_sets.id"],
            name=op.f("fk_dup_ignore_set_members_set_id_dup_ignore_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("set_id", "image_id", name=op.f("pk_dup_ignore_set_members")),
    )
    with op.batch_alter_table("quarantine_moves", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inherited", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quarantine_moves", schema=None) as batch_op:
        batch_op.drop_column("inherited")
    op.drop_table("dup_ignore_set_members")
    with op.batch_alter_table("dup_ignore_sets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dup_ignore_sets_group_id"))
    op.drop_table("dup_ignore_sets")
