"""stacks: bursts kept whole, shown as one cover photo with a count

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 13:30:00.000000

Two new tables; nothing existing changes (search/duplicates/stacks.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cover_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cover_id"],
            ["images.id"],
            name=op.f("fk_stacks_cover_id_images"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stacks")),
    )
    op.create_table(
        "stack_members",
        sa.Column("stack_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_stack_members_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stack_id"],
            ["stacks.id"],
            name=op.f("fk_stack_members_stack_id_stacks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stack_id", "image_id", name=op.f("pk_stack_members")),
        sa.UniqueConstraint("image_id", name=op.f("uq_stack_members_image_id")),
    )


def downgrade() -> None:
    op.drop_table("stack_members")
    op.drop_table("stacks")
