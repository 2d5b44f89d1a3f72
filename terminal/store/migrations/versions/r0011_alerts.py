"""Alerts: the user's alerts (each one's JSON, in the panel's order) and the history of
the times they fired, so that both outlive a restart.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),  # JSON: Alert.to_json()
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "alert_fired",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.String(), nullable=False),
        sa.Column("fired_ms", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("exchange", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # the history panel lists the newest firings first
    op.create_index("ix_alert_fired_fired_ms", "alert_fired", ["fired_ms"])


def downgrade() -> None:
    op.drop_index("ix_alert_fired_fired_ms", table_name="alert_fired")
    op.drop_table("alert_fired")
    op.drop_table("alert")
