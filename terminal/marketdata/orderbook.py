"""Order book state: each side a pair of sorted numpy arrays (price, size).

Invariants: bids strictly descending by price, asks strictly ascending, no
zero sizes. A snapshot replaces both sides; a level update writes, inserts or
removes one level in O(depth) memmove without Python loops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Side = Literal["bids", "asks"]


@dataclass(frozen=True)
class Levels:
    """One side as the ladder shows it, best level first."""

    price: FloatArray
    size: FloatArray
    cumulative: FloatArray

    def __len__(self) -> int:
        return len(self.price)


def _as_levels(rows: Sequence[Sequence[float]], depth: int | None) -> tuple[FloatArray, FloatArray]:
    if depth is not None:
        rows = rows[:depth]
    if not len(rows):
        return np.empty(0), np.empty(0)
    arr = np.asarray([r[:2] for r in rows], dtype=np.float64)
    return np.ascontiguousarray(arr[:, 0]), np.ascontiguousarray(arr[:, 1])


class OrderBook:
    def __init__(self, symbol: str = "") -> None:
        self.symbol = symbol
        self.bid_price: FloatArray = np.empty(0)
        self.bid_size: FloatArray = np.empty(0)
        self.ask_price: FloatArray = np.empty(0)
        self.ask_size: FloatArray = np.empty(0)
        self.timestamp: int | None = None
        self.version = 0

    # -- writing -------------------------------------------------------------
    def replace(
        self,
        bids: Sequence[Sequence[float]],
        asks: Sequence[Sequence[float]],
        timestamp: int | None = None,
        depth: int | None = None,
    ) -> None:
        """Take a full snapshot in ccxt's shape (best level first on each side)."""
        self.bid_price, self.bid_size = _as_levels(bids, depth)
        self.ask_price, self.ask_size = _as_levels(asks, depth)
        self.timestamp = timestamp
        self.version += 1

    def clear(self) -> None:
        self.replace([], [])

    def update(self, side: Side, price: float, size: float) -> None:
        """Set one level's size (0 removes it), keeping the side sorted."""
        prices = self.bid_price if side == "bids" else self.ask_price
        sizes = self.bid_size if side == "bids" else self.ask_size
        # searchsorted needs ascending keys: search bids on negated prices.
        key = -price if side == "bids" else price
        keys = -prices if side == "bids" else prices
        i = int(np.searchsorted(keys, key))
        found = i < len(prices) and prices[i] == price
        if found and size > 0:
            sizes[i] = size
        elif found:
            prices, sizes = np.delete(prices, i), np.delete(sizes, i)
        elif size > 0:
            prices, sizes = np.insert(prices, i, price), np.insert(sizes, i, size)
        if side == "bids":
            self.bid_price, self.bid_size = prices, sizes
        else:
            self.ask_price, self.ask_size = prices, sizes
        self.version += 1

    # -- reading -------------------------------------------------------------
    @property
    def best_bid(self) -> float | None:
        return float(self.bid_price[0]) if len(self.bid_price) else None

    @property
    def best_ask(self) -> float | None:
        return float(self.ask_price[0]) if len(self.ask_price) else None

    @property
    def mid(self) -> float | None:
        bid, ask = self.best_bid, self.best_ask
        return (bid + ask) / 2 if bid is not None and ask is not None else None

    @property
    def spread(self) -> float | None:
        bid, ask = self.best_bid, self.best_ask
        return ask - bid if bid is not None and ask is not None else None

    def is_crossed(self) -> bool:
        bid, ask = self.best_bid, self.best_ask
        return bid is not None and ask is not None and bid >= ask

    def levels(self, side: Side, step: float | None = None, depth: int = 50) -> Levels:
        """The best ``depth`` levels of a side, optionally grouped into ``step``
        buckets (bids round down, asks round up, so a group never looks
        better than the orders in it), with cumulative size."""
        prices = self.bid_price if side == "bids" else self.ask_price
        sizes = self.bid_size if side == "bids" else self.ask_size
        if step and len(prices):
            # A tiny epsilon keeps 100.0/0.1 from landing in the 999 bucket.
            ratio = prices / step
            buckets = np.floor(ratio + 1e-9) if side == "bids" else np.ceil(ratio - 1e-9)
            starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
            prices = buckets[starts][:depth] * step
            sizes = np.add.reduceat(sizes, starts)[:depth]
        else:
            prices, sizes = prices[:depth], sizes[:depth]
        return Levels(prices, sizes, np.cumsum(sizes))


def decimals_for(step: float) -> int:
    """How many decimals a price step needs to be shown exactly (0.01 -> 2)."""
    if step >= 1:
        return 0
    return max(0, min(12, math.ceil(-math.log10(step) - 1e-9)))
