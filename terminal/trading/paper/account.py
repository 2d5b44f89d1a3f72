"""The paper account: spot trading against the live order book and tape,
with no exchange involved. docs/trading.md states every fill rule; in short:

- a market order walks the opposite side of the current book level by level
  (taker fee); what the book (or, for a buy, the free quote balance) cannot
  cover is cancelled, with the reason;
- a limit order that crosses on arrival takes as a taker up to its limit
  price; the rest rests (GTC) or is cancelled (IOC); FOK fills all or nothing;
  a post-only order that would cross is rejected;
- a resting limit fills at its own price (maker fee) when a trade prints at
  or through it: a buy on a trade at or below its price, a sell at or above;
  at most the trade's size, shared among resting orders best price first,
  then oldest first;
- a stop triggers on the first trade at or beyond its stop price (buy: at or
  above, sell: at or below), then acts as a market or limit order arriving
  at that moment; a trailing stop's stop follows the best price since it was
  placed (a sell's the highest, a buy's the lowest) at its distance, never back;
- brackets and OCO pairs (``terminal.trading.brackets``) are the account's
  own, as an exchange's OCO order: the two exits (sells of a long) share one
  holding of the coins, and an exit's fill shrinks or cancels the other in
  the same step, so a fast market can never fill both.

The paper account does not take its fills out of the book or add them to the
tape: it is one small trader beside the market, not part of it.

Funds, fees and PnL live in the account's ``Ledger``: open orders hold what
they may spend, a market buy spends at most the free quote, so no balance
ever goes negative; fees are charged in the quote currency, once per fill.

Every operation publishes its events when it is done (``terminal.trading.events``).
``to_dict()``/``from_dict()`` round-trip the whole account as plain JSON-able data.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from terminal.errors import OrderInvalidError, OrderNotFoundError, TradingError
from terminal.marketdata.orderbook import OrderBook
from terminal.trading.balances import BalanceView
from terminal.trading.book_walk import WalkEnd, walk_book
from terminal.trading.brackets import (
    MAX_STEPS,
    Bracket,
    BracketListener,
    BracketMode,
    CancelExit,
    Exits,
    Part,
    PlaceExit,
    ResizeExit,
    Role,
    Step,
    check_exits,
    new_bracket_id,
    next_step,
)
from terminal.trading.events import (
    AccountEvent,
    AccountReset,
    BalanceChanged,
    FillAdded,
    OrderUpdated,
    PositionChanged,
)
from terminal.trading.fees import Liquidity
from terminal.trading.market_rules import MarketRules
from terminal.trading.money import ZERO, floor_to_step, fmt, to_decimal
from terminal.trading.orders import (
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    new_client_order_id,
    now_ms,
)
from terminal.trading.paper.ledger import Ledger
from terminal.trading.paper.settings import PaperSettings
from terminal.trading.positions import Position
from terminal.trading.risk import AccountState
from terminal.trading.seen_trades import SeenTrades
from terminal.trading.validation import FieldProblem, ValidatedOrder

#: of to_dict(); bump when its shape changes. 2: brackets and trailing stops (an older
#: terminal must not load them: it would not know the exits share their coins)
FORMAT = 2
READABLE_FORMATS = (1, 2)

log = logging.getLogger(__name__)


Listener = Callable[[AccountEvent], None]


@dataclass
class _Changes:
    """What the current operation touched; published together when it ends."""

    fills: list[Fill] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)
    brackets: dict[str, Bracket] = field(default_factory=dict)
    reset: bool = False


class PaperAccount:
    def __init__(self, settings: PaperSettings | None = None) -> None:
        self.settings = settings or PaperSettings()
        self._listeners: list[Listener] = []
        self._bracket_listeners: list[BracketListener] = []
        self._start_fresh()

    def _start_fresh(self) -> None:
        self.fees = self.settings.fees
        self._ledger = Ledger(self.settings.start_balances, self.fees, self.settings.pnl_currency)
        self._orders: dict[str, Order] = {}  # every order, by client order id, in placing order
        self._open: dict[str, Order] = {}  # the open ones: trades and cancels never scan closed orders
        self._seen = SeenTrades()  # trade prints already taken, so none fills twice
        self._order_seq = 0
        self._changes = _Changes()
        self._brackets: dict[str, Bracket] = {}  # open brackets and OCO pairs, by id
        self._bracket_of: dict[str, str] = {}  # client order id of an open bracket's order -> its id
        self._unsettled: list[str] = []  # brackets whose orders changed, to bring in line
        self._settling = False
        self._book: OrderBook | None = None  # the book of the operation under way (exits arrive at it)

    # -- listeners -----------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def subscribe_brackets(self, listener: BracketListener) -> None:
        """Hear each bracket (a copy) an operation changed, after its account events."""
        self._bracket_listeners.append(listener)

    def unsubscribe_brackets(self, listener: BracketListener) -> None:
        self._bracket_listeners.remove(listener)

    def _publish(self) -> None:
        self._book = None
        changes, self._changes = self._changes, _Changes()
        currencies, positions = self._ledger.take_touched()
        if changes.reset:
            currencies.update(self._ledger.balances.currencies())
        events: list[AccountEvent] = []
        if changes.reset:
            events.append(AccountReset())
        events.extend(FillAdded(f) for f in changes.fills)
        events.extend(OrderUpdated(o.snapshot()) for o in changes.orders.values())
        events.extend(PositionChanged(self.position(s).copy()) for s in sorted(positions))
        events.extend(BalanceChanged(self._ledger.balances.view(c)) for c in sorted(currencies))
        for event in events:
            for listener in list(self._listeners):
                listener(event)
        for bracket in changes.brackets.values():
            copy = bracket.snapshot()
            for bracket_listener in list(self._bracket_listeners):
                bracket_listener(copy)

    # -- reading ---------------------------------------------------------------------
    # Orders and positions returned here are the account's own: read, do not change.
    def balances(self) -> dict[str, BalanceView]:
        balances = self._ledger.balances
        return {c: balances.view(c) for c in balances.currencies()}

    def free_balances(self, releasing: str | None = None) -> dict[str, Decimal]:
        """Free amount per currency, for ``validate(balance=...)``. With
        ``releasing`` (a client order id), as if that order were cancelled:
        what validating its replacement in ``amend`` needs."""
        balances = self._ledger.balances
        free = {c: balances.free(c) for c in balances.currencies()}
        if releasing is not None:
            order = self._open_order(releasing)
            bracket = self._linked(order)
            # An exit's replacement shares its pair's holding, whichever exit holds it now.
            held = self._exit_orders(bracket) if bracket is not None and _is_exit(bracket, order) else [order]
            for each in held:
                if each.hold:
                    free[each.hold_currency] = free.get(each.hold_currency, ZERO) + each.hold
        return free

    def orders(self, *, open_only: bool = False, symbol: str | None = None) -> list[Order]:
        """Orders in the order they were placed."""
        orders = self._open if open_only else self._orders
        return [o for o in orders.values() if symbol is None or o.symbol == symbol]

    def order(self, client_order_id: str) -> Order:
        try:
            return self._orders[client_order_id]
        except KeyError:
            raise OrderNotFoundError(f"There is no paper order {client_order_id}.") from None

    def fills(self) -> list[Fill]:
        return list(self._ledger.fills)

    def position(self, symbol: str) -> Position:
        return self._ledger.positions.get(symbol) or Position(symbol)

    def positions(self) -> dict[str, Position]:
        return dict(self._ledger.positions)

    def realised_pnl(self) -> dict[str, Decimal]:
        """Realised PnL per symbol since the start or the last reset (in each symbol's quote)."""
        return {s: p.realised for s, p in self._ledger.positions.items()}

    def unrealised_pnl(self, marks: Mapping[str, Decimal] | None = None) -> dict[str, Decimal]:
        """Unrealised PnL per symbol at ``marks`` (mid prices; else the last the account saw)."""
        return self._ledger.unrealised(marks)

    def day_pnl(self, now: int | None = None, marks: Mapping[str, Decimal] | None = None) -> Decimal:
        """Realised + unrealised PnL since 00:00 UTC in ``settings.pnl_currency``, best
        effort (``terminal.trading.positions.DayPnl``)."""
        self._ledger.roll_day(now_ms() if now is None else now)
        return self._ledger.day.total(self._ledger.unrealised_in_pnl_currency(marks))

    def risk_state(self, now: int | None = None, marks: Mapping[str, Decimal] | None = None) -> AccountState:
        open_buys: dict[str, Decimal] = {}
        for order in self.orders(open_only=True):
            if order.side is OrderSide.BUY:
                open_buys[order.symbol] = open_buys.get(order.symbol, ZERO) + order.remaining
        return AccountState(
            holdings={c: self._ledger.balances.total(c) for c in self._ledger.balances.currencies()},
            open_buys=open_buys,
            open_orders=len(self._open),
            day_pnl=self.day_pnl(now, marks),
            pnl_currency=self.settings.pnl_currency,
        )

    def mark(self, symbol: str, price: Decimal) -> None:
        """Tell the account a symbol's current price (the mid), for PnL."""
        self._ledger.marks[symbol] = price

    # -- trading ---------------------------------------------------------------------
    def place(
        self,
        order: ValidatedOrder,
        book: OrderBook | None,
        now: int | None = None,
        exits: Exits | None = None,
    ) -> Order:
        """Accept a validated (and risk-checked) order; market orders and the
        crossing part of limit orders fill against ``book`` at once. Returns
        the order, which may already be filled, cancelled or rejected (``reason``).
        With ``exits``, the order is a bracket's entry (``bracket_of`` its id):
        its fills place the exits (``bracket_problems`` says what is refused)."""
        ts = now_ms() if now is None else now
        if exits is not None:
            self._open_bracket(order, exits, ts)
        self._book = book
        placed = self._place(order, book, ts)
        self._publish()
        return placed

    def place_oco(
        self,
        rules: MarketRules,
        side: OrderSide,
        amount: Decimal,
        exits: Exits,
        book: OrderBook | None = None,
        now: int | None = None,
    ) -> Bracket:
        """Two exits on ``side`` for ``amount`` of ``rules.symbol`` already held,
        one cancelling the other (a bracket with no entry). Refused with
        ``OrderInvalidError`` on a spot buy pair (a spot position cannot be
        short) or for coins not free; each exit as placed is in its orders."""
        ts = now_ms() if now is None else now
        base = rules.base
        if not rules.spot:
            raise OrderInvalidError("symbol", "The paper account trades spot markets only.")
        if side is OrderSide.BUY:
            raise OrderInvalidError(
                "side",
                f"On a spot market an OCO pair closes coins you hold, so it sells: a position in {base} "
                "cannot be short. Choose sell.",
            )
        free = self._ledger.balances.free(base)
        if amount <= 0 or amount > free:
            raise OrderInvalidError(
                "amount",
                f"An OCO pair sells coins you hold free: it asks for {fmt(amount)} {base}; "
                f"{fmt(free)} is free.",
            )
        self._ledger.markets[rules.symbol] = (rules.base, rules.quote)
        self._book = book
        bracket = Bracket(
            bracket_id=new_bracket_id(),
            symbol=rules.symbol,
            side=OrderSide.BUY,
            exits=exits,
            mode=BracketMode.NATIVE,
            held=amount,
            amount_step=rules.amount_step,
            price_tick=rules.price_tick,
            created_ms=ts,
            updated_ms=ts,
        )
        self._track(bracket)
        self._unsettled.append(bracket.bracket_id)
        self._settle(ts)
        self._publish()
        return bracket.snapshot()

    def cancel(self, client_order_id: str, now: int | None = None, reason: str = "Cancelled.") -> Order:
        order = self._open_order(client_order_id)
        self._close(order, OrderStatus.CANCELLED, reason, now_ms() if now is None else now)
        self._publish()
        return order

    def cancel_all(self, symbol: str | None = None, now: int | None = None) -> list[Order]:
        ts = now_ms() if now is None else now
        cancelled = self.orders(open_only=True, symbol=symbol)
        for order in cancelled:
            if order.is_open:  # a bracket may have closed it with its partner meanwhile
                self._close(order, OrderStatus.CANCELLED, "Cancelled (cancel all).", ts)
        self._publish()
        return cancelled

    def cancel_bracket(self, bracket_id: str, now: int | None = None) -> Bracket:
        """Cancel an open bracket or OCO pair: its open entry and exits."""
        bracket = self._brackets.get(bracket_id)
        if bracket is None:
            raise OrderNotFoundError(f"There is no open bracket {bracket_id}.")
        ts = now_ms() if now is None else now
        with self._settling_later(ts):
            for part in bracket.parts:
                order = self._orders[part.client_order_id]
                if order.is_open:
                    part.retiring = True
                    self._close(order, OrderStatus.CANCELLED, "Cancelled with its bracket.", ts)
            self._finish(bracket, "Cancelled: its open orders were cancelled.", ts)
        self._publish()
        return bracket.snapshot()

    # -- brackets: reading -------------------------------------------------------------
    def brackets(self, symbol: str | None = None) -> list[Bracket]:
        """Open brackets and OCO pairs, oldest first (the account's own: read, do not change)."""
        return [b for b in self._brackets.values() if symbol is None or b.symbol == symbol]

    def bracket_of(self, client_order_id: str) -> Bracket | None:
        """The open bracket an order (entry or exit) is part of."""
        bracket_id = self._bracket_of.get(client_order_id)
        return self._brackets.get(bracket_id) if bracket_id is not None else None

    def amend(
        self,
        client_order_id: str,
        replacement: ValidatedOrder,
        book: OrderBook | None,
        now: int | None = None,
    ) -> Order:
        """Cancel/replace: the open order is cancelled and ``replacement`` (a new
        client order id; validate it with ``free_balances(releasing=...)``) placed.
        As on exchanges, a rejected replacement leaves the old order cancelled."""
        old = self._open_order(client_order_id)
        if replacement.symbol != old.symbol or replacement.client_order_id == client_order_id:
            raise TradingError("A replacement must be for the same symbol and carry a new client order id.")
        ts = now_ms() if now is None else now
        self._book = book
        bracket = self._linked(old)
        with self._settling_later(ts):
            if bracket is not None:
                self._adopt_replacement(bracket, old, replacement)
            self._close(old, OrderStatus.CANCELLED, f"Replaced by {replacement.client_order_id}.", ts)
            placed = self._place(replacement, book, ts)
            if bracket is not None:
                self._rehold(bracket)
        self._publish()
        return placed

    def on_trades(
        self, symbol: str, trades: Iterable[Mapping[str, Any]], book: OrderBook | None = None
    ) -> list[Fill]:
        """Feed the tape's new trades (ccxt trade dicts) for ``symbol``: stops
        trigger, resting limits fill. ``book`` is the current book, which a
        triggered stop fills against. Trades already seen are ignored (``SeenTrades``)."""
        fills_before = len(self._ledger.fills)
        self._book = book
        for print_ in self._seen.fresh(symbol, trades):
            ts, price, amount = print_.timestamp, print_.price, print_.amount
            self._ledger.roll_day(ts)
            self._ledger.marks[symbol] = price
            # Orders resting before this trade may fill from it; a stop it
            # triggers arrives after it and waits for the next one.
            resting = [o for o in self.orders(open_only=True, symbol=symbol) if _resting_limit(o)]
            self._trigger_stops(symbol, ts, price, book)
            self._fill_resting(resting, ts, price, amount)
        self._publish()
        return self._ledger.fills[fills_before:]

    def reset(self, settings: PaperSettings | None = None) -> None:
        """Back to the start balances, with no orders, fills or PnL."""
        if settings is not None:
            self.settings = settings
        self._start_fresh()
        self._changes.reset = True
        self._publish()

    # -- placing -----------------------------------------------------------------------
    def _place(self, vo: ValidatedOrder, book: OrderBook | None, ts: int) -> Order:
        if vo.client_order_id in self._orders:
            raise TradingError(f"An order with client id {vo.client_order_id} exists already.")
        self._ledger.roll_day(ts)
        self._ledger.markets[vo.symbol] = (vo.rules.base, vo.rules.quote)
        if book is not None and book.mid is not None:
            self._ledger.marks[vo.symbol] = to_decimal(book.mid)
        self._order_seq += 1
        order = vo.new_order(ts, order_id=f"paper-{self._order_seq}")
        self._orders[order.client_order_id] = order
        self._open[order.client_order_id] = order
        self._changes.orders[order.client_order_id] = order
        refusal = self._refusal(order, vo)
        if refusal:
            self._close(order, OrderStatus.REJECTED, refusal, ts)
        elif order.type is OrderType.MARKET:
            self._execute_market(order, book, ts)
        else:
            self._ledger.set_hold(order)
            if order.type is OrderType.LIMIT:
                self._arrive_limit(order, book, ts)
        return order

    def _refusal(self, order: Order, vo: ValidatedOrder) -> str:
        """Why the account cannot take ``order`` now ("" if it can). Validation
        checked the same against the balances of its time; they may have moved."""
        base, quote = vo.rules.base, vo.rules.quote
        if not vo.rules.spot:
            return "The paper account trades spot markets only."
        if order.reduce_only and order.side is OrderSide.BUY:
            return f"Reduce-only buy rejected: a spot position in {base} cannot be short."
        if order.side is OrderSide.SELL:
            free = self._ledger.balances.free(base)
            if order.amount > free:
                return f"Not enough {base}: selling {fmt(order.amount)} needs it free; {fmt(free)} is."
            return ""
        need = self._ledger.hold_for(order)
        free = self._ledger.balances.free(quote)
        if need > free:
            return f"Not enough {quote}: this order needs {fmt(need)} with fees; {fmt(free)} is free."
        return ""

    def _execute_market(self, order: Order, book: OrderBook | None, ts: int) -> None:
        """Fill as a taker against the book now; cancel what cannot fill."""
        base, quote = self._ledger.currencies_of(order.symbol)
        self._ledger.release_hold(order)  # a triggered stop-market spends from free funds now
        side_name = "asks" if order.side is OrderSide.BUY else "bids"
        if book is None or not (len(book.ask_price) if order.side is OrderSide.BUY else len(book.bid_price)):
            self._close(order, OrderStatus.REJECTED, f"No {side_name} in the book to fill against.", ts)
            return
        budget = self._ledger.balances.free(quote) if order.side is OrderSide.BUY else None
        walk = walk_book(
            book, order.side, order.remaining, step=order.amount_step, budget=budget, fee_rate=self.fees.taker
        )
        for take in walk.takes:
            self._fill(order, take.price, take.amount, Liquidity.TAKER, ts)
        if order.remaining > 0:
            if walk.end is WalkEnd.BUDGET and not order.filled:
                why = f"Not enough {quote} free to buy any {base}."
            elif walk.end is WalkEnd.BUDGET:
                why = f"Not enough {quote} for the rest: {fmt(order.remaining)} {base} was cancelled."
            else:
                why = (
                    f"The book held only {fmt(order.filled)} {base} of {side_name}: "
                    f"the other {fmt(order.remaining)} {base} was cancelled."
                )
            status = OrderStatus.CANCELLED if order.filled else OrderStatus.REJECTED
            self._close(order, status, why, ts)

    def _arrive_limit(self, order: Order, book: OrderBook | None, ts: int) -> None:
        """A limit order (or a triggered stop-limit) meets the book."""
        assert order.price is not None
        base, _ = self._ledger.currencies_of(order.symbol)
        crosses = book is not None and _crosses(order, book)
        if order.post_only and crosses:
            self._close(order, OrderStatus.REJECTED, "Post-only rejected: it would have traded at once.", ts)
            return
        if order.time_in_force is TimeInForce.FOK:
            reach = (
                walk_book(book, order.side, order.remaining, limit=order.price, step=order.amount_step).filled
                if book is not None
                else ZERO
            )
            if reach < order.remaining:
                why = f"Fill-or-kill: only {fmt(reach)} {base} was available up to {fmt(order.price)}."
                self._close(order, OrderStatus.CANCELLED, why, ts)
                return
        if crosses and book is not None:
            walk = walk_book(book, order.side, order.remaining, limit=order.price, step=order.amount_step)
            for take in walk.takes:
                self._fill(order, take.price, take.amount, Liquidity.TAKER, ts)
        if order.remaining > 0 and order.time_in_force is not TimeInForce.GTC:
            why = (
                f"Immediate-or-cancel: {fmt(order.remaining)} {base} did not fill at once and was cancelled."
            )
            self._close(order, OrderStatus.CANCELLED, why, ts)

    # -- trades ------------------------------------------------------------------------
    def _trigger_stops(self, symbol: str, ts: int, price: Decimal, book: OrderBook | None) -> None:
        for order in self.orders(open_only=True, symbol=symbol):
            if not order.is_open or not order.type.is_stop or order.triggered or ts < order.created_ms:
                continue  # (a bracket may have closed it while an earlier stop filled)
            if order.type.is_trailing and order.follow(price, ts):
                self._changes.orders[order.client_order_id] = order
            if not order.stop_reached(price):
                continue
            order.triggered, order.triggered_ms, order.updated_ms = True, ts, ts
            self._changes.orders[order.client_order_id] = order
            if order.type is OrderType.STOP_LIMIT:
                self._arrive_limit(order, book, ts)
            else:
                self._execute_market(order, book, ts)

    def _fill_resting(self, resting: list[Order], ts: int, price: Decimal, amount: Decimal) -> None:
        """A trade at ``price`` of ``amount`` fills resting buys at or above it
        and sells at or below it, best price first, then oldest, at most
        ``amount`` on each side."""
        buys = [o for o in resting if o.side is OrderSide.BUY and o.price is not None and price <= o.price]
        sells = [o for o in resting if o.side is OrderSide.SELL and o.price is not None and price >= o.price]
        buys.sort(key=lambda o: (-(o.price or ZERO), o.created_ms))
        sells.sort(key=lambda o: (o.price or ZERO, o.created_ms))
        for queue in (buys, sells):
            left = amount
            for order in queue:
                if left <= 0:
                    break
                if not order.is_open or ts < order.created_ms:
                    continue
                take = floor_to_step(min(order.remaining, left), order.amount_step)
                if take <= 0:
                    continue
                assert order.price is not None
                self._fill(order, order.price, take, Liquidity.MAKER, ts)
                left -= take

    # -- bookkeeping ---------------------------------------------------------------------
    def _fill(self, order: Order, price: Decimal, amount: Decimal, liquidity: Liquidity, ts: int) -> None:
        bracket = self._linked(order)
        if bracket is not None and _is_exit(bracket, order):
            self._pool(bracket, keep=order)  # the coins this exit sells may be held by its partner
        order.status = (
            OrderStatus.FILLED if order.filled + amount == order.amount else OrderStatus.PARTIALLY_FILLED
        )
        self._changes.fills.append(self._ledger.apply_fill(order, price, amount, liquidity, ts))
        self._changes.orders[order.client_order_id] = order
        if order.status is OrderStatus.FILLED:
            del self._open[order.client_order_id]
        if bracket is not None:
            self._touched(bracket, order, ts)

    def _close(self, order: Order, status: OrderStatus, reason: str, ts: int) -> None:
        order.status, order.reason, order.updated_ms = status, reason, ts
        self._ledger.release_hold(order)
        self._changes.orders[order.client_order_id] = order
        self._open.pop(order.client_order_id, None)
        bracket = self._linked(order)
        if bracket is not None:
            self._touched(bracket, order, ts)

    # -- brackets: keeping the exits in line with the fills ----------------------------------
    def _open_bracket(self, entry: ValidatedOrder, exits: Exits, ts: int) -> Bracket:
        """Record the bracket ``entry`` opens, before the entry is placed (it may fill at once)."""
        if entry.client_order_id in self._orders:
            raise TradingError(f"An order with client id {entry.client_order_id} exists already.")
        problems = bracket_problems(entry, exits)
        if problems:
            first = problems[0]
            raise OrderInvalidError(first.field, first.message, problems=tuple(problems))
        bracket = Bracket(
            bracket_id=new_bracket_id(),
            symbol=entry.symbol,
            side=entry.side,
            exits=exits,
            mode=BracketMode.NATIVE,
            parts=[Part(Role.ENTRY, entry.client_order_id, entry.amount)],
            amount_step=entry.rules.amount_step,
            price_tick=entry.rules.price_tick,
            created_ms=ts,
            updated_ms=ts,
        )
        self._track(bracket)
        return bracket

    def _track(self, bracket: Bracket) -> None:
        self._brackets[bracket.bracket_id] = bracket
        for part in bracket.parts:
            self._bracket_of[part.client_order_id] = bracket.bracket_id
        self._changes.brackets[bracket.bracket_id] = bracket

    def _linked(self, order: Order) -> Bracket | None:
        bracket_id = self._bracket_of.get(order.client_order_id)
        return self._brackets.get(bracket_id) if bracket_id is not None else None

    def _exit_orders(self, bracket: Bracket) -> list[Order]:
        """The bracket's open exits, as orders."""
        orders = (self._orders.get(p.client_order_id) for p in bracket.parts if p.role is not Role.ENTRY)
        return [o for o in orders if o is not None and o.is_open]

    def _pool(self, bracket: Bracket, keep: Order | None = None) -> None:
        """Let go of what the exits (but ``keep``) hold, so one of them can use
        the coins: an exit filling, or arriving in its partner's place."""
        for order in self._exit_orders(bracket):
            if order is not keep:
                self._ledger.release_hold(order)

    def _rehold(self, bracket: Bracket) -> None:
        """The exits sell the same coins, so they hold them once: the exit with
        the most left to sell holds it, the others nothing."""
        exits = self._exit_orders(bracket)
        if not exits:
            return
        for order in exits:
            self._ledger.release_hold(order)
        self._ledger.set_hold(max(exits, key=lambda o: o.remaining))

    def _touched(self, bracket: Bracket, order: Order, ts: int) -> None:
        bracket.observe(order)
        self._changes.brackets[bracket.bracket_id] = bracket
        if bracket.bracket_id not in self._unsettled:
            self._unsettled.append(bracket.bracket_id)
        self._settle(ts)

    @contextlib.contextmanager
    def _settling_later(self, ts: int) -> Iterator[None]:
        """Bring brackets in line only once the block is done (an amend: the
        replacement must be in before its bracket is looked at)."""
        was, self._settling = self._settling, True
        try:
            yield
        finally:
            self._settling = was
        self._settle(ts)

    def _settle(self, ts: int) -> None:
        """Take the steps each touched bracket needs (``next_step``), one at a
        time from the state as it is then. Runs at once, inside the fill that
        called for it: an exit's fill shrinks its partner before the next trade
        is looked at, so the two can never sell more than the entry bought."""
        if self._settling:
            return
        self._settling = True
        try:
            while self._unsettled:
                bracket = self._brackets.get(self._unsettled.pop(0))
                if bracket is None:
                    continue
                for _ in range(MAX_STEPS):
                    step = next_step(bracket)
                    if step is None:
                        break
                    self._take(bracket, step, ts)
                else:
                    log.error("Bracket %s did not settle in %d steps.", bracket.bracket_id, MAX_STEPS)
        finally:
            self._settling = False

    def _take(self, bracket: Bracket, step: Step, ts: int) -> None:
        if isinstance(step, PlaceExit):
            self._place_exit(bracket, step.role, step.amount, ts)
        elif isinstance(step, ResizeExit):
            order = self._orders[step.client_order_id]
            order.amount, order.updated_ms = order.filled + step.amount, ts
            self._changes.orders[order.client_order_id] = order
            bracket.observe(order)
        elif isinstance(step, CancelExit):
            order = self._orders[step.client_order_id]
            part = bracket.part(order.client_order_id)
            assert part is not None
            part.retiring = True
            self._close(order, OrderStatus.CANCELLED, step.reason, ts)
        else:
            self._finish(bracket, step.reason, ts)
        self._rehold(bracket)
        self._changes.brackets[bracket.bracket_id] = bracket

    def _place_exit(self, bracket: Bracket, role: Role, amount: Decimal, ts: int) -> None:
        """One exit, reduce-only, for ``amount``: a take-profit rests at its
        limit (taking at once what crosses), a stop-loss waits for its stop."""
        base, _ = self._ledger.currencies_of(bracket.symbol)
        self._order_seq += 1
        take_profit = role is Role.TAKE_PROFIT
        order = Order(
            client_order_id=new_client_order_id(),
            order_id=f"paper-{self._order_seq}",
            symbol=bracket.symbol,
            side=bracket.exit_side,
            type=OrderType.LIMIT if take_profit else OrderType.STOP_MARKET,
            amount=amount,
            price=bracket.exits.take_profit if take_profit else None,
            stop_price=None if take_profit else bracket.exits.stop_loss,
            reduce_only=True,
            created_ms=ts,
            updated_ms=ts,
            amount_step=bracket.amount_step,
            price_tick=bracket.price_tick,
        )
        cid = order.client_order_id
        self._orders[cid], self._open[cid], self._changes.orders[cid] = order, order, order
        bracket.parts.append(Part(role, cid, amount))
        self._bracket_of[cid] = bracket.bracket_id
        self._pool(bracket, keep=order)
        free = self._ledger.balances.free(base)
        if amount > free:
            why = f"Not enough {base} free for the {role.words}: it sells {fmt(amount)}; {fmt(free)} is free."
            self._close(order, OrderStatus.REJECTED, why, ts)
            return
        self._ledger.set_hold(order)
        book = self._book if self._book is not None and self._book.symbol in ("", bracket.symbol) else None
        if take_profit:
            self._arrive_limit(order, book, ts)

    def _finish(self, bracket: Bracket, reason: str, ts: int) -> None:
        bracket.closed, bracket.reason, bracket.updated_ms = True, reason, max(bracket.updated_ms, ts)
        self._changes.brackets[bracket.bracket_id] = bracket
        self._brackets.pop(bracket.bracket_id, None)
        for cid in bracket.order_ids():
            self._bracket_of.pop(cid, None)

    def _adopt_replacement(self, bracket: Bracket, old: Order, replacement: ValidatedOrder) -> None:
        """An amended order of a bracket: its replacement takes its place (a
        dragged stop moves the stop-loss; a moved entry stays the entry)."""
        part = bracket.part(old.client_order_id)
        assert part is not None
        if part.role is Role.ENTRY:
            problems = bracket_problems(replacement, bracket.exits)
            if problems:
                first = problems[0]
                raise OrderInvalidError(first.field, first.message, problems=tuple(problems))
        else:
            price = replacement.price if part.role is Role.TAKE_PROFIT else replacement.stop_price
            if price is not None:
                bracket.exits = bracket.exits.with_price(part.role, price)
            self._pool(bracket)  # the replacement is checked against the pair's coins
        part.retiring = True
        bracket.parts.append(Part(part.role, replacement.client_order_id, replacement.amount))
        self._bracket_of[replacement.client_order_id] = bracket.bracket_id
        self._changes.brackets[bracket.bracket_id] = bracket

    def _open_order(self, client_order_id: str) -> Order:
        order = self._open.get(client_order_id) or self._orders.get(client_order_id)
        if order is None:
            raise OrderNotFoundError(f"There is no paper order {client_order_id}.")
        if not order.is_open:
            raise OrderNotFoundError(
                f"Order {client_order_id} is already {order.status.value.replace('_', ' ')}: "
                "nothing to change."
            )
        return order

    # -- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The whole account as plain data (Decimals as strings): JSON-able."""
        return {
            "format": FORMAT,
            "settings": self.settings.model_dump(mode="json"),
            "orders": [o.to_dict() for o in self._orders.values()],  # with their fills
            "ledger": self._ledger.to_dict(),
            "seen_trades": self._seen.to_dict(),
            "order_seq": self._order_seq,
            "brackets": [b.to_dict() for b in self._brackets.values()],  # the open ones
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaperAccount:
        """An account ``to_dict`` gave (this format or an older one: a format-1
        account has no brackets)."""
        if data.get("format") not in READABLE_FORMATS:
            raise TradingError(
                f"The saved paper account has format {data.get('format')!r}; this terminal reads "
                f"{' and '.join(str(f) for f in READABLE_FORMATS)}."
            )
        account = cls(PaperSettings.model_validate(data["settings"]))
        orders = [Order.from_dict(o) for o in data["orders"]]
        account._orders = {o.client_order_id: o for o in orders}
        account._open = {o.client_order_id: o for o in orders if o.is_open}
        account._ledger.restore(data["ledger"], orders)
        account._seen = SeenTrades.from_dict(data["seen_trades"])
        account._order_seq = int(data["order_seq"])
        for saved in data.get("brackets", []):
            account._track(Bracket.from_dict(saved))
        return account


def bracket_problems(entry: ValidatedOrder, exits: Exits) -> list[FieldProblem]:
    """Why the paper account refuses ``exits`` on ``entry``: a spot market's
    exits sell what the entry bought, so the entry must be a buy; and the exit
    prices (``check_exits``, against the entry's price)."""
    if entry.rules.spot and entry.side is OrderSide.SELL:
        return [
            FieldProblem(
                "side",
                f"On a spot market a bracket's exits sell what its entry bought, so the entry must be a "
                f"buy: a position in {entry.rules.base} cannot be short.",
            )
        ]
    return check_exits(entry.side, entry.est_price, exits, entry.rules)


def _is_exit(bracket: Bracket, order: Order) -> bool:
    part = bracket.part(order.client_order_id)
    return part is not None and part.role is not Role.ENTRY


def _resting_limit(order: Order) -> bool:
    """Waiting in the book at a limit price: a limit, or a stop-limit already triggered."""
    return order.is_open and (
        order.type is OrderType.LIMIT or (order.type is OrderType.STOP_LIMIT and order.triggered)
    )


def _crosses(order: Order, book: OrderBook) -> bool:
    assert order.price is not None
    if order.side is OrderSide.BUY:
        return book.best_ask is not None and to_decimal(book.best_ask) <= order.price
    return book.best_bid is not None and to_decimal(book.best_bid) >= order.price
