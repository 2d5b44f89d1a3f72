"""Keyboard trading: what the "trade.*" actions of the shortcut registry do.

The actions that send or cancel orders (``terminal.shortcuts.TRADING_HOTKEYS``)
do nothing but say so while the config's ``trading.hotkeys_enabled`` is off
(the default); when on, they still go through the order confirmation if
``trading.confirm_orders`` is on. Their size is the ticket's current amount
(in its unit), so a trader sets it once and then trades with single keys.
The F1 sheet marks them as off while they are.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QTableWidget

from terminal.shortcuts import ACTIONS_BY_ID, TRADING_HOTKEYS
from terminal.trading.money import to_decimal
from terminal.trading.orders import OrderSide, OrderType, TimeInForce
from terminal.ui.trading.ticket_input import decimal_text

if TYPE_CHECKING:
    from terminal.ui.trading.desk import TradingDesk

OFF_NOTE = (
    "Trading hotkeys are off: nothing was sent. Turn them on in Preferences → Trading (Ctrl+,), "
    "or with hotkeys_enabled = true under [trading] in config.toml."
)
OFF_MARK = "(off: trading.hotkeys_enabled)"


class TradingKeys:
    def __init__(self, desk: TradingDesk) -> None:
        self.desk = desk

    def handlers(self) -> dict[str, Callable[[], object]]:
        """Handlers for the window's actions, by registry id."""
        handlers: dict[str, Callable[[], object]] = {
            "trade.quick_ticket": self.desk.open_quick_ticket,
            "trade.focus_ticket": self.desk.focus_ticket,
        }
        for action_id in TRADING_HOTKEYS:
            handlers[action_id] = partial(self.press, action_id)
        return handlers

    def press(self, action_id: str) -> None:
        desk = self.desk
        if not desk.hotkeys_enabled():
            desk.say(OFF_NOTE, True)
            return
        confirm = desk.confirm_orders()
        if action_id == "trade.cancel_all":
            desk.cancel_all(confirm=confirm)
        elif action_id == "trade.flatten":
            desk.flatten(confirm=confirm)
        elif action_id in ("trade.buy_market", "trade.sell_market"):
            side = OrderSide.BUY if action_id == "trade.buy_market" else OrderSide.SELL
            self.send_ticket(confirm=confirm, side=side, type=OrderType.MARKET, post_only=False)
        else:
            self.join(OrderSide.BUY if action_id == "trade.buy_bid" else OrderSide.SELL, confirm)

    def join(self, side: OrderSide, confirm: bool) -> None:
        """A limit order at the best price of its own side: it joins the queue there."""
        book = self.desk.ticket.book()
        best = None if book is None else book.best_bid if side is OrderSide.BUY else book.best_ask
        if best is None:
            self.desk.say("There is no order book yet to join.", True)
            return
        self.send_ticket(
            confirm=confirm,
            side=side,
            type=OrderType.LIMIT,
            price_text=decimal_text(to_decimal(best)),
            time_in_force=TimeInForce.GTC,
            post_only=False,
        )

    def send_ticket(self, *, confirm: bool, **changes: Any) -> None:
        """The dock ticket's order with ``changes``, checked now and sent (or refused, saying why)."""
        desk, ticket = self.desk, self.desk.ticket
        if not ticket.bound or ticket.market is None or ticket.balances is None:
            desk.say("No trading account is connected to this window: nothing was sent.", True)
            return
        wanted = ticket.input().with_(**changes)
        check = ticket.check_input(wanted)
        if check.intent is None or check.order is None:
            field, text = next(
                iter(check.problems.items()), ("amount", "Enter an amount in the order ticket.")
            )
            ticket.show_refusal(field, text)
            desk.say(f"Nothing was sent: {text}", True)
            return
        desk.flow.send(check, ticket, confirm=confirm)


def mark_off_keys(table: QTableWidget, enabled: bool) -> None:
    """In the shortcut sheet's table (area, action, keys), mark the trading
    hotkeys as off while they are."""
    if enabled:
        return
    titles = {ACTIONS_BY_ID[a].title for a in TRADING_HOTKEYS}
    for row in range(table.rowCount()):
        action, keys = table.item(row, 1), table.item(row, 2)
        if action is not None and keys is not None and action.text() in titles:
            keys.setText(f"{keys.text()}  {OFF_MARK}".strip())
