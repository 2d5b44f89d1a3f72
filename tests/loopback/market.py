"""Market data both loopback servers derive from the simulator in the same way,
whatever their protocol writes on the wire: the published book (``Book``, one
subclass per protocol for how a level is written), books as ``[price, size]``
lists, rolling 24 h figures for tickers, and candles of any length resampled
from the 1m candles with their alignment."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

import numpy as np

from terminal.market.simulator.engine import SymbolMarket
from terminal.marketdata.candles import OHLCV
from terminal.marketdata.resample import resample
from tests.loopback.versions import Undo

MINUTE_MS = 60_000
DAY_MS = 24 * 60 * MINUTE_MS
#: Weeks open on Monday 00:00 UTC (the epoch was a Thursday).
WEEK_OFFSET_MS = 4 * DAY_MS
#: How many of a side's best levels synthetic depth changes (``depth_rate``) pick from.
TOP_LEVELS = 20

BookLists = tuple[list[list[float]], list[list[float]]]


def bar_open(t: int, step: int, offset: int) -> int:
    """When the ``step`` long candle holding ``t`` opens (candles open at each
    ``t`` with ``(t - offset) % step == 0``)."""
    return t - (t - offset) % step


def price_of(key: int, tick: float) -> float:
    """The price of ``key`` ticks, as a client parses it."""
    return round(key * tick, 10)


def book_lists(bids: dict[int, float], asks: dict[int, float], tick: float, depth: int | None) -> BookLists:
    """A book side-dict pair as ``(bids high to low, asks low to high)`` of ``[price, size]``."""
    return (
        [[price_of(k, tick), bids[k]] for k in sorted(bids, reverse=True)[:depth]],
        [[price_of(k, tick), asks[k]] for k in sorted(asks)[:depth]],
    )


class Book:
    """One symbol's published book: what every synced client holds, size by
    price key (in ticks) per side. A protocol's subclass writes the levels as its
    updates carry them."""

    def __init__(self) -> None:
        self.bids: dict[int, float] = {}
        self.asks: dict[int, float] = {}

    def side(self, is_bid: bool) -> dict[int, float]:
        return self.bids if is_bid else self.asks

    def set(self, is_bid: bool, key: int, size: float) -> tuple[list[str], Undo]:
        """Set a level (``size`` 0 removes it); returns the level as an update
        carries it and what it replaced (for ``BookVersions``)."""
        raise NotImplementedError

    def best(self, is_bid: bool, depth: int | None) -> list[int]:
        """The side's keys, best first, ``depth`` of them (None: all)."""
        return sorted(self.side(is_bid), reverse=is_bid)[:depth]

    def top(self, is_bid: bool) -> list[int]:
        """The keys of the side's ``TOP_LEVELS`` best levels (synthetic depth changes
        pick among them)."""
        return self.best(is_bid, TOP_LEVELS)

    def synced(self) -> None:
        """Called when the pump has brought the book to the engine's."""

    def desk_levels(self, asks: bool) -> list[tuple[Decimal, Decimal]]:
        """The asks (low to high) or bids (high to low) as exact decimals, for the
        order desk's takers."""
        raise NotImplementedError


class DayStats(NamedTuple):
    open: float
    high: float
    low: float
    volume: float  # base
    quote: float  # quote volume, at each candle's typical price


def day_stats(engine: SymbolMarket, now: int) -> DayStats:
    """Rolling 24 h figures as of ``now`` from the 1m candles (the live one
    included); with no candle in the window, the last price and no volume."""
    candles = engine.candles
    i0 = int(np.searchsorted(candles.ts, now - now % MINUTE_MS - DAY_MS + MINUTE_MS))
    if i0 >= len(candles):
        last = engine.last_price
        return DayStats(last, last, last, 0.0, 0.0)
    high, low, close = candles.high[i0:], candles.low[i0:], candles.close[i0:]
    return DayStats(
        float(candles.open[i0]),
        float(high.max()),
        float(low.min()),
        float(candles.volume[i0:].sum()),
        float((candles.volume[i0:] * (high + low + close) / 3).sum()),
    )


def resample_aligned(data: OHLCV, step: int, offset: int) -> OHLCV:
    """1m candles as ``step`` candles that open at ``t`` with ``(t - offset) % step == 0``."""
    shifted = OHLCV(data.ts - offset, data.open, data.high, data.low, data.close, data.volume)
    out = resample(shifted, step)
    return OHLCV(out.ts + offset, out.open, out.high, out.low, out.close, out.volume)
