"""Building candles from finer data: lower timeframes, or trades.

Buckets are aligned to the epoch in UTC, as exchanges align them, so a 4h
candle opens at 00:00, 04:00, ... and a 1d candle at 00:00 UTC.
"""

from __future__ import annotations

import numpy as np

from terminal.marketdata.candles import OHLCV


def resample(data: OHLCV, target_ms: int) -> OHLCV:
    """Aggregate candles into ``target_ms`` buckets: first open, max high,
    min low, last close, summed volume. A partial last bucket is kept (it is
    the live candle)."""
    if not len(data):
        return OHLCV.empty()
    bucket = data.ts - data.ts % target_ms
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(bucket)] - 1
    return OHLCV(
        bucket[starts].copy(),
        data.open[starts].copy(),
        np.maximum.reduceat(data.high, starts),
        np.minimum.reduceat(data.low, starts),
        data.close[ends].copy(),
        np.add.reduceat(data.volume, starts),
    )


def candles_from_trades(ts_ms: np.ndarray, price: np.ndarray, amount: np.ndarray, timeframe_ms: int) -> OHLCV:
    """Exact OHLCV of a time-ordered trade list (only buckets that had trades)."""
    if not len(ts_ms):
        return OHLCV.empty()
    ts_ms = np.asarray(ts_ms, dtype=np.int64)
    price = np.asarray(price, dtype=np.float64)
    amount = np.asarray(amount, dtype=np.float64)
    one = OHLCV(ts_ms, price, price, price, price, amount)
    return resample(one, timeframe_ms)
