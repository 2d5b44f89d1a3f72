"""Trading: the paper accounts' saved state and the audit journal of orders.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_account",
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),  # JSON: PaperAccount.to_dict()
        sa.Column("updated_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account"),
    )
    op.create_table(
        "trading_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts_ms", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("broker", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("client_order_id", sa.String(), nullable=True),
        sa.Column("symbol", sa.String(), nullable=True),
        sa.Column("payload", sa.String(), nullable=False),  # JSON
        sa.PrimaryKeyConstraint("id"),
    )
    # an account's entries over a time range (the journal view, exports) ...
    op.create_index("ix_trading_journal_account_ts", "trading_journal", ["account", "ts_ms"])
    # ... and everything about one order (reconciling a live order by its id)
    op.create_index("ix_trading_journal_client_order_id", "trading_journal", ["client_order_id"])


def downgrade() -> None:
    op.drop_index("ix_trading_journal_client_order_id", table_name="trading_journal")
    op.drop_index("ix_trading_journal_account_ts", table_name="trading_journal")
    op.drop_table("trading_journal")
    op.drop_table("paper_account")
