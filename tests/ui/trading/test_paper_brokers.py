"""The accounts that trade each window's market, driven through the narrow
``TradingSeat`` interface with a stand-in window (no MainWindow, no Qt):
seats on the same exchange trade one paper account, fed by every seat's
market, new risk limits from the config reach every open account, and the
account closes with the last seat that trades it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from terminal.config import ConfigStore
from terminal.credentials import ApiKey
from terminal.errors import TradingError
from terminal.market.session import MarketSession
from terminal.market.simulator import SimulatedExchange
from terminal.market.simulator.market import SimulatedMarket
from terminal.trading.broker import Broker
from terminal.trading.paper.broker import PaperBroker
from terminal.ui.trading.paper_brokers import PaperBrokers
from terminal.ui.trading.seat import SeatAccounts
from tests.conftest import run, wait_until


class NoKeys:
    def load(self, account: str) -> ApiKey | None:
        return None


class Seat:
    """A window as the accounts see it."""

    def __init__(self, session: MarketSession, exchange: str = "simulated") -> None:
        self.exchange = exchange
        self.session = session
        self.accounts: SeatAccounts | None = None
        self.broker: Broker | None = None
        self.live: bool | None = None
        self.notices: list[str] = []

    @property
    def credentials(self) -> NoKeys:
        return NoKeys()

    def set_broker(self, broker: Broker | None) -> None:
        self.broker = broker

    def show_live(self, live: bool) -> None:
        self.live = live

    def show_notice(self, text: str) -> None:
        self.notices.append(text)

    def window(self) -> object:
        raise AssertionError("a paper account asks the user nothing")


def test_seats_on_one_exchange_trade_one_account_and_new_risk_limits_reach_it(tmp_path: Path) -> None:
    config = ConfigStore(tmp_path / "config.toml")

    async def scenario() -> None:
        market = SimulatedMarket(seed=3, history_days=1)
        sessions = [
            MarketSession(SimulatedExchange(market=market), ["BTC/USDT", "ETH/USDT"]) for _ in range(2)
        ]
        brokers = PaperBrokers(config.settings, lambda: None)
        config.subscribe(brokers.settings_changed)
        seats = [Seat(session) for session in sessions]
        for seat in seats:  # both at once: one account is made, and both trade it
            brokers.manage(seat)
        await wait_until(lambda: all(seat.broker is not None for seat in seats), timeout=10)
        first, second = (seat.broker for seat in seats)
        assert isinstance(first, PaperBroker) and first is second
        assert first.markets == sessions  # each window's market feeds it
        assert seats[0].live is False and seats[1].live is False  # both on paper
        assert not seats[0].notices and not seats[1].notices

        trading = config.settings.trading.model_copy(deep=True)
        trading.paper.risk.max_order_notional = Decimal("250")
        config.change(trading=trading)
        assert first.limits.max_order_notional == Decimal("250")

        assert seats[0].accounts is not None
        await seats[0].accounts.close()  # one window closes: the account goes on for the other
        assert first.markets == [sessions[1]]
        first.open_orders()  # still open: a closed account would refuse
        assert seats[1].accounts is not None
        await seats[1].accounts.close()
        assert brokers.brokers == {}
        with pytest.raises(TradingError, match="not open"):
            first.open_orders()
        for session in sessions:
            await session.close()
        await market.close()

    run(scenario)
