"""Where the simulated market keeps itself: its 1m candles under its exchange
name and its record (seed, start, the time it last ran to) in the history file,
like any exchange's history. Every call blocks: the market calls them from a
worker thread."""

from __future__ import annotations

from terminal.marketdata.candles import OHLCV
from terminal.store.candles import CandleStore
from terminal.store.market_records import MarketRecord, SimulatedMarkets

KEPT_TIMEFRAME = "1m"


class MarketMemory:
    def __init__(self, store: CandleStore, name: str) -> None:
        self.store = store
        self.name = name
        self._records = SimulatedMarkets(store)

    def record(self) -> MarketRecord | None:
        return self._records.load(self.name)

    def begin(self, seed: int, started_ms: int) -> None:
        """A new market: whatever the file held under this name is dropped."""
        self._records.forget(self.name)
        self._records.save(MarketRecord(self.name, seed, started_ms, started_ms))

    def ran_to(self, record: MarketRecord, saved_ms: int) -> None:
        self._records.save(MarketRecord(self.name, record.seed, record.started_ms, saved_ms))

    def recall(self, symbol: str, since_ms: int) -> OHLCV:
        """The kept candles of ``symbol`` opening at or after ``since_ms`` (empty if none)."""
        return self.store.read(self.name, symbol, KEPT_TIMEFRAME, since_ms)

    def keep(self, symbol: str, candles: OHLCV) -> None:
        self.store.write(self.name, symbol, KEPT_TIMEFRAME, candles)
