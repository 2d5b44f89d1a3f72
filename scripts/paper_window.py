"""What the trading screenshot scripts share: a real window on the simulated market
(seed 7, confirmations off) trading through a paper account, in temporary folders,
on a qasync loop; ``shots(scene, out)`` runs ``scene(window, out)`` in it.

Imported by scripts/screenshot_positions.py, screenshot_ticket.py and
screenshot_trading.py (run them as their docstrings say).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from terminal.ui import pin_qt_binding  # noqa: E402

pin_qt_binding()

import qasync  # noqa: E402
from PySide6.QtCore import QSize  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from terminal.config import ConfigStore  # noqa: E402
from terminal.logs import LogBuffer  # noqa: E402
from terminal.market.session import MarketSession  # noqa: E402
from terminal.market.simulator import SimulatedExchange  # noqa: E402
from terminal.paths import AppPaths  # noqa: E402
from terminal.store.history_file import HistoryFile  # noqa: E402
from terminal.trading.paper.broker import PaperBroker  # noqa: E402
from terminal.trading.risk import RiskLimits  # noqa: E402
from terminal.ui.theme import DARK, apply_theme  # noqa: E402
from terminal.ui.window.main_window import MainWindow  # noqa: E402

Scene = Callable[[MainWindow, PaperBroker, Path], Awaitable[None]]


async def until(condition: Callable[[], object], seconds: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise SystemExit("the market did not get there in time")
        await asyncio.sleep(0.05)


async def _run(
    scene: Scene, out: Path, folder: Path, size: QSize, limits: RiskLimits | None, history: bool
) -> None:
    paths = AppPaths(folder / "config", folder / "data")
    paths.ensure()
    paths.config_file.write_text("[trading]\nconfirm_orders = false\n", encoding="utf-8")
    config = ConfigStore(paths.config_file)
    exchange = SimulatedExchange(seed=7, history_days=10, pump_interval=0.02)
    session = MarketSession(exchange, config.settings.watchlist)
    kept = HistoryFile(paths.data_dir / "history.sqlite") if history else None
    window = MainWindow(session, config, paths, LogBuffer(), history_file=kept)
    window.resize(size)
    window.show()
    running = asyncio.get_running_loop().create_task(window.run())
    await until(lambda: session.symbol and session.book.mid is not None and len(session.tape) > 0)
    broker = PaperBroker(session, account="simulated", limits=limits)
    await broker.start()
    window.set_broker(broker)
    await until(lambda: window.trading.ticket.bound)
    await scene(window, broker, out)
    await broker.close()
    window.close()
    await running
    if kept is not None:
        kept.close()


DEFAULT_SIZE = QSize(1280, 800)


def shots(
    scene: Scene,
    out: Path,
    size: QSize = DEFAULT_SIZE,
    limits: RiskLimits | None = None,
    history: bool = False,
) -> None:
    """``history``: the window has a history file (in the temporary folder), as an installed one does."""
    app = QApplication(sys.argv)
    apply_theme(app, DARK)
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as folder:
        try:
            loop.run_until_complete(_run(scene, out, Path(folder), size, limits, history))
        finally:
            loop.close()  # qasync's worker threads end with it
