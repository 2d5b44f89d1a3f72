"""The chart as an analysis tool (issue 17, Performance): frames with indicators on.

    .venv/bin/python -m pip install --target /tmp/finplot-site finplot==1.9.7 --no-deps
    nice -n 5 .venv/bin/python benchmarks/bench_chart_analysis.py [--quick] [--parts 1234] [--seconds 60]

Targets (offscreen Qt, 1280x800 chart, ~500 candles in view), with 1,000,000
candles and "3 overlays + 2 panes" on (SMA 20, EMA 50, BB 20 2 over the price;
RSI 14 and MACD 12 26 9 in panes):

1. pan frame <= 10 ms (also measured at 10k);
2. last-candle update <= 5 ms, flat from 10k to 1M;
3. adding one indicator over 1M candles <= 50 ms (each of the catalogue's 18);
4. a window of 4 linked charts with 2 indicators each on the simulated market:
   event-loop lag p99 <= 20 ms and <= 30% of one core.

A frame is as in ``bench_chart.py``: the call, then ``chart.glw.viewport().repaint()``
(synchronous: every visible item's ``paint`` runs before it returns), timed
together; every measured frame must have painted the candles, the volume and
every indicator line (each item's ``drawn`` is set to -1 before the frame and
must be > 0 after it). The 10k and 100k series are the newest candles of the 1M
one (the same candles in view at every size), and the cases compared are taken
in turns of 10 frames, so that other work on a shared machine weighs on each
alike. Table A2b takes one part of the 1M update frame out at a time (the same
turns) to show where it goes; table A3 gives each add's stages.

References measured in the same run:

* recomputing every indicator over the whole array on each tick: the chart's
  studies' ``live_update`` replaced by ``recompute`` (each study's
  ``live.compute(series)`` and ``item.set_values``, the full path), on charts of
  its own (the same candles and set): on ours, its rewrite of every value would
  make the still pictures (``terminal/ui/chart/still.py``) again at each turn;
* finplot 1.9.7 with the same indicators (when importable; installed into its
  own folder, ``--finplot-site``, and put on ``sys.path`` here only): candles
  and volume, ``fplt.plot`` lines for the overlays, two more rows for RSI and
  MACD (lines, and its histogram as finplot's own MACD example draws it),
  every array computed by our functions. Its live update is what a finplot user
  writes: the last candle changed in the DataFrame, every indicator computed
  again over the whole array, ``update_data`` on every item, repaint;
* for the window: the same window with every study recomputed in full on each
  update (``LiveIndicator.update`` replaced by ``compute``), the same 4 charts
  without indicators, and the window with one chart and no indicators as the
  baseline. Each window runs in a child
  process of its own (a real ``MainWindow`` on qasync, as ``bench_backtest_ui.py``);
  a probe task asks to wake every 5 ms and records how late it wakes; CPU is
  the process's (all threads, the simulated market included) per wall second;
  each chart's ``live_update`` and paint are timed, and for the wake-ups later
  than the target, the share of their wait spent in them is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _common
import numpy as np
from _common import MINUTE_MS, Samples, mean, ms, print_table, summary, verdict
from bench_chart import HEIGHT, IN_VIEW, WIDTH, LiveFeed, app, frames, make_chart, repaint, settle

from terminal.analysis.catalogue import SPECS, IndicatorSpec, parse
from terminal.analysis.live import LiveIndicator
from terminal.analysis.setup import IndicatorConfig
from terminal.marketdata.candles import OHLCV, CandleSeries
from terminal.ui.chart.chart_widget import ChartWidget
from terminal.ui.chart.studies import Study
from terminal.ui.chart.study_items import Output

PAN_TARGET_S = 0.010
UPDATE_TARGET_S = 0.005
FLAT_RATIO = 1.25  # "flat": 1M within 25% of 10k (bench_chart.py's reading)
ADD_TARGET_S = 0.050
LAG_TARGET_MS = 20.0
CPU_TARGET = 0.30
#: the issue's "3 overlays + 2 panes"
THE_SET = ("SMA 20", "EMA 50", "BB 20 2", "RSI 14", "MACD 12 26 9")
#: the 4-chart window: two indicators a chart
WINDOW_SETS = (("SMA 20", "RSI 14"), ("EMA 50", "MACD"), ("BB 20 2", "RSI 14"), ("EMA 50", "MACD"))
DEFAULT_FINPLOT_SITE = Path("/tmp/finplot-site")
BIG = 1_000_000
OHLCV_COLUMNS = ("ts", "open", "high", "low", "close", "volume")


# -- our chart with the set ----------------------------------------------------------------
def newest_of(data: OHLCV, sizes: tuple[int, ...]) -> dict[int, CandleSeries]:
    """A series of the newest ``n`` candles of ``data`` for each size: the view shows the same
    candles at every size, and only the history behind them differs. (Separate draws of the
    generator put other prices in view, and a frame's cost follows what is drawn: a tighter
    price range makes taller candle bodies and steeper lines to fill.)"""
    out = {}
    for n in sizes:
        series = CandleSeries(MINUTE_MS)
        series.replace(OHLCV(*(np.array(getattr(data, c)[-n:]) for c in OHLCV_COLUMNS)))
        out[n] = series
    return out


def config(text: str) -> IndicatorConfig:
    request = parse(text)
    return IndicatorConfig.new(request.spec, request.params)


def add_set(chart: ChartWidget) -> list[Study]:
    studies = [chart.studies.add(config(text)) for text in THE_SET]
    settle()  # the panes' layout
    chart.show_latest(IN_VIEW)
    repaint(chart)
    return studies


def study_items(chart: ChartWidget) -> list[Output]:
    """Every indicator line (a study's outputs: Bollinger's three, MACD's two and its histogram)."""
    return [item for study in chart.studies.studies for item in study.items]


def painted(chart: ChartWidget) -> tuple[Callable[[], None], Callable[[], bool]]:
    """(arm, check): after the frame, the candles, the volume and every indicator item drew."""

    def arm() -> None:
        chart.candles.drawn = chart.volumes.drawn = -1
        for item in study_items(chart):
            item.drawn = -1

    def check() -> bool:
        items = study_items(chart)
        return chart.candles.drawn > 0 and chart.volumes.drawn > 0 and all(i.drawn > 0 for i in items)

    return arm, check


Step = tuple[Callable[[], None], Callable[[], bool]]  # (a frame, did it paint everything?)


def pan_step(chart: ChartWidget) -> Step:
    """Pan 10 candles -> repaint."""
    arm, check = painted(chart)

    def step() -> None:
        arm()
        chart.pan(-10)
        repaint(chart)

    return step, check


def update_step(chart: ChartWidget) -> Step:
    """Tick on the forming candle -> chart.live_update() (candles and studies) -> repaint."""
    feed = LiveFeed(chart.series)
    arm, check = painted(chart)

    def step() -> None:
        arm()
        feed.tick()
        chart.live_update()
        repaint(chart)

    return step, check


def interleaved(
    cases: dict[str, Step], rounds: int, per_round: int = 10, warmup: int = 5
) -> dict[str, Samples]:
    """Each case's frames, taken in turns of ``per_round``: the other work on this shared
    machine then weighs on every case alike, which a ratio between cases needs."""
    out = {key: Samples() for key in cases}
    for step, _check in cases.values():
        for _ in range(warmup):
            step()
    for _ in range(rounds):
        for key, (step, check) in cases.items():
            part = frames(step, check, per_round, warmup=0)
            out[key].extend(part)
            out[key].cpu.extend(part.cpu)  # type: ignore[attr-defined]
    return out


def recompute_step(chart: ChartWidget) -> Step:
    """Reference A: the update frame with every study computed over the whole history
    (the studies' ``recompute``: each ``live.compute(series)`` and ``item.set_values``)."""
    inner, check = update_step(chart)
    studies = chart.studies

    def step() -> None:
        studies.live_update = studies.recompute  # type: ignore[method-assign]
        try:
            inner()
        finally:
            del studies.live_update  # back to the class's incremental path

    return step, check


def breakdown(chart: ChartWidget, rounds: int) -> list[list[str]]:
    """Where the update frame with the set goes: the same frame with one part taken out at a
    time, interleaved (10 frames of each in turn), so that the differences are the parts'."""
    feed = LiveFeed(chart.series)
    studies = chart.studies
    legends = [studies.price_legend, *(pane.legend for pane in studies.panes)]
    graphics = [study.graphic for study in studies.studies]  # one item per study, all its lines
    panes = [pane.plot.getAxis("right") for pane in studies.panes]

    def show(widgets: list[Any], on: bool) -> None:
        for w in widgets:
            w.setVisible(on)

    def frame() -> None:
        feed.tick()
        chart.live_update()
        repaint(chart)

    def update_only() -> None:
        feed.tick()
        chart.live_update()

    def as_the_loop_does() -> None:
        update_only()
        app.processEvents()

    def nothing() -> None:
        pass

    def no_study_update() -> None:
        studies.live_update = nothing  # type: ignore[method-assign]

    variants: dict[str, tuple[Callable[[], None], Callable[[], None], Callable[[], None]]] = {
        "the update frame as measured above": (nothing, frame, nothing),
        "tick + live_update only (no repaint)": (nothing, update_only, nothing),
        "the studies' live_update skipped (lines drawn, not updated)": (
            no_study_update,
            frame,
            lambda: delattr(studies, "live_update"),
        ),
        "the 5 indicator items (9 lines) hidden": (
            lambda: show(graphics, False),
            frame,
            lambda: show(graphics, True),
        ),
        "the legends (drawn in the scene) hidden": (
            lambda: show(legends, False),
            frame,
            lambda: show(legends, True),
        ),
        "the 2 panes' price axes hidden": (lambda: show(panes, False), frame, lambda: show(panes, True)),
        "as the event loop runs a tick: live_update, then the posted events (paint)": (
            nothing,
            as_the_loop_does,
            nothing,
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, (enter, step, leave) in variants.items():
            enter()
            step()  # one untimed: a hidden item's absence settles
            for _ in range(10):
                t0 = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t0)
            leave()
            settle()
    base = statistics.fmean(times["the update frame as measured above"])
    rows = []
    for name, values in times.items():
        m = statistics.fmean(values)
        rows.append([name, ms(m), f"{(m - base) * 1e3:+.2f} ms"])
    return rows


def incremental_error(chart: ChartWidget) -> float:
    """Max abs difference between the live-updated values and a full compute (last 2,000 bars)."""
    worst = 0.0
    for study in chart.studies.studies:
        fresh = LiveIndicator(study.config.spec, dict(study.config.params))
        fresh.compute(chart.series)
        for i in range(len(study.items)):
            a, b = study.live.line(i)[-2000:], fresh.line(i)[-2000:]
            scale = max(1.0, float(np.nanmax(np.abs(b))))
            worst = max(worst, float(np.nanmax(np.abs(a - b))) / scale)
    return worst


# -- finplot -------------------------------------------------------------------------------
def load_finplot(site: Path) -> Any:
    """finplot from its own folder (never from the venv), or None."""
    if site.is_dir() and str(site) not in sys.path:
        sys.path.insert(0, str(site))
    try:
        import finplot
    except ImportError as exc:
        print(f"finplot not importable ({exc}); its figures are quoted from bench_chart.py, not measured.")
        return None
    return finplot


def computed(ohlcv: OHLCV) -> dict[str, np.ndarray]:
    """The set's arrays by our functions (what a finplot user would call), named by column."""
    out: dict[str, np.ndarray] = {}
    for text in THE_SET:
        request = parse(text)
        values = request.spec.compute(ohlcv, request.spec.checked(request.params))
        for line, array in zip(request.spec.lines, values, strict=False):
            out[f"{request.spec.key}_{line.name}"] = array
    return out


class Finplot:
    """finplot with the set: candles + volume on row 0 with SMA, EMA and BB lines; RSI; MACD."""

    def __init__(self, fplt: Any, series: CandleSeries) -> None:
        import pandas as pd

        self.fplt = fplt
        self.pd = pd
        t0 = time.perf_counter()
        self.df = pd.DataFrame(
            {
                "time": pd.to_datetime(series.ts, unit="ms"),
                "open": series.open.copy(),
                "close": series.close.copy(),
                "high": series.high.copy(),
                "low": series.low.copy(),
                "volume": series.volume.copy(),
            }
        )
        self.ts = series.ts.copy()
        for name, values in computed(self.ohlcv()).items():
            self.df[name] = values
        df = self.df
        ax, ax_rsi, ax_macd = fplt.create_plot("finplot", rows=3, init_zoom_periods=IN_VIEW, maximize=False)
        self.axes = (ax, ax_rsi, ax_macd)
        self.candles = fplt.candlestick_ochl(df[["time", "open", "close", "high", "low"]], ax=ax)
        self.volume = fplt.volume_ocv(df[["time", "open", "close", "volume"]], ax=ax.overlay())
        self.lines: dict[str, Any] = {}
        for column, axis in (
            ("SMA_sma", ax),
            ("EMA_ema", ax),
            ("BB_middle", ax),
            ("BB_upper", ax),
            ("BB_lower", ax),
            ("RSI_rsi", ax_rsi),
            ("MACD_macd", ax_macd),
            ("MACD_signal", ax_macd),
        ):
            self.lines[column] = fplt.plot(df["time"], df[column], ax=axis, legend=column)
        # finplot's own MACD example: the histogram as a volume_ocv with strength colours
        self.hist = fplt.volume_ocv(
            df[["time", "open", "close", "MACD_histogram"]], ax=ax_macd, colorfunc=fplt.strength_colorfilter
        )
        self.win = ax.vb.win
        self.win.resize(WIDTH, HEIGHT)
        fplt.show(qt_exec=False)  # finplot's own initial zoom and first paint
        self.win.resize(WIDTH, HEIGHT)
        settle()
        self.setup = time.perf_counter() - t0
        self.viewport = self.win.viewport()
        self.rng = np.random.default_rng(7)

    def ohlcv(self) -> OHLCV:
        df = self.df
        cols = (df[c].to_numpy() for c in ("open", "high", "low", "close", "volume"))
        return OHLCV(self.ts, *cols)

    def image(self) -> bytes:
        return bytes(self.viewport.grab().toImage().constBits())

    def pan_frames(self, n: int) -> tuple[Samples, bool]:
        ax = self.axes[0]

        def step() -> None:
            ax.vb.pan_x(steps=-10)
            self.viewport.repaint()

        # finplot repaints a cached picture only when the view leaves it: a paint counter says
        # nothing, so check that a pan + repaint changes the pixels instead (as bench_chart.py)
        before = self.image()
        step()
        moved = self.image() != before
        return frames(step, lambda: True, n, warmup=5), moved  # type: ignore[return-value]

    def update_frames(self, n: int) -> Samples:
        df = self.df
        n_rows = len(df)
        self.axes[0].vb.update_y_zoom(n_rows - IN_VIEW, n_rows + 5)
        self.viewport.repaint()
        cols = {c: df.columns.get_loc(c) for c in ("close", "high", "low")}

        def step() -> None:
            close = float(df.iloc[-1, cols["close"]]) + float(self.rng.normal(0, 2.0))
            df.iloc[-1, cols["close"]] = close
            df.iloc[-1, cols["high"]] = max(float(df.iloc[-1, cols["high"]]), close)
            df.iloc[-1, cols["low"]] = min(float(df.iloc[-1, cols["low"]]), close)
            for name, values in computed(self.ohlcv()).items():  # no streaming in finplot
                df[name] = values
            self.candles.update_data(df[["time", "open", "close", "high", "low"]])
            self.volume.update_data(df[["time", "open", "close", "volume"]])
            for column, line in self.lines.items():
                line.update_data(df[["time", column]])
            self.hist.update_data(df[["time", "open", "close", "MACD_histogram"]])
            self.viewport.repaint()

        return frames(step, lambda: True, n, warmup=1)  # type: ignore[return-value]

    def close(self) -> None:
        self.fplt.close()
        settle()


# -- part 3: adding one indicator -------------------------------------------------------------
def first_use(spec: IndicatorSpec) -> float:
    """Seconds of the first compute in this process on 1,000 candles (numba loads or compiles)."""
    data = _common.synthetic_ohlcv(1000, seed=3)
    t0 = time.perf_counter()
    spec.compute(data, spec.defaults())
    return time.perf_counter() - t0


def idle(seconds: float) -> None:
    """The event loop left to itself for ``seconds`` (timers fire, nothing is timed)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def add_frames(chart: ChartWidget, spec: IndicatorSpec, repeats: int) -> dict[str, list[float]]:
    """Seconds of each add until it is on screen, and of its stages.

    The frame is ``studies.add`` then the events it posted (a new pane's layout, the
    legend, the paint they ask for: what the event loop does next in the app), and a
    synchronous repaint only if those did not paint every new line. The stages: the new
    pane (``_new_pane``, timed by wrapping it on this chart), the posted events, and
    ``LiveIndicator.compute`` alone on the same candles (timed separately). Between adds
    the event loop runs idle for half a second, as between a user's adds: a pane's plot
    the chart makes ahead (``ChartStudies._spare``) is made then, not in the next add."""
    cfg = IndicatorConfig.new(spec)
    studies = chart.studies
    out: dict[str, list[float]] = {"add": [], "compute": [], "pane": [], "events": []}
    new_pane = studies._new_pane

    def timed_pane(*args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return new_pane(*args)
        finally:
            out["pane"].append(time.perf_counter() - t0)

    studies._new_pane = timed_pane  # type: ignore[method-assign]
    try:
        for _ in range(repeats + 1):  # the first is a warm-up
            t0 = time.perf_counter()
            study = studies.add(cfg)
            t1 = time.perf_counter()
            app.processEvents()
            if not all(item.drawn > 0 for item in study.items):
                repaint(chart)
            t2 = time.perf_counter()
            out["add"].append(t2 - t0)
            out["events"].append(t2 - t1)
            if not all(item.drawn > 0 for item in study.items):
                raise RuntimeError(f"adding {spec.key} did not paint it")
            studies.remove(study.id)
            settle()
            idle(0.5)  # a user adds one at a time: what the chart defers (a pane made ahead) runs between
            live = LiveIndicator(spec, spec.defaults())
            t0 = time.perf_counter()
            live.compute(chart.series)
            out["compute"].append(time.perf_counter() - t0)
    finally:
        del studies._new_pane
    return {key: values[1:] for key, values in out.items()}


# -- part 4: the window (a child process per case) ------------------------------------------
WINDOW_CASES = {
    "ours": "4 charts, 2 indicators each (3 linked in group A on 1m/15m/1h, 1 on ETH/USDT)",
    "recompute": "the same, every study recomputed in full on each update",
    "four_bare": "the same 4 charts, no indicators",
    "baseline": "1 chart, no indicators",
}


class ChartClock:
    """Times each chart's ``live_update`` and viewport paint (the GUI thread's spans of chart
    work), so that the late wake-ups of the probe can be laid against them."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []
        self.updates: list[float] = []
        self.paints: list[float] = []
        self.counts: list[list[int]] = []
        self.views: set[int] = set()
        self.on = False

    def install(self) -> None:
        """Before any view is made: PySide looks a Python override up once per object."""
        import pyqtgraph as pg

        paint = pg.GraphicsView.paintEvent

        def timed_paint(view: Any, event: Any) -> None:
            t0 = time.perf_counter()
            paint(view, event)
            if self.on and id(view) in self.views:
                self._span(t0, self.paints)

        pg.GraphicsView.paintEvent = timed_paint  # type: ignore[method-assign]

    def watch(self, charts: list[ChartWidget]) -> None:
        self.views = {id(chart.glw) for chart in charts}
        self.counts = [self._time_live_update(chart) for chart in charts]

    def _time_live_update(self, chart: ChartWidget) -> list[int]:
        count = [0]
        live_update = chart.live_update

        def timed() -> None:
            t0 = time.perf_counter()
            live_update()
            if self.on:
                count[0] += 1
                self._span(t0, self.updates)

        chart.live_update = timed  # type: ignore[method-assign]
        return count

    def _span(self, t0: float, into: list[float]) -> None:
        t1 = time.perf_counter()
        self.spans.append((t0, t1))
        into.append(t1 - t0)

    def share_of(self, blocked: list[tuple[float, float]]) -> float:
        """The part of the ``blocked`` intervals spent in chart updates and paints."""
        total = sum(b1 - b0 for b0, b1 in blocked)
        inside = sum(
            max(0.0, min(b1, s1) - max(b0, s0)) for b0, b1 in blocked for s0, s1 in self.spans if s1 > b0
        )
        return inside / total if total else 0.0


def window_child(case: str, seconds: float) -> dict[str, Any]:
    """Run one window case in this process; the figures as a dict (printed as JSON)."""
    import qasync
    from bench_backtest_ui import PROBE_S, Probe
    from PySide6.QtWidgets import QApplication

    from terminal.config import ConfigStore
    from terminal.logs import setup_logging
    from terminal.market.session import MarketSession
    from terminal.market.simulator import SimulatedExchange
    from terminal.paths import AppPaths
    from terminal.store.history_file import HistoryFile
    from terminal.ui.window.main_window import MainWindow

    class TimedProbe(Probe):
        """bench_backtest_ui's probe, also keeping when each late wake-up's wait began and ended."""

        def __init__(self) -> None:
            super().__init__()
            self.late: list[tuple[float, float]] = []

        async def _run(self) -> None:
            while True:
                t = time.perf_counter()
                await asyncio.sleep(PROBE_S)
                now = time.perf_counter()
                if self.recording:
                    lag = (now - t - PROBE_S) * 1000.0
                    self.lags.append(lag)
                    if lag > LAG_TARGET_MS:
                        self.late.append((t + PROBE_S, now))

    if case == "recompute":
        LiveIndicator.update = LiveIndicator.compute  # type: ignore[method-assign]
    clock = ChartClock()
    clock.install()
    folder = Path(tempfile.mkdtemp(prefix="bench-chart-analysis-"))
    paths = AppPaths(folder / "config", folder / "data")
    paths.ensure()
    config_store = ConfigStore(paths.config_file)
    buffer = setup_logging(paths.log_dir, "WARNING")
    held = HistoryFile(paths.data_dir / "history.sqlite")
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    session = MarketSession(SimulatedExchange(seed=1), config_store.settings.watchlist)  # the app's defaults
    window = MainWindow(session, config_store, paths, buffer, history_file=held)
    window.resize(1600, 1000)
    window.show()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    out: dict[str, Any] = {"case": case}

    async def until(condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"{case}: timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def scenario() -> None:
        running = asyncio.create_task(window.run())
        probe = TimedProbe()
        probe.start()
        try:
            await until(lambda: len(session.candles) and window.chart.candles.drawn, "the first candles")
            grid = window.chart_grid
            if case != "baseline":
                window.set_chart_count(4)
                await until(
                    lambda: all(s.chart.symbol and s.chart.candles.drawn for s in grid.slots), "4 charts"
                )
                first, second, third, fourth = grid.slots
                for slot in (first, second, third):
                    grid.set_group(slot, "A")
                grid.choose_timeframe(second, "15m")
                grid.choose_timeframe(third, "1h")
                grid.choose_symbol(fourth, "ETH/USDT")
                await until(
                    lambda: (
                        fourth.chart.symbol == "ETH/USDT"
                        and second.chart.series.timeframe_ms == 15 * MINUTE_MS
                        and third.chart.series.timeframe_ms == 60 * MINUTE_MS
                    ),
                    "the timeframes and the other symbol",
                )
                if case != "four_bare":
                    for slot, texts in zip(grid.slots, WINDOW_SETS, strict=True):
                        grid.activate(slot)
                        for text in texts:
                            assert window.indicators.add_text(text), text
                grid.activate(first)
            await asyncio.sleep(3.0)  # settle: first paints, numba's kernels loaded
            clock.watch([s.chart for s in grid.slots])

            def pictures() -> list[tuple[int, int]]:  # each chart's still pictures made and copied
                return [
                    (
                        sum(x.renders for x in s.chart.still_layers()),
                        sum(x.copies for x in s.chart.still_layers()),
                    )
                    for s in grid.slots
                ]

            pictures0 = pictures()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            probe.recording = clock.on = True
            await asyncio.sleep(seconds)
            probe.recording = clock.on = False
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            made = [(r1 - r0, c1 - c0) for (r0, c0), (r1, c1) in zip(pictures0, pictures(), strict=True)]
            out.update(
                lags=probe.lags,
                cpu_share=cpu / wall,
                wall=wall,
                updates_per_s=[count[0] / wall for count in clock.counts],
                update_ms=statistics.fmean(clock.updates) * 1e3 if clock.updates else 0.0,
                paint_ms=statistics.fmean(clock.paints) * 1e3 if clock.paints else 0.0,
                paints_per_s=len(clock.paints) / wall,
                late=len(probe.late),
                late_spans=probe.late,
                late_chart_share=clock.share_of(probe.late),
                charts=[
                    {
                        "market": f"{s.chart.symbol} {s.chart.series.timeframe_ms // MINUTE_MS}m",
                        "size": f"{s.chart.glw.width()}x{s.chart.glw.height()}",
                        "candles": len(s.chart.series),
                        "studies": [st.config.label for st in s.chart.studies.studies],
                        "current": all(len(st.live) == len(s.chart.series) for st in s.chart.studies.studies),
                        "pictures": made[i],
                    }
                    for i, s in enumerate(grid.slots)
                ],
            )
        finally:
            await probe.stop()
            window.close()
            await running
            held.close()

    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()
        shutil.rmtree(folder, ignore_errors=True)
    return out


def run_window(case: str, seconds: float) -> dict[str, Any] | None:
    """The case in a fresh child process (its own CPU figure, no state left by the other parts)."""
    t0 = time.perf_counter()
    child = subprocess.run(
        [sys.executable, __file__, "--window-child", case, "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        check=False,
        cwd=_common.ROOT,
    )
    if child.returncode != 0 or not child.stdout.strip():
        print(f"window case {case!r} failed (exit {child.returncode}):\n{child.stderr[-2000:]}")
        return None
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"window case {case!r}: {time.perf_counter() - t0:.0f} s in all", flush=True)
    return result


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def lag_text(result: dict[str, Any]) -> str:
    lags = result["lags"]
    return f"{pct(lags, 0.5):.1f} / {pct(lags, 0.99):.1f} / {max(lags):.1f} ms"


# -- main ----------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames; 30 s windows")
    parser.add_argument(
        "--parts", default="1234", help="which parts to run (digits 1-4; 1 and 2 run together)"
    )
    parser.add_argument("--seconds", type=float, default=None, help="the 4-chart window's measured seconds")
    parser.add_argument("--finplot-site", type=Path, default=DEFAULT_FINPLOT_SITE)
    parser.add_argument("--window-child", choices=tuple(WINDOW_CASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.window_child:
        print(json.dumps(window_child(args.window_child, args.seconds or 30.0)))
        return

    t_start = time.perf_counter()
    quick = args.quick
    rounds = 3 if quick else 10  # of 10 frames a case
    print("Machine:", _common.machine())
    print(f"Chart {WIDTH}x{HEIGHT}, ~{IN_VIEW} candles in view; the set: {', '.join(THE_SET)}")
    print("frame = call + viewport().repaint(); cpu = process CPU time of the same frames (all threads)")

    cold = {spec.key: first_use(spec) for spec in SPECS}  # before anything else computes them
    fplt = load_finplot(args.finplot_site) if {"1", "2"} & set(args.parts) else None
    if fplt is not None:
        print(f"finplot {fplt.__version__} from {args.finplot_site}")
    t0 = time.perf_counter()
    data = _common.synthetic_ohlcv(BIG)
    print(f"generated synthetic candles in {time.perf_counter() - t0:.1f} s")

    if {"1", "2"} & set(args.parts):
        chart_parts(data, fplt, rounds, quick)
    if "3" in args.parts:
        add_part(newest_of(data, (BIG,))[BIG], cold)
    if "4" in args.parts:
        window_part(args.seconds or (30.0 if quick else 60.0))
    print(f"whole benchmark {time.perf_counter() - t_start:.0f} s")


def chart_parts(data: OHLCV, fplt: Any, rounds: int, quick: bool) -> None:
    """Parts 1 and 2: ours with the set and without (the same candles), then the references."""
    sizes = (10_000, 100_000, BIG)
    with_set = {n: make_chart(s) for n, s in newest_of(data, sizes).items()}
    bare = {n: make_chart(s) for n, s in newest_of(data, sizes).items()}
    # reference A on charts of its own: its full recompute rewrites every value, which on
    # ours would make the still pictures again at each turn of the interleaving
    full = {n: make_chart(s) for n, s in newest_of(data, sizes).items()}
    for chart in (*with_set.values(), *full.values()):
        add_set(chart)
    pan_sizes = (10_000, BIG)
    pans = interleaved(
        {
            f"{kind} {n}": pan_step(charts[n])
            for n in pan_sizes
            for kind, charts in (("set", with_set), ("bare", bare))
        },
        rounds,
    )
    for chart in (*with_set.values(), *bare.values(), *full.values()):
        chart.show_latest(IN_VIEW)
        repaint(chart)
    cases = {}
    for n in sizes:
        cases[f"set {n}"] = update_step(with_set[n])
        cases[f"bare {n}"] = update_step(bare[n])
        cases[f"full {n}"] = recompute_step(full[n])
    updates = interleaved(cases, rounds)
    pan = {n: pans[f"set {n}"] for n in pan_sizes}
    pan_bare = {n: pans[f"bare {n}"] for n in pan_sizes}
    upd = {n: updates[f"set {n}"] for n in sizes}
    upd_bare = {n: updates[f"bare {n}"] for n in sizes}
    upd_full = {n: updates[f"full {n}"] for n in sizes}
    parts = breakdown(with_set[BIG], rounds)
    for n, chart in with_set.items():
        step, _check = update_step(chart)
        for _ in range(20):  # incremental ticks only, then the values against a full compute
            step()
        error = incremental_error(chart)
        print(f"ours at {n:,}: live values after 20 ticks vs a full compute: max relative gap {error:.1e}")
    for chart in (*with_set.values(), *bare.values(), *full.values()):
        chart.close()
        chart.deleteLater()
    settle()

    fin_pan: dict[int, Samples] = {}
    fin_upd: dict[int, Samples] = {}
    fin_note: list[str] = []
    if fplt is not None:
        fin_n = {10_000: 10 if quick else 20, 100_000: 5 if quick else 10, BIG: 3 if quick else 5}
        for n, s in newest_of(data, sizes).items():
            fin = Finplot(fplt, s)
            if n != 100_000:
                fin_pan[n], moved = fin.pan_frames(20 if quick else 50)
                fin_note.append(f"{n:,}: set-up {ms(fin.setup)}, pan + repaint changed the pixels: {moved}")
            fin_upd[n] = fin.update_frames(fin_n[n])
            fin.close()
            del fin
            print(f"finplot at {n:,}: done ({fin_note[-1] if n != 100_000 else 'update only'})", flush=True)

    def fin_text(d: dict[int, Samples], n: int, quoted: str) -> str:
        return summary(d[n]) if n in d else f"finplot not importable; {quoted} (quoted, no indicators)"

    rows = []
    for n in (BIG, 10_000):
        rows.append(
            [
                f"pan, {n:,} loaded, the set on",
                summary(pan[n]),
                fin_text(fin_pan, n, "~25 ms at 1M"),
                summary(pan_bare[n]),
                f"<= {ms(PAN_TARGET_S)}",
                verdict(mean(pan[n]) <= PAN_TARGET_S),
            ]
        )
    print_table(
        "A1. Pan frame with 3 overlays + 2 panes (pan 10 candles + repaint)",
        rows,
        ("case", "ours", "finplot 1.9.7, same indicators", "ours, no indicators", "target", "met?"),
    )

    rows = []
    for n in sizes:
        rows.append(
            [
                f"last-candle update, {n:,} loaded, the set on",
                summary(upd[n]),
                summary(upd_full[n]),
                fin_text(fin_upd, n, "~65 ms at 1M"),
                summary(upd_bare[n]),
                f"<= {ms(UPDATE_TARGET_S)}",
                verdict(mean(upd[n]) <= UPDATE_TARGET_S),
            ]
        )
    ratio = mean(upd[BIG]) / mean(upd[10_000])
    full_ratio = mean(upd_full[BIG]) / mean(upd_full[10_000])
    fin_ratio = f"{mean(fin_upd[BIG]) / mean(fin_upd[10_000]):.1f}x" if fin_upd else "-"
    rows.append(
        [
            "flat: 1M mean / 10k mean",
            f"{ratio:.2f}x ({(mean(upd[BIG]) - mean(upd[10_000])) * 1e3:+.2f} ms)",
            f"{full_ratio:.1f}x",
            fin_ratio,
            f"{mean(upd_bare[BIG]) / mean(upd_bare[10_000]):.2f}x",
            f"<= {FLAT_RATIO:.2f}x",
            verdict(ratio <= FLAT_RATIO),
        ]
    )
    print_table(
        "A2. Last-candle update with 3 overlays + 2 panes (tick -> live_update -> repaint)",
        rows,
        (
            "case",
            "ours (incremental)",
            "ref. A: every study recomputed in full",
            "ref. B: finplot, recompute + update_data",
            "ours, no indicators",
            "target",
            "met?",
        ),
    )
    print_table(
        "A2b. Where the 1M update frame with the set goes (one part taken out at a time, interleaved)",
        parts,
        ("frame", "mean", "vs the frame as measured"),
    )
    for note in fin_note:
        print(f"finplot {note}")


def add_part(series: CandleSeries, cold: dict[str, float]) -> None:
    chart = make_chart(series)
    add_set(chart)
    repeats = 3
    rows = []
    for spec in SPECS:
        stages = add_frames(chart, spec, repeats)
        adds = stages["add"]
        med = statistics.median(adds)
        rows.append(
            [
                f"{spec.key} ({'pane' if spec.pane else 'overlay'})",
                f"{ms(med)} ({' / '.join(f'{a * 1e3:.1f}' for a in adds)})",
                ms(statistics.median(stages["compute"])),
                ms(statistics.median(stages["pane"])) if stages["pane"] else "-",
                ms(statistics.median(stages["events"])),
                ms(cold[spec.key]),
                f"<= {ms(ADD_TARGET_S)}",
                verdict(med <= ADD_TARGET_S),
            ]
        )
    chart.close()
    print_table(
        f"A3. Adding one indicator over 1,000,000 candles with the set on (median of {repeats})",
        rows,
        (
            "indicator (defaults)",
            "add until on screen (each run, ms)",
            "compute",
            "new pane",
            "posted events (layout, paint)",
            "first compute in the process",
            "target",
            "met?",
        ),
    )
    print(
        "compute: LiveIndicator.compute alone on the same candles; new pane: ChartStudies._new_pane "
        "(its plot made ahead while the loop was idle, one row inserted); first compute: 1,000 candles "
        "before anything else (numba loads or compiles the kernels it calls)"
    )


def window_part(seconds: float) -> None:
    ref_seconds = max(10.0, seconds / 2)
    results = {case: run_window(case, seconds if case == "ours" else ref_seconds) for case in WINDOW_CASES}
    ours = results["ours"]
    if ours is None:
        return
    for case, result in results.items():
        if result is None:
            continue
        print(f"{case}: {result['wall']:.0f} s measured, {len(result['lags']):,} wake-ups; charts:")
        for chart, rate in zip(result["charts"], result["updates_per_s"], strict=True):
            print(
                f"  {chart['market']} ({chart['size']} px), {chart['candles']:,} candles,"
                f" {', '.join(chart['studies']) or 'no indicators'} (current: {chart['current']}),"
                f" {rate:.1f} live updates/s; still pictures made {chart['pictures'][0]},"
                f" frames drawn from them {chart['pictures'][1]}"
            )

    def cells(text: Callable[[dict[str, Any]], str]) -> list[str]:
        return [text(r) if r is not None else "failed" for r in results.values()]

    def percent(r: dict[str, Any]) -> str:
        return f"{r['cpu_share'] * 100:.0f}%"

    def late(r: dict[str, Any]) -> str:
        return f"{r['late']} ({r['late_chart_share'] * 100:.0f}% of their wait)" if r["late"] else "0"

    p99 = pct(ours["lags"], 0.99)
    rows = [
        ["event-loop lag p50 / p99 / max", *cells(lag_text), f"p99 <= {LAG_TARGET_MS:.0f} ms"],
        ["process CPU, share of one core", *cells(percent), f"<= {CPU_TARGET * 100:.0f}%"],
        [
            "live candle updates per second (all charts)",
            *cells(lambda r: f"{sum(r['updates_per_s']):.1f}"),
            "-",
        ],
        ["one chart's live_update, mean", *cells(lambda r: f"{r['update_ms']:.2f} ms"), "-"],
        ["one chart's paint (its viewport), mean", *cells(lambda r: f"{r['paint_ms']:.2f} ms"), "-"],
        [f"wake-ups > {LAG_TARGET_MS:.0f} ms late (chart updates + paints)", *cells(late), "-"],
    ]
    rows[0].append(verdict(p99 <= LAG_TARGET_MS))
    rows[1].append(verdict(ours["cpu_share"] <= CPU_TARGET))
    for row in rows[2:]:
        row.append("n/a")
    print_table(
        f"A4. The window on the simulated market, 1600x1000 ({seconds:.0f} s; others {ref_seconds:.0f} s)",
        rows,
        ("case", *WINDOW_CASES.values(), "target", "met?"),
    )


if __name__ == "__main__":
    main()
