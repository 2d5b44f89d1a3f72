"""Trading from the window, as a trader does it: a real window on the
simulated market, a real PaperBroker on its session (the paper account fills
against the live book and tape), the ticket, the quick ticket, the keyboard,
the panels, and the orders drawn on the chart and marked in the book.

Async tests on the one qasync loop (see conftest): waits are ``t.until``,
never ``qtbot.wait*`` or a modal ``exec()``; the confirmation and the quick
ticket are non-modal and answered with the keys or buttons a user would use.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication

from terminal.market.session import MarketSession
from terminal.paths import AppPaths
from terminal.trading.money import floor_to_step, fmt, to_decimal
from terminal.trading.orders import OrderIntent, OrderSide, OrderStatus, OrderType
from terminal.trading.paper.broker import PaperBroker
from terminal.trading.risk import RiskLimits
from terminal.ui.theme import DARK
from terminal.ui.trading.hotkeys import OFF_MARK
from terminal.ui.window.help_sheet import ShortcutSheet
from tests.ui.harness import Launch, Terminal, image_array, rgb, scene_rect_in
from tests.ui.trading.trading_helpers import TICK, OneAccount, bid_below, fill_in, trading, until_sent

ALT = Qt.KeyboardModifier.AltModifier
CTRL = Qt.KeyboardModifier.ControlModifier
CONFIRM_OFF = "[trading]\nconfirm_orders = false\n"


def panel_column(model: Any, column: str) -> list[str]:
    c = model.headers.index(column)
    return [model.cell(r, c) for r in range(model.row_total())]


# -- the ticket ----------------------------------------------------------------------------


async def test_a_market_buy_from_the_ticket_fills_and_moves_balance_and_position(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, broker, desk):
        ticket = desk.ticket
        assert ticket.bound and "BTC/USDT" in ticket.title.text() and "paper" in ticket.title.text()
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.MARKET, "0.01")
        await t.until(ticket.send_button.isEnabled, "Send to allow the order")
        assert "USDT" in ticket.estimate.text() and "fee" in ticket.estimate.text()

        qtbot.mouseClick(ticket.send_button, Qt.MouseButton.LeftButton)
        confirmation = desk.confirmation
        await t.until(confirmation.isVisible, "the confirmation (on by default)")
        shown = confirmation.body.text()
        assert "Buy 0.01 BTC at market" in shown and "fee" in shown and "paper · simulated" in shown
        assert not broker.fills()  # nothing left before the user said yes
        qtbot.keyClick(confirmation, Qt.Key.Key_Return)

        await until_sent(t, ticket)
        assert ticket.message.text().startswith("Bought 0.01 BTC at "), ticket.message.text()
        # one fill per ask level the order took (a thin best ask makes two)
        fills = len(broker.fills())
        assert fills >= 1
        await t.until(lambda: desk.fills.model.row_total() == fills, "the fills in the fills panel")
        assert panel_column(desk.fills.model, "Side") == ["buy"] * fills
        assert sum(Decimal(a) for a in panel_column(desk.fills.model, "Amount")) == Decimal("0.01")
        await t.until(lambda: desk.positions.positions.row_total() == 1, "the position")
        assert panel_column(desk.positions.positions, "Amount") == ["0.01000"]  # to BTC's step
        balances = dict(
            zip(*(panel_column(desk.positions.balances, c) for c in ("Asset", "Total")), strict=True)
        )
        assert balances["BTC"] == "0.01000"
        usdt = Decimal(balances["USDT"].replace(",", ""))
        cost = broker.fills()[0].cost
        spent = Decimal(10_000) - cost - broker.fills()[0].fee  # the fill's cost and fee
        assert usdt == spent.quantize(Decimal("0.01"))  # to the cent
        await t.until(lambda: desk.positions.summary.figures is not None, "the account summary")
        assert desk.positions.summary.equity.text().startswith("Equity ")


async def test_the_ticket_refuses_an_amount_below_the_minimum_on_the_field(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, _broker, desk):
        ticket = desk.ticket
        price = fmt(bid_below(t, "0.003")).replace(",", "")
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.LIMIT, "0.00001", price)
        # one amount step is allowed, but 0.00001 BTC is worth ~0.6 USDT: under the 5 USDT minimum order
        problem = ticket.errors.text("amount")
        assert "5" in problem and "USDT" in problem, problem
        assert not ticket.send_button.isEnabled()

        ticket.amount.clear()
        qtbot.keyClicks(ticket.amount, "0.000001")  # less than one step
        assert "step" in ticket.errors.text("amount")
        assert not ticket.send_button.isEnabled()
        qtbot.keyClick(ticket.amount, Qt.Key.Key_Return)  # Enter does not get round it
        assert not ticket.sending and not desk.confirmation.isVisible()

        ticket.amount.clear()
        qtbot.keyClicks(ticket.amount, "0.001")
        assert ticket.errors.text("amount") == ""
        assert ticket.send_button.isEnabled()


async def test_double_clicking_a_position_opens_its_chart(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths, config=CONFIRM_OFF) as (t, broker, desk):
        await broker.submit(OrderIntent("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("0.01")))
        view, model = desk.positions.positions_view, desk.positions.positions
        await t.until(lambda: model.row_total() == 1, "the BTC position")
        t.window.open_symbol("ETH/USDT")
        await t.until(lambda: t.chart.symbol == "ETH/USDT", "the chart on ETH/USDT")

        t.window.trading_docks["positions"].raise_()
        centre = view.visualRect(model.index(model.row_of("BTC/USDT"), 0)).center()
        qtbot.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, pos=centre
        )  # a double-click's first press
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
        await t.until(lambda: t.chart.symbol == "BTC/USDT", "the chart back on BTC/USDT")


async def test_post_only_is_off_and_unticked_on_a_market_order(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, _broker, desk):
        ticket = desk.ticket
        price = fmt(bid_below(t, "0.003")).replace(",", "")
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.LIMIT, "0.001", price)
        ticket.post_only.setChecked(True)
        assert ticket.post_only.isEnabled() and ticket.send_button.isEnabled()

        ticket.set_type(OrderType.MARKET)  # a market order always takes: post-only cannot apply
        assert not ticket.post_only.isEnabled() and not ticket.post_only.isChecked()
        assert ticket.send_button.isEnabled()


async def test_a_risk_block_is_said_on_the_ticket_with_its_rule(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    limits = RiskLimits(max_order_notional=Decimal(100))
    async with trading(launch, app_paths, config=CONFIRM_OFF, limits=limits) as (t, broker, desk):
        ticket = desk.ticket
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.MARKET, "0.01")  # ~640 USDT
        await t.until(ticket.send_button.isEnabled, "Send to allow the order (the market's rules pass)")
        qtbot.keyClick(ticket.amount, Qt.Key.Key_Return)
        await until_sent(t, ticket)
        text = ticket.message.text()
        assert "max_order_notional" in text and "largest order" in text and "100" in text, text
        assert "Traceback" not in text
        assert not broker.orders() and not broker.fills()
        assert ticket.send_button.isEnabled()  # ready to be fixed and sent again


async def test_a_limit_order_shows_in_orders_on_the_chart_and_in_the_book_and_cancel_removes_them(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths, config=CONFIRM_OFF) as (t, broker, desk):
        window, ticket = t.window, desk.ticket
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.MARKET, "0.002")  # some BTC, should a sell fit better
        qtbot.keyClick(ticket.amount, Qt.Key.Key_Return)
        await until_sent(t, ticket)
        book = window.book_view
        book.grouping.setCurrentIndex(3)  # 100 USDT a row: the order's level is on screen
        side, price = far_price_in_view(t)
        fill_in(qtbot, ticket, side, OrderType.LIMIT, "0.001", str(price))
        qtbot.mouseClick(ticket.send_button, Qt.MouseButton.LeftButton)
        await until_sent(t, ticket)
        assert "rests in the book" in ticket.message.text(), ticket.message.text()
        (order,) = broker.open_orders()

        await t.until(lambda: desk.orders.model.row_total() == 1, "the order in the orders panel")
        assert panel_column(desk.orders.model, "Price") == [fmt(price)]
        assert panel_column(desk.orders.model, "Id") == [order.client_order_id]
        lines = t.chart.order_lines
        label = f"{side.value.upper()} 0.001 @ {fmt(price)}"
        assert lines.prices() == [float(price)] and lines.lines[0].label == label
        colour = DARK.up if side is OrderSide.BUY else DARK.down
        assert line_on_screen(t, float(price), colour) > 0.8  # a line across the price pane at its price
        assert lines.drawn == 1
        book.canvas.repaint()
        ladder_side = "bids" if side is OrderSide.BUY else "asks"
        group = float((np.floor if side is OrderSide.BUY else np.ceil)(float(price) / 100) * 100)
        assert [(s, p) for s, p, _exact in book.canvas.own_marks] == [(ladder_side, group)]

        desk.orders.select(order.client_order_id)
        desk.orders.view.setFocus()
        qtbot.keyClick(desk.orders.view, Qt.Key.Key_Delete)
        await t.until(lambda: desk.orders.model.row_total() == 0, "the order gone from the panel")
        assert broker.orders()[0].status is OrderStatus.CANCELLED
        assert lines.prices() == []
        assert line_on_screen(t, float(price), colour) < 0.2
        book.canvas.repaint()
        assert book.canvas.own_marks == []


def far_price_in_view(t: Terminal) -> tuple[OrderSide, Decimal]:
    """A resting order's side and price inside the chart's price range and the
    book's depth, and far from the market: a buy halfway between the best bid
    and the lower of those edges, or a sell halfway up, whichever side has more
    room (the market will not trade there during a test; the chart shows its
    line and the ladder its level)."""
    (_x, (low, high)) = t.chart.price_plot.getViewBox().viewRange()
    book = t.session.book
    bid, ask = book.best_bid or 0.0, book.best_ask or 0.0
    low, high = max(low, float(book.bid_price[-1])), min(high, float(book.ask_price[-1]))
    if bid - low >= high - ask:
        return OrderSide.BUY, floor_to_step(to_decimal((bid + low) / 2), TICK)
    return OrderSide.SELL, floor_to_step(to_decimal((ask + high) / 2), TICK)


def line_on_screen(t: Terminal, price: float, colour: str) -> float:
    """The share of the price pane's width painted in ``colour`` on the pixel rows at ``price``."""
    chart = t.chart
    pixels = image_array(chart.grab().toImage())
    pane = scene_rect_in(chart, chart.price_plot.getViewBox())
    scene = chart.price_plot.getViewBox().mapViewToScene(QPointF(0.0, price))
    row = chart.glw.viewport().mapTo(chart, chart.glw.mapFromScene(scene)).y()
    band = pixels[row - 1 : row + 2, pane.left() : pane.right()]
    return float((band == rgb(colour)).any(axis=0).mean())


