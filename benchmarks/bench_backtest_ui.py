"""The GUI while the backtest panel runs a 1,000,000-bar backtest: event-loop
lag from the click on Run to the results on screen.

    .venv/bin/python benchmarks/bench_backtest_ui.py [--runs 5] [--bars 1000000]

Target (issue 5, item 4): event-loop lag p99 <= 50 ms during the run.

A real terminal window (offscreen Qt, 1600x1000, qasync) on the simulated
market, which keeps ticking (chart, book, tape, watchlist) the whole time,
with a real history file holding ``--bars`` 1-minute BTC/USDT candles (written
before the clock starts). Each run goes through the panel as a click does
(``BacktestPanel.run``): SMA(10,20) cross on the whole stored series, fee
0.1%; the panel queues it, the queue's worker thread reads the candles from
SQLite and runs the engine, the result is saved to the history file (worker
thread) and then shown: metrics, equity and drawdown of every bar, the
trades table, the marks on the chart.

A probe task asks to wake every 5 ms and records how late it wakes, from the
click until the panel is idle again with the results on screen; p50 / p99 /
max over all runs. The kernels are compiled first (the terminal compiles
them in the background at start-up), so the figures are those of a user's
click, not of numba's first compile. Also printed: where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
import numpy as np
from _common import MINUTE_MS, machine, print_table, verdict

LAG_TARGET_MS = 50.0
STAGES = (
    "reading the candles (worker thread)",
    "engine (worker thread)",
    "saving the run (worker thread)",
    "showing the results (GUI thread)",
)
PROBE_S = 0.005
IDLE_S = 3.0


def stored_candles(n: int, end_ms: int) -> _common.OHLCV:
    data = _common.synthetic_ohlcv(n)
    shift = end_ms - int(data.ts[-1])
    return _common.OHLCV(data.ts + shift, data.open, data.high, data.low, data.close, data.volume)


class Probe:
    """Wakes every PROBE_S and records how late (ms)."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.recording = False
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(PROBE_S)
            if self.recording:
                self.lags.append((time.perf_counter() - t - PROBE_S) * 1000.0)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bars", type=int, default=1_000_000)
    args = parser.parse_args()

    from terminal.backtest import warmup

    with tempfile.TemporaryDirectory(prefix="bench-backtest-ui-") as tmp:
        warmup.configure_cache(Path(tmp) / "numba-cache")
        t0 = time.perf_counter()
        compile_s = warmup.warm_up()
        print(f"kernels compiled in {compile_s:.2f} s (before the measurement, as the app's warm-up does)")
        stats = asyncio_run(Path(tmp), args.runs, args.bars)
        print(f"whole benchmark {time.perf_counter() - t0:.1f} s")
    report(stats, args.bars)


