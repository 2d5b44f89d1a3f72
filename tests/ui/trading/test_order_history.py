"""The order history tab: closed orders (filled, cancelled, rejected) newest
first, a filter, and an export to CSV read back. The orders are a real paper
account's (a rejection needs the book to move between the check and the
placing, which a test can only arrange on the account itself); a window
trading on paper shows its broker's closed orders in the tab."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from terminal.paths import AppPaths
from terminal.trading.money import fmt_price
from terminal.trading.orders import Order, OrderIntent, OrderSide, OrderStatus, OrderType
from terminal.trading.paper.account import PaperAccount
from terminal.ui.theme import DARK
from terminal.ui.trading.order_history import CSV_HEADER, OrderHistoryPanel
from tests.conftest import run
from tests.trading.trading_fixtures import BUY, LIMIT, MARKET, T0, account, book, ticket
from tests.ui.harness import Launch
from tests.ui.trading.trading_helpers import TICK, bid_below, trading

MKT = {
    "symbol": "BTC/USDT",
    "base": "BTC",
    "quote": "USDT",
    "spot": True,
    "active": True,
    "maker": 0.001,
    "taker": 0.002,
    "precision": {"price": 1.0, "amount": 0.01},
    "limits": {"amount": {"min": 0.01}, "price": {"min": 1.0}, "cost": {}},
}
ETH = dict(MKT, symbol="ETH/USDT", base="ETH")
BIDS, ASKS = [(99, 1), (98, 1)], [(100, 1), (101, 1)]


def three_closed_orders() -> tuple[PaperAccount, dict[str, Order]]:
    """A filled market buy (T0), a cancelled ETH limit (T0+2), a rejected post-only buy (T0+3);
    and one still open, which the history leaves to the Orders tab."""
    acct = account()
    the_book = book(BIDS, ASKS)
    filled = acct.place(ticket(acct, MKT, the_book, BUY, MARKET, "0.5"), the_book, T0)
    eth_book = book(BIDS, ASKS, symbol="ETH/USDT")
    resting = acct.place(ticket(acct, ETH, eth_book, BUY, LIMIT, "1", price="90"), eth_book, T0 + 1)
    cancelled = acct.cancel(resting.client_order_id, T0 + 2)
    post_only = ticket(acct, MKT, the_book, BUY, LIMIT, "1", price="99", post_only=True)
    rejected = acct.place(post_only, book([(98, 1)], [(99, 1)]), T0 + 3)  # the ask came down to it
    acct.place(ticket(acct, MKT, the_book, BUY, LIMIT, "1", price="95"), the_book, T0 + 4)
    assert (filled.status, cancelled.status, rejected.status) == (
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.REJECTED,
    )
    return acct, {"filled": filled, "cancelled": cancelled, "rejected": rejected}


def column(panel: OrderHistoryPanel, name: str) -> list[str]:
    c = panel.model.headers.index(name)
    return [panel.model.cell(r, c) for r in range(panel.model.row_total())]


def test_closed_orders_newest_first_with_a_filter(qtbot: QtBot) -> None:
    acct, orders = three_closed_orders()
    panel = OrderHistoryPanel(DARK)
    qtbot.addWidget(panel)
    panel.set_orders(acct.orders(), {"BTC/USDT": MKT, "ETH/USDT": ETH})

    assert column(panel, "Status") == ["rejected", "cancelled", "filled"]  # newest first, no open one
    assert column(panel, "Symbol") == ["BTC/USDT", "ETH/USDT", "BTC/USDT"]
    assert column(panel, "Filled")[2] == "0.50"  # to the market's step
    assert column(panel, "Price")[1] == "90"
    assert "Post-only" in column(panel, "Reason")[0]
    assert panel.count.text() == "3 orders"

    qtbot.keyClicks(panel.filter, "btc")
    assert column(panel, "Status") == ["rejected", "filled"]
    assert panel.count.text() == "2 of 3"
    panel.filter.clear()
    qtbot.keyClicks(panel.filter, "Cancel")
    assert [o.client_order_id for o in panel.shown()] == [orders["cancelled"].client_order_id]
    panel.filter.setText("eth filled")  # every word must match
    assert panel.model.row_total() == 0 and not panel.export_button.isEnabled()


def test_export_writes_the_orders_shown_to_a_csv_file(qtbot: QtBot, tmp_path: Path) -> None:
    acct, orders = three_closed_orders()
    panel = OrderHistoryPanel(DARK)
    qtbot.addWidget(panel)
    panel.set_orders(acct.orders())
    said: list[tuple[str, bool]] = []
    path = tmp_path / "history.csv"

    run(lambda: panel.export(str(path), lambda text, bad: said.append((text, bad))))
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_HEADER
    assert [r["status"] for r in rows] == ["rejected", "cancelled", "filled"]
    filled = orders["filled"]
    assert rows[2]["client_order_id"] == filled.client_order_id
    assert Decimal(rows[2]["filled"]) == filled.filled and Decimal(rows[2]["fee"]) == filled.fee  # exact
    assert rows[2]["closed_utc"].endswith("Z")
    assert said == [(f"Exported 3 orders to {path}.", False)] and panel.note.text() == said[0][0]

    panel.filter.setText("rejected")
    run(lambda: panel.export(str(path)))
    with path.open(encoding="utf-8", newline="") as f:
        assert [r["status"] for r in csv.DictReader(f)] == ["rejected"]  # what the filter shows

    run(lambda: panel.export(str(tmp_path / "no-such-folder" / "history.csv")))
    assert panel.note.text().startswith("The order history was not exported")


async def test_the_window_lists_its_broker_s_closed_orders_in_the_history_tab(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, broker, desk):
        await t.started()
        await broker.submit(OrderIntent("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("0.01")))
        price = bid_below(t, "0.01")
        resting = await broker.submit(
            OrderIntent("BTC/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal("0.01"), price=price)
        )
        history = desk.history
        t.window.trading_docks["history"].raise_()  # read while on screen
        await t.until(lambda: history.model.row_total() == 1, "the filled order in the history")
        t.window.trading_docks["orders"].raise_()  # the history behind another tab meanwhile
        await broker.cancel(resting.client_order_id)
        await t.until(lambda: desk.orders.model.row_total() == 0, "the order gone from the Orders tab")
        t.window.trading_docks["history"].raise_()
        await t.until(lambda: history.model.row_total() == 2, "the cancelled one in the history once shown")
        assert column(history, "Status") == ["cancelled", "filled"]
        assert column(history, "Price")[0] == fmt_price(price, TICK)  # as every panel writes a price
        dock = t.window.trading_docks["history"]
        assert t.window.tabifiedDockWidgets(dock), "the history is a tab beside the other panels"
