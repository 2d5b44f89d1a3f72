"""Research lab sweeps (issue 15): the 3,965-combination SMA-cross grid, by each path.

    .venv/bin/python benchmarks/bench_research.py [--quick]

The grid: fast 5..54 × slow 10..109 with fast < slow (3,965 trials) on 100,000
1-minute synthetic candles (benchmarks/_common.py), fee 0.1%, whole units,
stop-and-reverse; each trial with return, Sharpe, max drawdown and trade count
(the light metrics, and its daily returns). Printed, each beside the issue's
target and with the path it took:

* our fast path (one numba kernel, numba's threads), warm and first call;
* our pool (worker processes): the first sweep after the pool starts (cold:
  processes spawned, imports, numba's cache loaded) and a second one (warm);
* our serial loop (one trial after another in this process);
* backtesting.py 0.6.6's own ``Backtest.optimize`` on a subset, extrapolated to
  3,965 combinations (labelled); vectorbt where it imports (it is not a
  dependency: installed in a throwaway venv it is measured there, else the
  output says so and quotes the issue's figure);
* TPE, 500 trials on 1,000,000 bars, in the pool (and by the fast path);
* peak memory of the 3,965-trial sweep above the process before it, and of a
  sweep with ten times the trials (flat?), each in a fresh child process, run as
  the Research tab runs it: a study whose trials are stored in a history file as
  they complete (streamed, not kept in memory).

Method and figures: docs/performance.md, "Research: sweeps".
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import _common
import numpy as np
from _common import print_table, synthetic_ohlcv, verdict

from terminal.backtest.settings import BacktestSettings, Costs, Sizing
from terminal.marketdata.candles import OHLCV
from terminal.research.pool import TrialPool
from terminal.research.space import IntParam, Space
from terminal.research.sweep import SweepResult, run_sweep

N = 100_000
N_TPE = 1_000_000
FEE = 0.001
CASH = 10_000_000.0  # whole BTC units at ~64,000 need a big account
SETTINGS = BacktestSettings(
    initial_cash=CASH,
    costs=Costs(taker_fee=FEE, maker_fee=FEE),
    sizing=Sizing(fraction=1.0, amount_step=1.0),
    close_at_end=False,
)
GRID = Space((IntParam("fast", 5, 54), IntParam("slow", 10, 109)), ("fast < slow",))
GRID_10X = Space((IntParam("fast", 5, 239), IntParam("slow", 10, 294)), ("fast < slow",))
TARGET_GRID_S = 2.0
TARGET_TPE_S = 30.0
TARGET_MEMORY_MB = 500.0
BT_SUBSET = 12  # backtesting.py combinations measured (about 2 a second here)
QUOTED_VECTORBT_S = 74.0


def sweep(candles: OHLCV, space: Space = GRID, **kwargs: object) -> tuple[float, SweepResult]:
    t0 = time.perf_counter()
    result = run_sweep(candles, "sma_cross", space, settings=SETTINGS, **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - t0, result


def per_s(result: SweepResult, seconds: float) -> str:
    return f"{len(result.trials) / seconds:,.0f} trials/s"


# -- backtesting.py -------------------------------------------------------------------------
BT_CHILD = """
import json, sys, time, warnings
sys.path.insert(0, sys.argv[1])
import _common
import backtesting
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

def sma(values, n):
    return pd.Series(values).rolling(n).mean()

class Cross(Strategy):
    fast = 10
    slow = 20

    def init(self):
        self.a = self.I(sma, self.data.Close, self.fast)
        self.b = self.I(sma, self.data.Close, self.slow)

    def next(self):
        if crossover(self.a, self.b):
            self.buy()
        elif crossover(self.b, self.a):
            self.sell()

c = _common.synthetic_ohlcv(int(sys.argv[2]))
frame = pd.DataFrame({"Open": c.open, "High": c.high, "Low": c.low, "Close": c.close, "Volume": c.volume},
                     index=pd.to_datetime(c.ts, unit="ms"))
bt = Backtest(frame, Cross, cash=1e7, commission=0.001, exclusive_orders=True, trade_on_close=False)
fast, slow = [5, 6, 7], [10, 40, 70, 100]  # 12 combinations, all with fast < slow
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    bt.optimize(fast=fast, slow=slow, constraint=lambda p: p.fast < p.slow, maximize="Sharpe Ratio")
    seconds = time.perf_counter() - t0
print(json.dumps([seconds / 12, 12, backtesting.__version__]))
"""


def backtesting_py() -> tuple[float, int, str]:
    """Seconds per combination of backtesting.py's own (parallel) optimize over a subset
    of the grid, in a child that imports nothing of ours: its optimize forks workers,
    and a process that has loaded numba's threading layer crashed in them here."""
    bench = str(Path(__file__).resolve().parent)
    done = subprocess.run(
        [sys.executable, "-c", BT_CHILD, bench, str(N)], capture_output=True, text=True, check=True
    )
    each, n, version = json.loads(done.stdout.strip().splitlines()[-1])
    return float(each), int(n), str(version)


