"""Chart benchmarks: pan frame time and last-candle update time.

    .venv/bin/python benchmarks/bench_chart.py [--quick] [--style line|area|heikin_ashi] [--log-scale]

``--style`` and ``--log-scale`` draw the price that way in every chart measured
(ours; the naive reference hides our price item whatever it is).

Targets (offscreen Qt, 1280x800 chart, ~500 candles in view):
  1. pan: <= 10 ms per frame with 1,000,000 candles loaded;
  2. last-candle update: <= 5 ms per frame, flat from 10k to 1M candles.

A frame is the navigation or data call followed by a synchronous repaint of
the chart's QGraphicsView viewport (``chart.glw.viewport().repaint()``),
which runs pyqtgraph's paintEvent and every visible item's ``paint`` before
it returns. The script checks that every measured frame really painted the
candles (``CandlestickItem.drawn`` is reset to -1 before the frame and must
be > 0 after it; the reference counts its own paint calls).

Reference: pyqtgraph's classic CandlestickItem example, a QPicture holding
every candle, replayed whole by ``paint``; it sits in an identical
ChartWidget (same axes, grid, y autoscale, last-price line) with our
candle and volume items hidden, so only the candle item differs. finplot is
measured too when it can be imported (its cached picture is not repainted
every frame, so for it the script checks that a pan changes the pixels).

Diagnostic (table 1b/2b): ours with the grid hidden, in this process only,
for a like-for-like comparison with finplot, which draws no grid by default.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import _common
import numpy as np
from _common import Samples, mean, ms, print_table, summary, synthetic_series, verdict
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainter, QPicture
from PySide6.QtWidgets import QApplication

app = QApplication.instance() or QApplication(["bench_chart"])

import pyqtgraph as pg  # noqa: E402

from terminal.marketdata.candles import CandleSeries  # noqa: E402
from terminal.ui.chart.chart_widget import ChartWidget  # noqa: E402
from terminal.ui.chart.items import PRICE_STYLES  # noqa: E402

WIDTH, HEIGHT = 1280, 800
IN_VIEW = 500
PAN_TARGET_S = 0.010
UPDATE_TARGET_S = 0.005
QUOTED = (  # figures from the issue, for context when they cannot be measured here
    ("finplot pan frame, 1M (quoted, not measured here)", "~25 ms"),
    ("finplot last-candle update, 1M (quoted, not measured here)", "~65 ms"),
    ("vnpy chart, 500k (quoted, not measured here)", "~320 ms"),
)


class NaiveCandlestickItem(pg.GraphicsObject):
    """pyqtgraph's CandlestickItem example: every candle recorded into one QPicture."""

    def __init__(self, data: list[tuple[float, float, float, float, float]]) -> None:
        super().__init__()
        self.data = data  # (time, open, close, min, max), as in the example
        self.paints = 0
        self.generatePicture()

    def generatePicture(self) -> None:  # noqa: N802 - the example's name
        self.picture = QPicture()
        p = QPainter(self.picture)
        p.setPen(pg.mkPen("w"))
        w = (self.data[1][0] - self.data[0][0]) / 3.0
        for t, open_, close, low, high in self.data:
            p.drawLine(QPointF(t, low), QPointF(t, high))
            p.setBrush(pg.mkBrush("r") if open_ > close else pg.mkBrush("g"))
            p.drawRect(QRectF(t - w, open_, w * 2, close - open_))
        p.end()

    def paint(self, p: QPainter, *args: object) -> None:
        self.paints += 1
        p.drawPicture(0, 0, self.picture)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return QRectF(self.picture.boundingRect())


def naive_rows(series: CandleSeries) -> list[tuple[float, float, float, float, float]]:
    """The example's data layout, built once (not counted in any timing)."""
    x = series.ts / 1000.0 + series.timeframe_ms / 2000.0
    cols = (x, series.open, series.close, series.low, series.high)
    return list(zip(*(c.tolist() for c in cols), strict=True))


# -- set-up --------------------------------------------------------------------------
def settle() -> None:
    for _ in range(3):
        app.processEvents()


LOOK: dict[str, object] = {"style": "candles", "log_scale": False}  # set from the command line


