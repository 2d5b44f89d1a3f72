"""The watchlist follows the chart: however a symbol is opened (a click, the
keyboard, the palette), its row alone is bold and selected."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from terminal.config import DEFAULT_WATCHLIST
from terminal.ui.market.watchlist import WatchlistModel, WatchlistView
from tests.ui.harness import Launch


def bold_rows(model: WatchlistModel) -> list[str]:
    rows = []
    for row, symbol in enumerate(model.symbols):
        font = model.data(model.index(row, 0), Qt.ItemDataRole.FontRole)
        if font is not None and font.bold():
            rows.append(symbol)
    return rows


def selected_rows(view: WatchlistView, model: WatchlistModel) -> list[str]:
    return [model.symbols[i.row()] for i in view.selectionModel().selectedRows()]


async def test_the_chart_symbol_is_the_one_bold_and_selected_row_however_it_was_opened(
    launch: Launch, qtbot: QtBot
) -> None:
    async with launch() as t:
        view, model = t.window.watchlist, t.window.watchlist_model
        await t.until(lambda: model.rowCount() == len(DEFAULT_WATCHLIST), "the watchlist to fill")
        await t.until(lambda: bold_rows(model) == ["BTC/USDT"], "BTC/USDT in bold")
        assert selected_rows(view, model) == ["BTC/USDT"]

        # A click on ETH, then Alt+Down (the next symbol): the highlight follows the chart.
        row = model.symbols.index("ETH/USDT")
        qtbot.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(model.index(row, 0)).center()
        )
        await t.until(lambda: t.chart.symbol == "ETH/USDT", "the chart on ETH/USDT")
        await t.activate()
        qtbot.keyClick(t.focus(), Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
        following = model.symbols[row + 1]
        await t.until(lambda: t.chart.symbol == following, f"the chart on {following}")
        await t.until(lambda: bold_rows(model) == [following], f"{following} alone in bold")
        assert selected_rows(view, model) == [following]

        # From the palette's way (open_symbol), as Ctrl+K does.
        t.window.open_symbol("XRP/USDT")
        await t.until(lambda: bold_rows(model) == ["XRP/USDT"], "XRP/USDT alone in bold")
        assert selected_rows(view, model) == ["XRP/USDT"]
