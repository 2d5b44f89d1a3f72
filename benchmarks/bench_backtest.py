"""Backtest engine benchmarks: SMA(10,20) cross with reversal, fees on.

    .venv/bin/python benchmarks/bench_backtest.py [--quick] [--full]

Targets (issue 5, this machine), on 1-minute synthetic candles (the
simulator's history generator, BTC/USDT, fixed seed), taker/maker fee 0.1%,
whole units, stop-and-reverse:

* 1,000,000 bars including all metrics: <= 0.1 s warm;
* the first backtest in a freshly started process, compilation included:
  <= 1.5 s. Measured in child processes, from before ``import
  terminal.backtest.runner`` to the result (the candles are loaded before
  the clock starts, as a terminal has them from its store): with numba's
  on-disk cache empty (a fresh ``NUMBA_CACHE_DIR``: what the very first
  start after an install pays) and with it filled (every later start);
  also how long the background warm-up a terminal starts at launch takes;
* 100,000 bars: >= 50x faster than backtesting.py on the same run, measured
  side by side here (``--full``: backtesting.py on 1,000,000 bars as well).

Also: where the warm time goes at 1M bars, and how late an asyncio loop in
the main thread wakes while a worker thread runs 1M-bar backtests back to
back (the kernels release the GIL). Method and figures: docs/performance.md,
section 7.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import _common
import numpy as np
from _common import Samples, mean, ms, print_table, summary, synthetic_ohlcv, timed, verdict

from terminal.backtest import engine, signals
from terminal.backtest.drawdown import drawdown_curve
from terminal.backtest.metrics import compute_metrics
from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs, Sizing
from terminal.backtest.strategies import SmaCross
from terminal.backtest.trades import to_table
from terminal.marketdata.candles import OHLCV

N = 1_000_000
N_REF = 100_000
WARM_TARGET_S = 0.1
COLD_TARGET_S = 1.5
SPEEDUP_TARGET = 50.0
FEE = 0.001
CASH = 10_000_000.0  # whole BTC units at ~64,000 need a big account
PARAMS = {"fast": 10, "slow": 20}
SETTINGS = BacktestSettings(
    initial_cash=CASH,
    costs=Costs(taker_fee=FEE, maker_fee=FEE),
    sizing=Sizing(fraction=1.0, amount_step=1.0),
    close_at_end=False,
)

CHILD = """import sys, time
import numpy as np
from terminal.marketdata.candles import OHLCV
data = np.load(sys.argv[1])
candles = OHLCV(*(data[k] for k in ("ts", "open", "high", "low", "close", "volume")))
t0 = time.perf_counter()
from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs, Sizing
t1 = time.perf_counter()
s = BacktestSettings(initial_cash=1e7, costs=Costs(taker_fee=0.001, maker_fee=0.001),
                     sizing=Sizing(amount_step=1.0), close_at_end=False)
r = run_backtest(candles, "sma_cross", {"fast": 10, "slow": 20}, s)
t2 = time.perf_counter()
print(t2 - t0, t1 - t0, len(r.trades))
"""

WARMUP_CHILD = """import time
t0 = time.perf_counter()
from terminal.backtest import warmup
thread = warmup.start_warmup()
thread.join()
print(time.perf_counter() - t0)
"""


# -- ours, warm -------------------------------------------------------------------------
def warm(data: OHLCV, repeats: int) -> tuple[Samples, int]:
    run_backtest(data, "sma_cross", PARAMS, SETTINGS)  # compile or load the kernels first
    samples = Samples()
    trades = 0
    for _ in range(repeats):
        result = timed(lambda: run_backtest(data, "sma_cross", PARAMS, SETTINGS), samples)
        trades = len(result.trades)  # type: ignore[attr-defined]
    return samples, trades


def breakdown(data: OHLCV) -> list[list[str]]:
    """The warm run's stages, each timed alone (best of 5)."""
    strategy = SmaCross.create(PARAMS)
    sig = signals.validate(strategy.signals(data), len(data))
    out = engine.simulate(data, sig, SETTINGS)
    trades = to_table(out.trades, data.ts)
    dd = drawdown_curve(out.equity, CASH)

    stages: list[tuple[str, Callable[[], object]]] = [
        ("signals: two SMAs, crossings (numba + numpy)", lambda: strategy.signals(data)),
        ("signal validation", lambda: signals.validate(sig, len(data))),
        ("position loop (numba, 16 chunks of 65,536 bars)", lambda: engine.simulate(data, sig, SETTINGS)),
        ("trade table (structured array)", lambda: to_table(out.trades, data.ts)),
        ("drawdown curve", lambda: drawdown_curve(out.equity, CASH)),
        (
            "all metrics",
            lambda: compute_metrics(
                equity=out.equity,
                drawdown=dd,
                position=out.position,
                close=data.close,
                ts=data.ts,
                initial=CASH,
                trades=trades,
                fees_paid=out.fees_paid,
            ),
        ),
    ]
    rows = []
    for label, fn in stages:
        best = min(_once(fn) for _ in range(5))
        rows.append([label, ms(best)])
    return rows