async def test_amend_cancels_and_replaces_the_order_at_the_new_price(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths, config=CONFIRM_OFF) as (t, broker, desk):
        ticket = desk.ticket
        first = bid_below(t, "0.004")
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.LIMIT, "0.001", str(first))
        qtbot.keyClick(ticket.price, Qt.Key.Key_Return)
        await t.until(lambda: desk.orders.model.row_total() == 1, "the first order")
        (old,) = broker.open_orders()

        desk.orders.select(old.client_order_id)
        qtbot.mouseClick(desk.orders.amend_button, Qt.MouseButton.LeftButton)
        assert ticket.replacing is not None and ticket.replacing.client_order_id == old.client_order_id
        assert ticket.send_button.text() == "Replace order"
        assert Decimal(ticket.price.text()) == first and ticket.amount.text() == "0.001"
        second = first - 50 * TICK
        ticket.price.clear()
        qtbot.keyClicks(ticket.price, str(second))
        qtbot.keyClick(ticket.price, Qt.Key.Key_Return)
        await until_sent(t, ticket)

        (new,) = broker.open_orders()
        assert new.client_order_id != old.client_order_id and new.price == second
        replaced = next(o for o in broker.orders() if o.client_order_id == old.client_order_id)
        assert replaced.status is OrderStatus.CANCELLED and new.client_order_id in replaced.reason
        assert ticket.replacing is None and ticket.send_button.text() == "Buy BTC"
        await t.until(
            lambda: panel_column(desk.orders.model, "Price") == [fmt(second)], "the new price listed"
        )
        assert t.chart.order_lines.prices() == [float(second)]


