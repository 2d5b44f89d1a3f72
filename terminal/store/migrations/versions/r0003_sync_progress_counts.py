"""How many candles a download has dealt with, of how many.

A download that fetches its newest pages first (a chart's) cannot show its
progress by its cursor, which stays at the range's start until the end; the
data manager showed such a download at 0% half-way through.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.add_column(sa.Column("done", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("total", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.drop_column("total")
        batch.drop_column("done")
