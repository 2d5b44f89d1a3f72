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
from decimal import Decimal
from pathlib import Path

# first: it puts the checkout on the path and pins pyqtgraph's Qt binding
from paper_window import ROOT, shots
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QImage, QPainter

from terminal.errors import TradingError
from terminal.trading.money import floor_to_step, to_decimal
from terminal.trading.orders import OrderIntent, OrderSide, OrderType, TimeInForce
from terminal.trading.paper.broker import PaperBroker
from terminal.ui.theme import DARK
from terminal.ui.window.main_window import MainWindow

BUY, SELL = OrderSide.BUY, OrderSide.SELL


async def scene(window: MainWindow, broker: PaperBroker, out: Path) -> None:
    session = window.session

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


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "positions.png"
    shots(scene, out, QSize(1280, 800))
