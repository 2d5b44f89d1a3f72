"""Regenerates docs/images/positions.png: a 1280×800 window on the simulated
market trading on paper, with two positions (BTC on the chart, ETH not) and
the account summary in the Positions tab; below it, the same panels with the
History tab raised (a filled, a cancelled and a rejected order).

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python scripts/screenshot_positions.py [OUT.png]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from terminal.ui import pin_qt_binding  # noqa: E402

pin_qt_binding()

import qasync  # noqa: E402
from PySide6.QtCore import QRect, QSize  # noqa: E402
from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from terminal.config import ConfigStore  # noqa: E402
from terminal.errors import TradingError  # noqa: E402
from terminal.logs import LogBuffer  # noqa: E402
from terminal.market.session import MarketSession  # noqa: E402
from terminal.market.simulator import SimulatedExchange  # noqa: E402
from terminal.paths import AppPaths  # noqa: E402
from terminal.trading.money import floor_to_step, to_decimal  # noqa: E402
from terminal.trading.orders import OrderIntent, OrderSide, OrderType, TimeInForce  # noqa: E402
from terminal.trading.paper.broker import PaperBroker  # noqa: E402
from terminal.ui.theme import DARK, apply_theme  # noqa: E402
from terminal.ui.window.main_window import MainWindow  # noqa: E402

SIZE = QSize(1280, 800)
BUY, SELL = OrderSide.BUY, OrderSide.SELL


async def until(condition: object, seconds: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise SystemExit("the market did not get there in time")
        await asyncio.sleep(0.05)


async def shoot(out: Path, folder: Path) -> None:
    paths = AppPaths(folder / "config", folder / "data")
    paths.ensure()
    paths.config_file.write_text("[trading]\nconfirm_orders = false\n", encoding="utf-8")
    config = ConfigStore(paths.config_file)
    exchange = SimulatedExchange(seed=7, history_days=10, pump_interval=0.02)
    session = MarketSession(exchange, config.settings.watchlist)
    window = MainWindow(session, config, paths, LogBuffer())
    window.show()
    running = asyncio.get_running_loop().create_task(window.run())
    await until(lambda: session.symbol and session.book.mid is not None and len(session.tape) > 0)
    broker = PaperBroker(session, account="simulated")
    await broker.start()
    window.set_broker(broker)

    await broker.submit(OrderIntent("BTC/USDT", BUY, OrderType.MARKET, Decimal("0.05")))
    await broker.submit(OrderIntent("ETH/USDT", BUY, OrderType.MARKET, Decimal("1.2")))
    bid = to_decimal(session.book.best_bid or 0)
    resting = await broker.submit(
        OrderIntent(
            "BTC/USDT",
            BUY,
            OrderType.LIMIT,
            Decimal("0.01"),
            price=floor_to_step(bid * Decimal("0.98"), Decimal("0.1")),
        )
    )
    await broker.cancel(resting.client_order_id)
    ask = to_decimal(session.book.best_ask or 0)
    try:  # a sell IOC above the market: nothing can fill at once, so it is cancelled with its reason
        sell = OrderIntent("BTC/USDT", SELL, OrderType.LIMIT, Decimal("0.01"), price=ask + Decimal(20),
                           time_in_force=TimeInForce.IOC)  # fmt: skip
        await broker.submit(sell)
    except TradingError as exc:
        print(f"the IOC sell was refused: {exc}")
    await asyncio.sleep(3)  # a few ticks of the market: the P&L moves off zero

    window.resize(SIZE)
    await until(lambda: window.size() == SIZE)
    window.dock_layout.arrange()
    docks = window.trading_docks
    docks["positions"].raise_()
    await asyncio.sleep(1.5)
    positions = window.grab().toImage()
    docks["history"].raise_()
    await asyncio.sleep(0.5)
    panel = docks["history"]
    top_left = panel.mapTo(window, panel.rect().topLeft())
    history = window.grab(QRect(top_left, panel.size())).toImage()

    gap = 12
    image = QImage(positions.width(), positions.height() + gap + history.height(), QImage.Format.Format_RGB32)
    image.fill(DARK.background)
    painter = QPainter(image)
    painter.drawImage(0, 0, positions)
    painter.drawImage(top_left.x(), positions.height() + gap, history)
    painter.end()
    image.save(str(out))
    print(f"wrote {out} ({image.width()}x{image.height()})")

    await broker.close()
    window.close()
    await running


def main(out: Path) -> None:
    app = QApplication(sys.argv)
    apply_theme(app, DARK)
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as folder:
        try:
            loop.run_until_complete(shoot(out, Path(folder)))
        finally:
            loop.close()  # qasync's worker threads end with it


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "positions.png")