def make_chart(series: CandleSeries) -> ChartWidget:
    chart = ChartWidget(visible_candles=IN_VIEW)
    chart.resize(WIDTH, HEIGHT)
    chart.show()
    chart.set_style(str(LOOK["style"]))
    chart.set_log_scale(bool(LOOK["log_scale"]))
    chart.set_series(series, "BTC/USDT", 1)
    settle()
    return chart


def make_reference_chart(series: CandleSeries) -> tuple[ChartWidget, NaiveCandlestickItem, float]:
    """Same chart, our items hidden, the naive item added; returns its build time."""
    chart = make_chart(series)
    chart.set_log_scale(False)  # the naive item draws prices as they are
    chart.candles.setVisible(False)
    chart.volumes.setVisible(False)
    rows = naive_rows(series)
    t0 = time.perf_counter()
    item = NaiveCandlestickItem(rows)
    build = time.perf_counter() - t0
    chart.price_plot.addItem(item)
    settle()
    return chart, item, build


def repaint(chart: ChartWidget) -> None:
    chart.glw.viewport().repaint()


# -- frames --------------------------------------------------------------------------
def frames(step: Callable[[], None], painted: Callable[[], bool], n: int, warmup: int) -> list[float]:
    """Time ``step`` n times after ``warmup`` untimed calls; every timed call must paint."""
    for _ in range(warmup):
        step()
    samples = Samples()
    for i in range(n):
        c0, t0 = time.process_time(), time.perf_counter()
        step()
        samples.append(time.perf_counter() - t0)
        samples.cpu.append(time.process_time() - c0)
        if not painted():
            raise RuntimeError(f"frame {i} did not paint the candles")
    return samples


def ours_painted(chart: ChartWidget) -> tuple[Callable[[], None], Callable[[], bool]]:
    """(arm, check): arm before a frame, check after it that both items painted."""

    def arm() -> None:
        chart.candles.drawn = chart.volumes.drawn = -1

    def check() -> bool:
        return chart.candles.drawn > 0 and chart.volumes.drawn > 0

    return arm, check


def method_check(chart: ChartWidget) -> list[list[str]]:
    """Which synchronous call paints the candles? CandlestickItem.drawn is -1 until it paints."""
    calls: list[tuple[str, Callable[[], object]]] = [
        ("nothing", lambda: None),
        ("chart.repaint()", chart.repaint),
        ("chart.glw.viewport().repaint()", lambda: repaint(chart)),
        ("chart.grab()", chart.grab),
    ]
    rows = []
    for name, call in calls:
        chart.show_latest(IN_VIEW)
        repaint(chart)
        painted, total = 0, 0.0
        for _ in range(20):
            chart.candles.drawn = -1
            t0 = time.perf_counter()
            chart.pan(-10)
            call()
            total += time.perf_counter() - t0
            painted += chart.candles.drawn > 0
        used = "yes" if name == "chart.glw.viewport().repaint()" else ""
        rows.append([name, f"{painted}/20", ms(total / 20), used])
    return rows


def pan_ours(chart: ChartWidget, candles: float, n: int, warmup: int = 10) -> list[float]:
    arm, check = ours_painted(chart)

    def step() -> None:
        arm()
        chart.pan(-candles)
        repaint(chart)

    return frames(step, check, n, warmup)


def pan_naive(chart: ChartWidget, item: NaiveCandlestickItem, candles: float, n: int) -> list[float]:
    def step() -> None:
        before = item.paints
        chart.pan(-candles)
        repaint(chart)
        counts.append(item.paints - before)

    counts: list[int] = []
    return frames(step, lambda: counts[-1] >= 1, n, warmup=1)


class LiveFeed:
    """Moves the newest candle's close (and high/low/volume) a little each tick."""

    def __init__(self, series: CandleSeries, seed: int = 7) -> None:
        self.series = series
        self.rng = np.random.default_rng(seed)

    def tick(self) -> tuple[int, float, float, float, float, float]:
        last = self.series.last()
        assert last is not None
        ts, o, h, l, c, v = last
        c = round(c + float(self.rng.normal(0, 2.0)), 1)
        h, l = max(h, c), min(l, c)
        v = v + float(self.rng.uniform(0, 0.05))
        self.series.upsert(ts, o, h, l, c, v)
        return ts, o, h, l, c, v


