"""Regenerates the chart-analysis screenshots:

- docs/images/terminal.png (the README's first): the simulated market's 5m chart with
  Bollinger bands and an EMA over the candles, RSI and MACD in panes, a trend line
  and a Fibonacci retracement drawn on it;
- with ``--compare``, docs/images/chart-compare.png: ETH/USDT drawn on the BTC/USDT
  chart in percent from the left edge;
- with ``--four``, docs/images/four-charts.png: four charts, three linked on one symbol
  (1m, 15m, 1h) and one on another, each with its indicators, the crosshair on the
  first marking its moment on the others.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python scripts/screenshot_analysis.py [--four | --compare] [OUT.png]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

# first: it puts the checkout on the path and pins pyqtgraph's Qt binding
from paper_window import ROOT, shots, until
from PySide6.QtCore import QEvent, QPoint, QPointF, QSize, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from terminal.trading.paper.broker import PaperBroker
from terminal.ui.chart.chart_widget import ChartWidget
from terminal.ui.chart.drawings.layer import DrawingLayer
from terminal.ui.chart.drawings.model import Drawing, Kind, new_id
from terminal.ui.window.main_window import MainWindow


def swing_drawings(chart: ChartWidget, layer: DrawingLayer) -> None:
    """A trend line under the lows of the view and a Fibonacci from its low to its high."""
    s = chart.series
    i0, i1 = chart.visible_indices()
    lows, highs = s.low[i0:i1], s.high[i0:i1]
    lo_i, hi_i = i0 + int(lows.argmin()), i0 + int(highs.argmax())
    t = lambda i: float(s.ts[i]) / 1000.0  # noqa: E731
    first, second = sorted((lo_i, hi_i))
    layer.add(
        Drawing(
            new_id(),
            Kind.FIB,
            (
                (t(first), float(s.low[first] if first == lo_i else s.high[first])),
                (t(second), float(s.high[second] if second == hi_i else s.low[second])),
            ),
        )
    )
    left = i0 + int(s.low[i0 : i0 + (i1 - i0) // 3].argmin())
    right = i1 - (i1 - i0) // 4 + int(s.low[i1 - (i1 - i0) // 4 : i1].argmin())
    layer.add(
        Drawing(
            new_id(),
            Kind.TREND,
            ((t(left), float(s.low[left])), (t(right), float(s.low[right]))),
            color="#f5a623",
        )
    )


async def one_chart(window: MainWindow, broker: PaperBroker, out: Path) -> None:
    chart = window.chart
    window.set_timeframe("5m")
    await until(lambda: chart.series.timeframe_ms == 300_000 and len(chart.series) > 300)
    await asyncio.sleep(0.5)
    chart.show_latest(140)
    for text in ("BB 20 2", "EMA 50", "RSI 14", "MACD"):
        assert window.indicators.add_text(text)
    await until(lambda: window.chart_tools.of(window.chart_grid.slots[0]).keeper.loaded)
    swing_drawings(chart, window.drawings)
    await asyncio.sleep(1.5)
    window.grab().save(str(out))
    print(f"wrote {out}")


async def four_charts(window: MainWindow, broker: PaperBroker, out: Path) -> None:
    grid = window.chart_grid
    window.set_chart_count(4)
    await until(lambda: all(s.chart.symbol and s.chart.candles.drawn for s in grid.slots))
    first, second, third, fourth = grid.slots
    for slot in (first, second, third):
        grid.set_group(slot, "A")
    grid.choose_timeframe(second, "15m")
    grid.choose_timeframe(third, "1h")
    grid.choose_symbol(fourth, "ETH/USDT")
    await until(lambda: fourth.chart.symbol == "ETH/USDT" and third.chart.series.timeframe_ms == 3_600_000)
    for slot, texts in (
        (first, ("EMA 21", "RSI 14")),
        (second, ("BB 20 2", "MACD")),
        (third, ("ICHIMOKU",)),
        (fourth, ("VWAP", "STOCH")),
    ):
        grid.activate(slot)
        for text in texts:
            assert window.indicators.add_text(text)
    grid.activate(first)
    await asyncio.sleep(1.5)
    view = first.chart.glw.viewport()
    at = QPoint(int(view.width() * 0.7), int(view.height() * 0.3))
    move = QMouseEvent(
        QEvent.Type.MouseMove, QPointF(at), QPointF(view.mapToGlobal(at)),
        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(view, move)
    await until(lambda: second.chart.sync_line.isVisible())
    await asyncio.sleep(0.5)
    window.grab().save(str(out))
    print(f"wrote {out}")


async def compare(window: MainWindow, broker: PaperBroker, out: Path) -> None:
    chart = window.chart
    window.set_timeframe("15m")
    await until(lambda: chart.series.timeframe_ms == 900_000 and len(chart.series) > 300)
    window.chart_grid.set_compare(window.chart_grid.slots[0], "ETH/USDT")
    await until(lambda: chart.compare is not None and chart.compare.base_index >= 0)
    chart.show_latest(250)
    await asyncio.sleep(1.0)
    view = chart.glw.viewport()
    at = QPoint(int(view.width() * 0.8), int(view.height() * 0.4))
    move = QMouseEvent(
        QEvent.Type.MouseMove, QPointF(at), QPointF(view.mapToGlobal(at)),
        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(view, move)
    await asyncio.sleep(0.5)
    chart.grab().save(str(out))
    print(f"wrote {out}: {chart.readout_text(chart._hover_index)}")


if __name__ == "__main__":
    named = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--compare" in sys.argv:
        target = Path(named[0]) if named else ROOT / "docs" / "images" / "chart-compare.png"
        shots(compare, target, QSize(1280, 800), history=True)
    elif "--four" in sys.argv:
        target = Path(named[0]) if named else ROOT / "docs" / "images" / "four-charts.png"
        shots(four_charts, target, QSize(1600, 1000), history=True)
    else:
        target = Path(named[0]) if named else ROOT / "docs" / "images" / "terminal.png"
        shots(one_chart, target, QSize(1280, 800), history=True)
