"""The simulated market's identity: its seed and when it last ran, so that it
continues across restarts (its candles are kept like any exchange's).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "simulated_market",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("started_ms", sa.Integer(), nullable=False),  # when this market began
        sa.Column("saved_ms", sa.Integer(), nullable=False),  # the last minute it ran to
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("simulated_market")
