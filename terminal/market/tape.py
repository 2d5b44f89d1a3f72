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
        self.version = 0

    def __len__(self) -> int:
        return min(self._count, self.capacity)

    @property
    def total(self) -> int:
        """Trades added since the tape was created or cleared."""
        return self._count

    def clear(self) -> None:
        self._count = 0
        self.version += 1

    def extend(self, trades: Iterable[Mapping[str, Any]]) -> int:
        """Add ccxt trade dicts (oldest first); returns how many were added."""
        added = 0
        for t in trades:
            price, amount, ts = t.get("price"), t.get("amount"), t.get("timestamp")
            if price is None or amount is None or ts is None:
                continue  # malformed trade: never shown
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
