"""The market picker (Ctrl+O) and switching the window to another exchange.

The other exchange is a real ccxt class (Binance) pointed at 127.0.0.1:9,
where nothing listens: what the user sees when an exchange cannot be reached,
and proof that a switch closes the old market cleanly, with no network.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from terminal.config import SIMULATED
from terminal.market.health import FeedState
from terminal.market.session import MarketSession
from terminal.market.simulator import SimulatedExchange
from terminal.paths import AppPaths
from terminal.ui.market.picker import MarketPicker
from tests.ui.harness import DEAD_ACCOUNT, Launch, Terminal

CTRL = Qt.KeyboardModifier.ControlModifier


async def open_picker(t: Terminal) -> MarketPicker:
    picker = t.window.open_market_picker()
    await t.until(lambda: not picker.loading, "the picker's markets")
    return picker


def choose_exchange(picker: MarketPicker, name: str) -> None:
    picker.exchange.setCurrentIndex(picker.exchange.findData(name))


def shown_problems(t: Terminal) -> str:
    """What the window says about its market: the notice, the status bar, the note on the chart."""
    window = t.window
    notice = window.notice.label.text() if window.notice.isVisible() else ""
    note = t.chart.feed_note.text() if t.chart.feed_note.isVisible() else ""
    return "\n".join((notice, window.status.state.text(), note))


def session_tasks(session: MarketSession) -> list[asyncio.Task[None]]:
    return list(session._tasks)


async def test_ctrl_o_opens_the_picker_from_the_menu_the_palette_and_the_keyboard(
    launch: Launch, qtbot: QtBot
) -> None:
    async with launch() as t:
        file_menu = t.window.menuBar().actions()[0].menu()
        titles = [a.text() for a in file_menu.actions()]
        assert "Open market…" in titles and "Accounts and keys…" in titles
        labels = [entry.label for entry in t.window.palette_entries()]
        assert "Open market…" in labels and "Accounts and keys…" in labels

        await t.activate()
        qtbot.keyClick(t.focus(), Qt.Key.Key_O, CTRL)
        await t.until(lambda: t.window.findChild(MarketPicker) is not None, "the picker to open")
        picker = t.window.findChild(MarketPicker)
        assert isinstance(picker, MarketPicker) and picker.isVisible()
        assert picker.exchange_name == SIMULATED
        picker.reject()
        await picker.shutdown()


async def test_typing_filters_by_symbol_base_and_quote_and_the_type_filter_applies(
    launch: Launch, qtbot: QtBot
) -> None:
    async with launch() as t:
        picker = await open_picker(t)
        # The markets on screen come from the running session: no second load.
        assert sorted(picker.visible_symbols()) == sorted(t.session.markets)
        assert "5 of 5 markets" in picker.status.text()
        selected = picker.table.selectionModel().selectedRows()
        assert [i.data() for i in selected] == ["BTC/USDT"]  # the market on screen: Enter keeps it
        picker.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # a click on the Symbol header
        assert picker.visible_symbols() == sorted(t.session.markets, reverse=True)

        qtbot.keyClicks(picker.search, "eth")
        assert picker.visible_symbols() == ["ETH/USDT"]
        picker.search.clear()
        qtbot.keyClicks(picker.search, "USDT")  # the quote: all of them
        assert len(picker.visible_symbols()) == 5
        picker.search.clear()
        qtbot.keyClicks(picker.search, "sol")
        assert picker.visible_symbols() == ["SOL/USDT"]

        picker.type_filter.setCurrentIndex(picker.type_filter.findData("swap"))
        assert picker.visible_symbols() == []  # the simulator lists spot markets only
        assert "0 of 5 markets" in picker.status.text()
        picker.type_filter.setCurrentIndex(picker.type_filter.findData("spot"))
        assert picker.visible_symbols() == ["SOL/USDT"]
        picker.reject()
        await picker.shutdown()


async def test_enter_opens_the_market_on_the_chart(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        session = t.window.session
        picker = await open_picker(t)
        qtbot.keyClicks(picker.search, "eth")
        qtbot.keyClick(picker.search, Qt.Key.Key_Return)
        assert not picker.isVisible()
        await t.until(
            lambda: (
                t.chart.symbol == "ETH/USDT" and t.chart.series is session.candles and len(session.candles)
            ),
            "ETH/USDT's chart",
        )
        assert t.window.session is session  # the same exchange: the same session, a new symbol
        assert t.window.book_view.canvas.book is session.book
        await picker.shutdown()


async def test_an_exchange_that_cannot_be_reached_is_reported_in_plain_words(
    launch: Launch, app_paths: AppPaths, qtbot: QtBot
) -> None:
    app_paths.config_file.write_text(DEAD_ACCOUNT, encoding="utf-8")
    async with launch() as t:
        picker = await open_picker(t)
        choose_exchange(picker, "dead")
        assert picker.loading and "Loading the markets of account 'dead'" in picker.status.text()
        await t.until(lambda: not picker.loading, "the load to fail")
        text = picker.status.text()
        assert "Could not load the markets of account 'dead'" in text
        assert "Binance cannot be reached" in text and "Check the account's addresses" in text
        assert "Traceback" not in text and "ExchangeNotAvailable" not in text  # plain words on screen
        assert "127.0.0.1:9" in picker.status.toolTip()  # the technical detail, for who wants it
        assert picker.retry_button.isVisible()
        assert picker.visible_symbols() == []

        qtbot.mouseClick(picker.retry_button, Qt.MouseButton.LeftButton)
        assert picker.loading
        picker.reject()  # closing cancels the load
        await picker.shutdown()
        assert not picker.loading
        assert t.window.session.source is t.exchange  # the market on screen never changed


async def test_switching_exchanges_closes_the_old_session_cleanly_and_rebinds_the_window(
    launch: Launch, app_paths: AppPaths, qtbot: QtBot
) -> None:
    app_paths.config_file.write_text(DEAD_ACCOUNT, encoding="utf-8")
    async with launch() as t:
        t.settings.simulator.history_days = 10  # the simulator the switch back makes: a quick start
        first = t.window.session
        first_tasks = session_tasks(first)
        assert first_tasks  # watch loops and tickers running

        await t.window.switch_market("dead", "BTC/USDT")
        assert t.window.session is not first
        assert all(task.done() for task in first_tasks)
        assert first.health.state is FeedState.STOPPED
        assert isinstance(first.source, SimulatedExchange) and first.source._closed
        assert t.window.exchange == "dead"
        # The new market cannot start (nothing listens): the user is told, in plain words.
        await t.until(
            lambda: "Binance cannot be reached" in shown_problems(t), "word that Binance is unreachable"
        )
        assert "Traceback" not in shown_problems(t)
        assert t.window.book_view.canvas.book is t.window.session.book
        assert t.window.status.health is t.window.session.health
        assert len(t.chart.series) == 0  # nothing from the old exchange is left on the chart

        # Back to the simulated exchange through the picker.
        dead = t.window.session
        picker = await open_picker(t)
        assert picker.exchange_name == "dead" and "Could not load" in picker.status.text()
        choose_exchange(picker, SIMULATED)
        await t.until(lambda: not picker.loading and picker.visible_symbols(), "the simulator's markets")
        qtbot.keyClicks(picker.search, "sol")
        qtbot.keyClick(picker.search, Qt.Key.Key_Return)
        await t.until(
            lambda: (
                t.chart.series is t.window.session.candles
                and len(t.chart.series)
                and t.chart.symbol == "SOL/USDT"
            ),
            "SOL/USDT's candles from a new simulated market on the chart",
        )
        await t.until(lambda: len(t.window.tape_view.visible_rows()) > 0, "trades on the tape")
        current = t.window.session
        assert current is not dead and isinstance(current.source, SimulatedExchange)
        assert current.source is not t.exchange
        assert not session_tasks(dead) and dead.health.state is FeedState.STOPPED
        assert t.window.exchange == SIMULATED
        assert t.window.watchlist_model.symbols == t.settings.watchlist
        assert "Simulated · SOL/USDT" in t.window.status.market.text()
        await picker.shutdown()
    # Leaving `launch` closed the window: the harness found no task still running.