def asyncio_run(folder: Path, runs: int, bars: int) -> dict[str, list[float]]:
    import qasync
    from PySide6.QtWidgets import QApplication

    from terminal.config import ConfigStore
    from terminal.logs import setup_logging
    from terminal.market.session import MarketSession
    from terminal.market.simulator import SimulatedExchange
    from terminal.paths import AppPaths
    from terminal.store.candles import SeriesKey
    from terminal.store.history_file import HistoryFile
    from terminal.ui.window.main_window import MainWindow

    paths = AppPaths(folder / "config", folder / "data")
    paths.ensure()
    config = ConfigStore(paths.config_file)
    buffer = setup_logging(paths.log_dir, "WARNING")
    held = HistoryFile(paths.data_dir / "history.sqlite")
    store = held.get()
    assert store is not None
    now = int(time.time() * 1000) // MINUTE_MS * MINUTE_MS
    t = time.perf_counter()
    store.write("binance", "BTC/USDT", "1m", stored_candles(bars, now - 60 * MINUTE_MS))
    print(f"{bars:,} candles written to the history file in {time.perf_counter() - t:.2f} s (not measured)")

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    session = MarketSession(SimulatedExchange(seed=1), config.settings.watchlist)
    window = MainWindow(session, config, paths, buffer, history_file=held)
    window.resize(1600, 1000)
    window.show()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    stats: dict[str, list[float]] = {"lag": [], "click_to_shown": [], "frames_per_s": [], "trades": []}
    stats.update({name: [] for name in STAGES})

    def timed(panel: object) -> None:
        """Clock the stages by wrapping the panel's own steps (the same calls, timed)."""
        from terminal.ui.backtest.panel import BacktestPanel

        assert isinstance(panel, BacktestPanel)

        def clock(name: str, function: Any) -> Any:
            def run(*a: Any, **k: Any) -> Any:
                t = time.perf_counter()
                try:
                    return function(*a, **k)
                finally:
                    stats[name].append(time.perf_counter() - t)

            return run

        panel.queue.runner = clock("engine (worker thread)", panel.queue.runner)
        panel.show_run = clock("showing the results (GUI thread)", panel.show_run)  # type: ignore[method-assign]
        panel._save = clock("saving the run (worker thread)", panel._save)  # type: ignore[method-assign]
        original = panel._candles_for

        def candles_for(data: Any) -> Any:
            read = original(data)
            return clock("reading the candles (worker thread)", read) if callable(read) else read

        panel._candles_for = candles_for  # type: ignore[method-assign]

    async def scenario() -> None:
        running = asyncio.create_task(window.run())
        probe = Probe()
        probe.start()
        try:
            while not len(session.candles) or window.chart.candles.drawn == 0:
                await asyncio.sleep(0.05)
            panel = window.open_backtest()
            while panel.busy or not panel.data.stored:
                await asyncio.sleep(0.05)
            assert panel.data.select(SeriesKey("binance", "BTC/USDT", "1m"))
            timed(panel)
            await asyncio.sleep(1.0)  # settle
            # reference: the same window with the panel open and nothing running
            frames, t = window.bridge.frames, time.perf_counter()
            probe.recording = True
            await asyncio.sleep(IDLE_S)
            probe.recording = False
            stats["idle_lag"], probe.lags = probe.lags, []
            stats["idle_frames_per_s"] = [(window.bridge.frames - frames) / (time.perf_counter() - t)]
            for i in range(runs):
                frames = window.bridge.frames
                probe.recording = True
                t = time.perf_counter()
                job = await panel.run()
                assert job is not None, panel.message.text()
                while not (job.finished and not panel.busy):
                    await asyncio.sleep(0.001)
                await asyncio.sleep(0.1)  # the first paints of the results belong to the run
                elapsed = time.perf_counter() - t
                probe.recording = False
                assert panel.shown is not None and len(panel.shown.result) == bars, panel.message.text()
                stats["click_to_shown"].append(elapsed)
                stats["frames_per_s"].append((window.bridge.frames - frames) / elapsed)
                stats["trades"].append(panel.shown.result.metrics.trades)
                print(f"run {i + 1}: {panel.message.text()} ({elapsed:.2f} s click to results)", flush=True)
                await asyncio.sleep(0.5)
            stats["lag"] = probe.lags
        finally:
            await probe.stop()
            window.close()
            await running
            held.close()

    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()  # stops the worker threads too
    return stats


def report(stats: dict[str, list[float]], bars: int) -> None:
    lags = stats["lag"]
    p50, p99, worst = percentile(lags, 0.5), percentile(lags, 0.99), max(lags)
    over = sum(1 for lag in lags if lag > LAG_TARGET_MS)
    print(machine())
    idle = stats["idle_lag"]
    idle_text = (
        f"idle window: {percentile(idle, 0.5):.1f} / {percentile(idle, 0.99):.1f} / {max(idle):.1f} ms"
        f" ({len(idle):,} wake-ups)"
    )
    rows = [
        [f"event-loop lag during {bars:,}-bar runs: p50 / p99 / max",
         f"{p50:.1f} / {p99:.1f} / {worst:.1f} ms ({len(lags):,} wake-ups, {over} over 50 ms)", idle_text,
         f"p99 <= {LAG_TARGET_MS:.0f} ms", verdict(p99 <= LAG_TARGET_MS)],
        ["click on Run to results on screen (read, run, save, show)",
         " / ".join(f"{s:.2f}" for s in stats["click_to_shown"]) + " s", "-", "-", "n/a"],
        ["chart frames per second meanwhile", f"{statistics.fmean(stats['frames_per_s']):.0f}",
         f"idle window: {stats['idle_frames_per_s'][0]:.0f}", "-", "n/a"],
        ["trades per run", f"{int(stats['trades'][0]):,}", "-", "-", "n/a"],
    ]  # fmt: skip
    print_table("7d. The GUI during a 1,000,000-bar run through the backtest panel", rows)
    stage_rows = [[name, " / ".join(f"{s * 1000:,.0f}" for s in stats[name]) + " ms"] for name in STAGES]
    print_table("7e. Where a run's time goes (each run)", stage_rows, headers=("stage", "time"))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
