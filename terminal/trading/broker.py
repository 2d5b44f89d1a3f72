"""What the order ticket, the keyboard and the panels talk to: one account's
broker, paper or live, behind one interface.

    broker = PaperBroker(...)            # terminal.trading.paper.broker
    await broker.start()
    order = await broker.submit(intent)  # validated, risk-checked, journalled, sent
    await broker.cancel(order.client_order_id)

``submit`` refuses with ``OrderInvalidError`` (a field's problem, in plain
words) or ``RiskCheckFailedError`` (the rule and its numbers) before anything
leaves; an exchange's refusal arrives as the ``ExchangeError`` family of
``terminal.errors``. Every intent, check result, request, response and fill
goes to the audit journal. Listeners hear ``AccountEvent``s (``events.py``)
after each change, on the event loop's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Literal, Protocol

from terminal.trading.balances import BalanceView
from terminal.trading.events import AccountEvent
from terminal.trading.orders import Fill, Order, OrderIntent
from terminal.trading.positions import Position
from terminal.trading.risk import AccountState, RiskLimits

BrokerKind = Literal["paper", "live"]
Listener = Callable[[AccountEvent], None]


class Broker(Protocol):
    """One trading account (paper or live) on one exchange."""

    @property
    def account(self) -> str:
        """The account's name ("simulated", or an account from the config)."""
        ...

    @property
    def kind(self) -> BrokerKind: ...

    @property
    def limits(self) -> RiskLimits: ...

    def set_limits(self, limits: RiskLimits) -> None:
        """New risk rules (the config changed); they apply from the next order."""
        ...

    def risk_state(self) -> AccountState:
        """What the risk rules need to know of the account now: holdings, open
        buys, open orders, today's PnL (the ticket checks orders as they are typed)."""
        ...

    async def start(self) -> None:
        """Load what the account has (balances, open orders; a paper account's
        saved state) and begin keeping it current."""
        ...

    async def close(self) -> None:
        """Stop its tasks and save what must be saved. Safe to call twice."""
        ...

    async def submit(self, intent: OrderIntent) -> Order:
        """Validate, risk-check, journal and send one order. Never sends the
        same intent twice: after a timeout it reconciles by client order id."""
        ...

    async def cancel(self, client_order_id: str) -> Order: ...

    async def cancel_all(self, symbol: str | None = None) -> list[Order]: ...

    async def replace(self, client_order_id: str, intent: OrderIntent) -> Order:
        """Amend by cancel/replace: the old order is cancelled first, then the
        new one is submitted (checked as any other)."""
        ...

    def open_orders(self, symbol: str | None = None) -> list[Order]: ...

    def orders(self, symbol: str | None = None) -> list[Order]:
        """Every order this session knows, newest first."""
        ...

    def fills(self, symbol: str | None = None) -> list[Fill]: ...

    def balances(self) -> Mapping[str, BalanceView]: ...

    def positions(self) -> Mapping[str, Position]: ...

    def unrealised_pnl(self) -> Mapping[str, Decimal]:
        """Per symbol, at the latest mid the broker has seen."""
        ...

    def subscribe(self, listener: Listener) -> None: ...

    def unsubscribe(self, listener: Listener) -> None: ...
