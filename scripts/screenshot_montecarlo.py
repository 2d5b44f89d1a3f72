"""Regenerates docs/images/montecarlo.png: the backtest panel's Monte Carlo tab after
SMA cross (60, 240; taker fee 0.02%) on the simulated market's candles, a block
bootstrap of its trades, 10,000 paths with seed 1; the panel floated at 1400×560.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python scripts/screenshot_montecarlo.py [OUT.png]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

# first: it puts the checkout on the path and pins pyqtgraph's Qt binding
from paper_window import ROOT, shots, until
from PySide6.QtCore import QSize

from terminal.trading.paper.broker import PaperBroker
from terminal.ui.window.main_window import MainWindow


async def scene(window: MainWindow, broker: PaperBroker, out: Path) -> None:
    panel = window.open_backtest()
    await until(lambda: not panel.busy and panel.data.chart is not None)
    dock = window.docks["backtest"]
    dock.setFloating(True)
    dock.resize(QSize(1400, 560))
    form = panel.strategy.form
    assert form is not None
    form.set_values({"fast": 60, "slow": 240})
    panel.settings_form.numbers["taker_fee"].set_value(0.02)  # percent
    await panel.run()
    await until(lambda: panel.shown is not None and not panel.busy, 60)
    view = panel.montecarlo
    panel.tabs.setCurrentWidget(view)
    view.seed.lineEdit().setText("1")
    view.method.setCurrentIndex(view.method.findData("blocks"))
    view.run_button.click()
    await until(lambda: view.outcome is not None and not panel.busy, 60)
    await asyncio.sleep(1.0)
    dock.grab().save(str(out))
    print(f"wrote {out}:\n{view.words.text()}")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "montecarlo.png"
    shots(scene, target, QSize(1600, 1000), history=True)