def update_ours(chart: ChartWidget, n: int, warmup: int = 10) -> list[float]:
    feed = LiveFeed(chart.series)
    arm, check = ours_painted(chart)

    def step() -> None:
        arm()
        feed.tick()
        chart.live_update()
        repaint(chart)

    return frames(step, check, n, warmup)


def update_naive(chart: ChartWidget, item: NaiveCandlestickItem, n: int, warmup: int) -> list[float]:
    feed = LiveFeed(chart.series)
    slot = chart.series.timeframe_ms / 1000.0
    counts: list[int] = []

    def step() -> None:
        before = item.paints
        ts, o, h, l, c, _v = feed.tick()
        item.data[-1] = (ts / 1000.0 + slot / 2, o, c, l, h)
        item.generatePicture()
        item.update()
        chart.live_update()  # the same y autoscale, last-price line and readout as ours
        repaint(chart)
        counts.append(item.paints - before)

    return frames(step, lambda: counts[-1] >= 1, n, warmup)


def zoom_fully_out(chart: ChartWidget) -> None:
    """Ask for the whole history; the view's limits clamp it to MAX_CANDLES across."""
    series = chart.series
    slot = series.timeframe_ms / 1000.0
    right = series.ts[-1] / 1000.0 + slot * 8
    chart.set_x_range(series.ts[0] / 1000.0, right)
    repaint(chart)
    settle()


# -- finplot -------------------------------------------------------------------------
def finplot_figures(series: CandleSeries, pan_n: int, update_n: int) -> dict[str, object] | None:
    """finplot's pan frame and last-candle update at len(series), or None if not importable."""
    try:
        import finplot as fplt
        import pandas as pd
    except ImportError as exc:
        print(f"finplot not importable ({exc}); its figures are quoted, not measured.")
        return None
    df = pd.DataFrame(
        {
            "time": pd.to_datetime(series.ts, unit="ms"),
            "open": series.open.copy(),
            "close": series.close.copy(),
            "high": series.high.copy(),
            "low": series.low.copy(),
            "volume": series.volume.copy(),
        }
    )
    price_cols, volume_cols = ["time", "open", "close", "high", "low"], ["time", "open", "close", "volume"]
    t0 = time.perf_counter()
    ax = fplt.create_plot("finplot", init_zoom_periods=IN_VIEW, maximize=False)
    candles = fplt.candlestick_ochl(df[price_cols], ax=ax)
    volumes = fplt.volume_ocv(df[volume_cols], ax=ax.overlay())
    win = ax.vb.win
    win.resize(WIDTH, HEIGHT)
    fplt.show(qt_exec=False)  # finplot's own initial zoom and first paint
    win.resize(WIDTH, HEIGHT)
    settle()
    setup = time.perf_counter() - t0
    viewport = win.viewport()
    in_view = ax.vb.targetRect().width()

    def painted_image() -> bytes:
        image = viewport.grab().toImage()
        return bytes(image.constBits())

    def pan_step() -> None:
        ax.vb.pan_x(steps=-10)
        viewport.repaint()

    # finplot redraws its cached picture only when the view leaves it, so a
    # per-frame paint counter says nothing; check instead that a pan + repaint
    # changes the pixels on screen.
    before = painted_image()
    pan_step()
    moved = painted_image() != before
    pan = frames(pan_step, lambda: True, pan_n, warmup=5)

    ax.vb.update_y_zoom(len(df) - IN_VIEW, len(df) + 5)
    viewport.repaint()
    rng = np.random.default_rng(7)
    close_col = df.columns.get_loc("close")

    def update_step() -> None:
        df.iloc[-1, close_col] = float(df.iloc[-1, close_col]) + float(rng.normal(0, 2.0))
        candles.update_data(df[price_cols])
        volumes.update_data(df[volume_cols])
        viewport.repaint()

    update = frames(update_step, lambda: True, update_n, warmup=1)
    return {
        "setup": setup,
        "pan": pan,
        "update": update,
        "in_view": in_view,
        "moved": moved,
        "version": fplt.__version__,
    }


def per_call(fn: Callable[[], object], n: int = 200) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


