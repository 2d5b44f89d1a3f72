"""Drawings on the chart, per exchange and symbol: horizontal lines, trend lines, rays,
rectangles, Fibonacci retracements and text notes, each with its points (JSON
``[[time_s, price], ...]``), text and colour, in drawing order.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drawing",
        sa.Column("exchange", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("points", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("color", sa.String(), nullable=False),
        sa.Column("updated_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("exchange", "symbol", "id"),
    )


def downgrade() -> None:
    op.drop_table("drawing")