# -- vectorbt (a throwaway venv, if it installed) ------------------------------------------
VBT_PY = Path(os.environ.get("VECTORBT_PYTHON", "/tmp/vbt_venv/bin/python"))
VBT_CHILD = """
import sys, time, json
import numpy as np, pandas as pd, vectorbt as vbt
d = np.load(sys.argv[1])
close = pd.Series(d["close"], index=pd.to_datetime(d["ts"], unit="ms"))
pairs = [(f, s) for f in range(5, 55) for s in range(10, 110) if f < s]
t0 = time.perf_counter()
fast = vbt.MA.run(close, [f for f, _ in pairs], short_name="fast")
slow = vbt.MA.run(close, [s for _, s in pairs], short_name="slow")
entries = fast.ma_crossed_above(slow)
exits = fast.ma_crossed_below(slow)
pf = vbt.Portfolio.from_signals(close, entries, exits, short_entries=exits, short_exits=entries, fees=0.001,
                                init_cash=1e7, freq="1min")
stats = (pf.total_return(), pf.sharpe_ratio(), pf.max_drawdown(), pf.trades.count())
print(json.dumps({"seconds": time.perf_counter() - t0, "version": vbt.__version__}))
"""


def vectorbt(candles: OHLCV, folder: Path) -> str:
    if not VBT_PY.exists():
        return f"not installed here (quoted from the issue: {QUOTED_VECTORBT_S:.0f} s)"
    data = folder / "candles.npz"
    np.savez(data, ts=candles.ts, close=candles.close)
    try:
        done = subprocess.run(
            [str(VBT_PY), "-c", VBT_CHILD, str(data)], capture_output=True, text=True, timeout=600
        )
    except subprocess.TimeoutExpired:
        return "did not finish in 600 s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}, no message"])[-1]
        return f"installed, but failed here ({last[:80]}); quoted from the issue: {QUOTED_VECTORBT_S:.0f} s"
    got = json.loads(done.stdout.strip().splitlines()[-1])
    return f"vectorbt {got['version']}: {got['seconds']:.1f} s (measured here, its own venv)"


# -- memory, in a fresh child ---------------------------------------------------------------
MEMORY_CHILD = """
import sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import _common
from terminal.research.study import StudyStore, new_study, run_study
from terminal.store.candles import CandleStore
import bench_research as b

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024

space = b.GRID if sys.argv[1] == "grid" else b.GRID_10X
candles = _common.synthetic_ohlcv(b.N)
fast = sys.argv[2] == "fast"
with tempfile.TemporaryDirectory() as folder, CandleStore(Path(folder) / "history.sqlite") as store:
    studies = StudyStore(store)

    def study(data, space, progress=None):  # as the Research tab runs one: each trial stored as it completes
        spec = new_study(data, "sma_cross", space, exchange="bench", symbol="BTC/USDT", timeframe="1m",
                         settings=b.SETTINGS)
        return run_study(studies, studies.create(spec), data, fast=fast, use_cache=False, progress=progress)

    study(candles.slice(0, 2000), b.GRID)  # imports, kernels, the history file's schema
    idle = status("VmRSS:")
    open("/proc/self/clear_refs", "w").write("5")  # the peak (VmHWM) starts again from here
    total = space.grid_size()
    marks = {}  # the peak so far after a tenth of the trials, and after all of them

    def heard(progress):
        if progress.done in (total // 10, total):
            marks[progress.done] = status("VmHWM:") - idle

    result = study(candles, space, progress=heard)
    print(result.count, status("VmHWM:") - idle, marks[total // 10], result.path)
"""