# -- diagnostic: ours without the grid (finplot draws none by default) -------------
@contextmanager
def grid_hidden(chart: ChartWidget) -> Iterator[None]:
    for grid in chart.grids:
        grid.hide()
    try:
        yield
    finally:
        for grid in chart.grids:
            grid.show()


# -- main ----------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames and no 1M naive reference")
    parser.add_argument("--style", choices=PRICE_STYLES, default="candles", help="how the price is drawn")
    parser.add_argument("--log-scale", action="store_true", help="the price pane on a log scale")
    args = parser.parse_args()
    LOOK.update(style=args.style, log_scale=args.log_scale)
    n_frames = 30 if args.quick else 100
    n_diag = n_frames // 2
    big = 1_000_000

    print("Machine:", _common.machine())
    print(f"Price drawn as {args.style}, {'log' if args.log_scale else 'linear'} scale")
    print(
        f"Chart {WIDTH}x{HEIGHT}, ~{IN_VIEW} candles in view; frame = call + viewport().repaint(); "
        "cpu = process CPU time (all threads: Qt's raster engine fills with pooled threads)"
    )
    t0 = time.perf_counter()
    sizes = {n: synthetic_series(n) for n in (10_000, 100_000, big)}
    print(f"generated synthetic candles in {time.perf_counter() - t0:.1f} s")

    # -- which call really paints a frame -------------------------------------------
    chart = make_chart(sizes[big])
    print_table(
        "0. Repaint method check: 20 pans at 1M, each followed by one call",
        method_check(chart),
        headers=("call after pan()", "frames that painted the candles", "mean per frame", "used"),
    )
    label = per_call(chart.readout.repaint, 50)
    print(f"not in the frame: the OHLCV readout QLabel above the plot, {ms(label)} per repaint()")

    # -- ours: pan at 1M -------------------------------------------------------------
    chart.show_latest(IN_VIEW)
    repaint(chart)
    in_view_ours = chart.visible_count()
    pan_1m = pan_ours(chart, 10, n_frames)
    zoom_fully_out(chart)
    out_count = chart.visible_count()
    pan_out = pan_ours(chart, out_count / 50, n_frames)
    print(
        f"ours zoomed fully out: {out_count:,} candles across (MAX_CANDLES clamp), "
        f"merged={chart.candles.merged}, {chart.candles.drawn} candle primitives per paint"
    )

    # -- ours: last-candle update at 10k, 100k, 1M (1M last, for the diagnostics) ----
    upd: dict[int, list[float]] = {}
    pan_10k: list[float] = []
    for n, series in sizes.items():
        chart.set_series(series, "BTC/USDT", 1)
        settle()
        if n == 10_000:
            pan_10k = pan_ours(chart, 10, n_frames)
            chart.show_latest(IN_VIEW)
        upd[n] = update_ours(chart, n_frames)

    # -- diagnostics at 1M ---------------------------------------------------------------
    diag: list[tuple[str, list[float], list[float]]] = [("as shipped", pan_1m, upd[big])]
    with grid_hidden(chart):
        chart.show_latest(IN_VIEW)
        pan = pan_ours(chart, 10, n_diag)
        chart.show_latest(IN_VIEW)
        diag.append(("grid off", pan, update_ours(chart, n_diag)))
    chart.close()

    # -- reference: naive QPicture item ----------------------------------------------
    naive_upd: dict[int, list[float]] = {}
    naive_build: dict[int, float] = {}
    naive_frames = {10_000: 20, 100_000: 5, big: 1}
    naive_pan: list[float] = []
    naive_pan_out: list[float] = []
    for n in (10_000, 100_000) if args.quick else (10_000, 100_000, big):
        ref, item, naive_build[n] = make_reference_chart(sizes[n])
        print(f"naive QPicture item built for {n:,} candles in {ms(naive_build[n])}")
        if n == big:
            naive_pan = pan_naive(ref, item, 10, 5)
            zoom_fully_out(ref)
            naive_pan_out = pan_naive(ref, item, ref.visible_count() / 50, 3)
            ref.show_latest(IN_VIEW)
            repaint(ref)
        naive_upd[n] = update_naive(ref, item, naive_frames[n], warmup=0 if n == big else 1)
        ref.close()
        del ref, item
        settle()

    # -- finplot ------------------------------------------------------------------------
    fin = finplot_figures(sizes[big], n_frames, 5 if args.quick else 10)

    # -- tables ------------------------------------------------------------------------
    def row(case: str, ours: list[float], ref: list[float] | str, target: float) -> list[str]:
        ref_text = summary(ref) if isinstance(ref, list) and ref else (ref or "not run (--quick)")
        return [case, summary(ours), str(ref_text), f"<= {ms(target)}", verdict(mean(ours) <= target)]

    print_table(
        "1. Pan frame (pan + synchronous repaint), reference = naive QPicture item",
        [
            row(f"pan, 1M loaded, {in_view_ours} in view", pan_1m, naive_pan, PAN_TARGET_S),
            row(
                f"pan, 1M loaded, zoomed fully out ({out_count:,} in view, merged)",
                pan_out,
                naive_pan_out,
                PAN_TARGET_S,
            ),
            row(f"pan, 10k loaded, {in_view_ours} in view (for comparison)", pan_10k, "-", PAN_TARGET_S),
            [
                "build the item for 1M candles (once)",
                "nothing to build",
                ms(naive_build[big]) if big in naive_build else "not run (--quick)",
                "-",
                "n/a",
            ],
        ],
    )

    rows = [
        row(f"last-candle update, {n:,} loaded", upd[n], naive_upd.get(n, []), UPDATE_TARGET_S) for n in sizes
    ]
    growth = mean(upd[big]) - mean(upd[10_000])
    ratio = mean(upd[big]) / mean(upd[10_000])
    naive_ratio = (
        f"{mean(naive_upd[100_000]) / mean(naive_upd[10_000]):.1f}x at 100k" if 100_000 in naive_upd else "-"
    )
    rows.append(
        [
            "flat: 1M mean / 10k mean",
            f"{ratio:.2f}x ({growth * 1e3:+.2f} ms)",
            naive_ratio,
            "<= 1.25x",
            verdict(ratio <= 1.25),
        ]
    )
    print_table(
        "2. Last-candle update (upsert + live_update + repaint), "
        "reference = naive item regenerating its QPicture",
        rows,
    )

    print_table(
        "1b/2b. Ours at 1M with and without the grid (benchmark process only)",
        [[label, summary(pan), summary(update)] for label, pan, update in diag],
        headers=(
            "configuration",
            f"pan frame (<= {ms(PAN_TARGET_S)})",
            f"last-candle update (<= {ms(UPDATE_TARGET_S)})",
        ),
    )
    named: list[list[str]] = []
    if fin is not None:
        version = fin["version"]
        named.append(
            [
                f"pan frame, 1M (finplot {version}, measured, {fin['in_view']:.0f} in view)",
                summary(pan_1m),
                summary(fin["pan"]),
                f"<= {ms(PAN_TARGET_S)}",
                verdict(mean(pan_1m) <= PAN_TARGET_S),
            ]
        )
        pan_nogrid = next(pan for label, pan, _ in diag if label == "grid off")
        named.append(
            [
                "pan frame, 1M, ours with the grid off (finplot draws no grid by default)",
                summary(pan_nogrid),
                summary(fin["pan"]),
                f"<= {ms(PAN_TARGET_S)}",
                verdict(mean(pan_nogrid) <= PAN_TARGET_S),
            ]
        )
        named.append(
            [
                f"last-candle update, 1M (finplot {version}, measured: update_data candles + volume)",
                summary(upd[big]),
                summary(fin["update"]),
                f"<= {ms(UPDATE_TARGET_S)}",
                verdict(mean(upd[big]) <= UPDATE_TARGET_S),
            ]
        )
        print(
            f"finplot set-up with 1M candles: {ms(fin['setup'])}; pan + repaint changed "
            f"the pixels: {fin['moved']}"
        )
    for case, figure in QUOTED:
        if fin is not None and case.startswith("finplot"):
            continue
        ours = upd[big] if "update" in case else pan_1m
        ours_text = "-" if case.startswith("vnpy") else summary(ours)
        named.append([case, ours_text, figure, "-", "n/a"])
    print_table("5. Named references", named)


if __name__ == "__main__":
    main()
