"""The paper broker: a ``PaperAccount`` on the live market, behind the
``Broker`` interface (``terminal.trading.broker``), saved in the history file,
with every step in the trading journal.

    broker = PaperBroker(session, account="simulated", settings=..., limits=..., store=store)
    await broker.start()                  # loads the saved account (or starts one)
    order = await broker.submit(intent)   # checked, journalled, placed
    await broker.close()                  # saves, writes the journal

One order goes: journal "intent" -> market rules and risk rules
(``pre_trade``; journal "check"; a refusal raises ``OrderInvalidError`` or
``RiskCheckFailedError`` and nothing is placed) -> journal "request" ->
``PaperAccount.place`` -> journal "response" (the order as placed) and a
"fill" entry per fill. Fills that come later (a resting limit the market
trades through, a stop that triggers) are journalled as they happen, with a
"response" when the market closes the order.

**The market.** New trades on the session's tape drive the account's
resting limits and stops (``on_trades``; the account ignores trades it has
seen, across restarts too); the book's mid marks the position for PnL, and
the watchlist's tickers mark the others. Only the symbol on screen has a
live book and tape: orders resting on other symbols are fed by a poll of
the exchange's trades every few seconds while they are open
(``offscreen_trades``), and an order on another symbol fills against a
book fetched for it on submit.

**Cheap on the GUI thread.** The session's listener runs there: it reads
only the tape rows that are new, and the account's work per trade is a
scan of the open orders of that symbol. Saving takes a snapshot of the
account (``to_dict``) at most every ``save_interval`` (less often for a
big account: ``throttled_save``) and writes it in a worker thread; the
journal writes in batches in a worker thread too.

**Without the history file** (it could not be opened, or is read-only) the
broker works in memory: ``persisted`` is False, ``problem`` says so, and the
account starts afresh next time, unless the file opens while it runs
(``adopt_store``: the account in memory is saved there from then on). A
saved state that cannot be read is kept as it is, never overwritten, until
the user resets the account (the reset's journal entry keeps the unreadable
text).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal

from terminal.errors import (
    NotSupportedError,
    OrderNotFoundError,
    StoreError,
    TerminalError,
    TradingError,
    describe,
)
from terminal.marketdata.orderbook import OrderBook
from terminal.store.candles import CandleStore
from terminal.trading.balances import BalanceView
from terminal.trading.brackets import Bracket, Exits, Role, check_exits
from terminal.trading.broker import Listener
from terminal.trading.events import AccountEvent, FillAdded, OrderUpdated
from terminal.trading.journal import AccountJournal, TradingJournal
from terminal.trading.market_rules import TICK_SIZE, MarketRules
from terminal.trading.money import floor_to_step, to_decimal
from terminal.trading.orders import (
    Fill,
    Order,
    OrderIntent,
    OrderSide,
    OrderType,
    new_client_order_id,
    now_ms,
)
from terminal.trading.paper.account import PaperAccount, bracket_problems
from terminal.trading.paper.brackets import PaperBrackets
from terminal.trading.paper.feed import PaperFeed
from terminal.trading.paper.market_view import MarketView
from terminal.trading.paper.offscreen_trades import POLL_INTERVAL_S
from terminal.trading.paper.settings import PaperSettings
from terminal.trading.paper.store import PaperAccountStore
from terminal.trading.paper.throttled_save import ThrottledSave
from terminal.trading.positions import Position
from terminal.trading.pre_trade import PreTradeCheck, pre_trade_check
from terminal.trading.risk import AccountState, RiskLimits
from terminal.trading.validation import FieldProblem, ValidatedOrder, validate

log = logging.getLogger(__name__)

SAVE_INTERVAL_S = 0.5


class PaperBroker:
    def __init__(
        self,
        market: MarketView,
        *,
        account: str,
        settings: PaperSettings | None = None,
        limits: RiskLimits | None = None,
        store: CandleStore | None = None,
        journal: TradingJournal | None = None,
        clock: Callable[[], int] | None = None,
        save_interval: float = SAVE_INTERVAL_S,
        poll_interval: float = POLL_INTERVAL_S,
    ) -> None:
        """``market``: the session (``MarketSession``). ``account``: the name the
        paper account is saved and journalled under ("simulated", or an
        exchange account's name). ``settings``: start balances and fees for a
        new account and for ``reset`` (a saved account keeps its own until
        then). ``store``: the history file's store (None or read-only: in
        memory). ``journal``: shared with other brokers (default: one of its
        own on ``store``, closed with the broker). ``clock``: milliseconds,
        in the market's time (default: the source's ``milliseconds``)."""
        self._market = market
        self._views: list[MarketView] = [market]  # every window's session that trades here
        self._name = account
        self.settings = settings or PaperSettings()
        self._limits = limits or RiskLimits()
        writable = store is not None and not store.database.read_only
        self._states = PaperAccountStore(store) if writable and store is not None else None
        self._writing = self._states is not None  # False: never overwrite what is saved
        self._unreadable_state: str | None = None  # a saved state that could not be read, kept
        self.problem = "" if self._states is not None else _IN_MEMORY
        self._owns_journal = journal is None
        self.journal = journal if journal is not None else TradingJournal(store)
        # Every order step is written as this account's (an entry it cannot write fails the step).
        self._entries = AccountJournal(self.journal, account, "paper", strict=True)
        self._clock = clock or market.source.milliseconds
        self._account: PaperAccount | None = None
        self._listeners: list[Listener] = []
        self._saver: ThrottledSave[dict[str, Any]] = ThrottledSave(
            self._snapshot, self._write_state, save_interval, what=f"paper account {account}"
        )
        self._poll_interval = poll_interval
        self._feed: PaperFeed | None = None
        self._call_fills: list[Fill] | None = None  # fills of the broker call under way
        self._started = False
        self._closed = False
        #: brackets and OCO pairs, kept by the account itself (``paper/brackets.py``)
        self.brackets = PaperBrackets(self)

    # -- Broker: identity --------------------------------------------------------------
    @property
    def account(self) -> str:
        return self._name

    @property
    def kind(self) -> Literal["paper"]:
        return "paper"

    @property
    def limits(self) -> RiskLimits:
        return self._limits

    def set_limits(self, limits: RiskLimits) -> None:
        """New risk rules (the config changed); they apply from the next order."""
        self._limits = limits

    def risk_state(self) -> AccountState:
        """What the risk rules need to know of the account now (the ticket warns with it as you type)."""
        return self._require().risk_state(self._clock())

    @property
    def persisted(self) -> bool:
        """The account is saved in the history file (False: in memory only, see ``problem``)."""
        return self._writing

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        account, fresh = await self._load()
        account.subscribe(self._on_account_event)
        account.subscribe_brackets(self._on_bracket)
        self._account = account
        if fresh and self._writing:
            self._saver.changed()  # a new account is saved at once
        self._feed = PaperFeed(self._market, account, self._clock, self._poll_interval)
        for view in self._views[1:]:
            self._feed.add_market(view)
        self._feed.start()
        where = "the history file" if self._writing else "memory only"
        log.info("Paper account %s ready (%s).", self._name, where)

    def add_market(self, market: MarketView) -> None:
        """Trade this account from another window's session on the same exchange too:
        every window on it sees one account, fed by what each of them shows."""
        self._views.append(market)
        if self._feed is not None:
            self._feed.add_market(market)

    def remove_market(self, market: MarketView) -> bool:
        """``market``'s window no longer trades here; True when no window is left."""
        if market in self._views:
            self._views.remove(market)
        if self._feed is not None:
            self._feed.remove_market(market)
        if self._views:
            self._market = self._views[0]
        return not self._views

    @property
    def markets(self) -> list[MarketView]:
        """The sessions this account is traded from (one per window)."""
        return list(self._views)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True  # the session may go on notifying: ignored from now on
        if self._feed is not None:
            await self._feed.stop()
        if self._account is not None and self._writing and not await self._saver.flush():
            log.error("The paper account %s could not be saved on close.", self._name)
        if self._owns_journal:
            await self.journal.close()
        else:
            # a failure is logged by the journal; its owner tries again when it closes it
            with contextlib.suppress(StoreError):
                await self.journal.flush()

    async def _load(self) -> tuple[PaperAccount, bool]:
        """The saved account, or a new one (True)."""
        if self._states is None:
            log.warning("Paper account %s: %s", self._name, _IN_MEMORY)
            return PaperAccount(self.settings), True
        try:
            text = await asyncio.to_thread(self._states.load, self._name)
        except StoreError as exc:
            self._writing = False
            self.problem = (
                f"The saved paper account could not be read ({exc.user_message()}); it is kept in memory "
                "for this session, and what is saved is left as it was."
            )
            log.error("Paper account %s: %s", self._name, describe(exc, detailed=True))
            return PaperAccount(self.settings), True
        if text is None:
            return PaperAccount(self.settings), True
        try:
            return PaperAccount.from_dict(json.loads(text)), False
        except (ValueError, KeyError, TypeError, ArithmeticError, TradingError) as exc:
            self._writing, self._unreadable_state = False, text
            self.problem = (
                "The saved paper account cannot be read, so this session's paper account starts afresh "
                "in memory. The saved one is kept as it is until you reset the account."
            )
            log.error("Paper account %s: the saved state is unreadable: %s", self._name, describe(exc, True))
            return PaperAccount(self.settings), True

    async def adopt_store(self, store: CandleStore) -> bool:
        """Save to ``store`` from now on: the history file opened after this broker
        started in memory without one. The account in memory is saved there at once.
        False, changing nothing, when the file already holds an account of this name
        (a new broker loads that one), cannot be read, or is read-only."""
        if self._writing or self._closed or self._states is not None or store.database.read_only:
            return False
        states = PaperAccountStore(store)
        try:
            saved = await asyncio.to_thread(states.load, self._name)
        except StoreError as exc:
            log.error("Paper account %s: %s", self._name, describe(exc, detailed=True))
            return False
        if saved is not None:
            return False
        if self._closed:  # closed meanwhile: nothing left to save
            return True
        self._states, self._writing, self.problem = states, True, ""
        if self._account is not None:
            self._saver.changed()
            await self._saver.flush()
        log.info("Paper account %s is saved in the history file again.", self._name)
        return True

    # -- saving --------------------------------------------------------------------------
    def _snapshot(self) -> dict[str, Any]:
        assert self._account is not None
        return self._account.to_dict()

    def _write_state(self, state: dict[str, Any]) -> None:
        """In a worker thread: the snapshot is fresh plain data, nothing else holds it."""
        assert self._states is not None
        self._states.save(self._name, json.dumps(state, separators=(",", ":")), now_ms())

    async def save(self) -> bool:
        """Save now (if anything changed); True when the saved account is current."""
        return await self._saver.flush() if self._writing else False

    # -- account events -> journal, saving, listeners --------------------------------------
    def _on_account_event(self, event: AccountEvent) -> None:
        if isinstance(event, FillAdded):
            fill = event.fill
            if self._call_fills is not None:
                self._call_fills.append(fill)  # journalled after the call's response
            else:
                self._entries.record("fill", {"fill": fill.to_dict()}, fill.client_order_id, fill.symbol)
        elif isinstance(event, OrderUpdated) and self._call_fills is None:
            order = event.order
            just_triggered = order.triggered and order.triggered_ms == order.updated_ms
            if not order.is_open or just_triggered:  # the market closed or woke the order
                payload = {"order": _order_payload(order), "cause": "market"}
                self._entries.record("response", payload, order.client_order_id, order.symbol)
        if self._writing:
            self._saver.changed()
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # one panel's bug must not break the account
                log.exception("A paper account listener failed on %s", type(event).__name__)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    # -- orders ----------------------------------------------------------------------------
    def _require(self) -> PaperAccount:
        if self._account is None or self._closed:
            raise TradingError(
                "The paper account is not open." if self._closed else "The paper account is still loading."
            )
        return self._account

    def account_now(self) -> PaperAccount:
        """The open account (raises while it loads or after close): read, do not change."""
        return self._require()

    def _require_feed(self) -> PaperFeed:
        self._require()
        assert self._feed is not None  # made with the account
        return self._feed

    def preview(
        self, intent: OrderIntent, replacing: str | None = None, exits: Exits | None = None
    ) -> PreTradeCheck:
        """What ``submit`` (or ``replace`` of ``replacing``; with ``exits``,
        ``brackets.submit``) would decide now, against the book on screen,
        without placing or journalling anything: for the ticket's confirmation
        (estimated cost, fee, notes, problems)."""
        account = self._require()
        return self._check(account, intent, self._require_feed().book_of(intent.symbol), replacing, exits)

    def _check(
        self,
        account: PaperAccount,
        intent: OrderIntent,
        book: OrderBook | None,
        replacing: str | None,
        exits: Exits | None = None,
    ) -> PreTradeCheck:
        state = account.risk_state(self._clock())
        if replacing is not None:  # as if the order it replaces were gone
            old = account.order(replacing)
            open_buys = dict(state.open_buys)
            if old.side is OrderSide.BUY and old.is_open:
                open_buys[old.symbol] = open_buys.get(old.symbol, Decimal(0)) - old.remaining
            state = dataclasses.replace(
                state, open_orders=state.open_orders - (1 if old.is_open else 0), open_buys=open_buys
            )
        result = pre_trade_check(
            intent,
            self._market.markets.get(intent.symbol),
            book=book,
            balance=account.free_balances(releasing=replacing),
            account_state=state,
            limits=self._limits,
            last_price=self._require_feed().last_price(intent.symbol),
            fees=account.fees,
            precision_mode=int(getattr(self._market.source, "precisionMode", TICK_SIZE)),
            exchange=self._market.source.name,
        )
        return _with_bracket(account, result, replacing, exits)

    async def _checked(
        self, intent: OrderIntent, replacing: str | None = None, exits: Exits | None = None
    ) -> tuple[ValidatedOrder, OrderBook | None]:
        """Journal the intent, get the book, run the checks and journal them;
        raise if the order is refused."""
        payload: dict[str, Any] = {"intent": intent}
        if replacing is not None:
            payload["replaces"] = replacing
        if exits is not None:
            payload["exits"] = exits
        self._entries.record("intent", payload, intent.client_order_id, intent.symbol)
        try:
            book = await self._require_feed().book_for(intent.symbol)
            account = self._require()  # still open after the await?
            result = self._check(account, intent, book, replacing, exits)
        except TerminalError as exc:  # no book, an order to replace that is gone: nothing was sent
            self._entries.record("error", {"error": describe(exc)}, intent.client_order_id, intent.symbol)
            raise
        self._entries.record("check", result.payload(), intent.client_order_id, intent.symbol)
        return result.raise_if_refused(), book

    def _placed(
        self,
        order: ValidatedOrder,
        place: Callable[[], Order],
        replaces: str | None = None,
    ) -> Order:
        """Journal the request, run ``place``, journal its answer (or error) and the fills."""
        client_order_id, symbol = order.client_order_id, order.symbol
        request: dict[str, Any] = {"order": order}
        if replaces is not None:
            request["replaces"] = replaces
        self._entries.record("request", request, client_order_id, symbol)
        self._call_fills = []
        try:
            placed = place()
        except TerminalError as exc:
            self._entries.record("error", {"error": describe(exc)}, client_order_id, symbol)
            raise
        finally:
            fills, self._call_fills = self._call_fills, None
        response = {"order": _order_payload(placed)}
        if replaces is not None:  # the old order, as the replacement left it (cancelled)
            response["replaced"] = _order_payload(self._require().order(replaces))
        self._entries.record("response", response, client_order_id, symbol)
        for fill in fills:
            self._entries.record("fill", {"fill": fill.to_dict()}, fill.client_order_id, fill.symbol)
        return placed.snapshot()

    # -- Broker: trading ---------------------------------------------------------------------
    async def submit(self, intent: OrderIntent) -> Order:
        self._require()
        order, book = await self._checked(intent)
        account = self._require()  # still open after the await
        return self._placed(order, lambda: account.place(order, book, self._clock()))

    # -- brackets and OCO pairs (``brackets``: what the ticket calls) -------------------------------
    async def submit_bracket(self, intent: OrderIntent, exits: Exits) -> Order:
        """``submit``, with ``exits`` attached to the order as its bracket: the
        same checks, then the exit prices (``bracket_problems``)."""
        self._require()
        order, book = await self._checked(intent, exits=exits)
        account = self._require()  # still open after the await
        return self._placed(order, lambda: account.place(order, book, self._clock(), exits=exits))

    async def submit_oco(self, symbol: str, side: OrderSide, amount: Decimal, exits: Exits) -> Bracket:
        """Two exits on ``side`` for ``amount`` already held, one cancelling the
        other. Each exit is checked as the order it will be (a reduce-only
        limit and stop-market, against the free balances and the last price);
        the risk rules, made against adding to a position, do not apply to exits."""
        account = self._require()
        request = {"symbol": symbol, "side": side, "amount": amount, "exits": exits}
        self._entries.record("intent", {"oco": request}, None, symbol)
        try:
            book = await self._require_feed().book_for(symbol)
            account = self._require()
            rules, problems = self._oco_problems(account, symbol, side, amount, exits, book)
        except TerminalError as exc:
            self._entries.record("error", {"error": describe(exc)}, None, symbol)
            raise
        verdict = PreTradeCheck(OrderIntent(symbol, side, OrderType.LIMIT, amount), None, problems=problems)
        self._entries.record("check", verdict.payload() if problems else {"ok": True}, None, symbol)
        if problems:
            verdict.raise_if_refused()
        assert rules is not None
        self._entries.record("request", {"oco": request}, None, symbol)
        try:
            amount = floor_to_step(amount, rules.amount_step)
            bracket = account.place_oco(rules, side, amount, exits, book, self._clock())
        except TerminalError as exc:
            self._entries.record("error", {"error": describe(exc)}, None, symbol)
            raise
        self._entries.record("response", {"bracket": bracket.to_dict()}, bracket.bracket_id, symbol)
        return bracket

    def _oco_problems(
        self,
        account: PaperAccount,
        symbol: str,
        side: OrderSide,
        amount: Decimal,
        exits: Exits,
        book: OrderBook | None,
    ) -> tuple[MarketRules | None, tuple[FieldProblem, ...]]:
        market = self._market.markets.get(symbol)
        if market is None:
            why = f"{self._market.source.name} does not list {symbol} (or its markets have not loaded yet)."
            return None, (FieldProblem("symbol", why),)
        try:
            precision_mode = int(getattr(self._market.source, "precisionMode", TICK_SIZE))
            rules = MarketRules.from_ccxt(market, precision_mode)
        except NotSupportedError as exc:
            return None, (FieldProblem("symbol", exc.user_message()),)
        last = self._require_feed().last_price(symbol)
        if last is None and book is not None and book.mid is not None:
            last = to_decimal(book.mid)
        position = OrderSide.BUY if side is OrderSide.SELL else OrderSide.SELL
        problems = check_exits(position, last, exits, rules, reference_name="last price")
        if problems:
            return rules, tuple(problems)
        found: list[FieldProblem] = []
        fields = {"price": "take_profit", "stop_price": "stop_loss"}
        for kind, price, stop in (
            (OrderType.LIMIT, exits.take_profit, None),
            (OrderType.STOP_MARKET, None, exits.stop_loss),
        ):
            if price is None and stop is None:
                continue
            leg = OrderIntent(symbol, side, kind, amount, price=price, stop_price=stop, reduce_only=True)
            result = validate(
                leg, rules, book=book, balance=account.free_balances(), last_price=last, fees=account.fees
            )
            if not isinstance(result, ValidatedOrder):
                found.extend(dataclasses.replace(p, field=fields.get(p.field, p.field)) for p in result)
        unique = {(p.field, p.message): p for p in found}  # both exits may say the same of the amount
        return rules, tuple(unique.values())

    async def cancel_bracket(self, bracket_id: str) -> Bracket:
        """Cancel an open bracket or OCO pair: its open entry and exits."""
        account = self._require()
        self._entries.record("cancel", {"bracket_id": bracket_id}, bracket_id, None)
        try:
            bracket = account.cancel_bracket(bracket_id, self._clock())
        except TerminalError as exc:
            self._entries.record("error", {"error": describe(exc)}, bracket_id, None)
            raise
        self._entries.record("response", {"bracket": bracket.to_dict()}, bracket_id, bracket.symbol)
        return bracket

    def _on_bracket(self, bracket: Bracket) -> None:
        """A bracket the account changed: journalled (its orders as they stand), saved, passed on."""
        self._entries.record("bracket", {"bracket": bracket.to_dict()}, bracket.bracket_id, bracket.symbol)
        if self._writing:
            self._saver.changed()
        self.brackets.changed(bracket)

    async def replace(self, client_order_id: str, intent: OrderIntent) -> Order:
        """Cancel/replace. The replacement is checked first, as if the old order
        were gone; if it is refused, the old order stays as it was. It needs a
        new client order id: one is made if ``intent`` carries the old one."""
        account = self._require()
        if intent.client_order_id == client_order_id:
            intent = dataclasses.replace(intent, client_order_id=new_client_order_id())
        symbol = _symbol_of(account, client_order_id)
        if symbol != intent.symbol:
            why = (
                f"There is no paper order {client_order_id}."
                if symbol is None
                else f"A replacement must be for the same symbol: {client_order_id} is on {symbol}."
            )
            refusal = {"error": why, "replaces": client_order_id}
            self._entries.record("error", refusal, intent.client_order_id, symbol)
            raise OrderNotFoundError(why) if symbol is None else TradingError(why)
        order, book = await self._checked(intent, replacing=client_order_id)
        account = self._require()  # still open after the await
        return self._placed(
            order, lambda: account.amend(client_order_id, order, book, self._clock()), client_order_id
        )

    async def cancel(self, client_order_id: str) -> Order:
        account = self._require()
        symbol = _symbol_of(account, client_order_id)
        self._entries.record("cancel", {"client_order_id": client_order_id}, client_order_id, symbol)
        try:
            order = account.cancel(client_order_id, self._clock())
        except TerminalError as exc:
            self._entries.record("error", {"error": describe(exc)}, client_order_id, symbol)
            raise
        self._entries.record("response", {"order": _order_payload(order)}, client_order_id, order.symbol)
        return order.snapshot()

    async def cancel_all(self, symbol: str | None = None) -> list[Order]:
        account = self._require()
        self._entries.record("cancel", {"all": True, "symbol": symbol}, None, symbol)
        orders = account.cancel_all(symbol, self._clock())
        self._entries.record("response", {"orders": [_order_payload(o) for o in orders]}, None, symbol)
        return [o.snapshot() for o in orders]

    async def reset(self) -> None:
        """Back to the start balances of ``settings``, with no orders, fills or
        PnL; journalled with what the account held before. Also the way out
        of an unreadable saved state: it is replaced (and kept in the journal)."""
        account = self._require()
        before = {
            "balances": {c: str(v.total) for c, v in account.balances().items()},
            "open_orders": len(account.orders(open_only=True)),
            "fills": len(account.fills()),
        }
        payload: dict[str, Any] = {"settings": self.settings.model_dump(mode="json"), "before": before}
        if self._unreadable_state is not None:
            payload["unreadable_saved_state"] = self._unreadable_state
        self._entries.record("reset", payload)
        account.reset(self.settings)
        if self._unreadable_state is not None and self._states is not None:
            self._unreadable_state, self._writing, self.problem = None, True, ""
            log.info("Paper account %s was reset; it is saved in the history file again.", self._name)
        if self._writing:
            self._saver.changed()
            await self._saver.flush()

    # -- Broker: reading -------------------------------------------------------------------
    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Open orders, newest first (copies)."""
        account = self._require()
        return [o.snapshot() for o in reversed(account.orders(open_only=True, symbol=symbol))]

    def orders(self, symbol: str | None = None) -> list[Order]:
        """Every order, newest first (copies)."""
        account = self._require()
        return [o.snapshot() for o in reversed(account.orders(symbol=symbol))]

    def fills(self, symbol: str | None = None) -> list[Fill]:
        """Every fill, newest first."""
        fills = self._require().fills()
        return [f for f in reversed(fills) if symbol is None or f.symbol == symbol]

    def balances(self) -> Mapping[str, BalanceView]:
        return self._require().balances()

    def positions(self) -> Mapping[str, Position]:
        return {s: p.copy() for s, p in self._require().positions().items()}

    def unrealised_pnl(self) -> Mapping[str, Decimal]:
        return self._require().unrealised_pnl()

    def realised_pnl(self) -> Mapping[str, Decimal]:
        return self._require().realised_pnl()

    def day_pnl(self) -> Decimal:
        """Realised + unrealised since 00:00 UTC, best effort (docs/trading.md)."""
        return self._require().day_pnl(self._clock())

    def start_balances(self) -> Mapping[str, Decimal]:
        """What the account started with or was last reset to (its own, as saved:
        ``settings`` is what a reset would start with)."""
        return dict(self._require().settings.start_balances)


_IN_MEMORY = (
    "The history file is not open, so the paper account is kept in memory only: unless the file opens "
    "before you quit, it starts afresh next time."
)


def _order_payload(order: Order) -> dict[str, Any]:
    """An order as the journal keeps it: its fills have entries of their own,
    so only their number is repeated here."""
    payload = dataclasses.replace(order, fills=[]).to_dict()
    del payload["fills"]
    payload["fill_count"] = len(order.fills)
    return payload


def _with_bracket(
    account: PaperAccount, result: PreTradeCheck, replacing: str | None, exits: Exits | None
) -> PreTradeCheck:
    """A check with what a bracket adds: an entry's exit prices (a new bracket's,
    or those of the bracket whose entry is replaced). An exit's replacement (a
    dragged stop) only reduces the position: the price band, a guard against
    adding to one at a mistyped price, does not apply to it."""
    bracket = account.bracket_of(replacing) if replacing is not None else None
    part = bracket.part(replacing) if bracket is not None and replacing is not None else None
    if part is not None and part.role is not Role.ENTRY:
        blocks = tuple(b for b in result.blocks if b.rule != "price_band_pct")
        result = dataclasses.replace(result, blocks=blocks)
    if exits is None and bracket is not None and part is not None and part.role is Role.ENTRY:
        exits = bracket.exits
    if exits is None or result.order is None or result.problems:
        return result
    problems = bracket_problems(result.order, exits)
    return PreTradeCheck(result.intent, None, problems=tuple(problems)) if problems else result


def _symbol_of(account: PaperAccount, client_order_id: str) -> str | None:
    """The symbol of an order the account knows (open or not), else None."""
    try:
        return account.order(client_order_id).symbol
    except OrderNotFoundError:
        return None
