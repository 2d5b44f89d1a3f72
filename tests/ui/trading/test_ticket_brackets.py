"""A bracket from the ticket, as the issue's trader does it: 50% of the balance, a
take-profit and a stop-loss attached, placed as a pair when the entry fills; the
stop dragged on the chart stays the bracket's stop; a trailing stop from the type
box. Wrong exits are named on their fields before anything is sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtCore import Qt

from terminal.paths import AppPaths
from terminal.trading.brackets import bracket_desk
from terminal.trading.money import floor_to_step, to_decimal
from terminal.trading.orders import Order, OrderSide, OrderType
from tests.ui.harness import Launch
from tests.ui.trading.trading_helpers import TICK, drag, fill_in, in_view, point_at, trading, until_sent


async def test_a_bracket_with_the_50_percent_button_then_its_stop_dragged_on_the_chart(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, broker, desk):
        ticket = desk.ticket
        brackets = bracket_desk(broker)
        assert brackets is not None
        assert ticket.type_box.findData(OrderType.TRAILING_STOP.value) >= 0  # paper takes trailing stops
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.MARKET, "")
        qtbot.mouseClick(ticket.share_buttons[1], Qt.MouseButton.LeftButton)  # 50%
        ask = to_decimal(t.session.book.best_ask or 0)
        ticket.attach_exits.setChecked(True)
        assert ticket.exits_box.isVisible() and "native" in ticket.exits_note.text()

        qtbot.keyClicks(ticket.take_profit, str(floor_to_step(ask * Decimal("0.99"), TICK)))  # wrong way
        await t.until(lambda: "must be above" in ticket.errors.text("take_profit"), "the take-profit refused")
        assert not ticket.send_button.isEnabled()
        take, stop = in_view(t, above=True), in_view(t, above=False, share="0.8")  # on screen, to drag
        ticket.take_profit.setText(str(take))
        qtbot.keyClicks(ticket.stop_loss, str(stop))
        await t.until(ticket.send_button.isEnabled, "a bracket that can go")

        qtbot.mouseClick(ticket.send_button, Qt.MouseButton.LeftButton)
        await t.until(desk.confirmation.isVisible, "the confirmation")
        shown = desk.confirmation.body.text()
        assert "take-profit" in shown and "stop-loss" in shown and "native" in shown
        qtbot.keyClick(desk.confirmation, Qt.Key.Key_Return)
        await until_sent(t, ticket)

        await t.until(lambda: len(broker.open_orders()) == 2, "the two exits placed as the entry filled")
        exits = {o.type: o for o in broker.open_orders()}
        assert exits[OrderType.LIMIT].price == take and exits[OrderType.STOP_MARKET].stop_price == stop
        held = broker.positions()["BTC/USDT"].amount
        assert all(o.amount == held and o.side is OrderSide.SELL for o in exits.values())

        # drag the stop-loss up on the chart: amended, and still the bracket's stop
        await t.until(lambda: t.chart.order_lines.drawn == 2, "both exits' lines drawn in view")

        def replacement() -> Order | None:  # open, or already triggered by a falling market
            moved = [o for o in broker.orders() if o.type is OrderType.STOP_MARKET and o.stop_price != stop]
            return moved[0] if moved else None

        def refused(after_confirming: bool = False) -> bool:
            """The market passed the new stop before it went: rightly not amended."""
            said = ticket.message.text() if after_confirming else ticket.errors.text("stop_price")
            return "trigger at once" in said

        for _attempt in range(3):
            # halfway between the stop and the market, on a pane that can be a few pixels
            # tall there: the press held long enough that even a short move is a drag
            target = (float(stop) + (t.session.book.best_bid or 0)) / 2
            await drag(t, float(stop), point_at(t, target) - point_at(t, float(stop)), steps=40)
            await t.until(lambda: desk.confirmation.isVisible() or refused(), "the amend's confirmation")
            if desk.confirmation.isVisible():
                qtbot.keyClick(desk.confirmation, Qt.Key.Key_Return)
                await t.until(lambda: replacement() is not None or refused(True), "the stop moved")
            if replacement() is not None:
                break
            assert broker.open_orders() and all(o.stop_price in (None, stop) for o in broker.open_orders())
        moved = replacement()
        assert moved is not None and moved.stop_price is not None and moved.stop_price > stop
        if moved.status.is_open:  # still the bracket's stop: one cancels the other
            assert brackets.bracket_of(moved.client_order_id) is not None
            assert len(broker.open_orders()) == 2
        else:  # the market fell to it: the take-profit went with it
            await t.until(lambda: not broker.open_orders(), "the take-profit cancelled")


async def test_a_trailing_stop_from_the_type_box_rests_a_distance_below_the_price(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths, config="[trading]\nconfirm_orders = false\n") as (t, broker, desk):
        ticket = desk.ticket
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.MARKET, "0.002")
        qtbot.keyClick(ticket.amount, Qt.Key.Key_Return)
        await until_sent(t, ticket)

        fill_in(qtbot, ticket, OrderSide.SELL, OrderType.TRAILING_STOP, "0.002")
        assert ticket.trail.isVisible() and not ticket.stop.isVisible() and not ticket.price.isVisible()
        assert not ticket.attach_exits.isEnabled()  # a trailing stop is itself an exit
        assert ticket.trail_unit.text() == "%"
        qtbot.keyClicks(ticket.trail, "1")
        await t.until(ticket.send_button.isEnabled, "a trailing stop that can go")
        assert "follows the price" in ticket.estimate.text()
        qtbot.keyClick(ticket.trail, Qt.Key.Key_Return)
        await until_sent(t, ticket)

        (order,) = broker.open_orders()
        assert order.type is OrderType.TRAILING_STOP and order.trail_percent == Decimal(1)
        last = to_decimal(float(t.session.tape.latest(1).price[0]))
        assert order.stop_price is not None and abs(order.stop_price / last - Decimal("0.99")) < Decimal(
            "0.002"
        )
        await t.until(lambda: t.chart.order_lines.prices() == [float(order.stop_price or 0)], "its line")
