"""What changed in a market session: the flags its listeners get (the UI
bridge coalesces them to the frame rate)."""

from __future__ import annotations

from collections.abc import Callable
from enum import Flag, auto


class Topic(Flag):
    CANDLES_LIVE = auto()  # the newest candle changed, or one was appended
    CANDLES_RELOAD = auto()  # a new series (symbol or timeframe changed)
    CANDLES_CORRECTED = auto()  # an older candle changed or arrived late
    BOOK = auto()
    TRADES = auto()
    TICKERS = auto()
    STATUS = auto()
    MARKETS = auto()
    SYNC = auto()  # a history download moved on, ended or stopped (``sync_progress``)


Listener = Callable[[Topic], None]
