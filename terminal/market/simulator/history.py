"""Generated 1-minute history, so a new user's chart is full on first start.

A geometric random walk with slowly changing volatility (calm and busy
stretches) and an intraday activity cycle. Each minute is built from a few
sub-steps so that high and low are the true extremes of a path from open to
close, and each candle opens at the previous close.
"""

from __future__ import annotations

import numpy as np

from terminal.market.simulator.instruments import Instrument
from terminal.marketdata.candles import OHLCV
from terminal.marketdata.timeframes import MINUTE_MS

MINUTES_PER_YEAR = 365 * 24 * 60
SUBSTEPS = 6


def _smooth_noise(rng: np.random.Generator, n: int, window: int) -> np.ndarray:
    """Unit-variance noise that wanders over ~``window`` samples."""
    raw = rng.standard_normal(n + window)
    kernel = np.ones(window) / np.sqrt(window)
    return np.convolve(raw, kernel, mode="valid")[:n]


def round_to(values: np.ndarray, step: float) -> np.ndarray:
    return np.round(np.round(values / step) * step, 10)


def generate_history(
    instrument: Instrument,
    end_ms: int,
    minutes: int,
    rng: np.random.Generator,
    start_price: float | None = None,
) -> OHLCV:
    """``minutes`` closed 1m candles ending just before ``end_ms`` (a minute
    boundary), the first opening at ``start_price`` (the instrument's by default)."""
    if minutes <= 0:
        return OHLCV.empty()
    sigma = instrument.annual_vol / np.sqrt(MINUTES_PER_YEAR)
    regime = np.exp(0.35 * _smooth_noise(rng, minutes, 720))
    ts = end_ms - MINUTE_MS * np.arange(minutes, 0, -1, dtype=np.int64)
    minute_of_day = (ts // MINUTE_MS) % 1440
    intraday = 1.0 + 0.35 * np.sin(2 * np.pi * (minute_of_day - 480) / 1440)
    step_sigma = (sigma * regime * intraday / np.sqrt(SUBSTEPS))[:, None]
    steps = rng.standard_normal((minutes, SUBSTEPS)) * step_sigma
    path = np.cumsum(steps, axis=None).reshape(minutes, SUBSTEPS)
    start = np.log(start_price or instrument.start_price)
    log_close = start + path[:, -1]
    log_open = np.r_[start, log_close[:-1]]
    log_high = np.maximum(path.max(axis=1) + start, log_open)
    log_low = np.minimum(path.min(axis=1) + start, log_open)
    tick = instrument.tick
    o, h, l, c = (round_to(np.exp(x), tick) for x in (log_open, log_high, log_low, log_close))
    h = np.maximum.reduce([h, o, c])
    l = np.minimum.reduce([l, o, c])
    move = np.abs(log_close - log_open) / (sigma + 1e-12)
    volume = (
        instrument.typical_size
        * 300
        * intraday
        * regime
        * (0.6 + 0.5 * move)
        * rng.lognormal(0, 0.45, minutes)
    )
    volume = round_to(volume, instrument.lot)
    return OHLCV(ts, o, h, l, c, volume)
