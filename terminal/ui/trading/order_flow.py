"""How an order leaves the screen: the confirmation (when the config asks
for one), then ``broker.submit`` (or ``replace``, ``cancel``, ``cancel_all``)
in a task on the event loop, then the answer back on the ticket that sent
it, in plain words. Nothing here blocks: a confirmation is a non-modal
question with callbacks, a broker call is a task.

One ticket sends one order at a time (its Send button says "Sending…"
until the broker answers), so a double click or a held Enter key cannot turn
one intent into two orders.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from terminal.errors import describe
from terminal.tasks import TaskGroup
from terminal.trading.brackets import Exits, bracket_desk
from terminal.trading.broker import Broker
from terminal.trading.money import fmt
from terminal.trading.orders import Order, OrderIntent, OrderStatus
from terminal.ui.trading.confirmation import Confirmation
from terminal.ui.trading.order_words import order_line, outcome, refusal
from terminal.ui.trading.ticket import OrderTicket
from terminal.ui.trading.ticket_input import TicketCheck

log = logging.getLogger(__name__)

#: a broker call still unanswered this long after the window closed is abandoned
SHUTDOWN_WAIT_S = 5.0

Say = Callable[[str, bool], None]  # (text, bad): a line for the status bar


class OrderFlow:
    def __init__(
        self,
        broker: Callable[[], Broker | None],
        confirmation: Confirmation,
        confirm_orders: Callable[[], bool],
        say: Say,
    ) -> None:
        self.broker = broker
        self.confirmation = confirmation
        self.confirm_orders = confirm_orders
        self.say = say
        # Every path that sends reports its own outcome; a failure that escapes one is a bug,
        # logged by the group and said on the status bar.
        self.tasks = TaskGroup(
            "order flow", on_error=lambda exc, _name: self.say(describe(exc), True), logger=log
        )
        #: after each answer: (the order or None, the ticket, whether it went as asked);
        #: the desk refreshes the panels, the quick ticket closes
        self.on_sent: Callable[[Order | None, OrderTicket, bool], None] | None = None

    # -- orders ---------------------------------------------------------------------------
    def send(
        self,
        check: TicketCheck,
        ticket: OrderTicket,
        *,
        replacing: Order | None = None,
        confirm: bool | None = None,
    ) -> None:
        """Send ``check``'s intent from ``ticket``, asking first when ``confirm``
        (default: the config) says so; the confirmation shows the intent's
        numbers, the very Decimals that go to the broker."""
        intent = check.intent
        if intent is None or check.order is None:
            return
        broker = self.broker()
        if broker is None:
            ticket.show_refusal(None, "No trading account is connected: nothing was sent.")
            return
        exits = check.exits
        if confirm if confirm is not None else self.confirm_orders():
            extra = [f"Replaces: {_line(replacing)}"] if replacing is not None else []
            desk = bracket_desk(broker)
            if exits is not None and desk is not None:
                extra.append(_exits_line(exits, intent.symbol, desk.mode.words))
            self.confirmation.ask_order(
                check,
                f"{broker.kind} · {broker.account}",
                lambda: self._submit(intent, ticket, replacing, exits),
                on_no=lambda: ticket.show_outcome("Not sent.", ok=False),
                extra=extra,
            )
            return
        self._submit(intent, ticket, replacing, exits)

    def _submit(
        self, intent: OrderIntent, ticket: OrderTicket, replacing: Order | None, exits: Exits | None = None
    ) -> None:
        broker = self.broker()
        if broker is None:
            ticket.show_refusal(None, "No trading account is connected: nothing was sent.")
            return
        desk = bracket_desk(broker)
        if exits is not None and desk is None:
            ticket.show_refusal(
                "take_profit", "This account keeps no take-profit / stop-loss: nothing was sent."
            )
            return
        ticket.set_sending(True)
        call: Awaitable[Order]
        if replacing is not None:
            in_bracket = desk is not None and desk.bracket_of(replacing.client_order_id) is not None
            call = (
                desk.replace(replacing.client_order_id, intent)
                if in_bracket and desk is not None
                else broker.replace(replacing.client_order_id, intent)
            )
        elif exits is not None and desk is not None:
            call = desk.submit(intent, exits)
        else:
            call = broker.submit(intent)
        self.spawn(self._answer(call, ticket, replacing), "send order")

    async def _answer(self, call: Awaitable[Order], ticket: OrderTicket, replacing: Order | None) -> None:
        placed: Order | None = None
        bad = True
        try:
            placed = await call
        except Exception as exc:  # noqa: BLE001 - every refusal is said on the ticket, in plain words
            field, text = refusal(exc)
            ticket.show_refusal(field, text)
            self.say(text, True)
        else:
            text = outcome(placed)
            bad = placed.status is OrderStatus.REJECTED or (
                placed.status is OrderStatus.CANCELLED and not placed.filled
            )
            ticket.show_outcome(text, ok=not bad)
            self.say(text, bad)
            if replacing is not None:
                ticket.set_replacing(None)
        finally:
            ticket.set_sending(False)
        if self.on_sent is not None:
            self.on_sent(placed, ticket, not bad)

    # -- cancels --------------------------------------------------------------------------
    def cancel(self, client_order_id: str, report: Say) -> None:
        broker = self.broker()
        if broker is None:
            return

        async def run() -> None:
            try:
                order = await broker.cancel(client_order_id)
            except Exception as exc:  # noqa: BLE001 - said on the panel
                report(refusal(exc)[1], True)
            else:
                report(f"Cancelled: {_line(order)}.", False)

        self.spawn(run(), "cancel order")

    def cancel_all(self, symbol: str | None, report: Say, *, confirm: bool | None = None) -> None:
        """Cancel every open order (of ``symbol``), after a confirmation when asked for."""
        broker = self.broker()
        if broker is None:
            return
        open_orders = broker.open_orders(symbol)
        where = f" on {symbol}" if symbol else ""
        if not open_orders:
            report(f"There are no open orders{where} to cancel.", False)
            return

        async def run() -> None:
            try:
                cancelled = await broker.cancel_all(symbol)
            except Exception as exc:  # noqa: BLE001 - said on the panel
                report(refusal(exc)[1], True)
            else:
                report(f"Cancelled {len(cancelled)} order{'s' if len(cancelled) != 1 else ''}{where}.", False)

        if confirm if confirm is not None else True:
            lines = [_line(o) for o in open_orders[:8]]
            if len(open_orders) > 8:
                lines.append(f"… and {len(open_orders) - 8} more")
            n = len(open_orders)
            self.confirmation.ask(
                f"Cancel {n} open order{'s' if n != 1 else ''}{where}?",
                lines,
                "Cancel them (Enter)",
                lambda: self.spawn(run(), "cancel all"),
            )
        else:
            self.spawn(run(), "cancel all")

    # -- the rest ---------------------------------------------------------------------------
    def reset_paper(self, report: Say) -> None:
        """Reset a paper account to its start balances, after a confirmation."""
        broker = self.broker()
        reset = getattr(broker, "reset", None)
        if broker is None or broker.kind != "paper" or not callable(reset):
            report("Only a paper account can be reset.", True)
            return

        async def run() -> None:
            try:
                result = reset()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # noqa: BLE001 - said on the panel
                report(refusal(exc)[1], True)
            else:
                report("The paper account is back at its start balances.", False)

        self.confirmation.ask(
            "Reset the paper account?",
            [
                f"Account: {broker.account}",
                "Every open order is cancelled, positions and fills are cleared, and the balances go "
                "back to the start balances. Live accounts are not touched.",
            ],
            "Reset (Enter)",
            lambda: self.spawn(run(), "reset paper account"),
        )

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return self.tasks.spawn(work, name=name)

    async def shutdown(self) -> None:
        """Let calls under way finish (a live order's answer matters), then give up on them."""
        if self.confirmation.pending:
            self.confirmation.answer(False)
        for task in await self.tasks.close(cancel=False, timeout=SHUTDOWN_WAIT_S):
            log.warning("A broker call (%s) was still unanswered when the window closed.", task.get_name())


def _exits_line(exits: Exits, symbol: str, mode: str) -> str:
    """ "Exits: take-profit 66,000, stop-loss 62,000 USDT (a pair, managed by the terminal)" """
    quote = symbol.partition("/")[2].split(":")[0]
    parts = [
        f"{role.words} {fmt(price)}" for role in exits.roles() if (price := exits.price(role)) is not None
    ]
    return f"Exits: {', '.join(parts)} {quote} (placed as a pair when the order fills; {mode})"


def _line(order: Order) -> str:
    return order_line(order.side, order.type, order.remaining, order.symbol, order.price, order.stop_price)
