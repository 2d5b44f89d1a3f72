"""Regenerates docs/images/research.png: the backtest panel's Research tab after
a grid sweep of SMA cross (fast 4..30 × slow 10..60, fast < slow) on the
simulated market's candles, the trials sorted by Sharpe ratio, the best one
selected; the panel floated at 1400×560 so that the table has room.
With ``--walk-forward``, docs/images/research-walkforward.png: the same
ranges walked forward in 5 rolling folds at 4 to 1, the Walk-forward tab shown.
With ``--cluster``, docs/images/research-cluster.png: a Bayesian sweep over 4
folds with pruning, run on a local Dask cluster of 2 workers, its workers shown.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python scripts/screenshot_research.py [--walk-forward | --cluster] [OUT.png]
"""

from __future__ import annotations

import asyncio
import sys
from functools import partial
from pathlib import Path

# first: it puts the checkout on the path and pins pyqtgraph's Qt binding
from paper_window import ROOT, shots, until
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QScrollArea

from terminal.trading.paper.broker import PaperBroker
from terminal.ui.window.main_window import MainWindow


async def scene(
    window: MainWindow, broker: PaperBroker, out: Path, walk: bool = False, cluster: bool = False
) -> None:
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
    if walk:  # slower averages, fewer trades: what a 0.1% fee leaves room for
        view.form.ranges.set_range("fast", "20", "200", "10")
        view.form.ranges.set_range("slow", "100", "800", "25")
        view.form.min_trades.setValue(3)
        view.walk.setChecked(True)
        view.walk.folds.setValue(5)
        view.start_button.click()
        await until(lambda: panel.sweeps.walk.outcome is not None, 240)
        scroll = view.findChild(QScrollArea)
        if scroll is not None:
            scroll.ensureWidgetVisible(view.walk)  # the group that made it a walk-forward, in view
        await asyncio.sleep(1.0)
        dock.grab().save(str(out))
        print(f"wrote {out}: {view.status.text()}")
        return
    if cluster:
        form = view.form
        form.method.setCurrentIndex(form.method.findData("tpe"))
        form.budget.setValue(150)
        form.folds.setValue(4)
        form.prune.setChecked(True)
        view.compute.where.setCurrentIndex(view.compute.where.findData("dask-local"))
    view.start_button.click()
    await until(lambda: panel.sweeps.result is not None, 240)
    if cluster:
        await until(lambda: "runs, " in view.compute.state.text(), 20)
    objective_column = 1 + len(view.model.names)
    view.table.sortByColumn(objective_column, Qt.SortOrder.DescendingOrder)
    view.table.selectRow(0)
    await asyncio.sleep(1.0)
    dock.grab().save(str(out))
    print(f"wrote {out}: {view.status.text()}")


if __name__ == "__main__":
    walk_forward = "--walk-forward" in sys.argv[1:]
    on_cluster = "--cluster" in sys.argv[1:]
    named = [a for a in sys.argv[1:] if not a.startswith("--")]
    default = "research.png"
    if walk_forward or on_cluster:
        default = "research-walkforward.png" if walk_forward else "research-cluster.png"
    target = Path(named[0]) if named else ROOT / "docs" / "images" / default
    shots(partial(scene, walk=walk_forward, cluster=on_cluster), target, QSize(1600, 1000), history=True)
