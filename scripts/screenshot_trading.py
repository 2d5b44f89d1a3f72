"""Regenerates docs/images/trading.png: a 1600x1000 window trading on paper on the
simulated market: a bracket bought at market (its take-profit and stop-loss as lines
on the chart), a resting limit buy, the Orders tab, and the ticket with the next
order typed in: 25 % of the free balance, with a take-profit and a stop-loss.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python scripts/screenshot_trading.py [OUT.png]
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
from PySide6.QtCore import QSize  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from terminal.config import ConfigStore  # noqa: E402
from terminal.logs import LogBuffer  # noqa: E402
from terminal.market.session import MarketSession  # noqa: E402
from terminal.market.simulator import SimulatedExchange  # noqa: E402
from terminal.paths import AppPaths  # noqa: E402
from terminal.trading.brackets import Exits, bracket_desk  # noqa: E402
from terminal.trading.money import floor_to_step, to_decimal  # noqa: E402
from terminal.trading.orders import (  # noqa: E402
    OrderIntent,
    OrderSide,
    OrderType,
)
from terminal.trading.paper.broker import PaperBroker  # noqa: E402
from terminal.ui.theme import DARK, apply_theme  # noqa: E402
from terminal.ui.window.main_window import MainWindow  # noqa: E402

SIZE = QSize(1600, 1000)
TICK = Decimal("0.1")


async def until(condition: object, seconds: float = 20.0) -> None:
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
    window.resize(SIZE)
    window.show()
    running = asyncio.get_running_loop().create_task(window.run())
    await until(lambda: session.symbol and session.book.mid is not None and len(session.tape) > 0)
    broker = PaperBroker(session, account="simulated")
    await broker.start()
    window.set_broker(broker)
    ticket = window.trading.ticket
    await until(lambda: ticket.bound)
    await asyncio.sleep(1.0)
    _x, (low, high) = window.chart.price_plot.getViewBox().viewRange()
    ask, bid = to_decimal(session.book.best_ask or 0), to_decimal(session.book.best_bid or 0)
    take = floor_to_step(ask + (to_decimal(high) - ask) / 2, TICK)
    stop = floor_to_step(bid - (bid - to_decimal(low)) / 3, TICK)
    desk = bracket_desk(broker)
    assert desk is not None
    amount = floor_to_step(Decimal(5000) / ask, Decimal("0.00001"))
    await desk.submit(OrderIntent("BTC/USDT", OrderSide.BUY, OrderType.MARKET, amount), Exits(take, stop))
    limit = floor_to_step(bid - (bid - to_decimal(low)) * 2 / 3, TICK)
    await broker.submit(OrderIntent("BTC/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal("0.01"), price=limit))
    ticket.set_side(OrderSide.BUY)  # the next one being typed: a limit with its own bracket
    ticket.set_type(OrderType.LIMIT)
    ticket.price.setText(str(limit))
    ticket.share_buttons[0].click()  # 25 % of what is free
    ticket.attach_exits.setChecked(True)
    ticket.take_profit.setText(str(take))
    ticket.stop_loss.setText(str(floor_to_step(limit - (limit - to_decimal(low)) / 2, TICK)))
    window.trading_docks["orders"].raise_()
    await asyncio.sleep(2.0)
    window.grab().save(str(out))
    print(f"wrote {out}")
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
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "trading.png")