def _once(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# -- ours, first run in a fresh process ------------------------------------------------
def first_runs(data: OHLCV, runs: int) -> dict[str, list[float]]:
    work = Path(tempfile.mkdtemp(prefix="bench_backtest_"))
    npz = work / "candles.npz"
    np.savez(npz, **{k: getattr(data, k) for k in ("ts", "open", "high", "low", "close", "volume")})
    env = dict(os.environ)
    out: dict[str, list[float]] = {k: [] for k in ("cold", "cold_import", "cached", "cached_import")}
    out.update({"warmup_cold": [], "warmup_cached": []})

    def child(script: str, cache: Path, *args: str) -> list[float]:
        env["NUMBA_CACHE_DIR"] = str(cache)
        text = subprocess.run(
            [sys.executable, "-c", script, *args],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=_common.ROOT,
        ).stdout
        return [float(x) for x in text.split()]

    shared = work / "cache-shared"
    for i in range(runs):
        total, imp, _ = child(CHILD, work / f"cache-empty-{i}", str(npz))  # a fresh, empty cache each time
        out["cold"].append(total)
        out["cold_import"].append(imp)
    child(WARMUP_CHILD, shared)  # fills the shared cache with every kernel
    for _ in range(runs):
        total, imp, _ = child(CHILD, shared, str(npz))
        out["cached"].append(total)
        out["cached_import"].append(imp)
    for i in range(max(2, runs // 2)):
        out["warmup_cold"].append(child(WARMUP_CHILD, work / f"cache-warmup-{i}")[0])
        out["warmup_cached"].append(child(WARMUP_CHILD, shared)[0])
    return out


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} s (n={len(values)})"


# -- backtesting.py -------------------------------------------------------------------------
def backtesting_py(data: OHLCV, repeats: int) -> tuple[Samples, int, str]:
    import backtesting
    import pandas as pd
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    def sma(values: np.ndarray, n: int) -> pd.Series:
        return pd.Series(values).rolling(n).mean()

    class Cross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, 10)
            self.slow = self.I(sma, self.data.Close, 20)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.buy()
            elif crossover(self.slow, self.fast):
                self.sell()

    index = pd.to_datetime(data.ts, unit="ms")
    frame = pd.DataFrame(
        {"Open": data.open, "High": data.high, "Low": data.low, "Close": data.close, "Volume": data.volume},
        index=index,
    )
    samples = Samples()
    trades = 0
    for _ in range(repeats):
        bt = Backtest(frame, Cross, cash=CASH, commission=FEE, exclusive_orders=True, trade_on_close=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stats = timed(bt.run, samples)
        trades = int(stats["# Trades"])  # type: ignore[index]
    return samples, trades, backtesting.__version__


# -- the GIL: an event loop beside a worker thread ------------------------------------------
def loop_lag(data: OHLCV, seconds: float) -> tuple[list[float], int]:
    """How late a 5 ms asyncio sleep wakes in the main thread while a worker thread
    runs 1M-bar backtests back to back."""
    stop = threading.Event()
    runs = 0

    def worker() -> None:
        nonlocal runs
        while not stop.is_set():
            run_backtest(data, "sma_cross", PARAMS, SETTINGS)
            runs += 1

    async def probe() -> list[float]:
        lags = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - t0 - 0.005)
        return lags

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        lags = asyncio.run(probe())
    finally:
        stop.set()
        thread.join()
    return lags, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and child processes")
    parser.add_argument("--full", action="store_true", help="also backtesting.py on 1,000,000 bars (~10 s)")
    args = parser.parse_args()
    repeats = 5 if args.quick else 20
    runs = 2 if args.quick else 5

    print("Machine:", _common.machine())
    import numba

    print(f"numba {numba.__version__}; {N:,} 1-minute candles; SMA(10,20) cross with reversal, fee {FEE:.1%}")
    data = synthetic_ohlcv(N)
    small = data.slice(N - N_REF, N)

    ours_1m, trades_1m = warm(data, repeats)
    ours_100k, trades_100k = warm(small, repeats * 3)
    stages = breakdown(data)
    first = first_runs(data, runs)
    ref_100k, ref_trades_100k, bt_version = backtesting_py(small, 2 if args.quick else 3)
    ref_1m = backtesting_py(data, 1)[:2] if args.full else None
    lags, lag_runs = loop_lag(data, 2.0 if args.quick else 5.0)

    speedup = mean(ref_100k) / mean(ours_100k)
    ref_1m_text = (
        f"backtesting.py {bt_version}: {summary(ref_1m[0])}, {ref_1m[1]:,} trades" if ref_1m else "(--full)"
    )
    cold, cached = statistics.median(first["cold"]), statistics.median(first["cached"])
    print_table(
        "7. Backtest engine: SMA(10,20) cross with reversal, 1-minute candles, fee 0.1%, whole units",
        [
            [
                "1M bars incl. all metrics, warm",
                f"{summary(ours_1m)}, {trades_1m:,} trades",
                ref_1m_text,
                f"<= {ms(WARM_TARGET_S)}",
                verdict(mean(ours_1m) <= WARM_TARGET_S),
            ],
            [
                "100k bars incl. all metrics, warm",
                f"{summary(ours_100k)}, {trades_100k:,} trades",
                f"backtesting.py {bt_version}: {summary(ref_100k)}, {ref_trades_100k:,} trades",
                f">= {SPEEDUP_TARGET:.0f}x faster",
                f"{verdict(speedup >= SPEEDUP_TARGET)} ({speedup:,.0f}x)",
            ],
            [
                "first backtest in a fresh process, numba cache empty (min / median / max)",
                spread(first["cold"]),
                "-",
                f"<= {COLD_TARGET_S} s",
                verdict(cold <= COLD_TARGET_S),
            ],
            [
                "first backtest in a fresh process, numba cache filled",
                spread(first["cached"]),
                "-",
                f"<= {COLD_TARGET_S} s",
                verdict(cached <= COLD_TARGET_S),
            ],
            [
                "  of which importing the engine (numba included), cache empty / filled",
                f"{statistics.median(first['cold_import']):.2f} / "
                f"{statistics.median(first['cached_import']):.2f} s (medians)",
                "-",
                "-",
                "n/a",
            ],
            [
                "background warm-up at start-up (all kernels), cache empty",
                spread(first["warmup_cold"]),
                "-",
                "-",
                "n/a",
            ],
            [
                "background warm-up at start-up (all kernels), cache filled",
                spread(first["warmup_cached"]),
                "-",
                "-",
                "n/a",
            ],
        ],
    )
    print_table("7b. Where a warm 1M-bar run goes (each stage alone, best of 5)", stages, ("stage", "time"))
    lag_ms = np.array(lags) * 1e3
    print_table(
        "7c. asyncio loop in the main thread while a worker thread runs 1M-bar backtests back to back",
        [
            [
                "wake-up lag of a 5 ms sleep: p50 / p99 / max",
                f"{np.percentile(lag_ms, 50):.1f} / {np.percentile(lag_ms, 99):.1f} / {lag_ms.max():.1f} ms",
                f"{len(lags):,} wake-ups, {lag_runs} backtests in the worker",
                "-",
                "n/a",
            ]
        ],
    )


if __name__ == "__main__":
    main()
