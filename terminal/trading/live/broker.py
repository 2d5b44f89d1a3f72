"""The live account: orders on a real exchange through ccxt, with the keys
from the OS keyring (``Broker`` of kind "live"). docs/trading.md, "Live
accounts", states the rules; in short:

- ``start`` reads the account's keys from the keyring (none stored, or a
  locked keyring: a plain message, and the broker does not start; keys come
  from nowhere else), makes the keyed ccxt instance (``PrivateExchange``:
  the account's endpoints and options, the terminal's error translation),
  loads markets, balances and open orders, and keeps them current
  (``sync``: the user-data watches, polling where they are missing or
  failing; ``refresh``: what is asked by REST);
- ``submit`` runs the pre-trade checks (the market's rules with the book and
  the free balances, then the account's risk rules), journals, and sends
  the order with its client order id (``send``: after a lost answer the
  order is reconciled by that id, never sent again blindly);
- refusals reach the caller as the ``terminal.errors`` family, in plain
  words with the exchange's reason; a refused order stays in ``orders()``
  as rejected, with the reason;
- what the exchange cannot hold, the terminal holds (``held``): trailing
  stops, and a spot bracket's stop-loss beside its take-profit; they are
  listed, cancelled and amended like the exchange's orders.

Every method runs on the event loop's thread, and listeners hear
``AccountEvent``s there.

    broker = LiveBroker(account, credentials=CredentialStore(), limits=...,
                        journal=trading_journal, book=window_book)
    await broker.start()
    order = await broker.submit(intent)
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from terminal.config import AccountSettings
from terminal.credentials import CredentialError, KeySource
from terminal.errors import (
    ExchangeError,
    NotSupportedError,
    OrderNotFoundError,
    OrderStatusUnknownError,
    TerminalError,
    TradingError,
    describe,
)
from terminal.market.ccxt_source import KEEPALIVE_MS, TIMEOUT_MS
from terminal.marketdata.orderbook import OrderBook
from terminal.retry import Backoff, retrying, transient
from terminal.trading.balances import BalanceView
from terminal.trading.broker import BrokerKind, Listener
from terminal.trading.events import AccountEvent, FillAdded, OrderUpdated
from terminal.trading.journal import AccountJournal, TradingJournal
from terminal.trading.live.exchange import PrivateExchange
from terminal.trading.live.held import HeldSettings, HeldStops, held_order, load_held
from terminal.trading.live.journal import exchange_order, intent_payload, order_state
from terminal.trading.live.refresh import AccountRefresh
from terminal.trading.live.send import ReconcileSettings, send_order
from terminal.trading.live.state import LiveState, open_buys
from terminal.trading.live.sync import AccountSync, Stream, SyncSettings
from terminal.trading.managed_brackets import BracketManager, JournalBracketLog
from terminal.trading.market_rules import MarketRules
from terminal.trading.orders import Fill, Order, OrderIntent, OrderType, now_ms
from terminal.trading.positions import Position
from terminal.trading.pre_trade import PreTradeCheck, pre_trade_check
from terminal.trading.risk import AccountState, RiskLimits
from terminal.trading.validation import FieldProblem, ValidatedOrder

__all__ = ["LiveBroker", "LiveSettings"]

log = logging.getLogger(__name__)
T = TypeVar("T")

BOOK_LEVELS = 100  # a REST snapshot when the window gives no book (Binance: the cheapest weight)
HELD_TYPES = "The terminal holds stop-market and trailing stops only; {kind} goes to the exchange as it is."


@dataclass(frozen=True)
class LiveSettings:
    timeout_ms: int = TIMEOUT_MS  # every REST call, create_order included
    keepalive_ms: int = KEEPALIVE_MS
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
    pnl_currency: str = "USDT"  # the daily loss limit counts in it
    sync: SyncSettings = field(default_factory=SyncSettings)
    held: HeldSettings = field(default_factory=HeldSettings)


class LiveBroker:
    def __init__(
        self,
        account: AccountSettings,
        *,
        credentials: KeySource,
        limits: RiskLimits | None = None,
        journal: TradingJournal | None = None,
        book: Callable[[str], OrderBook | None] | None = None,
        symbols: Iterable[str] = (),
        settings: LiveSettings | None = None,
    ) -> None:
        """``account``: the config's account (exchange, sandbox, endpoints,
        options); ``credentials``: where its keys are (read at ``start``);
        ``limits``: its risk rules; ``journal``: the audit trail
        (``TradingJournal``); ``book(symbol)``: the window's current book, if
        it has one (else a REST snapshot is fetched when an order needs one);
        ``symbols``: whose positions to show besides those traded."""
        self._account = account
        self._store = credentials
        self._limits = limits or RiskLimits()
        self._journal = AccountJournal(journal, account.name, "live")
        self._book = book
        self._settings = settings or LiveSettings()
        self._state = LiveState(self._settings.pnl_currency, symbols)
        self._listeners: list[Listener] = []
        self._exchange: PrivateExchange | None = None
        self._sync: AccountSync | None = None
        self._refresh: AccountRefresh | None = None
        self._journal_store = journal
        #: brackets and OCO pairs, kept by the terminal (``managed_brackets``), re-armed from the journal
        self.brackets = BracketManager(
            self,
            JournalBracketLog(journal, account.name),
            rules=self._market_rules,
            look_up=self.look_up,
            holds_stops=True,
        )
        #: the stops the terminal holds for this account (``held``)
        self._held = HeldStops(
            self._journal,
            watch=lambda symbol: self._started().watch_trades(symbol),
            fire=self._fire_held,
            publish=self._tell,
            settings=self._settings.held,
        )
        self._held.set_make_room(self.brackets.make_room)

    # -- Broker: identity ----------------------------------------------------------------
    @property
    def account(self) -> str:
        return self._account.name

    @property
    def kind(self) -> BrokerKind:
        return "live"

    @property
    def limits(self) -> RiskLimits:
        return self._limits

    def set_limits(self, limits: RiskLimits) -> None:
        """New risk rules (the config changed); they apply from the next order."""
        self._limits = limits

    @property
    def stream_state(self) -> str:
        """ "watching", "polling", "reconnecting", or "stopped" (before start, after close)."""
        return self._sync.state if self._sync is not None else "stopped"

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        if self._exchange is not None:
            return
        name = self._account.name
        key = await asyncio.to_thread(self._store.load, name)  # a locked keyring says to unlock it
        if key is None:
            raise CredentialError(
                f"No API keys are stored for the account '{name}', so it cannot trade.",
                hint="Add them in File → Accounts and keys, then start the account again.",
            )
        settings = self._settings
        exchange = await asyncio.to_thread(
            functools.partial(
                PrivateExchange,
                self._account,
                key,
                timeout_ms=settings.timeout_ms,
                keepalive_ms=settings.keepalive_ms,
            )
        )
        del key
        self._state.from_wire = exchange.terminal_client_id  # ids of orders from earlier sessions
        started_ms = now_ms()
        try:
            self._state.markets = await exchange.load_markets()
            self._state.apply_balance(await exchange.fetch_balance(), complete=True)  # proves the key
            for raw in await self._all_open_orders(exchange):
                self._state.apply_order(raw)
        except BaseException:
            await exchange.close()
            raise
        self._exchange = exchange
        self._refresh = AccountRefresh(exchange, self._state, started_ms)
        has = exchange.has
        kinds = (
            ("orders", "watchOrders", exchange.watch_orders, self._on_orders),
            ("trades", "watchMyTrades", exchange.watch_my_trades, self._on_trades),
            ("balance", "watchBalance", exchange.watch_balance, self._on_balance),
        )
        self._sync = AccountSync(
            [Stream(n, watch, handle) for n, flag, watch, handle in kinds if has.get(flag)],
            [n for n, flag, _, _ in kinds if not has.get(flag)],
            self._refresh_all,
            settings.sync,
            f"{exchange.name} ({name})",
            hurry=lambda: bool(self._state.unknown),
            connected=exchange.streams_connected,
        )
        self._sync.start()
        log.info(
            "live account %s on %s started: %d open orders, streams %s",
            name, exchange.name, len(self._state.open_orders()), self._sync.state,
        )  # fmt: skip
        self._publish()
        self._held.start(await asyncio.to_thread(load_held, self._journal_store, name))
        await self.brackets.start()

    async def _all_open_orders(self, exchange: PrivateExchange) -> list[dict[str, Any]]:
        """Every open order of the account; per symbol of interest where the
        exchange wants a symbol."""
        if not exchange.has.get("fetchOpenOrders"):
            return []
        try:
            return await exchange.fetch_open_orders()
        except ExchangeError as exc:
            if exc.transient:
                raise
            log.info("%s lists open orders per symbol only: %s", exchange.name, describe(exc, detailed=True))
        found: list[dict[str, Any]] = []
        for symbol in sorted(self._state.symbols):
            found.extend(await exchange.fetch_open_orders(symbol))
        return found

    async def close(self) -> None:
        """Stop keeping current and close the connections. Open orders stay on
        the exchange. Safe to call twice."""
        await self.brackets.close()
        await self._held.close()
        sync, self._sync = self._sync, None
        exchange, self._exchange = self._exchange, None
        if sync is not None:
            await sync.close()
        if exchange is not None:
            await exchange.close()

    def _started(self) -> PrivateExchange:
        if self._exchange is None:
            raise TradingError(
                f"The live account '{self._account.name}' is not started.", hint="Start it first."
            )
        return self._exchange

    # -- Broker: orders ---------------------------------------------------------------------
    async def submit(self, intent: OrderIntent) -> Order:
        self._started()
        cid, symbol = intent.client_order_id, intent.symbol
        if cid in self._state.orders or self._held.knows(cid):
            raise TradingError(
                f"Order {cid} was sent already; the terminal never sends one order twice.",
                hint="Make a new ticket for another order.",
            )
        self._journal.record("intent", intent_payload(intent), cid, symbol, required=True)
        if intent.type.is_trailing or intent.held:
            return await self._hold(intent)
        return await self._send(intent)

    async def _send(self, intent: OrderIntent) -> Order:
        """Check and send one intent already journalled."""
        order = await self._check(intent, self._state.free())
        return await send_order(
            self._started(), self._state, self._journal, order, self._settings.reconcile, self._publish
        )

    async def _hold(self, intent: OrderIntent) -> Order:
        """A stop the terminal holds (``held``): checked like any order, with the
        account's whole holding as what it may sell (a bracket's take-profit holds the
        coins now; it is cancelled before the stop sells), then watched, not sent."""
        if intent.type not in (OrderType.STOP_MARKET, OrderType.TRAILING_STOP):
            kind = f"a {intent.type.value.replace('_', '-')} order"
            refusal = PreTradeCheck(
                intent, None, problems=(FieldProblem("type", HELD_TYPES.format(kind=kind)),)
            )
            self._journal.record("check", refusal.payload(), intent.client_order_id, intent.symbol)
            refusal.raise_if_refused()
        checked = await self._check(intent, {c: b.total for c, b in self._state.balances.items()})
        order = held_order(checked)
        log.info(
            "holding %s %s on %s until its trigger", order.type.value, order.client_order_id, order.symbol
        )
        return self._held.hold(order)

    async def _check(self, intent: OrderIntent, balance: Mapping[str, Decimal]) -> ValidatedOrder:
        """The pre-trade checks with ``balance`` as what may be spent (journalled; raises if refused)."""
        exchange = self._started()
        book = await self._book_for(intent.symbol)
        if book is not None and book.mid is not None:
            self._state.mark(intent.symbol, book.mid)
        result = pre_trade_check(
            intent,
            exchange.markets.get(intent.symbol),
            book=book,
            balance=balance,
            account_state=self.risk_state(),
            limits=self._limits,
            precision_mode=int(exchange.exchange.precisionMode),
            exchange=exchange.name,
        )
        self._journal.record("check", result.payload(), intent.client_order_id, intent.symbol)
        return result.raise_if_refused()

    async def _fire_held(self, intent: OrderIntent, stop: Order) -> Order:
        """A held stop triggered: its market order, under its id, checked and sent like any."""
        self._journal.record("intent", intent_payload(intent), intent.client_order_id, intent.symbol)
        self._state.expect_trigger(stop)
        return await self._send(intent)

    async def cancel(self, client_order_id: str) -> Order:
        if self._held.holds(client_order_id):
            self._started()
            order = self._held.cancel(client_order_id)
            self._journal.record(
                "cancel", {"client_order_id": client_order_id}, client_order_id, order.symbol
            )
            return order
        exchange, refresh = self._started(), self._refresh
        assert refresh is not None
        order = self._open_order(client_order_id)
        if not order.order_id and not exchange.by_client_id:
            raise OrderStatusUnknownError(
                f"{exchange.name} never gave order {client_order_id} an id, so it cannot be cancelled "
                "from here. Check it on the exchange.",
                client_order_id=client_order_id,
            )
        self._journal.record("cancel", {"client_order_id": client_order_id}, client_order_id, order.symbol)
        wire = exchange.wire_client_id(client_order_id)
        try:
            raw = await self._retrying(
                lambda: exchange.cancel_order(order.order_id or None, order.symbol, wire)
            )
        except OrderNotFoundError:
            # Gone meanwhile (filled, cancelled elsewhere, or never there): learn how.
            await refresh.settle(order)
            self._publish()
            if order.is_open:
                raise
            raise OrderNotFoundError(
                f"Order {client_order_id} is no longer open on {exchange.name}: it is {order.status.value}."
            ) from None
        if isinstance(raw, dict):
            self._state.apply_order(raw, client_order_id)
            self._journal.record("response", {"order": exchange_order(raw)}, client_order_id, order.symbol)
        if order.is_open and not (isinstance(raw, dict) and raw.get("status")):
            # An acknowledgement without the order's state (OKX): read it.
            try:
                await refresh.settle(order)
            except TerminalError as exc:
                log.info(
                    "cancelled %s; reading it back failed: %s", client_order_id, describe(exc, detailed=True)
                )
        self._publish()
        return self._state.orders[client_order_id].snapshot()

    async def cancel_all(self, symbol: str | None = None) -> list[Order]:
        """Cancel every open order (of ``symbol``): one request per symbol
        where the exchange can, else one per order."""
        exchange, refresh = self._started(), self._refresh
        assert refresh is not None
        cancelled: dict[str, Order] = {}
        for held in self._held.open_orders():  # the terminal's own: no request
            if symbol is None or held.symbol == symbol:
                cancelled[held.client_order_id] = await self.cancel(held.client_order_id)
        symbols = [symbol] if symbol else sorted({o.symbol for o in self._state.open_orders()})
        for name in symbols:
            self._journal.record("cancel", {"all": True, "symbol": name}, None, name)
            if not exchange.has.get("cancelAllOrders"):
                for order in [o for o in self._state.open_orders() if o.symbol == name]:
                    try:
                        cancelled[order.client_order_id] = await self.cancel(order.client_order_id)
                    except OrderNotFoundError:
                        continue
                continue
            answers = await self._retrying(functools.partial(exchange.cancel_all_orders, name))
            for raw in answers:
                placed = self._state.apply_order(raw)
                if placed is not None:
                    cancelled[placed.client_order_id] = placed
            self._journal.record("response", {"orders": [exchange_order(r) for r in answers]}, None, name)
            for order in [o for o in self._state.open_orders() if o.symbol == name]:
                await refresh.settle(order)  # not in the answer: no longer open, or never was
        self._publish()
        return [o.snapshot() for o in cancelled.values()]

    async def replace(self, client_order_id: str, intent: OrderIntent) -> Order:
        """Cancel, then submit the replacement (its own client order id) like
        any order; a refused replacement leaves the old one cancelled."""
        exchange = self._started()
        held = self._held.holds(client_order_id)
        await self.cancel(client_order_id)
        if not held:  # a held stop set nothing aside
            # The funds the cancel freed, before the replacement is checked against them.
            self._state.apply_balance(await exchange.fetch_balance(), complete=True)
            self._publish()
        return await self.submit(intent)

    def _open_order(self, client_order_id: str) -> Order:
        order = self._state.orders.get(client_order_id)
        if order is None:
            raise OrderNotFoundError(f"This account has no order {client_order_id}.")
        if not order.is_open:
            raise OrderNotFoundError(
                f"Order {client_order_id} is no longer open: it is {order.status.value}."
            )
        return order

    async def _retrying(self, call: Callable[[], Awaitable[T]], attempts: int = 3) -> T:
        """A call that may be repeated safely (a cancel), tried again after transient failures."""
        settings = self._settings.reconcile
        return await retrying(
            call,
            Backoff(settings.backoff, settings.backoff_cap, jitter=True),
            retry_on=transient,
            attempts=attempts,
            on_retry=lambda exc, _delay: log.info("trying again after: %s", describe(exc, detailed=True)),
        )

    # -- Broker: reading --------------------------------------------------------------------
    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Open orders, newest first; an order whose answer was lost is among them
        (``is_unknown``) until the exchange says."""
        orders = [o for o in self._state.open_orders() + self._held_only() if o.is_open]
        orders.sort(key=lambda o: o.created_ms)
        return [o.snapshot() for o in reversed(orders) if symbol is None or o.symbol == symbol]

    def orders(self, symbol: str | None = None) -> list[Order]:
        """Every order this session knows (those placed elsewhere included), newest first."""
        orders = list(self._state.orders.values()) + self._held_only()
        orders.sort(key=lambda o: o.created_ms)
        return [o.snapshot() for o in reversed(orders) if symbol is None or o.symbol == symbol]

    def _held_only(self) -> list[Order]:
        """The held stops the account has no order for yet (not triggered, or its market
        order not made yet); once it has, the account's order stands for the stop."""
        return [o for o in self._held.orders() if o.client_order_id not in self._state.orders]

    def order(self, client_order_id: str) -> Order:
        order = self._state.orders.get(client_order_id)
        if order is None:
            held = [o for o in self._held_only() if o.client_order_id == client_order_id]
            if not held:
                raise OrderNotFoundError(f"This account has no order {client_order_id}.")
            order = held[0]
        return order.snapshot()

    async def look_up(self, client_order_id: str, symbol: str) -> Order | None:
        """An order of this account read from the exchange now (one that is no
        longer open: a bracket's after a restart), or None if it has none."""
        exchange = self._started()
        wire = exchange.wire_client_id(client_order_id)
        _, raw = await exchange.find_order(symbol, wire)
        if not isinstance(raw, dict):
            return None
        found = self._state.apply_order(raw, client_order_id)
        self._publish()
        return found.snapshot() if found is not None else None

    def _market_rules(self, symbol: str) -> MarketRules | None:
        exchange, market = self._exchange, self._state.markets.get(symbol)
        if exchange is None or market is None:
            return None
        try:
            return MarketRules.from_ccxt(market, int(exchange.exchange.precisionMode))
        except NotSupportedError:
            return None

    def is_unknown(self, client_order_id: str) -> bool:
        """Sent, answer lost, and not found either way yet: "unknown — check the exchange"."""
        return client_order_id in self._state.unknown

    def fills(self, symbol: str | None = None) -> list[Fill]:
        return [f for f in self._state.fills() if symbol is None or f.symbol == symbol]

    def balances(self) -> Mapping[str, BalanceView]:
        return dict(self._state.balances)

    def positions(self) -> Mapping[str, Position]:
        """Per symbol: the base currency held; its cost from this session's fills (``state``)."""
        return self._state.positions()

    def unrealised_pnl(self) -> Mapping[str, Decimal]:
        return self._state.unrealised()

    def mark(self, symbol: str, mid: Decimal | float) -> None:
        """Tell the broker a symbol's current mid (for unrealised PnL)."""
        self._state.mark(symbol, mid)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    # -- keeping current -------------------------------------------------------------------
    def _on_orders(self, raws: Any) -> None:
        for raw in raws or []:
            if isinstance(raw, dict):
                self._state.apply_order(raw)
        self._publish()

    def _on_trades(self, raws: Any) -> None:
        self._state.apply_trades(r for r in raws or [] if isinstance(r, dict))
        self._publish()

    def _on_balance(self, raw: Any) -> None:
        if isinstance(raw, dict):
            self._state.apply_balance(raw, complete=False)
        self._publish()

    async def _refresh_all(self) -> None:
        refresh = self._refresh
        if refresh is None:
            return
        try:
            await refresh.run()
        finally:
            self._publish()

    # -- helpers ------------------------------------------------------------------------------
    async def _book_for(self, symbol: str) -> OrderBook | None:
        book = self._book(symbol) if self._book is not None else None
        if book is not None and (len(book.bid_price) or len(book.ask_price)):
            return book
        try:
            snapshot = await self._started().fetch_order_book(symbol, BOOK_LEVELS)
        except ExchangeError as exc:
            log.info("no book for %s: %s", symbol, describe(exc, detailed=True))
            return None
        fetched = OrderBook(symbol)
        fetched.replace(snapshot["bids"], snapshot["asks"], snapshot.get("timestamp"))
        return fetched

    def risk_state(self) -> AccountState:
        """What the risk rules need to know of the account now (the ticket warns with it as you type)."""
        state = self._state
        return AccountState(
            holdings={c: b.total for c, b in state.balances.items()},
            open_buys=open_buys(state.orders),
            open_orders=len(state.open_orders()),
            day_pnl=state.day_pnl(),
            pnl_currency=state.pnl_currency,
        )

    def _tell(self, event: AccountEvent) -> None:
        """A held stop's change, to the listeners (it journals its own)."""
        for listener in list(self._listeners):
            listener(event)

    def _publish(self) -> None:
        for event in self._state.take_events():
            if isinstance(event, FillAdded):
                fill = event.fill
                self._journal.record("fill", {"fill": fill.to_dict()}, fill.client_order_id, fill.symbol)
            elif isinstance(event, OrderUpdated):
                order = event.order
                payload = {"order": order_state(order), "cause": "exchange"}
                self._journal.record("response", payload, order.client_order_id, order.symbol)
            for listener in list(self._listeners):
                listener(event)
