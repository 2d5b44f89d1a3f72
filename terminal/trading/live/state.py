"""What the live broker knows of its exchange account: orders by client order
id, fills, balances, positions and PnL, merged from whatever arrives (REST
answers, websocket events, polls), and the events each change makes.

Sources overlap (an order's fill comes in the create answer, then on the
trade stream, then in a poll), so everything is keyed and merged once: orders
by client order id (and the exchange's id), fills by (symbol, trade id).
A trade for an order not known yet waits (``orphan_orders``) until the order
is.

Positions on a spot market are the base currency held (the balance). Their
cost is an **average cost over the fills this session saw**, applied to the
whole holding: coins bought before the terminal started, or elsewhere while
it was closed, are valued at that average too; with no buy seen this session
the cost is unknown, ``cost`` is 0 and the symbol has no unrealised PnL.
Fees paid in the base currency (Binance's buys) reduce the amount bought
(the coins kept are counted as a fee at the fill's price, so the entry price
stays the fill price); fees in a third currency (BNB) are not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from terminal.trading.balances import BalanceView
from terminal.trading.events import AccountEvent, BalanceChanged, FillAdded, OrderUpdated, PositionChanged
from terminal.trading.live.orders import (
    balance_views,
    ccxt_client_id,
    fill_from_ccxt,
    merge_order,
    order_from_ccxt,
)
from terminal.trading.market_rules import MarketRules
from terminal.trading.money import ZERO, optional_decimal
from terminal.trading.orders import Fill, Order, OrderSide, OrderStatus, now_ms
from terminal.trading.positions import DayPnl, Position
from terminal.trading.validation import ValidatedOrder

SENDING = "Sending…"


@dataclass
class _Changes:
    fills: list[Fill] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)
    currencies: set[str] = field(default_factory=set)
    symbols: set[str] = field(default_factory=set)


class LiveState:
    def __init__(self, pnl_currency: str = "USDT", symbols: Iterable[str] = ()) -> None:
        self.pnl_currency = pnl_currency
        self.markets: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, Order] = {}  # by client order id, in the order first seen
        self.unknown: set[str] = set()  # sent, answer lost, not found yet either way
        self.balances: dict[str, BalanceView] = {}
        self.marks: dict[str, Decimal] = {}
        self.symbols: set[str] = set(symbols)  # whose positions are shown
        self.day = DayPnl()
        #: the terminal's client order id for one the exchange reports (OKX drops the "-")
        self.from_wire: Callable[[str], str] = lambda wire: wire
        self._by_exchange_id: dict[tuple[str, str], str] = {}
        self._by_wire_id: dict[str, str] = {}
        self._fills: dict[tuple[str, str], Fill] = {}
        self._orphans: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._basis: dict[str, Position] = {}  # cost of what this session bought, per symbol
        self._triggered: dict[str, Order] = {}  # held stops whose market order is being made
        self._changes = _Changes()

    # -- markets ---------------------------------------------------------------------
    def currencies_of(self, symbol: str) -> tuple[str, str]:
        market = self.markets.get(symbol) or {}
        base, _, quote = symbol.partition("/")
        return str(market.get("base") or base), str(market.get("quote") or quote.split(":")[0])

    def _amount_step(self, symbol: str) -> Decimal | None:
        market = self.markets.get(symbol)
        return MarketRules.from_ccxt(market).amount_step if market else None

    # -- orders ------------------------------------------------------------------------
    def add_pending(self, order: ValidatedOrder, wire_id: str) -> Order:
        """An order about to be sent (not published until the exchange answers)."""
        pending = order.new_order(now_ms(), reason=SENDING)
        self._adopt_trigger(pending)
        self.orders[order.client_order_id] = pending
        self._by_wire_id[wire_id] = order.client_order_id
        self.symbols.add(order.symbol)
        return pending

    def expect_trigger(self, stop: Order) -> None:
        """The next order under ``stop``'s id is that held stop, triggered: it keeps the
        stop's type and prices (the exchange only sees a market order)."""
        self._triggered[stop.client_order_id] = stop

    def _adopt_trigger(self, order: Order) -> None:
        stop = self._triggered.pop(order.client_order_id, None)
        if stop is None:
            return
        order.type, order.stop_price, order.held = stop.type, stop.stop_price, True
        order.trail_amount, order.trail_percent = stop.trail_amount, stop.trail_percent
        order.trail_extreme, order.price_tick = stop.trail_extreme, stop.price_tick
        order.triggered, order.triggered_ms = True, stop.triggered_ms
        order.created_ms = min(order.created_ms, stop.created_ms)

    def client_id_for(self, raw: dict[str, Any]) -> str:
        symbol, order_id = str(raw.get("symbol") or ""), str(raw.get("id") or "")
        known = self._by_exchange_id.get((symbol, order_id))
        if known is not None:
            return known
        wire = ccxt_client_id(raw)
        if wire is not None:
            return self._by_wire_id.get(wire) or self.from_wire(wire)
        return f"#{order_id}"  # no client id at all: the exchange's id stands in

    def apply_order(self, raw: dict[str, Any], client_order_id: str | None = None) -> Order | None:
        """Take the exchange's word on one order (``client_order_id`` when the
        caller knows which order it is). Returns the order, or None if ``raw``
        is not an order."""
        if not raw.get("id") or not raw.get("symbol"):
            return None
        cid = client_order_id or self.client_id_for(raw)
        symbol = str(raw["symbol"])
        fresh = order_from_ccxt(raw, cid, self._amount_step(symbol))
        order = self.orders.get(cid)
        if order is None:
            self.orders[cid] = order = fresh
            changed = True
        else:
            changed = merge_order(order, fresh)
        self._by_exchange_id[(symbol, order.order_id)] = cid
        self.unknown.discard(cid)
        self.symbols.add(symbol)
        if changed:
            self._changes.orders[cid] = order
        trades = raw.get("trades")
        self.apply_trades([dict(t, symbol=symbol, order=order.order_id) for t in trades or []
                           if isinstance(t, dict)])  # fmt: skip
        waiting = self._orphans.pop((symbol, order.order_id), [])
        if waiting:
            self.apply_trades(waiting)
        return order

    def mark_unknown(self, client_order_id: str, reason: str) -> Order:
        order = self.orders[client_order_id]
        order.reason = reason
        order.updated_ms = now_ms()
        self.unknown.add(client_order_id)
        self._changes.orders[client_order_id] = order
        return order

    def reject(self, client_order_id: str, reason: str) -> Order:
        """The exchange refused the order, or it certainly never arrived."""
        order = self.orders[client_order_id]
        order.status, order.reason = OrderStatus.REJECTED, reason
        order.updated_ms = now_ms()
        self.unknown.discard(client_order_id)
        self._changes.orders[client_order_id] = order
        return order

    def open_orders(self) -> list[Order]:
        return [o for o in self.orders.values() if o.is_open and o.reason != SENDING]

    # -- fills -------------------------------------------------------------------------
    def apply_trades(self, raws: Iterable[dict[str, Any]]) -> None:
        for raw in raws:
            symbol, order_id = str(raw.get("symbol") or ""), str(raw.get("order") or "")
            cid = self._by_exchange_id.get((symbol, order_id))
            if cid is None:
                if symbol and order_id:
                    self._orphans.setdefault((symbol, order_id), []).append(raw)
                continue
            order = self.orders[cid]
            fill = fill_from_ccxt(raw, order)
            if fill is None or (symbol, fill.fill_id) in self._fills:
                continue
            self._fills[(symbol, fill.fill_id)] = fill
            order.fills.append(fill)
            order.fee += fill.fee
            self._changes.fills.append(fill)
            self._changes.orders[cid] = order
            self._take_into_basis(fill)

    def orphan_orders(self) -> list[tuple[str, str]]:
        """(symbol, exchange order id) of trades whose order is not known yet."""
        return list(self._orphans)

    def drop_orphans(self, key: tuple[str, str]) -> None:
        self._orphans.pop(key, None)

    def fills(self) -> list[Fill]:
        return list(self._fills.values())

    def _take_into_basis(self, fill: Fill) -> None:
        base, quote = self.currencies_of(fill.symbol)
        position = self._basis.setdefault(fill.symbol, Position(fill.symbol))
        if fill.side is OrderSide.BUY:
            if fill.fee_currency == base:
                got = fill.amount - fill.fee
                if got <= 0:
                    return
                # what was got, at the fill's price; the coins kept as the fee, valued at it too
                realised = position.apply(OrderSide.BUY, got, fill.price, fill.fee * fill.price)
            else:
                fee = fill.fee if fill.fee_currency == quote else ZERO
                realised = position.apply(OrderSide.BUY, fill.amount, fill.price, fee)
        else:
            fee = (
                fill.fee
                if fill.fee_currency == quote
                else fill.fee * fill.price
                if fill.fee_currency == base
                else ZERO
            )
            realised = position.apply(OrderSide.SELL, fill.amount, fill.price, fee)
        self.marks.setdefault(fill.symbol, fill.price)
        if quote == self.pnl_currency:
            self.day.roll(fill.timestamp, self.unrealised_in_pnl_currency())
            self.day.realised += realised
        self.symbols.add(fill.symbol)
        self._changes.symbols.add(fill.symbol)

    # -- balances and positions -------------------------------------------------------------
    def apply_balance(self, raw: dict[str, Any], complete: bool) -> None:
        """A balance answer. ``complete``: it lists every currency held (a REST
        fetch), so one missing from it is now zero; a stream event carries only
        what changed."""
        views = balance_views(raw)
        if complete:
            for currency in set(self.balances) - set(views):
                views[currency] = BalanceView(currency, ZERO, ZERO)
        for currency, view in views.items():
            if self.balances.get(currency) != view:
                self.balances[currency] = view
                self._changes.currencies.add(currency)

    def free(self) -> dict[str, Decimal]:
        return {c: b.free for c, b in self.balances.items()}

    def mark(self, symbol: str, mid: Decimal | float | None) -> None:
        value = optional_decimal(mid)
        if value is not None and value > 0:
            self.marks[symbol] = value

    def position(self, symbol: str) -> Position:
        base, _ = self.currencies_of(symbol)
        held = self.balances[base].total if base in self.balances else ZERO
        basis = self._basis.get(symbol)
        if basis is None:
            return Position(symbol, held)
        average, entry = basis.average_cost, basis.average_entry
        return Position(
            symbol,
            held,
            held * average if average is not None else ZERO,
            basis.realised,
            held * entry if entry is not None else ZERO,
            basis.fees,
        )

    def positions(self) -> dict[str, Position]:
        found = {}
        for symbol in sorted(self.symbols):
            position = self.position(symbol)
            if position.amount or position.realised:
                found[symbol] = position
        return found

    def unrealised(self) -> dict[str, Decimal]:
        result: dict[str, Decimal] = {}
        for symbol in sorted(self.symbols):
            basis, mark = self._basis.get(symbol), self.marks.get(symbol)
            average = basis.average_cost if basis is not None else None
            position = self.position(symbol)
            if average is not None and mark is not None and position.amount:
                result[symbol] = position.amount * (mark - average)
        return result

    def unrealised_in_pnl_currency(self) -> Decimal:
        return sum(
            (u for s, u in self.unrealised().items() if self.currencies_of(s)[1] == self.pnl_currency), ZERO
        )

    def day_pnl(self, now: int | None = None) -> Decimal:
        unrealised = self.unrealised_in_pnl_currency()
        self.day.roll(now_ms() if now is None else now, unrealised)
        return self.day.total(unrealised)

    # -- events ------------------------------------------------------------------------------
    def take_events(self) -> list[AccountEvent]:
        """What changed since the last call, in the paper account's order: fills,
        then orders, positions and balances."""
        changes, self._changes = self._changes, _Changes()
        symbols = set(changes.symbols)
        for currency in changes.currencies:
            symbols.update(s for s in self.symbols if self.currencies_of(s)[0] == currency)
        events: list[AccountEvent] = [FillAdded(f) for f in changes.fills]
        events.extend(OrderUpdated(o.snapshot()) for o in changes.orders.values() if o.reason != SENDING)
        events.extend(PositionChanged(self.position(s)) for s in sorted(symbols))
        events.extend(BalanceChanged(self.balances[c]) for c in sorted(changes.currencies))
        return events


def open_buys(orders: Mapping[str, Order]) -> dict[str, Decimal]:
    """Unfilled base of the open buy orders, per symbol (for the risk checks)."""
    found: dict[str, Decimal] = {}
    for order in orders.values():
        if order.is_open and order.side is OrderSide.BUY:
            found[order.symbol] = found.get(order.symbol, ZERO) + order.remaining
    return found
