"""Versions of the user's strategies: the text of each strategy file a saved run or a
study used, by the strategy's name and the SHA-256 its runs and studies keep, with
where it was, when it was first seen, and the user's note.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "strategy_version",
        sa.Column("strategy", sa.String(), nullable=False),
        sa.Column("source_hash", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("first_seen_ms", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("strategy", "source_hash"),
    )


def downgrade() -> None:
    op.drop_table("strategy_version")
