"""The ticket as a trader uses it: the % buttons size an order that the account can
pay for, fee included; a long message wraps in its own area under Send and never
squashes or moves the fields; the orders panel's answers are shown whole and go
when they no longer apply."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtCore import Qt

from terminal.paths import AppPaths
from terminal.trading.orders import Order, OrderSide, OrderType
from terminal.ui.trading.orders_panel import OrdersPanel
from tests.ui.harness import Launch
from tests.ui.trading.trading_helpers import bid_below, fill_in, trading


async def test_the_share_buttons_size_an_order_the_account_can_pay_for(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, broker, desk):
        ticket = desk.ticket
        price = bid_below(t, "0.01")
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.LIMIT, "", str(price))
        full, half = ticket.share_buttons[3], ticket.share_buttons[1]
        assert [b.text() for b in ticket.share_buttons] == ["25%", "50%", "75%", "100%"]

        qtbot.mouseClick(full, Qt.MouseButton.LeftButton)
        everything = Decimal(ticket.amount.text())
        await t.until(ticket.send_button.isEnabled, "100% to be an order the account can pay for")
        order = ticket.check.order
        assert order is not None
        free = broker.balances()["USDT"].free
        assert order.est_cost + order.est_fee <= free  # the fee included
        assert order.est_cost + order.est_fee > free * Decimal("0.99")  # and nearly all of it

        qtbot.mouseClick(half, Qt.MouseButton.LeftButton)
        assert abs(Decimal(ticket.amount.text()) * 2 - everything) <= Decimal("0.0002")

        ticket.set_side(OrderSide.SELL)  # nothing to sell yet: said, and the amount left alone
        qtbot.mouseClick(full, Qt.MouseButton.LeftButton)
        assert "no BTC free" in ticket.message.text()


async def test_a_long_message_wraps_under_send_and_leaves_the_fields_where_they_are(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, _broker, desk):
        ticket = desk.ticket
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.LIMIT, "0.001", str(bid_below(t, "0.01")))
        await t.until(ticket.send_button.isEnabled, "a valid order")
        fields = (ticket.buy, ticket.sell, ticket.amount, ticket.price, ticket.send_button)
        before = [w.geometry() for w in fields]
        area = ticket.message_area.geometry()

        long = " ".join(["The risk rule blocked this order because it is far too large for the account."] * 6)
        ticket.show_outcome(long, ok=False)
        qtbot.waitUntil(lambda: ticket.message.isVisible())
        assert [w.geometry() for w in fields] == before  # nothing squashed or pushed
        assert ticket.message_area.geometry() == area  # the area keeps its place and size
        assert ticket.buy.width() >= ticket.buy.sizeHint().width()  # "Buy", not "Buv"
        assert ticket.message.width() <= ticket.message_area.viewport().width()  # wrapped, not cut

        qtbot.keyClicks(ticket.amount, "5")  # editing the order: the old message no longer applies
        assert not ticket.message.isVisible()


def _order(cid: str, price: str) -> Order:
    return Order(cid, "BTC/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal("0.001"), price=Decimal(price))


def test_the_orders_panel_says_a_long_answer_in_full_and_clears_it_when_the_user_moves_on(qtbot: Any) -> None:
    panel = OrdersPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 160)  # the low strip below the chart
    panel.show()
    panel.set_orders([_order("t-a", "60000"), _order("t-b", "59000")])
    panel.select("t-a")
    long = "Not cancelled: the exchange did not answer in time; the order may still rest, so check it. " * 2
    panel.say(long, bad=True)
    qtbot.waitUntil(panel.note.isVisible)
    assert panel.note.height() >= panel.note.heightForWidth(panel.note.width())  # every line shown
    assert panel.note.geometry().top() >= panel.view.geometry().bottom()  # under the table, not the buttons

    panel.set_orders([_order("t-b", "59000")])  # the list changing does not wipe what was said
    assert panel.note.isVisible() and panel.note.text() == long
    panel.select("t-b")  # the user moved on: the answer about the other order no longer applies
    assert not panel.note.isVisible()
