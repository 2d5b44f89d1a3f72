"""Sync progress, known no-trade gaps, and where an instrument's history begins.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instrument") as batch:
        batch.add_column(sa.Column("listed_since_ms", sa.Integer(), nullable=True))
    op.create_table(
        "sync_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("cursor_ms", sa.Integer(), nullable=False),
        sa.Column("target_ms", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("updated_ms", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["series_id"], ["candle_series.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("series_id", "direction", name="uq_sync_state_direction"),
    )
    op.create_table(
        "no_trade_gap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("first_missing_ts", sa.Integer(), nullable=False),
        sa.Column("last_missing_ts", sa.Integer(), nullable=False),
        sa.Column("checked_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["series_id"], ["candle_series.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("series_id", "first_missing_ts", name="uq_no_trade_gap_start"),
    )


def downgrade() -> None:
    op.drop_table("no_trade_gap")
    op.drop_table("sync_state")
    with op.batch_alter_table("instrument") as batch:
        batch.drop_column("listed_since_ms")
