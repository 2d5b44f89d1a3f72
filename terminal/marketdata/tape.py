"""The trade tape: the newest trades in a fixed-size ring of numpy columns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

BUY = 1
SELL = -1


@dataclass(frozen=True)
class TapeRows:
    """Newest first."""

    ts: NDArray[np.int64]
    price: NDArray[np.float64]
    amount: NDArray[np.float64]
    side: NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.ts)


class TradeTape:
    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self._ts = np.zeros(capacity, dtype=np.int64)
        self._price = np.zeros(capacity, dtype=np.float64)
        self._amount = np.zeros(capacity, dtype=np.float64)
        self._side = np.zeros(capacity, dtype=np.int8)
        self._count = 0  # total ever added; the ring position is count % capacity
        self._last_ts = -1
        self._ids_at_last_ts: set[str] = set()
        self.version = 0

    def __len__(self) -> int:
        return min(self._count, self.capacity)

    @property
    def total(self) -> int:
        """Trades added since the tape was created or cleared."""
        return self._count

    def clear(self) -> None:
        self._count = 0
        self._last_ts = -1
        self._ids_at_last_ts.clear()
        self.version += 1

    def extend(self, trades: Iterable[Mapping[str, Any]]) -> int:
        """Add ccxt trade dicts; returns how many were added.

        The tape only moves forward: trades are taken in time order, and one
        older than the newest shown, or already shown (same id and time), is
        dropped. A fetched batch and a stream that overlap it (or a stream
        that replays its cache) therefore never show a trade twice.
        """
        added = 0
        valid = [t for t in trades if t.get("timestamp") is not None]
        for t in sorted(valid, key=lambda t: t["timestamp"]):
            price, amount, ts = t.get("price"), t.get("amount"), int(t["timestamp"])
            if price is None or amount is None:
                continue  # malformed trade: never shown
            trade_id = str(t.get("id") or "")
            if ts < self._last_ts or (trade_id and ts == self._last_ts and trade_id in self._ids_at_last_ts):
                continue
            if ts > self._last_ts:
                self._last_ts = ts
                self._ids_at_last_ts.clear()
            if trade_id:
                self._ids_at_last_ts.add(trade_id)
            i = self._count % self.capacity
            self._ts[i] = int(ts)
            self._price[i] = float(price)
            self._amount[i] = float(amount)
            self._side[i] = SELL if t.get("side") == "sell" else BUY
            self._count += 1
            added += 1
        if added:
            self.version += 1
        return added

    def latest(self, n: int | None = None) -> TapeRows:
        size = len(self)
        n = size if n is None else min(n, size)
        end = self._count % self.capacity
        idx = (end - 1 - np.arange(n)) % self.capacity
        return TapeRows(self._ts[idx], self._price[idx], self._amount[idx], self._side[idx])
