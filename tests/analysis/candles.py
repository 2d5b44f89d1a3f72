"""Realistic candles for the indicator tests: a seeded random walk around 30,000."""

from __future__ import annotations

import numpy as np

from terminal.marketdata.candles import OHLCV

START_MS = 1_700_000_000_000 // 60_000 * 60_000


def walk(n: int, seed: int = 3, step_ms: int = 60_000) -> OHLCV:
    rng = np.random.default_rng(seed)
    close = 30_000 + np.cumsum(rng.normal(0, 20, n))
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) + rng.random(n) * 10
    low = np.minimum(open_, close) - rng.random(n) * 10
    volume = rng.random(n) * 5 + 0.1
    ts = (START_MS + np.arange(n) * step_ms).astype(np.int64)
    return OHLCV(ts, open_, high, low, close, volume)
