"""Stops the terminal holds for a live account, where the exchange cannot hold
them: trailing stops (the terminal does not send an exchange's own trailing
order), and the stop-loss of a spot bracket that has a take-profit too (the
exchange sets aside the coins of the take-profit's sell and would refuse a
second sell of them).

A held stop is an order of the account like any other (``Order.held``): it is
listed with the open orders, drawn on the chart, cancelled and amended, and
kept in the trading journal ("held" entries) so that it is held again after a
restart. Nothing of it is on the exchange until it triggers. The trigger is
the public tape: a task per symbol watches its trades (``watch_trades``), and
a trade at or through the stop (after the stop was placed, never one seen
before: ``SeenTrades``) triggers it, a trailing stop's stop following the best
price first (``Order.follow``). Then:

1. ``make_room(order)`` (the bracket manager) cancels the bracket's
   take-profit, which holds the coins, and says how much is left to close;
2. a market order goes out under the stop's own client order id, through the
   account's checks like any order (``send``).

What it cannot do, and says: it acts only while the terminal runs and its
trade stream is up (a lost stream is retried with back-off, logged, and shown
on the order); between the trigger and the market order's fill the price
moves on (slippage, as with any stop-market).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from terminal.errors import OrderNotFoundError, OrderStatusUnknownError, TerminalError, describe
from terminal.retry import Backoff
from terminal.tasks import TaskGroup
from terminal.trading.events import AccountEvent, OrderUpdated
from terminal.trading.journal import AccountJournal, TradingJournal
from terminal.trading.money import fmt_price
from terminal.trading.orders import Order, OrderIntent, OrderStatus, OrderType, now_ms
from terminal.trading.seen_trades import SeenTrades
from terminal.trading.validation import ValidatedOrder

log = logging.getLogger(__name__)

#: ``watch(symbol)``: the symbol's new public trades (ccxt trade dicts); raises when the stream fails
WatchTrades = Callable[[str], Awaitable[list[dict[str, Any]]]]
#: ``make_room(order)``: before a triggered stop sells, free what it sells (a bracket's take-profit
#: is cancelled) and say what is left to close; None: the stop is no bracket's, sell its amount
MakeRoom = Callable[[Order], Awaitable[Decimal | None]]
#: ``fire(intent, stop)``: send the triggered stop's market order (``intent``, under the stop's id)
Fire = Callable[[OrderIntent, Order], Awaitable[Order]]

STREAM_LOST = (
    "The terminal holds this stop but cannot see {symbol}'s trades now ({why}); it is trying again. "
    "It cannot trigger until the trades come back."
)


@dataclasses.dataclass(frozen=True)
class HeldSettings:
    backoff: float = 0.5  # first wait after a failed trade watch; doubles up to the cap
    backoff_cap: float = 10.0


def held_order(order: ValidatedOrder, created_ms: int | None = None) -> Order:
    """The held stop for a validated stop (``OrderType.STOP_MARKET`` or a trailing stop)."""
    return order.new_order(created_ms if created_ms is not None else now_ms(), held=True)


class HeldStops:
    """The stops one live account's terminal holds (see the module doc)."""

    def __init__(
        self,
        journal: AccountJournal,
        *,
        watch: WatchTrades,
        fire: Fire,
        publish: Callable[[AccountEvent], None],
        settings: HeldSettings | None = None,
    ) -> None:
        self._journal = journal
        self._watch = watch
        self._fire = fire
        self._publish = publish
        self._settings = settings or HeldSettings()
        self._orders: dict[str, Order] = {}  # every held stop this session knew, by client order id
        self._seen = SeenTrades()
        self._tasks = TaskGroup("held stops", logger=log)
        self._make_room: MakeRoom | None = None
        self._running = False

    def set_make_room(self, make_room: MakeRoom) -> None:
        self._make_room = make_room

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, saved: list[Order]) -> None:
        """Hold ``saved`` (the open ones of the last session) and watch their symbols."""
        self._running = True
        for order in saved:
            self._orders[order.client_order_id] = order
            log.info("holding stop %s on %s again", order.client_order_id, order.symbol)
        for symbol in {o.symbol for o in self.open_orders()}:
            self._watch_symbol(symbol)

    async def close(self) -> None:
        self._running = False
        await self._tasks.close(cancel=True, timeout=5.0)

    # -- the account's side -----------------------------------------------------------------------
    def hold(self, order: Order) -> Order:
        """Start holding ``order`` (``held_order``)."""
        self._orders[order.client_order_id] = order
        self._changed(order)
        self._watch_symbol(order.symbol)
        return order.snapshot()

    def cancel(self, client_order_id: str, reason: str = "Cancelled.") -> Order:
        order = self._orders.get(client_order_id)
        if order is None or not order.is_open:
            state = order.status.value if order is not None else "unknown here"
            raise OrderNotFoundError(f"Held stop {client_order_id} is no longer open: it is {state}.")
        order.status, order.reason, order.updated_ms = OrderStatus.CANCELLED, reason, now_ms()
        order.note = ""
        self._changed(order)
        return order.snapshot()

    def holds(self, client_order_id: str) -> bool:
        order = self._orders.get(client_order_id)
        return order is not None and order.is_open and not order.triggered

    def knows(self, client_order_id: str) -> bool:
        return client_order_id in self._orders

    def open_orders(self) -> list[Order]:
        """The stops waiting for their trigger."""
        return [o for o in self._orders.values() if o.is_open and not o.triggered]

    def orders(self) -> list[Order]:
        """Every held stop this session knew, oldest first; one that triggered stays until the
        account has its market order (the broker lists the account's order then)."""
        return list(self._orders.values())

    # -- the tape -------------------------------------------------------------------------------
    def _watch_symbol(self, symbol: str) -> None:
        key = f"watch {symbol}"
        task = self._tasks.running(key)
        if self._running and (task is None or task.done()):
            self._tasks.spawn(self._watch_loop(symbol), name=f"held stops: {symbol}'s trades", key=key)

    async def _watch_loop(self, symbol: str) -> None:
        backoff = Backoff(self._settings.backoff, self._settings.backoff_cap, jitter=True)
        while self._running and any(o.symbol == symbol for o in self.open_orders()):
            try:
                trades = await self._watch(symbol)
            except asyncio.CancelledError:
                raise
            except TerminalError as exc:
                self._blind(symbol, describe(exc))
                await asyncio.sleep(backoff.next())
                continue
            except Exception as exc:  # ccxt may raise anything; the stop must keep watching
                log.exception("the trade watch of %s failed", symbol)
                self._blind(symbol, type(exc).__name__)
                await asyncio.sleep(backoff.next())
                continue
            backoff.reset()
            self._see(symbol, trades)

    def _blind(self, symbol: str, why: str) -> None:
        for order in [o for o in self.open_orders() if o.symbol == symbol]:
            note = STREAM_LOST.format(symbol=symbol, why=why.rstrip("."))
            if order.note != note:
                log.warning("held stop %s: %s", order.client_order_id, note)
                order.note = note
                self._changed(order, save=False)

    def _see(self, symbol: str, trades: list[dict[str, Any]]) -> None:
        for print_ in self._seen.fresh(symbol, trades):
            for order in [o for o in self.open_orders() if o.symbol == symbol]:
                if print_.timestamp < order.created_ms:
                    continue  # a trade from before the stop was placed
                if order.note:
                    order.note = ""  # the trades are back
                    self._changed(order, save=False)
                if order.type.is_trailing and order.follow(print_.price, print_.timestamp):
                    self._changed(order)
                if order.stop_reached(print_.price):
                    order.triggered, order.triggered_ms = True, print_.timestamp
                    order.updated_ms = print_.timestamp
                    log.info(
                        "held stop %s triggered by a trade at %s",
                        order.client_order_id, fmt_price(print_.price, order.price_tick),
                    )  # fmt: skip
                    self._tasks.spawn(self._trigger(order), name=f"held stop {order.client_order_id}")

    async def _trigger(self, order: Order) -> None:
        """Free what the stop sells, then send its market order (under its own id)."""
        amount: Decimal | None = order.remaining
        try:
            if self._make_room is not None:
                room = await self._make_room(order.snapshot())
                if room is not None:
                    amount = room
        except TerminalError as exc:
            order.triggered = False  # still held: the next trade tries again
            order.note = f"It triggered, but the take-profit could not be cancelled first: {describe(exc)}"
            log.warning("held stop %s: %s", order.client_order_id, order.note)
            self._changed(order, save=False)
            return
        if amount is None or amount <= 0:
            order.triggered = False
            self.cancel(order.client_order_id, "Nothing was left to sell: the take-profit filled first.")
            return
        intent = OrderIntent(
            order.symbol,
            order.side,
            OrderType.MARKET,
            amount,
            reduce_only=order.reduce_only,
            client_order_id=order.client_order_id,
        )
        self._journal.record("held", {"order": order.to_dict(), "cause": "triggered"},
                             order.client_order_id, order.symbol)  # fmt: skip
        try:
            await self._fire(intent, order.snapshot())
        except OrderStatusUnknownError:
            pass  # it may be in: the account looks it up and its events tell
        except TerminalError as exc:
            # Refused before or by the exchange: the stop ends here, and says why (the account's
            # own record of a refusal by the exchange says the same).
            log.warning(
                "held stop %s: its market order failed: %s", order.client_order_id, describe(exc, True)
            )
            order.status, order.updated_ms = OrderStatus.REJECTED, now_ms()
            order.reason = f"It triggered, but its market order was refused: {describe(exc)}"
            self._changed(order)

    # -- saving and telling -----------------------------------------------------------------------
    def _changed(self, order: Order, *, save: bool = True) -> None:
        if save:
            self._journal.record("held", {"order": order.to_dict()}, order.client_order_id, order.symbol)
        self._publish(OrderUpdated(order.snapshot()))


def load_held(journal: TradingJournal | None, account: str) -> list[Order]:
    """The stops held open at the last save (each stop's newest "held" entry). Blocking."""
    if journal is None:
        return []
    newest: dict[str, Order] = {}
    for entry in journal.entries(account, kind="held"):
        saved = entry.payload.get("order")
        if isinstance(saved, dict):
            order = Order.from_dict(saved)
            newest[order.client_order_id] = order
    return [o for o in newest.values() if o.is_open and not o.triggered]
