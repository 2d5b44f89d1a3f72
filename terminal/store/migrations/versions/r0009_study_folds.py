"""Studies scored across folds: how many folds each trial runs on, and whether optuna's
pruner may stop a trial between them (``terminal.research.folds``). A trial's value
after each fold goes with its light metrics (``study_trial.metrics``, and the cache's),
so no trial column is added.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("study") as batch:
        batch.add_column(sa.Column("folds", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("prune", sa.Boolean(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("study") as batch:
        batch.drop_column("prune")
        batch.drop_column("folds")
