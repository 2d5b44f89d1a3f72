"""Paper accounts saved in the history file (``paper_account``, revision 0005):
one row per account name, its ``PaperAccount.to_dict()`` as JSON text.

Every call blocks (the paper broker calls it through ``asyncio.to_thread``).
The text is handed back as it is stored: the broker parses it, and a saved
state it cannot read is kept, not overwritten, until the user resets.
"""

from __future__ import annotations

from terminal.store.candles import CandleStore
from terminal.store.database import Database

_LOAD = "SELECT state FROM paper_account WHERE account = ?"
_SAVE = """
INSERT INTO paper_account (account, state, updated_ms) VALUES (?, ?, ?)
ON CONFLICT (account) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms"""


class PaperAccountStore:
    def __init__(self, store: CandleStore) -> None:
        self.database: Database = store.database

    def load(self, account: str) -> str | None:
        """The saved state's JSON text, or None if the account was never saved."""
        with self.database.reading() as conn:
            row = conn.execute(_LOAD, (account,)).fetchone()
        return None if row is None else str(row[0])

    def save(self, account: str, state: str, updated_ms: int) -> None:
        with self.database.writing() as conn:
            conn.execute(_SAVE, (account, state, updated_ms))

    def accounts(self) -> list[str]:
        with self.database.reading() as conn:
            return [str(r[0]) for r in conn.execute("SELECT account FROM paper_account ORDER BY account")]
