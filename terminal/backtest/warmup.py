"""Compile the backtest kernels before the first run needs them.

numba compiles a kernel on its first call (about a second for all that a
first backtest needs) and keeps the machine code in its on-disk cache, so
only a terminal's very first start (or the first after an upgrade) pays
that. ``start_warmup()`` moves even that off the user's first click: the
composition root calls it once at start-up and a daemon thread compiles (or
loads from the cache) every kernel with a tiny input.

The cache folder: numba writes next to the sources, which an installed or
frozen build may not allow. ``configure_cache(folder)`` points numba at a
folder of the terminal's own; call it before anything imports the kernels
(numba chooses a function's cache folder when the function is defined).

Without numba (the frozen build: its kernels were compiled ahead of time,
``terminal.backtest.jit``), there is nothing to compile and no cache:
``configure_cache`` leaves the data folder alone, and the warm-up only
imports the backtest modules and runs each kernel once on its tiny input
(milliseconds), which also shows early, in the log, if that module is broken.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from terminal.private_files import log_narrowed, make_private_dir

log = logging.getLogger(__name__)

_KERNEL_MODULES = ("terminal.backtest.jit",)


def configure_cache(folder: str | Path) -> bool:
    """Use ``folder`` for numba's compiled-code cache. Returns False (and changes
    nothing) when the kernels were already imported and so have their folder,
    or when numba is not installed (the kernels were compiled ahead of time:
    nothing is cached, and no folder is made)."""
    if any(name in sys.modules for name in _KERNEL_MODULES):
        log.warning("numba cache folder not changed to %s: the kernels are already loaded", folder)
        return False
    if importlib.util.find_spec("numba") is None:
        log.debug("no numba cache folder: numba is not installed (ahead-of-time compiled kernels)")
        return False
    path = Path(folder)
    log_narrowed(log, [make_private_dir(path)])  # inside the data folder: the user's alone
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    if "numba" in sys.modules:  # numba reads its environment once, at import
        from numba.core import config

        config.reload_config()
    return True


def warm_up() -> float:
    """Compile (or load from the cache) every kernel; returns the seconds it took.
    With ahead-of-time compiled kernels, this only loads and runs them.

    The first backtest's own path (SMA, the position loop) goes first, so that
    a user who clicks Run early waits for as little of this as possible."""
    import numpy as np

    from terminal.backtest import indicators, signals
    from terminal.backtest.engine import simulate
    from terminal.backtest.settings import BacktestSettings, Stops
    from terminal.marketdata.candles import OHLCV

    t0 = time.perf_counter()
    n = 64
    close = np.linspace(100.0, 110.0, n) + np.sin(np.arange(n))
    candles = OHLCV(np.arange(n, dtype=np.int64) * 60_000, close, close + 1.0, close - 1.0, close, np.ones(n))
    sig = signals.from_crossings(close > 105.0, close < 102.0)
    indicators.sma(close, 5)
    simulate(candles, sig, BacktestSettings())
    simulate(candles, sig, BacktestSettings(stops=Stops(stop_loss_atr=2.0, take_profit_atr=3.0)))
    indicators.ema(close, 5)
    indicators.rsi(close, 5)
    indicators.atr(candles.high, candles.low, close, 5)
    indicators.bollinger(close, 5, 2.0)
    indicators.donchian(candles.high, candles.low, 5)
    # the chart's own kernels: adding VWAP, SuperTrend, ADX, CCI, the stochastic or MFI must
    # not wait for a compilation
    indicators.vwap(candles.ts, candles.high, candles.low, close, candles.volume)
    indicators.supertrend(candles.high, candles.low, close, 5, 3.0)
    indicators.adx(candles.high, candles.low, close, 5)
    indicators.cci(candles.high, candles.low, close, 5)
    indicators.stochastic(candles.high, candles.low, close, 5, 3, 3)
    indicators.mfi(candles.high, candles.low, close, candles.volume, 5)
    signals.from_rules(close > 105.0, close < 104.0, close < 102.0, close > 103.0)
    return time.perf_counter() - t0


def start_warmup(then: Callable[[], float] | None = None) -> threading.Thread:
    """``warm_up()`` in a daemon thread (started), then ``then()`` (the layers above warm
    their own kernels: the research lab's fast path); failures are logged, never raised."""

    def run() -> None:
        try:
            seconds = warm_up()
        except Exception:  # a failed warm-up only means the first run compiles
            log.exception("backtest warm-up failed; the first backtest will compile its kernels")
        else:
            from terminal.backtest import jit

            how = "compiled ahead of time" if jit.MODE == "aot" else "numba"
            log.info("backtest kernels ready in %.2f s (%s)", seconds, how)
        if then is None:
            return
        try:
            log.info("more kernels ready in %.2f s", then())
        except Exception:  # the same: the first sweep compiles instead
            log.exception("a warm-up after the backtest kernels failed")

    thread = threading.Thread(target=run, name="backtest-warmup", daemon=True)
    thread.start()
    return thread
