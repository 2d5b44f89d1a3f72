"""Walk-forward of 10 folds x 400 grid trials on 1,000,000 bars.

    .venv/bin/python benchmarks/bench_walkforward.py [--bars 1000000]

Target (issue 15, "Performance"): <= 20 s. SMA cross with reversal, fee
0.1%, 1-minute synthetic candles; the grid fast 5..24 x slow 30..49 (400
points, every one valid), 10 rolling folds at 4 to 1 in-sample to
out-of-sample; each fold's sweep on its in-sample candles, the best trial
run on its out-of-sample window. Twice: SMA cross, whose sweeps take the
fast path (one numba kernel per fold), and EMA cross, which has none, in the
worker pool of 2 processes (as any other strategy would run). The kernels
are compiled first, as the app's start-up warm-up does.
"""

from __future__ import annotations

import argparse
import time

from _common import machine, print_table, synthetic_ohlcv, verdict

TARGET_S = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    args = parser.parse_args()

    from terminal.backtest import warmup
    from terminal.backtest.settings import BacktestSettings, Costs
    from terminal.research import fast_path
    from terminal.research.pool import TrialPool
    from terminal.research.space import IntParam, Space
    from terminal.research.walkforward import Windows, walk_forward

    warmup.warm_up()
    fast_path.warm_up()
    candles = synthetic_ohlcv(args.bars)
    space = Space((IntParam("fast", 5, 24), IntParam("slow", 30, 49)))
    settings = BacktestSettings(costs=Costs(taker_fee=0.001, maker_fee=0.001))
    windows = Windows(folds=10, ratio=4.0)
    rows = []
    pool = TrialPool(2)
    try:
        cases = (("SMA cross", "sma_cross", None), ("EMA cross, worker pool of 2", "ema_cross", pool))
        for label, strategy, workers in cases:
            if workers is not None:
                workers.start()  # the pool warm, as the app keeps it after its first sweep
            t = time.perf_counter()
            result = walk_forward(candles, strategy, space, windows, settings=settings, workers=workers)
            seconds = time.perf_counter() - t
            trials = sum(len(f.sweep.trials) for f in result.folds)
            paths = {f.sweep.path for f in result.folds}
            rows.append(
                [
                    f"{len(result.folds)} folds x 400 trials on {args.bars:,} bars ({label})",
                    f"{seconds:.1f} s ({trials:,} trials; path: {', '.join(sorted(paths))}); "
                    f"out-of-sample {result.total_return:+.2%}, efficiency {result.efficiency:.2f}",
                    "-",
                    f"<= {TARGET_S:.0f} s",
                    verdict(seconds <= TARGET_S),
                ]
            )
            print(rows[-1][0], rows[-1][1], flush=True)
    finally:
        pool.close()
    print(machine())
    print_table("15e. Walk-forward", rows)


if __name__ == "__main__":
    main()
