"""Research studies and the trial cache: a sweep's definition and every trial as it
completes, so that a study resumes after the terminal was closed or killed, and the
outcome of each computed trial by the hash of its inputs, so that none is computed
twice, across studies and sessions.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_ms", sa.Integer(), nullable=False),
        sa.Column("updated_ms", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("strategy", sa.String(), nullable=False),
        sa.Column("source_hash", sa.String(), nullable=False),
        sa.Column("exchange", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("timeframe", sa.String(), nullable=False),
        sa.Column("first_ts", sa.Integer(), nullable=False),
        sa.Column("last_ts", sa.Integer(), nullable=False),
        sa.Column("candles", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("space", sa.String(), nullable=False),
        sa.Column("objectives", sa.String(), nullable=False),
        sa.Column("filters", sa.String(), nullable=False),
        sa.Column("params", sa.String(), nullable=False),
        sa.Column("settings", sa.String(), nullable=False),
        sa.Column("budget", sa.Integer(), nullable=True),
        sa.Column("early_stop", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "study_trial",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("params", sa.String(), nullable=False),
        sa.Column("objective_values", sa.String(), nullable=False),
        sa.Column("metrics", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("violation", sa.Float(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("repeat_of", sa.Integer(), nullable=True),
        sa.Column("first_day", sa.Integer(), nullable=True),
        sa.Column("daily", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("study_id", "number", name="uq_study_trial_number"),
    )
    op.create_table(
        "trial_cache",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("created_ms", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.String(), nullable=True),
        sa.Column("error", sa.String(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("first_day", sa.Integer(), nullable=True),
        sa.Column("daily", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("trial_cache")
    op.drop_table("study_trial")
    op.drop_table("study")
