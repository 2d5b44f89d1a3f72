"""Regenerates docs/images/chart-crosshair.png: the simulated market's daily chart
(its month of history filling the view from the first candle), the mouse over a
candle: the crosshair's price and time as labels on the axes.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python scripts/screenshot_chart.py [OUT.png]
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
from terminal.ui.window.main_window import MainWindow


async def scene(window: MainWindow, broker: PaperBroker, out: Path) -> None:
    chart = window.chart
    window.set_timeframe("1d")
    await until(lambda: chart.series.timeframe_ms == 86_400_000 and len(chart.series) > 10)
    await asyncio.sleep(1.0)
    view = chart.glw.viewport()
    at = QPoint(int(view.width() * 0.62), int(view.height() * 0.35))
    move = QMouseEvent(
        QEvent.Type.MouseMove, QPointF(at), QPointF(view.mapToGlobal(at)),
        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(view, move)
    await until(lambda: chart.price_tag.isVisible() and chart.time_tag.isVisible())
    await asyncio.sleep(0.5)
    chart.grab().save(str(out))
    print(f"wrote {out}: {chart.time_tag.text} at {chart.price_tag.text}")


if __name__ == "__main__":
    named = [a for a in sys.argv[1:] if not a.startswith("--")]
    target = Path(named[0]) if named else ROOT / "docs" / "images" / "chart-crosshair.png"
    shots(scene, target, QSize(1280, 800))