async def test_a_price_clicked_on_the_book_or_ctrl_clicked_on_the_chart_fills_the_ticket(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, _broker, desk):
        ticket, canvas = desk.ticket, t.window.book_view.canvas
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.MARKET, "0.01")
        canvas.repaint()
        rh, depth = canvas.row_height(), canvas.rows_per_side()
        _asks, bids = canvas.ladder()
        third_bid = rh + depth * rh + rh + 2 * rh + rh // 2  # header, asks, spread row, two bids, half a row
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(canvas.width() // 2, third_bid))
        assert Decimal(ticket.price.text()) == to_decimal(bids[2].price)
        assert OrderType(ticket.type_box.currentData()) is OrderType.LIMIT  # a market order took a price

        view = t.chart.glw.viewport()
        point = QPoint(view.width() // 2, view.height() // 4)
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, CTRL, pos=point)
        box = t.chart.price_plot.getViewBox()
        expected = box.mapSceneToView(t.chart.glw.mapToScene(point)).y()
        picked = Decimal(ticket.price.text())
        assert abs(float(picked) - expected) <= float(TICK) and picked % TICK == 0

        price_before = ticket.price.text()
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(view.width() // 3, view.height() // 3))
        assert ticket.price.text() == price_before  # a plain click stays a click


# -- the keyboard ---------------------------------------------------------------------------------


async def test_f9_quick_ticket_sends_with_enter_after_the_confirmation(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, broker, desk):
        await t.activate()
        qtbot.keyClick(t.focus(), Qt.Key.Key_F9)
        quick = desk.quick
        assert quick is not None and quick.isVisible()
        await t.until(quick.ticket.amount.hasFocus, "the amount to take the keyboard")
        quick.ticket.set_type(OrderType.MARKET)
        qtbot.keyClicks(quick.ticket.amount, "0.002")
        qtbot.keyClick(quick.ticket.amount, Qt.Key.Key_Return)
        await t.until(desk.confirmation.isVisible, "the confirmation")
        assert "Buy 0.002 BTC at market" in desk.confirmation.body.text()
        qtbot.keyClick(desk.confirmation, Qt.Key.Key_Return)
        await t.until(lambda: not quick.isVisible(), "the quick ticket to close once the order is in")
        (fill,) = broker.fills()
        assert fill.amount == Decimal("0.002") and fill.side is OrderSide.BUY
        await t.until(lambda: desk.fills.model.row_total() == 1, "the fill listed")

        await t.activate()
        qtbot.keyClick(t.focus(), Qt.Key.Key_F9)
        assert quick.isVisible()
        qtbot.keyClick(quick, Qt.Key.Key_Escape)
        assert not quick.isVisible() and len(broker.orders()) == 1


async def test_trading_hotkeys_do_nothing_while_off_and_trade_after_confirmation_when_on(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, broker, desk):
        ticket = desk.ticket
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.LIMIT, "0.003", str(bid_below(t, "0.003")))
        await t.activate()
        qtbot.keyClick(t.focus(), Qt.Key.Key_B, ALT)  # buy at market: off by default
        qtbot.keyClick(t.focus(), Qt.Key.Key_B, ALT | Qt.KeyboardModifier.ShiftModifier)
        assert not desk.confirmation.isVisible() and not broker.orders()
        assert "hotkeys are off" in t.window.statusBar().currentMessage()

        qtbot.keyClick(t.focus(), Qt.Key.Key_F1)  # the sheet says which keys are off
        await t.until(lambda: isinstance(QApplication.activeModalWidget(), ShortcutSheet), "the F1 sheet")
        sheet = QApplication.activeModalWidget()
        assert isinstance(sheet, ShortcutSheet)
        keys = {
            sheet.table.item(r, 1).text(): sheet.table.item(r, 2).text()
            for r in range(sheet.table.rowCount())
        }
        assert keys["Buy at market, the ticket's amount"] == f"Alt+B  {OFF_MARK}"
        assert keys["Cancel all open orders"] == f"Alt+X  {OFF_MARK}"
        assert keys["Quick order ticket (Enter sends, Esc closes)"] == "F9"
        qtbot.keyClick(sheet, Qt.Key.Key_Escape)

        t.settings.trading.hotkeys_enabled = True  # as the config file would have it
        await t.activate()
        qtbot.keyClick(t.focus(), Qt.Key.Key_B, ALT)
        await t.until(desk.confirmation.isVisible, "the confirmation (confirm_orders is on)")
        assert "Buy 0.003 BTC at market" in desk.confirmation.body.text()  # the ticket's amount, at market
        qtbot.keyClick(desk.confirmation, Qt.Key.Key_Return)
        await t.until(lambda: len(broker.fills()) > 0, "the market buy to fill")
        assert sum(f.amount for f in broker.fills()) == Decimal("0.003")

        await t.activate()
        qtbot.keyClick(t.focus(), Qt.Key.Key_B, ALT | Qt.KeyboardModifier.ShiftModifier)  # join the bid
        await t.until(desk.confirmation.isVisible, "the confirmation of the join")
        qtbot.keyClick(desk.confirmation, Qt.Key.Key_Return)
        await t.until(lambda: len(broker.orders()) == 2, "the bid order")
        joined = broker.orders()[0]
        assert joined.type is OrderType.LIMIT and joined.side is OrderSide.BUY

        if joined.is_open:  # the market may already have traded through it
            await t.activate()
            qtbot.keyClick(t.focus(), Qt.Key.Key_X, ALT)  # cancel all, confirmed
            await t.until(desk.confirmation.isVisible, "the cancel-all confirmation")
            qtbot.keyClick(desk.confirmation, Qt.Key.Key_Return)
            await t.until(lambda: not broker.open_orders(), "every order cancelled")


async def test_flatten_sells_the_position_on_screen_with_hotkeys_on_in_the_config(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    config = "[trading]\nconfirm_orders = false\nhotkeys_enabled = true\n"
    async with trading(launch, app_paths, config=config) as (t, broker, desk):
        fill_in(qtbot, desk.ticket, OrderSide.BUY, OrderType.MARKET, "0.002")
        await t.activate()
        qtbot.keyClick(t.focus(), Qt.Key.Key_B, ALT)  # no confirmation asked: the config says so
        await t.until(lambda: broker.positions().get("BTC/USDT") is not None, "a position")
        assert broker.positions()["BTC/USDT"].amount == Decimal("0.002")

        qtbot.keyClick(t.focus(), Qt.Key.Key_F, ALT | Qt.KeyboardModifier.ShiftModifier)
        await t.until(lambda: broker.positions()["BTC/USDT"].amount == 0, "the position sold")
        flatten = broker.orders()[0]
        assert flatten.side is OrderSide.SELL and flatten.type is OrderType.MARKET and flatten.reduce_only
        assert flatten.filled == Decimal("0.002")
        await t.until(lambda: desk.positions.positions.row_total() == 1, "the closed position with its P&L")
        assert panel_column(desk.positions.positions, "Amount") == ["0"]

        qtbot.keyClick(t.focus(), Qt.Key.Key_F, ALT | Qt.KeyboardModifier.ShiftModifier)  # nothing left
        assert "no BTC/USDT position" in t.window.statusBar().currentMessage()
        assert len(broker.orders()) == 2


async def test_reset_paper_account_after_a_confirmation(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths, config=CONFIRM_OFF) as (t, broker, desk):
        ticket = desk.ticket
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.MARKET, "0.01")
        qtbot.keyClick(ticket.amount, Qt.Key.Key_Return)
        await t.until(lambda: desk.positions.positions.row_total() == 1, "a position")
        assert desk.positions.reset_button.isVisible()
        qtbot.mouseClick(desk.positions.reset_button, Qt.MouseButton.LeftButton)
        await t.until(desk.confirmation.isVisible, "the reset confirmation (always asked)")
        assert broker.fills()  # not yet
        qtbot.mouseClick(desk.confirmation.confirm_button, Qt.MouseButton.LeftButton)
        await t.until(lambda: desk.positions.positions.row_total() == 0, "the position gone")
        assert not broker.fills() and desk.fills.model.row_total() == 0
        assert panel_column(desk.positions.balances, "Total") == ["10,000.00"]


async def test_a_market_switch_drops_the_broker_until_the_app_gives_the_new_markets(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths, config=CONFIRM_OFF) as (t, first, desk):
        window = t.window
        brokers = [first]
        attaching: list[asyncio.Task[None]] = []

        class Accounts(OneAccount):  # what terminal.app's PaperBrokers does
            async def close(self) -> None:
                await asyncio.gather(*attaching)
                for broker in brokers:
                    await broker.close()

            def session_changed(self, session: MarketSession) -> None:
                async def attach() -> None:
                    broker = PaperBroker(session, account="simulated")
                    brokers.append(broker)
                    await broker.start()
                    window.set_broker(broker)

                attaching.append(asyncio.get_running_loop().create_task(attach()))

        window.accounts = Accounts(first)
        await window.switch_market("simulated", "ETH/USDT")
        assert len(attaching) == 1
        await t.until(lambda: desk.broker is not None and desk.broker is not first, "the new market's broker")
        await t.until(
            lambda: desk.ticket.bound and desk.ticket.symbol == "ETH/USDT", "the ticket on ETH/USDT"
        )
        assert "ETH/USDT" in desk.ticket.title.text()
        fill_in(qtbot, desk.ticket, OrderSide.BUY, OrderType.MARKET, "0.01")
        await t.until(desk.ticket.send_button.isEnabled, "an ETH order the ticket allows")
        qtbot.keyClick(desk.ticket.amount, Qt.Key.Key_Return)
        await until_sent(t, desk.ticket)
        assert [f.symbol for f in brokers[1].fills()] and not first.orders()


async def test_without_a_broker_the_ticket_says_so_and_sends_nothing(launch: Launch, qtbot: Any) -> None:
    async with launch() as t:
        ticket = t.window.trading.ticket
        assert "No trading account" in ticket.title.text()
        assert not ticket.send_button.isEnabled() and not ticket.amount.isEnabled()
        assert t.window.trading_docks["ticket"].isVisible()
