"""Regenerates docs/images/research.png: the backtest panel's Research tab after
a grid sweep of SMA cross (fast 4..30 × slow 10..60, fast < slow) on the
simulated market's candles, the trials sorted by Sharpe ratio, the best one
selected; the panel floated at 1400×560 so that the table has room.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python scripts/screenshot_research.py [OUT.png]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

# first: it puts the checkout on the path and pins pyqtgraph's Qt binding
from paper_window import ROOT, shots, until
from PySide6.QtCore import QSize, Qt

from terminal.trading.paper.broker import PaperBroker
from terminal.ui.window.main_window import MainWindow


async def scene(window: MainWindow, broker: PaperBroker, out: Path) -> None:
    window.open_research()
    panel = window.backtest
    assert panel is not None
    await until(lambda: not panel.busy and panel.data.chart is not None)
    dock = window.docks["backtest"]
    dock.setFloating(True)
    dock.resize(QSize(1400, 560))
    view = panel.research
    view.form.ranges.set_range("fast", "4", "30")
    view.form.ranges.set_range("slow", "10", "60")
    view.start_button.click()
    await until(lambda: panel.sweeps.result is not None, 120)
    objective_column = 1 + len(view.model.names)
    view.table.sortByColumn(objective_column, Qt.SortOrder.DescendingOrder)
    view.table.selectRow(0)
    await asyncio.sleep(1.0)
    dock.grab().save(str(out))
    print(f"wrote {out}: {view.status.text()}")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "research.png"
    shots(scene, target, QSize(1600, 1000), history=True)