def memory(kind: str, path: str) -> tuple[int, float, float, str]:
    """(trials, peak MB above the idle process, the peak after a tenth of the trials, path)."""
    bench = str(Path(__file__).resolve().parent)
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, kind, path, bench], capture_output=True, text=True, cwd=bench
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    trials, mb, tenth, took = done.stdout.strip().splitlines()[-1].split(maxsplit=3)
    return int(trials), float(mb), float(tenth), took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the serial loop and the 10x memory run")
    args = parser.parse_args()
    print("Machine:", _common.machine())
    import numba

    print(
        f"numba {numba.__version__} ({numba.get_num_threads()} threads); {N:,} 1-minute candles; "
        f"SMA cross with reversal, fee {FEE:.1%}, whole units; {GRID.grid_size():,} combinations"
    )
    candles = synthetic_ohlcv(N)
    rows: list[list[str]] = []

    first, fast = sweep(candles)
    warm, fast = sweep(candles)
    assert fast.path == "fast path"
    rows.append([
        "grid 3,965 × 100k bars: fast path, warm",
        f"{warm:.2f} s ({per_s(fast, warm)}); first call {first:.2f} s (numba's cache loaded)",
        "path: fast path (one kernel, numba's threads)", f"<= {TARGET_GRID_S:.0f} s",
        verdict(warm <= TARGET_GRID_S),
    ])  # fmt: skip

    pool = TrialPool()
    cold, pooled = sweep(candles, workers=pool, fast=False)
    warm_pool, pooled = sweep(candles, workers=pool, fast=False)
    assert pooled.path == "pool"
    same = [t.values for t in pooled.trials] == [t.values for t in fast.trials]
    rows.append([
        f"grid: pool of {pool.size} processes, cold (first sweep after start)",
        f"{cold:.2f} s ({per_s(pooled, cold)})", "path: pool", f"<= {TARGET_GRID_S:.0f} s",
        verdict(cold <= TARGET_GRID_S),
    ])  # fmt: skip
    rows.append([
        f"grid: pool of {pool.size} processes, warm",
        f"{warm_pool:.2f} s ({per_s(pooled, warm_pool)}); trials equal the fast path's: {same}",
        "path: pool", f"<= {TARGET_GRID_S:.0f} s", verdict(warm_pool <= TARGET_GRID_S),
    ])  # fmt: skip
    if not args.quick:
        serial_s, serial = sweep(candles, fast=False)
        rows.append([
            "grid: serial loop (this process, one trial at a time)",
            f"{serial_s:.2f} s ({per_s(serial, serial_s)})",
            "path: serial", f"<= {TARGET_GRID_S:.0f} s", verdict(serial_s <= TARGET_GRID_S),
        ])  # fmt: skip

    bt_each, bt_n, bt_version = backtesting_py()
    rows.append([
        "grid: backtesting.py's own optimize",
        "-",
        f"backtesting.py {bt_version}: {bt_n} combinations measured, {1 / bt_each:.1f}/s; EXTRAPOLATED to "
        f"3,965: {bt_each * GRID.grid_size() / 60:.0f} min",
        "-", "n/a",
    ])  # fmt: skip
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        rows.append(
            ["grid: vectorbt (idiomatic MA.run sweep)", "-", vectorbt(candles, Path(folder)), "-", "n/a"]
        )

    big = synthetic_ohlcv(N_TPE)
    tpe_space = Space((IntParam("fast", 5, 54), IntParam("slow", 10, 109)), ("fast < slow",))
    t0 = time.perf_counter()
    tpe = run_sweep(
        big, "sma_cross", tpe_space, method="tpe", budget=500, settings=SETTINGS, workers=pool, fast=False
    )
    tpe_pool = time.perf_counter() - t0
    t0 = time.perf_counter()
    tpe_fast = run_sweep(big, "sma_cross", tpe_space, method="tpe", budget=500, settings=SETTINGS)
    tpe_fast_s = time.perf_counter() - t0
    rows.append([
        "TPE 500 trials × 1M bars: pool", f"{tpe_pool:.1f} s ({len(tpe.trials)} trials, {tpe.path})",
        "path: pool (optuna asks a round before it is told)", f"<= {TARGET_TPE_S:.0f} s",
        verdict(tpe_pool <= TARGET_TPE_S),
    ])  # fmt: skip
    rows.append([
        "TPE 500 trials × 1M bars: fast path", f"{tpe_fast_s:.1f} s ({len(tpe_fast.trials)} trials)",
        f"path: {tpe_fast.path}", f"<= {TARGET_TPE_S:.0f} s", verdict(tpe_fast_s <= TARGET_TPE_S),
    ])  # fmt: skip
    pool.close()

    kinds = [("grid", "fast"), ("grid", "serial")] + (
        [] if args.quick else [("10x", "fast"), ("10x", "serial")]
    )
    for kind, path in kinds:
        trials, mb, tenth, took = memory(kind, path)
        grew = mb - tenth
        rows.append([
            f"peak memory above the process before the sweep: {trials:,} trials",
            f"{mb:,.0f} MB; {tenth:,.0f} MB after the first {trials // 10:,} (+{grew:,.0f} MB for 9x more)",
            f"path: {took}; a study: each trial stored, then dropped",
            f"<= {TARGET_MEMORY_MB:.0f} MB, flat in trials",
            verdict(mb <= TARGET_MEMORY_MB and grew <= 0.1 * mb),
        ])  # fmt: skip
    print_table("Research: sweeps (SMA cross with reversal, fee 0.1%, 1-minute candles)", rows)


if __name__ == "__main__":
    main()
