"""Regenerates docs/images/ticket.png: the order ticket with each kind of message, side by
side: a field refused as typed, a risk rule's warning, a resting order's answer that
later turns into "Filled", and a bracket (50 % of the balance, take-profit and
stop-loss) with a long refusal wrapped under Send.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python scripts/screenshot_ticket.py [OUT.png]
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
from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from terminal.config import ConfigStore  # noqa: E402
from terminal.logs import LogBuffer  # noqa: E402
from terminal.market.session import MarketSession  # noqa: E402
from terminal.market.simulator import SimulatedExchange  # noqa: E402
from terminal.paths import AppPaths  # noqa: E402
from terminal.trading.money import floor_to_step, to_decimal  # noqa: E402
from terminal.trading.orders import OrderSide, OrderType  # noqa: E402
from terminal.trading.paper.broker import PaperBroker  # noqa: E402
from terminal.trading.risk import RiskLimits  # noqa: E402
from terminal.ui.theme import DARK, apply_theme  # noqa: E402
from terminal.ui.trading.ticket import OrderTicket  # noqa: E402
from terminal.ui.window.main_window import MainWindow  # noqa: E402

SIZE = QSize(1280, 800)
TICK = Decimal("0.1")


async def until(condition: object, seconds: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise SystemExit("the market did not get there in time")
        await asyncio.sleep(0.05)


def type_in(ticket: OrderTicket, side: OrderSide, kind: OrderType, amount: str, price: str = "") -> None:
    ticket.set_replacing(None)
    ticket.attach_exits.setChecked(False)
    ticket.set_side(side)
    ticket.set_type(kind)
    ticket.amount.setText(amount)
    ticket.price.setText(price)


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
    broker = PaperBroker(session, account="simulated", limits=RiskLimits(max_order_notional=Decimal(5000)))
    await broker.start()
    window.set_broker(broker)
    ticket = window.trading.ticket
    await until(lambda: ticket.bound)
    shots: list[QImage] = []

    async def take() -> None:
        await asyncio.sleep(0.4)
        shots.append(ticket.grab().toImage())

    # 1. a field refused as it is typed
    type_in(ticket, OrderSide.BUY, OrderType.LIMIT, "0.00001", "1,500")
    await take()
    # 2. a risk rule's warning (the largest order is 5,000 USDT here)
    bid = to_decimal(session.book.best_bid or 0)
    type_in(ticket, OrderSide.BUY, OrderType.LIMIT, "0.1", str(floor_to_step(bid * Decimal("0.995"), TICK)))
    await take()
    # 3. a resting limit's answer, followed until the market fills it
    type_in(ticket, OrderSide.BUY, OrderType.LIMIT, "0.01", str(floor_to_step(bid, TICK)))
    ticket.try_send()
    await until(lambda: not ticket.sending and ticket.message.isVisible())
    await until(lambda: "rests" not in ticket.message.text(), seconds=60)
    await take()
    # 4. a bracket from 50 %: take-profit and stop-loss; then a long refusal under Send
    type_in(ticket, OrderSide.BUY, OrderType.MARKET, "")
    ticket.share_buttons[1].click()
    ask = to_decimal(session.book.best_ask or 0)
    ticket.attach_exits.setChecked(True)
    ticket.take_profit.setText(str(floor_to_step(ask * Decimal("1.01"), TICK)))
    ticket.stop_loss.setText(str(floor_to_step(ask * Decimal("0.99"), TICK)))
    ticket.show_refusal(
        None,
        "Blocked by the risk rule “largest order” (max_order_notional): this order is worth "
        "about 4,990.12 USDT with its fee; the largest order allowed on this account is 5,000.00 USDT. "
        "Lower the amount, or raise the limit in Preferences → Risk limits.",
    )
    await take()

    gap = 12
    height = max(s.height() for s in shots)
    image = QImage(sum(s.width() for s in shots) + gap * (len(shots) - 1), height, QImage.Format.Format_RGB32)
    image.fill(DARK.background)
    painter = QPainter(image)
    x = 0
    for shot in shots:
        painter.drawImage(x, 0, shot)
        x += shot.width() + gap
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
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "ticket.png")
