"""Trading from a window on the simulated market: the window set up with a
paper account as terminal.app does it, and the ticket filled in and sent as a
trader does. Shared by the trading tests of tests/ui/trading."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from terminal.market.session import MarketSession
from terminal.paths import AppPaths
from terminal.store.candles import CandleStore
from terminal.trading.journal import TradingJournal
from terminal.trading.money import floor_to_step, to_decimal
from terminal.trading.orders import OrderSide, OrderType
from terminal.trading.paper.broker import PaperBroker
from terminal.trading.paper.settings import PaperSettings
from terminal.trading.risk import RiskLimits
from terminal.ui.trading.desk import TradingDesk
from terminal.ui.trading.ticket import OrderTicket
from tests.ui.harness import Launch, Terminal

TICK = Decimal("0.1")  # BTC/USDT's price step on the simulated exchange
MOVE_EVERY_MS = 15  # a dragged mouse's moves, as a 60 Hz+ mouse sends them


@asynccontextmanager
async def trading(
    launch: Launch,
    app_paths: AppPaths,
    *,
    config: str = "",
    limits: RiskLimits | None = None,
    paper: PaperSettings | None = None,
) -> AsyncIterator[tuple[Terminal, PaperBroker, TradingDesk]]:
    """A terminal whose window trades through a paper account on its market,
    as terminal.app sets it up: the window closes the broker as it closes
    (``SeatAccounts.close``), before its market session stops."""
    if config:
        app_paths.config_file.write_text(config, encoding="utf-8")
    async with launch() as t:
        broker = PaperBroker(t.session, account="simulated", limits=limits or RiskLimits(), settings=paper)
        await broker.start()
        t.window.accounts = OneAccount(broker)
        t.window.set_broker(broker)
        yield t, broker, t.window.trading


class OneAccount:
    """The accounts of a window that trades one broker (``SeatAccounts``): closed with the window."""

    def __init__(self, broker: PaperBroker) -> None:
        self.broker = broker

    def session_changed(self, session: MarketSession) -> None:
        pass  # a market switch leaves the window without a broker

    def live_requested(self, live: bool) -> None:
        raise AssertionError("these tests trade on paper only")

    async def journal(self) -> TradingJournal:
        raise AssertionError("no journal in these tests")

    async def history_reopened(self, store: CandleStore) -> None:
        pass

    async def close(self) -> None:
        await self.broker.close()


def fill_in(
    qtbot: Any, ticket: OrderTicket, side: OrderSide, kind: OrderType, amount: str, price: str = ""
) -> None:
    """Type an order into ``ticket`` as a user does (side and type picked, numbers typed)."""
    ticket.set_side(side)
    ticket.set_type(kind)
    for field, text in ((ticket.amount, amount), (ticket.price, price)):
        field.clear()
        if text:
            qtbot.keyClicks(field, text)


def bid_below(t: Terminal, fraction: str) -> Decimal:
    """A buy price ``fraction`` below the best bid, on the tick: far enough that the
    market will not trade down to it during a test, inside the 5% price band."""
    bid = to_decimal(t.session.book.best_bid or 0)
    return floor_to_step(bid * (1 - Decimal(fraction)), TICK)


async def until_sent(t: Terminal, ticket: OrderTicket) -> None:
    await t.until(
        lambda: not ticket.sending and ticket.message.isVisible(), "the broker's answer on the ticket"
    )


def in_view(t: Terminal, above: bool, share: str = "0.5") -> Decimal:
    """A price ``share`` of the way from the market (best ask above, best bid below) to
    the edge of the chart's price range, on the tick: on screen, away from the market
    (the chart fits its price range to the candles in view, so a test cannot set it)."""
    _x, (low, high) = t.chart.price_plot.getViewBox().viewRange()
    book = t.session.book
    if above:
        ask = to_decimal(book.best_ask or 0)
        return floor_to_step(ask + (to_decimal(high) - ask) * Decimal(share), TICK)
    bid = to_decimal(book.best_bid or 0)
    return floor_to_step(bid - (bid - to_decimal(low)) * Decimal(share), TICK)


def point_at(t: Terminal, price: float) -> QPoint:
    """The chart viewport's pixel at ``price``, a third of the way across the price pane."""
    chart = t.chart
    box = chart.price_plot.getViewBox()
    (left, right), _ = box.viewRange()
    scene = box.mapViewToScene(QPointF(left + (right - left) / 3, price))
    return chart.glw.mapFromScene(scene)


def price_at(t: Terminal, point: QPoint) -> float:
    chart = t.chart
    return float(chart.price_plot.getViewBox().mapSceneToView(chart.glw.mapToScene(point)).y())


async def drag(t: Terminal, price: float, by: QPoint, steps: int = 8) -> tuple[QPoint, QPoint]:
    """Press on the chart at ``price``, move ``by`` pixels in steps with the button held,
    release: as a mouse does. Returns (where it pressed, where it let go)."""
    viewport = t.chart.glw.viewport()
    viewport.repaint()  # what the user sees: the view as last painted (pyqtgraph settles it on paint)
    start = point_at(t, price)  # where the price is on screen now (the chart's range follows the market)
    end = start + by
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton

    def send(kind: QEvent.Type, at: QPoint, button: Qt.MouseButton, held: Qt.MouseButton) -> None:
        local = QPointF(at)
        event = QMouseEvent(
            kind, local, viewport.mapToGlobal(local), button, held, Qt.KeyboardModifier.NoModifier
        )
        QApplication.sendEvent(viewport, event)

    send(QEvent.Type.MouseButtonPress, start, left, left)
    for i in range(1, steps + 1):
        await asyncio.sleep(MOVE_EVERY_MS / 1000)  # a mouse's pace: pyqtgraph drops moves closer than 10 ms
        at = start + by * i / steps
        send(QEvent.Type.MouseMove, at, none, left)
    send(QEvent.Type.MouseButtonRelease, end, left, none)
    return start, end
