"""Dragging an own order's line on the chart amends the order: the line follows the
mouse, and dropping it sends a cancel/replace through the ticket, with the same
checks and confirmation as typing the new price. A drag away from every line
still pans the chart."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtCore import QPoint, Qt

from terminal.paths import AppPaths
from terminal.trading.money import floor_to_step, to_decimal
from terminal.trading.orders import OrderSide, OrderStatus, OrderType
from terminal.ui.chart.order_lines import GRAB_PX
from tests.ui.harness import Launch
from tests.ui.trading.trading_helpers import (
    TICK,
    drag,
    fill_in,
    in_view,
    point_at,
    price_at,
    trading,
    until_sent,
)


async def test_dragging_an_order_line_asks_to_amend_and_replaces_the_order_there(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, broker, desk):
        ticket = desk.ticket
        first = in_view(t, above=False)
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.LIMIT, "0.001", str(first))
        qtbot.mouseClick(ticket.send_button, Qt.MouseButton.LeftButton)
        await t.until(desk.confirmation.isVisible, "the confirmation of the new order")
        qtbot.keyClick(desk.confirmation, Qt.Key.Key_Return)
        await until_sent(t, ticket)
        (old,) = broker.open_orders()
        await t.until(lambda: t.chart.order_lines.drawn == 1, "the order's line in view")

        # up, halfway to the best bid: a higher buy, still below the market
        target = (float(first) + (t.session.book.best_bid or 0)) / 2
        _start, end = await drag(t, float(first), point_at(t, target) - point_at(t, float(first)))
        wanted = floor_to_step(to_decimal(price_at(t, end)), TICK)
        assert ticket.replacing is not None and ticket.replacing.client_order_id == old.client_order_id
        dropped = Decimal(ticket.price.text())
        assert abs(dropped - wanted) <= TICK and dropped > first  # on the tick, where it was dropped
        await t.until(desk.confirmation.isVisible, "the same confirmation as the ticket's")
        assert "Replace" in desk.confirmation.body.text() or "replace" in desk.confirmation.body.text()
        assert broker.open_orders()[0].client_order_id == old.client_order_id  # nothing before the yes
        qtbot.keyClick(desk.confirmation, Qt.Key.Key_Return)
        await until_sent(t, ticket)

        (new,) = broker.open_orders()
        assert new.client_order_id != old.client_order_id and new.price == dropped
        replaced = next(o for o in broker.orders() if o.client_order_id == old.client_order_id)
        assert replaced.status is OrderStatus.CANCELLED
        await t.until(lambda: t.chart.order_lines.prices() == [float(new.price or 0)], "the line moved")


async def test_a_drag_away_from_the_lines_pans_the_chart_and_amends_nothing(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, broker, desk):
        ticket = desk.ticket
        price = in_view(t, above=False)
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.LIMIT, "0.001", str(price))
        qtbot.mouseClick(ticket.send_button, Qt.MouseButton.LeftButton)
        await t.until(desk.confirmation.isVisible, "the confirmation")
        qtbot.keyClick(desk.confirmation, Qt.Key.Key_Return)
        await until_sent(t, ticket)
        box = t.chart.price_plot.getViewBox()
        await t.until(lambda: t.chart.order_lines.drawn == 1, "the order's line in view")
        (x_before, _) = box.viewRange()

        # well away from the line: above the market (halfway between the bid and the line was
        # within the line's grab distance when the bid sat near the bottom of the view)
        away = float(in_view(t, above=True))
        gap_px = abs(point_at(t, away).y() - point_at(t, float(price)).y())
        assert gap_px > 3 * GRAB_PX, f"the press {gap_px} px from the line would take hold of it"
        await drag(t, away, QPoint(80, 0))
        (x_after, _) = box.viewRange()
        assert x_after[0] < x_before[0]  # dragged right: the chart shows earlier candles
        assert ticket.replacing is None and not desk.confirmation.isVisible()
        # the simulated market may fill the order meanwhile (the bid can sit near the view's
        # bottom, so the order near it): whether open or filled, it is the one order, unamended
        (only,) = broker.orders()
        assert only.price == price and only.status is not OrderStatus.CANCELLED
