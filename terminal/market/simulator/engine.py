"""A simulated market for one symbol: a limit order book that evolves, and
market orders that consume it, producing the trades the candles are built from.

Everything happens in simulated time, drawn from one seeded generator as a
Poisson stream of events. ``advance_to(t)`` processes every event up to t, so
the stream is the same however the caller slices time: the market is
deterministic under a seed whether it is stepped by a test or by the pump.

Events, at a rate that follows the fair price's volatility:
- a maker adds liquidity at a distance from the fair price (never crossing);
- a maker cancels part or all of a level near the top;
- a taker sends a market order that walks the opposite side level by level,
  one trade per level touched. Takers lean towards the fair price, so the
  traded price follows it.
The book is kept at a minimum depth by makers refilling the far levels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from terminal.market.simulator.history import generate_history
from terminal.market.simulator.instruments import Instrument
from terminal.marketdata.candles import OHLCV, CandleSeries, concat
from terminal.marketdata.timeframes import MINUTE_MS

#: Pauses longer than this (a machine asleep, a stopped debugger) are skipped,
#: not replayed event by event, which would freeze the GUI for seconds.
MAX_REPLAY_MS = 30_000
MIN_LEVELS = 60  # per side
MAX_LEVELS = 300  # per side; makers far from the price give up first
SECONDS_PER_YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Trade:
    id: int
    timestamp: int
    price: float
    amount: float
    side: str  # taker side: "buy" or "sell"

    def as_ccxt(self, symbol: str) -> dict[str, Any]:
        return {
            "info": {},
            "id": str(self.id),
            "symbol": symbol,
            "timestamp": self.timestamp,
            "datetime": iso8601(self.timestamp),
            "order": None,
            "type": None,
            "side": self.side,
            "takerOrMaker": "taker",
            "price": self.price,
            "amount": self.amount,
            "cost": self.price * self.amount,
            "fee": None,
            "fees": [],
        }


def iso8601(ts_ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts_ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class SymbolMarket:
    def __init__(
        self,
        instrument: Instrument,
        rng: np.random.Generator,
        start_ms: int,
        history: OHLCV,
        events_per_second: float = 12.0,
    ) -> None:
        self.instrument = instrument
        self.rng = rng
        self.time_ms = start_ms
        # The fair price steps from event to event, not from call to call, so
        # that how the caller slices time cannot change the market.
        self._last_event_ms = start_ms
        self.rate = events_per_second
        self.max_replay_ms = MAX_REPLAY_MS
        tick = instrument.tick
        last_close = float(history.close[-1]) if len(history) else instrument.start_price
        self._log_fair = math.log(last_close)
        self._sigma_per_s = instrument.annual_vol / math.sqrt(SECONDS_PER_YEAR)
        # Book sides keyed by integer ticks, so prices never drift by float error.
        self.bids: dict[int, float] = {}
        self.asks: dict[int, float] = {}
        self._sorted: tuple[list[int], list[int]] | None = None
        self.book_version = 0
        self.trades: list[Trade] = []  # every trade since start (bounded below)
        self.trade_seq = 0
        self.candles = CandleSeries(MINUTE_MS, capacity=len(history) + 4096)
        self.candles.replace(history)
        self._history_len = len(history)
        self._next_event_ms = start_ms + self._draw_gap_ms()
        centre = round(last_close / tick)
        self._spacing = max(1, round(last_close * 0.00004 / tick))  # ~0.4 bp between levels
        for k in range(1, MIN_LEVELS + 20):
            self.bids[centre - k * self._spacing] = self._maker_size() * (1 + 0.03 * k)
            self.asks[centre + k * self._spacing] = self._maker_size() * (1 + 0.03 * k)

    # -- public ---------------------------------------------------------------
    @property
    def fair_price(self) -> float:
        return math.exp(self._log_fair)

    @property
    def last_price(self) -> float:
        return float(self.candles.close[-1]) if len(self.candles) else self.fair_price

    def advance_to(self, t_ms: int) -> bool:
        """Process every event up to ``t_ms``; True if anything changed.
        A call that comes more than ``max_replay_ms`` after the previous one
        (the process was paused) replays only the last ``max_replay_ms``; the
        stretch before is skipped."""
        changed = False
        if t_ms - self.time_ms > self.max_replay_ms:
            self._skip_to(t_ms - self.max_replay_ms)
            changed = True
        while self._next_event_ms <= t_ms:
            now = self._next_event_ms
            dt_s = (now - self._last_event_ms) / 1000.0
            self._last_event_ms = now
            self.time_ms = now
            self._close_empty_minutes(now)
            self._log_fair += (
                self._sigma_per_s * math.sqrt(max(dt_s, 0.0)) * float(self.rng.standard_normal())
            )
            self._event(now)
            changed = True
            self._next_event_ms = now + self._draw_gap_ms()
        if t_ms > self.time_ms:
            self.time_ms = t_ms
            self._close_empty_minutes(t_ms)
        if len(self.trades) > 20_000:
            del self.trades[:10_000]
        return changed

    def _skip_to(self, t_ms: int) -> None:
        """Jump over a long pause: its minutes get generated candles (like the
        history), the book moves with the price, and no trades are made up."""
        last = self.candles.last()
        if last is not None:
            first = last[0] + MINUTE_MS
            end = t_ms - t_ms % MINUTE_MS
            minutes = (end - first) // MINUTE_MS
            if minutes > 0:
                gap = generate_history(self.instrument, end, minutes, self.rng, start_price=last[4])
                self.candles.replace(concat(self.candles.snapshot(), gap))
            price = float(self.candles.close[-1])
            bid, ask = self.best_bid_ask()
            mid = (bid + ask) / 2 if bid is not None and ask is not None else price
            shift = round((price - mid) / self.instrument.tick)
            self.bids = {k + shift: v for k, v in self.bids.items()}
            self.asks = {k + shift: v for k, v in self.asks.items()}
            self._log_fair = math.log(price)
        self._sorted = None
        self.book_version += 1
        self.time_ms = self._last_event_ms = t_ms
        self._next_event_ms = t_ms + self._draw_gap_ms()

    def book_snapshot(self, limit: int | None = None) -> tuple[list[list[float]], list[list[float]]]:
        bid_keys, ask_keys = self._sorted_keys()
        if limit is not None:
            bid_keys, ask_keys = bid_keys[:limit], ask_keys[:limit]
        tick = self.instrument.tick
        bids = [[self._price(k, tick), self.bids[k]] for k in bid_keys]
        asks = [[self._price(k, tick), self.asks[k]] for k in ask_keys]
        return bids, asks

    def best_bid_ask(self) -> tuple[float | None, float | None]:
        bid_keys, ask_keys = self._sorted_keys()
        tick = self.instrument.tick
        bid = self._price(bid_keys[0], tick) if bid_keys else None
        ask = self._price(ask_keys[0], tick) if ask_keys else None
        return bid, ask

    # -- events ---------------------------------------------------------------
    def _draw_gap_ms(self) -> int:
        return max(1, int(self.rng.exponential(1000.0 / self.rate)))

    def _event(self, now: int) -> None:
        u = float(self.rng.random())
        if u < 0.50:
            self._maker_add()
        elif u < 0.78:
            self._maker_cancel()
        else:
            self._taker(now)
        self._refill()
        self._sorted = None
        self.book_version += 1

    def _lots(self, amount: float) -> float:
        """``amount`` rounded to the amount step, free of float residue."""
        lot = self.instrument.lot
        return round(round(amount / lot) * lot, 12)

    def _maker_size(self) -> float:
        size = self.instrument.typical_size * float(self.rng.lognormal(0.0, 0.9))
        return max(self.instrument.lot, self._lots(size))

    def _best_keys(self) -> tuple[int | None, int | None]:
        bid_keys, ask_keys = self._sorted_keys()
        return (bid_keys[0] if bid_keys else None), (ask_keys[0] if ask_keys else None)

    def _maker_add(self) -> None:
        tick = self.instrument.tick
        fair = round(self.fair_price / tick)
        distance = 1 + int(self.rng.exponential(self._spacing * 12))
        best_bid, best_ask = self._best_keys()
        if (
            best_bid is not None
            and best_ask is not None
            and best_ask - best_bid > 2
            and self.rng.random() < 0.35
        ):
            # A wide spread draws makers in: they improve the best quote.
            inside = 1 + int(self.rng.integers(max(1, (best_ask - best_bid) // 2)))
            if self.rng.random() < 0.5:
                key = best_bid + inside
                self.bids[key] = self._lots(self.bids.get(key, 0.0) + self._maker_size())
            else:
                key = best_ask - inside
                self.asks[key] = self._lots(self.asks.get(key, 0.0) + self._maker_size())
            return
        if self.rng.random() < 0.5:
            key = fair - distance
            if best_ask is not None:
                key = min(key, best_ask - 1)  # a bid never crosses the ask
            self.bids[key] = self._lots(self.bids.get(key, 0.0) + self._maker_size())
        else:
            key = fair + distance
            if best_bid is not None:
                key = max(key, best_bid + 1)
            self.asks[key] = self._lots(self.asks.get(key, 0.0) + self._maker_size())

    def _maker_cancel(self) -> None:
        side = self.bids if self.rng.random() < 0.5 else self.asks
        keys = self._sorted_keys()[0 if side is self.bids else 1]
        if not keys:
            return
        # Half the cancels come from near the top, half from anywhere, so deep
        # levels come and go too instead of piling up.
        reach = min(len(keys), 30) if self.rng.random() < 0.5 else len(keys)
        key = keys[int(self.rng.integers(reach))]
        remaining = self._lots(side[key] * float(self.rng.random()))
        if remaining < self.instrument.lot or self.rng.random() < 0.3:
            del side[key]
        else:
            side[key] = remaining

    def _taker(self, now: int) -> None:
        bid, ask = self.best_bid_ask()
        if bid is None or ask is None:
            return
        mid = (bid + ask) / 2
        # Lean towards the fair price: the further it is, the likelier the side.
        lean = (self.fair_price - mid) / (mid * self._sigma_per_s * 10 + 1e-12)
        buy = self.rng.random() < 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, lean))))
        lot = self.instrument.lot
        remaining = max(lot, self._lots(self.instrument.typical_size * float(self.rng.lognormal(0.2, 1.1))))
        book = self.asks if buy else self.bids
        keys = self._sorted_keys()[1 if buy else 0]
        tick = self.instrument.tick
        for key in keys:
            if remaining < lot / 2:
                break
            available = book[key]
            fill = min(available, remaining)
            left = self._lots(available - fill)
            if left < lot:
                del book[key]
            else:
                book[key] = left
            remaining = self._lots(remaining - fill)
            self._record_trade(now, self._price(key, tick), self._lots(fill), "buy" if buy else "sell")
        self._sorted = None

    def _record_trade(self, now: int, price: float, amount: float, side: str) -> None:
        if amount <= 0:
            return
        self.trade_seq += 1
        self.trades.append(Trade(self.trade_seq, now, price, amount, side))
        minute = now - now % MINUTE_MS
        last = self.candles.last()
        if last is not None and last[0] == minute:
            _, o, h, l, _, v = last
            self.candles.upsert(minute, o, max(h, price), min(l, price), price, round(v + amount, 12))
        else:
            self.candles.upsert(minute, price, price, price, price, amount)

    def _close_empty_minutes(self, now: int) -> None:
        """Minutes with no trade get a flat, zero-volume candle at the last
        close (as exchanges report them), so the series has no holes."""
        last = self.candles.last()
        if last is None:
            return
        minute = now - now % MINUTE_MS
        ts = last[0] + MINUTE_MS
        while ts < minute:
            close = last[4]
            self.candles.upsert(ts, close, close, close, close, 0.0)
            ts += MINUTE_MS

    def _refill(self) -> None:
        """Keep MIN_LEVELS..MAX_LEVELS per side: makers post behind the deepest
        level when the book is thin, and the deepest give up when it is deep."""
        for side, sign in ((self.bids, -1), (self.asks, 1)):
            if len(side) > MAX_LEVELS:
                self._sorted = None
                keys = self._sorted_keys()[0 if sign < 0 else 1]
                for key in keys[MAX_LEVELS:]:
                    del side[key]
            if len(side) >= MIN_LEVELS:
                continue
            self._sorted = None
            keys = self._sorted_keys()[0 if sign < 0 else 1]
            edge = keys[-1] if keys else round(self.fair_price / self.instrument.tick)
            for _ in range(MIN_LEVELS - len(side)):
                edge += sign * self._spacing * (1 + int(self.rng.integers(3)))
                side[edge] = self._lots(self._maker_size() * 2)

    def _sorted_keys(self) -> tuple[list[int], list[int]]:
        if self._sorted is None:
            self._sorted = (sorted(self.bids, reverse=True), sorted(self.asks))
        return self._sorted

    @staticmethod
    def _price(key: int, tick: float) -> float:
        return round(key * tick, 10)
