"""The loopback OKX server's market data in OKX v5's shapes: the published book
(kept sorted, with the exact strings sent and their checksum), candles for
every bar OKX offers (UTC and Hong Kong aligned), tickers, trades and
instruments, all read from the simulator's ``SymbolMarket`` (what both servers
derive alike is ``market.py``'s)."""

from __future__ import annotations

import bisect
import zlib
from decimal import Decimal
from typing import Any

import numpy as np

from terminal.market.simulator.engine import SymbolMarket, Trade
from terminal.market.simulator.instruments import Instrument
from terminal.marketdata.candles import OHLCV
from tests.loopback.filters import SymbolRules
from tests.loopback.market import (
    DAY_MS,
    MINUTE_MS,
    WEEK_OFFSET_MS,
    Book,
    bar_open,
    day_stats,
    resample_aligned,
)
from tests.loopback.okx_wire import CHECKSUM_LEVELS, checksum, num, price_text
from tests.loopback.versions import Undo

HOUR_MS = 60 * MINUTE_MS
HK_MS = 8 * HOUR_MS  # OKX's default candle time zone is UTC+8


def _bars() -> dict[str, tuple[int, int]]:
    """bar name -> (length, offset): candles open at ``t`` with ``(t - offset) % length == 0``.
    6H and longer bars align to Hong Kong time unless the name ends in ``utc``."""
    bars = {
        "1m": (MINUTE_MS, 0),
        "3m": (3 * MINUTE_MS, 0),
        "5m": (5 * MINUTE_MS, 0),
        "15m": (15 * MINUTE_MS, 0),
        "30m": (30 * MINUTE_MS, 0),
        "1H": (HOUR_MS, 0),
        "2H": (2 * HOUR_MS, 0),
        "4H": (4 * HOUR_MS, 0),
    }
    for name, length in (("6H", 6 * HOUR_MS), ("12H", 12 * HOUR_MS), ("1D", DAY_MS), ("1W", 7 * DAY_MS)):
        week = WEEK_OFFSET_MS if name == "1W" else 0
        bars[name] = (length, (week - HK_MS) % length)
        bars[name + "utc"] = (length, week)
    return bars


#: The bars served (``1M``/``3M`` are not).
BARS: dict[str, tuple[int, int]] = _bars()
#: Levels per side in a ``books`` snapshot.
SNAPSHOT_LEVELS = 400


def inst_id(instrument: Instrument) -> str:
    return f"{instrument.base}-{instrument.quote}"


def rules_of(instrument: Instrument) -> SymbolRules:
    """The order rules of an OKX spot instrument: tick and lot from the simulator,
    minSz = one lot, no minimum notional (OKX has none for spot)."""
    return SymbolRules(
        inst_id(instrument),
        instrument.base,
        instrument.quote,
        Decimal(repr(instrument.tick)),
        Decimal(repr(instrument.lot)),
        market_max_qty=Decimal(9_000),
        min_notional=Decimal(0),
        max_notional=Decimal(10) ** 12,
    )


def instrument_json(instrument: Instrument, rules: SymbolRules, list_time: int) -> dict[str, Any]:
    """A row of ``GET /api/v5/public/instruments?instType=SPOT``."""
    return {
        "alias": "",
        "auctionEndTime": "",
        "baseCcy": instrument.base,
        "category": "1",
        "ctMult": "",
        "ctType": "",
        "ctVal": "",
        "ctValCcy": "",
        "expTime": "",
        "instFamily": "",
        "instId": rules.market_id,
        "instIdCode": zlib.crc32(rules.market_id.encode()) % 100_000,
        "instType": "SPOT",
        "lever": "",
        "listTime": str(list_time),
        "lotSz": format(rules.lot.normalize(), "f"),
        "maxIcebergSz": num(rules.max_qty),
        "maxLmtAmt": "20000000",
        "maxLmtSz": num(rules.max_qty),
        "maxMktAmt": "1000000",
        "maxMktSz": "1000000",
        "maxStopSz": num(rules.max_qty),
        "maxTriggerSz": num(rules.max_qty),
        "maxTwapSz": num(rules.max_qty),
        "minSz": format(rules.lot.normalize(), "f"),
        "optType": "",
        "quoteCcy": instrument.quote,
        "ruleType": "normal",
        "settleCcy": "",
        "state": "live",
        "stk": "",
        "tickSz": format(rules.tick.normalize(), "f"),
        "uly": "",
    }


