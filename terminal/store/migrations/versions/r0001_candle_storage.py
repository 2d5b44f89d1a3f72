"""Candle storage: instruments, candle series, columnar candle chunks.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instrument",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exchange", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("exchange", "symbol", name="uq_instrument_exchange_symbol"),
    )
    op.create_table(
        "candle_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("timeframe", sa.String(), nullable=False),
        sa.Column("timeframe_ms", sa.Integer(), nullable=False),
        sa.Column("chunk_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["instrument_id"], ["instrument.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instrument_id", "timeframe", name="uq_candle_series_timeframe"),
    )
    op.create_table(
        "candle_chunk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("chunk_start", sa.Integer(), nullable=False),
        sa.Column("first_ts", sa.Integer(), nullable=False),
        sa.Column("last_ts", sa.Integer(), nullable=False),
        sa.Column("candles", sa.Integer(), nullable=False),
        sa.Column("codec", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["series_id"], ["candle_series.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("series_id", "chunk_start", name="uq_candle_chunk_start"),
    )


def downgrade() -> None:
    op.drop_table("candle_chunk")
    op.drop_table("candle_series")
    op.drop_table("instrument")
