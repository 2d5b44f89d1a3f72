"""The accounts that trade each window's market, driven through the narrow
``TradingSeat`` interface with a stand-in window (no MainWindow, no Qt):
each seat gets a paper broker on its market, a second seat on the same
exchange trades a separate unsaved account, new risk limits from the config
reach every open account, and closing a seat closes its broker."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from terminal.config import ConfigStore
from terminal.credentials import ApiKey
from terminal.market.session import MarketSession
from terminal.market.simulator import SimulatedExchange
from terminal.trading.broker import Broker
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


def test_each_seat_trades_its_market_and_new_risk_limits_reach_every_account(tmp_path: Path) -> None:
    config = ConfigStore(tmp_path / "config.toml")

    async def scenario() -> None:
        sessions = [MarketSession(SimulatedExchange(seed=3, history_days=1), ["BTC/USDT"]) for _ in range(2)]
        brokers = PaperBrokers(config.settings, lambda: None)
        config.subscribe(brokers.settings_changed)
        seats = [Seat(session) for session in sessions]
        for seat in seats:  # both at once: only one may take the saved account
            brokers.manage(seat)
        await wait_until(lambda: all(seat.broker is not None for seat in seats), timeout=10)
        first, second = (seat.broker for seat in seats)
        assert first is not None and second is not None and first is not second
        assert seats[0].live is False and seats[1].live is False  # both on paper
        assert not seats[0].notices
        assert "separate account that is not saved" in seats[1].notices[0]

        trading = config.settings.trading.model_copy(deep=True)
        trading.paper.risk.max_order_notional = Decimal("250")
        config.change(trading=trading)
        assert first.limits.max_order_notional == Decimal("250")
        assert second.limits.max_order_notional == Decimal("250")

        for seat in seats:
            assert seat.accounts is not None
            await seat.accounts.close()
        assert brokers.brokers == {}
        for session in sessions:
            await session.close()

    run(scenario)
