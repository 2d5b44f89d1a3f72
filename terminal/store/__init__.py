"""Local market history: one SQLite file of candles, coverage, sync state and gaps.

``CandleStore`` moves candles between numpy arrays and the file;
``Database`` opens, checks and upgrades it; ``move_aside`` makes way for a
fresh file when the old one is damaged (it never deletes). The schema
(``terminal.store.schema``, sqlmodel) and its migrations
(``terminal.store.migrations``, alembic) are imported only when needed.
"""

from terminal.store.candles import CandleStore, Coverage, SeriesKey
from terminal.store.database import Database, default_path, move_aside

__all__ = ["CandleStore", "Coverage", "Database", "SeriesKey", "default_path", "move_aside"]
