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
  at that moment.

The paper account does not take its fills out of the book or add them to the
tape: it is one small trader beside the market, not part of it.

Funds, fees and PnL live in the account's ``Ledger``: open orders hold what
they may spend, a market buy spends at most the free quote, so no balance
ever goes negative; fees are charged in the quote currency, once per fill.

Every operation publishes its events when it is done (``terminal.trading.events``).
``to_dict()``/``from_dict()`` round-trip the whole account as plain JSON-able data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from terminal.errors import OrderNotFoundError, TradingError
from terminal.marketdata.orderbook import OrderBook
from terminal.trading.balances import BalanceView
from terminal.trading.book_walk import WalkEnd, walk_book
from terminal.trading.events import (
    AccountEvent,
    AccountReset,
    BalanceChanged,
    FillAdded,
    OrderUpdated,
    PositionChanged,
)
from terminal.trading.fees import Liquidity
from terminal.trading.money import ZERO, floor_to_step, fmt, to_decimal
from terminal.trading.orders import Fill, Order, OrderSide, OrderStatus, OrderType, TimeInForce, now_ms
from terminal.trading.paper.ledger import Ledger
from terminal.trading.paper.seen_trades import SeenTrades
from terminal.trading.paper.settings import PaperSettings
from terminal.trading.positions import Position
from terminal.trading.risk import AccountState
from terminal.trading.validation import ValidatedOrder

FORMAT = 1  # of to_dict(); bump when its shape changes


Listener = Callable[[AccountEvent], None]


@dataclass
class _Changes:
    """What the current operation touched; published together when it ends."""

    fills: list[Fill] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)
    reset: bool = False


class PaperAccount:
    def __init__(self, settings: PaperSettings | None = None) -> None:
        self.settings = settings or PaperSettings()
        self._listeners: list[Listener] = []
        self._start_fresh()

    def _start_fresh(self) -> None:
        self.fees = self.settings.fees
        self._ledger = Ledger(self.settings.start_balances, self.fees, self.settings.pnl_currency)
        self._orders: dict[str, Order] = {}  # every order, by client order id, in placing order
        self._open: dict[str, Order] = {}  # the open ones: trades and cancels never scan closed orders
        self._seen = SeenTrades()  # trade prints already taken, so none fills twice
        self._order_seq = 0
        self._changes = _Changes()

    # -- listeners -----------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def _publish(self) -> None:
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
            if order.hold:
                free[order.hold_currency] = free.get(order.hold_currency, ZERO) + order.hold
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
    def place(self, order: ValidatedOrder, book: OrderBook | None, now: int | None = None) -> Order:
        """Accept a validated (and risk-checked) order; market orders and the
        crossing part of limit orders fill against ``book`` at once. Returns
        the order, which may already be filled, cancelled or rejected (``reason``)."""
        placed = self._place(order, book, now_ms() if now is None else now)
        self._publish()
        return placed

    def cancel(self, client_order_id: str, now: int | None = None, reason: str = "Cancelled.") -> Order:
        order = self._open_order(client_order_id)
        self._close(order, OrderStatus.CANCELLED, reason, now_ms() if now is None else now)
        self._publish()
        return order

    def cancel_all(self, symbol: str | None = None, now: int | None = None) -> list[Order]:
        ts = now_ms() if now is None else now
        cancelled = self.orders(open_only=True, symbol=symbol)
        for order in cancelled:
            self._close(order, OrderStatus.CANCELLED, "Cancelled (cancel all).", ts)
        self._publish()
        return cancelled

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
        self._close(old, OrderStatus.CANCELLED, f"Replaced by {replacement.client_order_id}.", ts)
        placed = self._place(replacement, book, ts)
        self._publish()
        return placed

    def on_trades(
        self, symbol: str, trades: Iterable[Mapping[str, Any]], book: OrderBook | None = None
    ) -> list[Fill]:
        """Feed the tape's new trades (ccxt trade dicts) for ``symbol``: stops
        trigger, resting limits fill. ``book`` is the current book, which a
        triggered stop fills against. Trades already seen are ignored (``SeenTrades``)."""
        fills_before = len(self._ledger.fills)
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
        order = Order(
            client_order_id=vo.client_order_id,
            order_id=f"paper-{self._order_seq}",
            symbol=vo.symbol,
            side=vo.side,
            type=vo.type,
            amount=vo.amount,
            price=vo.price,
            stop_price=vo.stop_price,
            time_in_force=vo.time_in_force,
            post_only=vo.post_only,
            reduce_only=vo.reduce_only,
            created_ms=ts,
            updated_ms=ts,
            amount_step=vo.rules.amount_step,
        )
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
            if not order.type.is_stop or order.triggered or ts < order.created_ms:
                continue
            assert order.stop_price is not None
            if order.side is OrderSide.BUY and price < order.stop_price:
                continue
            if order.side is OrderSide.SELL and price > order.stop_price:
                continue
            order.triggered, order.triggered_ms, order.updated_ms = True, ts, ts
            self._changes.orders[order.client_order_id] = order
            if order.type is OrderType.STOP_MARKET:
                self._execute_market(order, book, ts)
            else:
                self._arrive_limit(order, book, ts)

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
        order.status = (
            OrderStatus.FILLED if order.filled + amount == order.amount else OrderStatus.PARTIALLY_FILLED
        )
        self._changes.fills.append(self._ledger.apply_fill(order, price, amount, liquidity, ts))
        self._changes.orders[order.client_order_id] = order
        if order.status is OrderStatus.FILLED:
            del self._open[order.client_order_id]

    def _close(self, order: Order, status: OrderStatus, reason: str, ts: int) -> None:
        order.status, order.reason, order.updated_ms = status, reason, ts
        self._ledger.release_hold(order)
        self._changes.orders[order.client_order_id] = order
        self._open.pop(order.client_order_id, None)

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
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaperAccount:
        if data.get("format") != FORMAT:
            raise TradingError(
                f"The saved paper account has format {data.get('format')!r}; this terminal reads {FORMAT}."
            )
        account = cls(PaperSettings.model_validate(data["settings"]))
        orders = [Order.from_dict(o) for o in data["orders"]]
        account._orders = {o.client_order_id: o for o in orders}
        account._open = {o.client_order_id: o for o in orders if o.is_open}
        account._ledger.restore(data["ledger"], orders)
        account._seen = SeenTrades.from_dict(data["seen_trades"])
        account._order_seq = int(data["order_seq"])
        return account


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
