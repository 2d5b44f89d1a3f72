"""Alembic's environment for the history database, run by ``terminal.store.migrations``.

Migrations run only programmatically: the caller opens the connection, begins
the transaction (``BEGIN IMMEDIATE``) and passes the connection in
``config.attributes["connection"]``. All revisions of one upgrade run in that
one transaction, so an upgrade that fails or is killed leaves the database at
its old revision, untouched (SQLite's DDL is transactional).
"""

from __future__ import annotations

from alembic import context

from terminal.store.schema import METADATA

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=METADATA,
    render_as_batch=True,  # SQLite alters most things by copying the table
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
