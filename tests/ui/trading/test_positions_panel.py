"""The positions panel in a window trading on paper: at 1280×800 with the
default layout every column of positions and balances shows without
scrolling; a position is flattened whatever the chart shows; numbers are
written to the market's precision; the summary line sums the account up."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication, QTableView

from terminal.paths import AppPaths
from terminal.trading.orders import OrderIntent, OrderSide, OrderType
from terminal.trading.paper.broker import PaperBroker
from terminal.ui.trading.desk import TradingDesk
from tests.ui.harness import Launch, Terminal
from tests.ui.trading.trading_helpers import trading

CONFIRM_OFF = "[trading]\nconfirm_orders = false\n"
DEFAULT_SIZE = QSize(1280, 800)


async def two_positions(t: Terminal, broker: PaperBroker, desk: TradingDesk) -> None:
    """BTC (on the chart) and ETH (not on it), bought at market."""
    await t.started()
    await broker.submit(OrderIntent("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("0.01")))
    await broker.submit(OrderIntent("ETH/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("0.5")))
    await t.until(lambda: desk.positions.positions.row_total() == 2, "the two positions")


async def default_layout_at(t: Terminal, size: QSize) -> None:
    """The window at ``size`` with the layout a first start at that size gets."""
    window = t.window
    window.resize(size)
    await t.until(lambda: window.size() == size, f"the window at {size.toTuple()}")
    window.dock_layout.arrange()
    window.trading_docks["positions"].raise_()
    QApplication.sendPostedEvents()
    layout = window.layout()
    assert layout is not None
    layout.activate()
    QApplication.sendPostedEvents()


def check_columns_fit(view: QTableView, what: str) -> None:
    """Every column holds its title and cells unclipped, and all of them fit the viewport."""
    model, header = view.model(), view.horizontalHeader()
    body, head = view.fontMetrics(), header.fontMetrics()
    for column in range(model.columnCount()):
        title = str(model.headerData(column, Qt.Orientation.Horizontal))
        texts = [body.horizontalAdvance(str(model.index(r, column).data())) for r in range(model.rowCount())]
        needed = max([head.horizontalAdvance(title), *texts]) + 8  # the header's and the cell's margins
        assert header.sectionSize(column) >= needed, f"{what}: {title!r} is clipped"
    widths = sum(header.sectionSize(c) for c in range(model.columnCount()))
    assert widths <= view.viewport().width(), f"{what}: {widths} px of columns in {view.viewport().width()}"
    assert not view.horizontalScrollBar().isVisible(), f"{what} scrolls sideways"


async def test_every_column_fits_at_1280x800_with_the_default_layout(
    launch: Launch, app_paths: AppPaths
) -> None:
    async with trading(launch, app_paths) as (t, broker, desk):
        await two_positions(t, broker, desk)
        await default_layout_at(t, DEFAULT_SIZE)
        assert t.window.size() == DEFAULT_SIZE  # nothing in the panel widened the window
        panel = desk.positions
        assert panel.isVisible()
        check_columns_fit(panel.positions_view, "positions")
        check_columns_fit(panel.balances_view, "balances")
        headers = panel.positions.headers
        assert "Unrealised" in headers and "Realised" in headers
        assert "fees not included" in panel.positions.headerData(
            headers.index("Avg entry"), Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
        )
        summary = panel.summary
        for label in (summary.equity, summary.free, summary.day, summary.since):
            assert label.width() >= label.sizeHint().width(), f"{label.text()!r} is cut"


async def test_numbers_are_written_to_the_market_precision(launch: Launch, app_paths: AppPaths) -> None:
    async with trading(launch, app_paths) as (t, broker, desk):
        await two_positions(t, broker, desk)
        model = desk.positions.positions
        row = model.row_of("ETH/USDT")
        cells = dict(zip(model.headers, (model.cell(row, c) for c in range(len(model.headers))), strict=True))
        step = Decimal(repr(t.session.markets["ETH/USDT"]["precision"]["amount"]))  # 0.0001 or so
        assert cells["Amount"] == f"{Decimal('0.5').quantize(step):f}"  # "0.5000": the step's decimals
        fill_prices = {f.price for f in broker.fills("ETH/USDT")}
        position = broker.positions()["ETH/USDT"]
        assert position.average_entry is not None
        assert min(fill_prices) <= position.average_entry <= max(fill_prices)  # no fee in it
        assert position.fees == sum(f.fee for f in broker.fills("ETH/USDT"))
        balances = desk.positions.balances
        usdt = balances.cell(balances.row_of("USDT"), balances.headers.index("Total"))
        assert usdt.endswith(tuple(f".{d:02d}" for d in range(100)))  # to the cent, not "9,265.000735"


async def test_flatten_sells_a_position_whose_symbol_is_not_on_the_chart(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, broker, desk):
        await two_positions(t, broker, desk)
        assert t.session.symbol == "BTC/USDT"
        panel = desk.positions
        t.window.trading_docks["positions"].raise_()
        panel.positions_view.selectRow(panel.positions.row_of("ETH/USDT"))
        qtbot.mouseClick(panel.flatten_button, Qt.MouseButton.LeftButton)
        await t.until(desk.confirmation.isVisible, "the confirmation (on by default)")
        assert "Sell 0.5 ETH at market" in desk.confirmation.body.text()
        qtbot.keyClick(desk.confirmation, Qt.Key.Key_Return)

        await t.until(lambda: broker.positions()["ETH/USDT"].amount == 0, "the ETH position sold")
        flatten = broker.orders()[0]
        assert (flatten.symbol, flatten.side, flatten.type) == ("ETH/USDT", OrderSide.SELL, OrderType.MARKET)
        assert flatten.reduce_only and flatten.filled == Decimal("0.5")
        assert broker.positions()["BTC/USDT"].amount == Decimal("0.01")  # the chart's own is untouched
        assert t.session.symbol == "BTC/USDT"  # and the chart stayed where it was
