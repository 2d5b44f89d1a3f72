"""Research lab statistics: Monte Carlo of a run's trades, PBO, DSR, run comparison.

    .venv/bin/python benchmarks/bench_montecarlo.py [--quick]

Target (issue 15, this machine): 10,000 reshuffles of a 3,000-trade run
<= 1 s. The run is SMA(10,20) cross with reversal, fee 0.1%, on the
simulator's 1-minute synthetic candles (fixed seed), its first 3,000 closed
trades; every simulation keeps each path's final equity, maximum drawdown,
lowest equity and 201 points of its equity for the percentile fan.

Reference: the same reshuffle written one path at a time
(``rng.permutation``, ``cumsum``, running peak per path), as a plain numpy
script would. The other rows have no target in the issue and are printed
for the record: resampling with replacement, the stationary block bootstrap,
the random-entry baseline on the same candles, PBO (16 partitions, 12,870
combinations) of 3,965 trials' daily returns, the DSR of that study, and a
paired bootstrap of two runs' daily returns. numpy only: no compilation.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import _common
import numpy as np
from _common import Samples, mean, ms, print_table, summary, synthetic_ohlcv, timed, verdict

from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs
from terminal.research import compare, montecarlo, overfitting

TRADES = 3_000
PATHS = 10_000
TARGET_S = 1.0
BARS = 1_000_000
FEE = 0.001
CASH = 10_000.0
TRIALS, DAYS = 3_965, 365


def repeat(fn: Callable[[], object], times: int) -> Samples:
    samples = Samples()
    for _ in range(times):
        timed(fn, samples)
    return samples


def naive_reshuffle(pnl: np.ndarray, growth: np.ndarray, paths: int) -> None:
    """One path at a time: what a straightforward script does."""
    rng = np.random.default_rng(2)
    logs = np.log1p(growth)
    deepest = np.empty(paths)
    for i in range(paths):
        path = np.cumsum(rng.permutation(logs))
        peak = np.maximum(np.maximum.accumulate(path), 0.0)
        deepest[i] = np.expm1((path - peak).min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 3 if args.quick else 10

    print("Machine:", _common.machine())
    candles = synthetic_ohlcv(BARS)
    settings = BacktestSettings(initial_cash=CASH, costs=Costs(taker_fee=FEE, maker_fee=FEE))
    result = run_backtest(candles, "sma_cross", {"fast": 10, "slow": 20}, settings)
    trades = result.trades[:TRADES]
    if len(trades) < TRADES:
        raise SystemExit(f"the run has only {len(trades):,} closed trades")
    steps = montecarlo.TradeSteps.of(trades, CASH)
    print(f"SMA(10,20) cross on {BARS:,} 1-minute candles, fee {FEE:.1%}: its first {TRADES:,} closed trades")

    reshuffle = repeat(lambda: montecarlo.reshuffle(steps, PATHS, seed=1), repeats)
    reshuffle_fixed = repeat(lambda: montecarlo.reshuffle(steps, PATHS, model="fixed", seed=1), repeats)
    naive = repeat(lambda: naive_reshuffle(steps.pnl, steps.growth, PATHS), max(1, repeats // 3))
    resample = repeat(lambda: montecarlo.resample(steps, PATHS, seed=1), repeats)
    blocks = repeat(lambda: montecarlo.block_resample(steps, PATHS, seed=1), repeats)
    baseline = repeat(
        lambda: montecarlo.random_entry_baseline(trades, candles.open, fee_rate=FEE, paths=PATHS, seed=1),
        repeats,
    )

    rng = np.random.default_rng(3)
    study = rng.normal(0.0002, 0.01, (DAYS, TRIALS))
    pbo = repeat(lambda: overfitting.pbo(study), max(1, repeats // 3))
    dsr = repeat(lambda: overfitting.deflated_sharpe_of(study), repeats)
    a, b = study[:, 0], study[:, 1]
    paired = repeat(lambda: compare.compare(a, b, seed=1), repeats)

    speedup = mean(naive) / mean(reshuffle)
    note = f"{PATHS:,} paths x {TRADES:,} trades"
    print_table(
        "Research lab: Monte Carlo, overfitting odds, comparison (numpy; PBO's products use both cores)",
        [
            [
                f"reshuffle, compounding ({note})",
                summary(reshuffle),
                f"one path at a time: {summary(naive)}; ours {speedup:.1f}x as fast",
                f"<= {ms(TARGET_S)}",
                verdict(mean(reshuffle) <= TARGET_S),
            ],
            [
                f"reshuffle, fixed stake ({note})",
                summary(reshuffle_fixed),
                "-",
                f"<= {ms(TARGET_S)}",
                verdict(mean(reshuffle_fixed) <= TARGET_S),
            ],
            [f"resample with replacement ({note})", summary(resample), "-", "-", "n/a"],
            [
                f"stationary block bootstrap, blocks of {montecarlo.default_block_length(TRADES)} ({note})",
                summary(blocks),
                "-",
                "-",
                "n/a",
            ],
            [f"random-entry baseline ({note}, {BARS:,} candles)", summary(baseline), "-", "-", "n/a"],
            [
                f"PBO, 16 partitions (12,870 splits), {TRIALS:,} trials x {DAYS} days",
                summary(pbo),
                "-",
                "-",
                "n/a",
            ],
            [
                f"DSR of the same study ({TRIALS:,} Sharpe ratios, moments of the best)",
                summary(dsr),
                "-",
                "-",
                "n/a",
            ],
            [
                f"paired block bootstrap of two runs, {PATHS:,} resamples x {DAYS} days",
                summary(paired),
                "-",
                "-",
                "n/a",
            ],
        ],
    )


if __name__ == "__main__":
    main()