class PublishedBook(Book):
    """One symbol's published book: what every synced client holds. Sizes by
    price key (ticks), each side's keys kept sorted, and every level's price and
    size as the exact strings sent, so the checksum is the one a client computes
    from what it received."""

    def __init__(self, tick: Decimal) -> None:
        super().__init__()
        self.tick = tick
        self._keys: tuple[list[int], list[int]] = ([], [])  # ascending, bids and asks
        self._size_text: tuple[dict[int, str], dict[int, str]] = ({}, {})
        self._price_text: dict[int, str] = {}

    def set(self, is_bid: bool, key: int, size: float) -> tuple[list[str], Undo]:
        """Set a level (``size`` 0 removes it); returns the level as sent and its undo."""
        side = self.bids if is_bid else self.asks
        keys = self._keys[0 if is_bid else 1]
        texts = self._size_text[0 if is_bid else 1]
        old = side.get(key)
        if size > 0:
            if old is None:
                bisect.insort(keys, key)
            side[key] = size
            texts[key] = num(size)
        elif old is not None:
            del side[key]
            del texts[key]
            del keys[bisect.bisect_left(keys, key)]
        return self.level(is_bid, key), (is_bid, key, old)

    def price(self, key: int) -> str:
        text = self._price_text.get(key)
        if text is None:
            text = self._price_text[key] = price_text(key, self.tick)
        return text

    def level(self, is_bid: bool, key: int) -> list[str]:
        """``[price, size, "0", orders]`` as OKX sends a level (size "0": removed)."""
        size = self._size_text[0 if is_bid else 1].get(key, "0")
        return [self.price(key), size, "0", "0" if size == "0" else "1"]

    def best(self, is_bid: bool, depth: int | None) -> list[int]:
        """The side's keys, best first, ``depth`` of them (None: all)."""
        keys = self._keys[0 if is_bid else 1]
        if is_bid:
            low = 0 if depth is None else max(0, len(keys) - depth)
            return keys[low:][::-1]
        return keys[:depth]

    def levels(self, is_bid: bool, depth: int | None) -> list[list[str]]:
        return [self.level(is_bid, k) for k in self.best(is_bid, depth)]

    def desk_levels(self, asks: bool) -> list[tuple[Decimal, Decimal]]:
        return [(Decimal(level[0]), Decimal(level[1])) for level in self.levels(not asks, None)]

    def checksum(self) -> int:
        sides = []
        for i, is_bid in enumerate((True, False)):
            texts = self._size_text[i]
            sides.append([(self.price(k), texts[k]) for k in self.best(is_bid, CHECKSUM_LEVELS)])
        return checksum(sides[0], sides[1])


def candles(engine: SymbolMarket, bar: str, before: int | None, after: int | None, limit: int) -> OHLCV:
    """OKX's paging of ``bar`` candles: those opening after ``before`` and before
    ``after`` (both exclusive, both optional), the newest ``limit`` of them;
    oldest first here (the endpoint sends them newest first)."""
    step, offset = BARS[bar]
    ts = engine.candles.ts
    if not len(ts):
        return OHLCV.empty()
    last_open = bar_open(int(ts[-1]), step, offset)
    if after is not None:
        last_open = min(last_open, bar_open(after - 1, step, offset))
    first_open = max(bar_open(int(ts[0]), step, offset), last_open - (limit - 1) * step)
    if before is not None:
        first_open = max(first_open, bar_open(before, step, offset) + step)
    if last_open < first_open:
        return OHLCV.empty()
    return aggregate(engine, bar, first_open, last_open + step)


def aggregate(engine: SymbolMarket, bar: str, start: int, end: int) -> OHLCV:
    """The ``bar`` candles opening in [start, end), from the 1m candles."""
    step, offset = BARS[bar]
    ts = engine.candles.ts
    data = engine.candles.copy(int(np.searchsorted(ts, start)), int(np.searchsorted(ts, end)))
    if step == MINUTE_MS or not len(data):
        return data
    return resample_aligned(data, step, offset)


def candle_row(data: OHLCV, k: int, confirmed: bool) -> list[str]:
    """``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`` (volumes: base, quote, quote)."""
    quote = float(data.volume[k]) * float(data.high[k] + data.low[k] + data.close[k]) / 3
    return [
        str(int(data.ts[k])),
        num(float(data.open[k])),
        num(float(data.high[k])),
        num(float(data.low[k])),
        num(float(data.close[k])),
        num(float(data.volume[k])),
        num(quote),
        num(quote),
        "1" if confirmed else "0",
    ]


def ticker_json(
    instrument_id: str, engine: SymbolMarket, book: PublishedBook, trades: list[Trade], now: int
) -> dict[str, Any]:
    """The ticker (REST and the ``tickers`` channel): rolling 24 h figures from the
    1m candles, the published top of book, the last published trade."""
    candles_ = engine.candles
    ts = candles_.ts
    last = engine.last_price
    open_, high, low, volume, quote = day_stats(engine, now)

    def day_open(offset: int) -> float:
        start = now - (now - offset) % DAY_MS
        i = int(np.searchsorted(ts, start))
        return float(candles_.open[i]) if i < len(ts) else last

    bid, ask = book.best(True, 1), book.best(False, 1)
    bid_level = book.level(True, bid[0]) if bid else ["", ""]
    ask_level = book.level(False, ask[0]) if ask else ["", ""]
    return {
        "instType": "SPOT",
        "instId": instrument_id,
        "last": num(last),
        "lastSz": num(trades[-1].amount) if trades else "0",
        "askPx": ask_level[0],
        "askSz": ask_level[1],
        "bidPx": bid_level[0],
        "bidSz": bid_level[1],
        "open24h": num(open_),
        "high24h": num(high),
        "low24h": num(low),
        "volCcy24h": num(quote),
        "vol24h": num(volume),
        "ts": str(now),
        "sodUtc0": num(day_open(0)),
        "sodUtc8": num(day_open(-HK_MS)),
    }


def trade_json(instrument_id: str, t: Trade) -> dict[str, Any]:
    """A public trade (REST ``market/trades`` and the ``trades`` channel)."""
    return {
        "instId": instrument_id,
        "side": t.side,
        "sz": num(t.amount),
        "px": num(t.price),
        "source": "0",
        "tradeId": str(t.id),
        "ts": str(t.timestamp),
        "count": "1",
    }
