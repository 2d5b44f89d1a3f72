"""Regenerates docs/images/compare.png: the backtest panel's Compare tab with two
saved runs, SMA cross (20, 80) and (60, 240), taker fee 0.02%, on 60 days of
stored simulated 1m candles (seed 11): the metrics side by side and, under them,
the paired bootstrap of their daily returns; the panel floated at 1400×640.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python scripts/screenshot_compare.py [OUT.png]
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import numpy as np

# first: it puts the checkout on the path and pins pyqtgraph's Qt binding
from paper_window import ROOT, shots, until
from PySide6.QtCore import QSize

from terminal.market.simulator.history import generate_history
from terminal.market.simulator.instruments import INSTRUMENTS
from terminal.research.compare import DAY_MS
from terminal.store.candles import SeriesKey
from terminal.trading.paper.broker import PaperBroker
from terminal.ui.window.main_window import MainWindow

SERIES = SeriesKey("binance", "BTC/USDT", "1m")
DAYS = 60


async def scene(window: MainWindow, broker: PaperBroker, out: Path) -> None:
    store = await asyncio.to_thread(window.history_file.get)
    assert store is not None
    end = (int(time.time() * 1000) // DAY_MS - 1) * DAY_MS
    candles = generate_history(INSTRUMENTS[0], end, DAYS * 1440, np.random.default_rng(11))
    await asyncio.to_thread(store.write, SERIES.exchange, SERIES.symbol, SERIES.timeframe, candles)
    panel = window.open_backtest()
    await until(lambda: not panel.busy and SERIES in panel.data.stored)
    dock = window.docks["backtest"]
    dock.setFloating(True)
    dock.resize(QSize(1400, 640))
    assert panel.data.select(SERIES)
    form = panel.strategy.form
    assert form is not None
    panel.settings_form.numbers["taker_fee"].set_value(0.02)  # percent
    for fast, slow in ((20, 80), (60, 240)):
        form.set_values({"fast": fast, "slow": slow})
        await panel.run()
        await until(lambda: panel.shown is not None and not panel.busy, 60)
        panel.shown = None
    await until(lambda: len(panel.runs.model.runs) == 2)
    panel.tabs.setCurrentWidget(panel.runs)
    panel.runs.select([r.id for r in panel.runs.model.runs])
    panel.runs.buttons["compare"].click()
    await until(lambda: panel.compare.pairs is not None and not panel.busy, 60)
    await asyncio.sleep(1.0)
    dock.grab().save(str(out))
    print(f"wrote {out}:\n{panel.compare.words.text()}")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "compare.png"
    shots(scene, target, QSize(1600, 1000), history=True)
