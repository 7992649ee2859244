"""images.data_size: bytes of encoded image data, metadata not counted (the keeper's size rule)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 10:30:00.000000

Existing rows get NULL (unknown): `vitrieve dups` measures the members of duplicate groups
from their files once and stores it back (search/duplicates/backfill.py); until then the
keeper rule compares their file sizes, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_size", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_column("data_size")
