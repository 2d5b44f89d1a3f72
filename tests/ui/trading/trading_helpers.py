"""Trading from a window on the simulated market: the window set up with a
paper account as terminal.app does it, and the ticket filled in and sent as a
trader does. Shared by the trading tests of tests/ui/trading."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

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
