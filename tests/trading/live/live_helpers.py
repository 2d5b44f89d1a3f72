"""What the live broker's tests share: a paused loopback exchange of either
protocol knowing one API key, a broker on it with the keys in memory (or in
the real keyring), the audit journal in memory, and ``run`` to play a scenario
(tests/trading/live/test_live_broker.py says more)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from terminal.config import AccountSettings
from terminal.credentials import ApiKey, CredentialStore
from terminal.marketdata.orderbook import OrderBook
from terminal.trading.events import AccountEvent
from terminal.trading.journal import TradingJournal
from terminal.trading.live.broker import LiveBroker, LiveSettings
from terminal.trading.live.held import HeldSettings
from terminal.trading.live.send import ReconcileSettings
from terminal.trading.live.sync import SyncSettings
from terminal.trading.orders import OrderIntent, OrderSide, OrderType
from tests.conftest import wait_until
from tests.keyring_helpers import needs_keyring
from tests.loopback.protocols import OKX, PROTOCOLS, Protocol

SYMBOL = "BTC/USDT"
API_KEY = "LiveLoopbackKey-7Hq2ZpX9mN4vB8cR1tY6uJ3kL5wE0aSdFgHzz"
SECRET = "LiveLoopbackSecret-Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk8Lz0Xcvv"
PASSPHRASE = "LiveLoopbackPassphrase-5Tg8Yh"  # OKX's third credential (ccxt's ``password``)
FAST = LiveSettings(
    timeout_ms=1_000,
    reconcile=ReconcileSettings(backoff=0.1, backoff_cap=0.4),
    sync=SyncSettings(poll_interval=0.3, resync_interval=60.0, backoff_initial=0.1, backoff_cap=0.5),
    held=HeldSettings(backoff=0.1, backoff_cap=0.5),
)
#: the create_order param that carries the client order id (ccxt: OKX's clOrdId)
CLIENT_ID_PARAM = {"binance": "newClientOrderId", "okx": "clientOrderId"}
#: the terminal's ids ("t-" and 20 of [a-z2-7]) as OKX keeps them
_WIRE_TERMINAL_ID = re.compile(r"^t([a-z2-7]{20})$")

both = pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)


def the_key(protocol: Protocol) -> ApiKey:
    return ApiKey(API_KEY, SECRET, PASSPHRASE if protocol.passphrase else None)


class KeysInMemory:
    """A ``KeySource`` holding one account's keys in memory."""

    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}

    def save(self, account: str, key: ApiKey) -> None:
        self.keys[account] = key

    def load(self, account: str) -> ApiKey | None:
        return self.keys.get(account)

    def delete(self, account: str) -> None:
        self.keys.pop(account, None)


class Journal(TradingJournal):
    """The real audit trail, kept in memory (no history file)."""

    def __init__(self) -> None:
        super().__init__(None)

    def of(self, client_order_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [(e.kind, e.payload) for e in self.entries(client_order_id=client_order_id)]

    def outcomes(self, client_order_id: str) -> list[str]:
        """The reconciliations' outcomes for one order."""
        return [
            p["reconcile"]["outcome"]
            for k, p in self.of(client_order_id)
            if k == "response" and "reconcile" in p
        ]


@dataclass
class Live:
    protocol: Protocol
    server: Any  # LoopbackBinance or LoopbackOkx
    broker: LiveBroker
    journal: Journal
    settings: AccountSettings
    store: CredentialStore | KeysInMemory
    events: list[AccountEvent] = field(default_factory=list)
    #: the book the "window" shows is this much above the real asks (a stale book)
    ask_shift: float = 0.0

    def book(self, symbol: str) -> OrderBook:
        bids, asks = self.server.book(symbol, 50)
        book = OrderBook(symbol)
        book.replace(bids, [[round(p * (1 + self.ask_shift), 1), s] for p, s in asks])
        return book

    def price(self, side: str, level: int, symbol: str = SYMBOL) -> Decimal:
        bids, asks = self.server.book(symbol)
        return Decimal(str((bids if side == "bid" else asks)[level][0]))

    def limit_buy(
        self, level: int = 3, amount: str = "0.001", symbol: str = SYMBOL, **kw: Any
    ) -> OrderIntent:
        return OrderIntent(
            symbol,
            OrderSide.BUY,
            OrderType.LIMIT,
            Decimal(amount),
            price=self.price("bid", level, symbol),
            **kw,
        )

    def new_broker(self) -> LiveBroker:
        """Another broker on the same account, keys and book (a restart of the terminal)."""
        return LiveBroker(
            self.settings,
            credentials=self.store,
            journal=self.journal,
            book=self.book,
            symbols=[SYMBOL],
            settings=FAST,
        )

    async def until(self, condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
        await wait_until(condition, what, timeout, interval=0.02)

    async def subscribed(self) -> None:
        await self.until(lambda: self.server.user_stream_count(API_KEY) >= 1, "the user-data subscription")

    def server_orders(self) -> list[tuple[str, str]]:
        """The exchange's orders as (the terminal's client order id, "open" / "filled" /
        "canceled"), oldest first, whatever the protocol calls them."""
        names = {server: unified for unified, server in self.protocol.order_states.items()}
        return [(self.terminal_id(v.client_order_id), names.get(v.status, v.status))
                for v in self.server.orders(API_KEY)]  # fmt: skip

    def terminal_id(self, wire_id: str) -> str:
        found = _WIRE_TERMINAL_ID.match(wire_id) if self.protocol is OKX else None
        return f"t-{found.group(1)}" if found else wire_id

    def polls(self) -> int:
        """Balance requests so far (the REST refresh asks for balances first)."""
        return sum(self.protocol.balance_path in r for r in self.server.requests)


def account(protocol: Protocol, server: Any, name: str = "loopback-live") -> AccountSettings:
    return AccountSettings(
        name=name, exchange=protocol.exchange_id, options=dict(protocol.options), **protocol.urls(server)
    )


_STORED_KEY: Any = object()  # run()'s default: the key the server knows


def run(
    protocol: Protocol,
    scenario: Callable[[Live], Awaitable[None]],
    *,
    stored: Any = _STORED_KEY,
    start: bool = True,
    timeout: float = 25.0,
    keyring: bool = False,
) -> None:
    """``scenario(live)`` with a paused loopback server of ``protocol`` knowing
    ``API_KEY``, the keys ``stored`` for the account (in the real keyring with
    ``keyring``, else in memory), and (``start``) the broker started."""
    if keyring:
        needs_keyring()
    key = the_key(protocol) if stored is _STORED_KEY else stored

    async def main() -> None:
        server = protocol.server(seed=5, history_days=1)
        await server.start()
        server.pause()
        protocol.add_key(server, API_KEY, SECRET, PASSPHRASE)
        service = f"terminal-live-test-{uuid.uuid4().hex[:8]}"
        store: CredentialStore | KeysInMemory = KeysInMemory()
        if keyring:
            store = CredentialStore(service=service)
        settings = account(protocol, server)
        if key is not None:
            await asyncio.to_thread(store.save, settings.name, key)
        journal = Journal()
        live: Live
        broker = LiveBroker(
            settings,
            credentials=store,
            journal=journal,
            book=lambda symbol: live.book(symbol),
            symbols=[SYMBOL],
            settings=FAST,
        )
        live = Live(protocol, server, broker, journal, settings, store)
        broker.subscribe(live.events.append)
        try:
            if start:
                await broker.start()
            await asyncio.wait_for(scenario(live), timeout)
        finally:
            await broker.close()
            await asyncio.to_thread(store.delete, settings.name)
            await server.stop()

    asyncio.run(main())
