"""reference_folders: folders whose images are always kept by duplicate review

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 13:40:00.000000

A new table; nothing existing changes. With no row, duplicate review behaves as before
(search/duplicates/reference.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reference_folders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("root_id", sa.Integer(), nullable=False),
        sa.Column("rel_path", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["root_id"],
            ["roots.id"],
            name=op.f("fk_reference_folders_root_id_roots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_folders")),
        sa.UniqueConstraint(
            "root_id", "rel_path", name=op.f("uq_reference_folders_root_id_rel_path")
        ),
    )


def downgrade() -> None:
    op.drop_table("reference_folders")
