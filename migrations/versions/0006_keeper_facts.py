"""image facts for duplicate keepers: camera, GPS, software, JPEG quality, shot scores

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 06:30:00.000000

Existing rows get NULL (unknown): `vitrieve dups` measures the members of duplicate groups
from their files once and stores the facts back (search/duplicates/backfill.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("camera", sa.String(length=128)),
    ("has_gps", sa.Boolean()),
    ("software", sa.String(length=64)),
    ("jpeg_quality", sa.SmallInteger()),
    ("sharpness", sa.Float()),
    ("exposure", sa.Float()),
    ("blockiness", sa.Float()),
)


def upgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        for name, type_ in _COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        for name, _ in reversed(_COLUMNS):
            batch_op.drop_column(name)
