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
from decimal import Decimal
from pathlib import Path

# first: it puts the checkout on the path and pins pyqtgraph's Qt binding
from paper_window import ROOT, shots, until
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage, QPainter

from terminal.trading.money import floor_to_step, to_decimal
from terminal.trading.orders import OrderSide, OrderType
from terminal.trading.paper.broker import PaperBroker
from terminal.trading.risk import RiskLimits
from terminal.ui.theme import DARK
from terminal.ui.trading.ticket import OrderTicket
from terminal.ui.window.main_window import MainWindow

TICK = Decimal("0.1")


def type_in(ticket: OrderTicket, side: OrderSide, kind: OrderType, amount: str, price: str = "") -> None:
    ticket.set_replacing(None)
    ticket.attach_exits.setChecked(False)
    ticket.set_side(side)
    ticket.set_type(kind)
    ticket.amount.setText(amount)
    ticket.price.setText(price)


async def scene(window: MainWindow, broker: PaperBroker, out: Path) -> None:
    session = window.session
    ticket = window.trading.ticket
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


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "ticket.png"
    shots(scene, out, QSize(1280, 800), limits=RiskLimits(max_order_notional=Decimal(5000)))
