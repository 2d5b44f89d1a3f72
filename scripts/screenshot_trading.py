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
from decimal import Decimal
from pathlib import Path

# first: it puts the checkout on the path and pins pyqtgraph's Qt binding
from paper_window import ROOT, shots
from PySide6.QtCore import QSize

from terminal.trading.brackets import Exits, bracket_desk
from terminal.trading.money import floor_to_step, to_decimal
from terminal.trading.orders import OrderIntent, OrderSide, OrderType
from terminal.trading.paper.broker import PaperBroker
from terminal.ui.window.main_window import MainWindow

TICK = Decimal("0.1")


async def scene(window: MainWindow, broker: PaperBroker, out: Path) -> None:
    session = window.session
    ticket = window.trading.ticket
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


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "trading.png"
    shots(scene, out, QSize(1600, 1000))
