"""Preferences (Ctrl+,) and the watchlist edited where it is shown (its context
menu, the palette): every change is validated as the config is, written to
config.toml and followed by every window; a refused value is named on its field
and nothing is written."""

from __future__ import annotations

import asyncio

import qasync
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from terminal.config import SIMULATED, ConfigStore
from terminal.logs import LogBuffer
from terminal.market.health import FeedState
from terminal.market.session import MarketSession
from terminal.market.simulator import SimulatedExchange
from terminal.paths import AppPaths
from terminal.ui.preferences.dialog import PreferencesDialog
from terminal.ui.preferences.watchlist_edits import AddSymbolDialog
from terminal.ui.theme import LIGHT
from terminal.ui.window.help_sheet import ShortcutSheet
from terminal.ui.window.main_window import MainWindow
from terminal.ui.window.palette import CommandPalette
from terminal.ui.window.windows import WindowSet
from tests.conftest import wait_until
from tests.ui.harness import Launch, Terminal, read_toml

CTRL = Qt.KeyboardModifier.ControlModifier
#: XRP/USDT left out (to be added); DOGE/USDT is not listed on the simulated exchange
WATCHLIST = ["BTC/USDT", "DOGE/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT"]
CONFIG = f"watchlist = {WATCHLIST!r}\n".replace("'", '"')


def write_config(paths: AppPaths, text: str = CONFIG) -> None:
    paths.config_file.write_text(text, encoding="utf-8")


async def open_preferences(t: Terminal, qtbot: QtBot) -> PreferencesDialog:
    """Ctrl+, in the window, as the user presses it."""
    await t.activate()
    qtbot.keyClick(t.focus(), Qt.Key.Key_Comma, CTRL)
    await t.until(lambda: isinstance(QApplication.activeModalWidget(), PreferencesDialog), "Preferences")
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, PreferencesDialog)
    return dialog


def press(dialog: PreferencesDialog, which: QDialogButtonBox.StandardButton) -> None:
    dialog.buttons.button(which).click()


def ticking(session: MarketSession, symbol: str) -> bool:
    return session.health.stream_state(f"ticker {symbol}") is not None


async def test_ok_writes_every_change_and_a_second_window_follows(
    qt_loop: qasync.QEventLoop, app_paths: AppPaths, log_buffer: LogBuffer, qtbot: QtBot
) -> None:
    write_config(app_paths)
    config = ConfigStore(app_paths.config_file)

    def make_window(exchange: str, start_at: tuple[str, str] | None, primary: bool) -> MainWindow:
        source = SimulatedExchange(seed=7, history_days=5, pump_interval=0.02)
        session = MarketSession(source, config.settings.watchlist)
        return MainWindow(session, config, app_paths, log_buffer, exchange=exchange, start_at=start_at,
                          primary=primary)  # fmt: skip

    windows = WindowSet(make_window)
    first, second = windows.open(SIMULATED), windows.open(SIMULATED)
    for window in (first, second):
        await wait_until(lambda w=window: w.chart.candles.drawn > 0 and ticking(w.session, "BNB/USDT"),
                         "candles and watchlist prices")  # fmt: skip
    assert second.watchlist_model.symbols == ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT"]

    first.activateWindow()
    await wait_until(first.isActiveWindow, "the first window active")
    qtbot.keyClick(QApplication.focusWidget() or first, Qt.Key.Key_Comma, CTRL)
    await wait_until(lambda: isinstance(QApplication.activeModalWidget(), PreferencesDialog), "Preferences")
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, PreferencesDialog)
    page = dialog.watchlist
    assert page.symbols() == WATCHLIST  # the config's list, DOGE/USDT too (greyed: not listed here)
    assert "does not list DOGE/USDT" in page.list.item(1).toolTip()

    dialog.theme_box.setCurrentIndex(dialog.theme_box.findData("light"))
    qtbot.keyClicks(page.symbol, "xrp/usdt")
    qtbot.keyClick(page.symbol, Qt.Key.Key_Return)  # adds it, and does not press OK
    assert dialog.isVisible() and page.symbols()[-1] == "XRP/USDT"
    page.list.setCurrentRow(WATCHLIST.index("ETH/USDT"))
    page.remove_button.click()
    page.list.setCurrentRow(WATCHLIST.index("SOL/USDT") - 1)  # ETH/USDT is gone
    page.up_button.click()
    assert page.symbols() == ["BTC/USDT", "SOL/USDT", "DOGE/USDT", "BNB/USDT", "XRP/USDT"]
    assert not dialog.hotkeys.isChecked()
    dialog.hotkeys.setChecked(True)
    assert dialog.risk.field("paper", "max_order_notional").text() == "10000"
    dialog.risk.field("paper", "max_order_notional").setText("2500.5")
    dialog.seed.setText("42")
    press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert not dialog.isVisible()

    saved = read_toml(app_paths.config_file)
    assert saved["theme"] == "light"
    assert saved["watchlist"] == ["BTC/USDT", "SOL/USDT", "DOGE/USDT", "BNB/USDT", "XRP/USDT"]
    assert saved["trading"]["hotkeys_enabled"] is True
    assert saved["trading"]["paper"]["risk"]["max_order_notional"] == 2500.5
    assert saved["simulator"]["seed"] == 42
    assert "live" not in saved["trading"] or saved["trading"]["live"] == {}

    for window in (first, second):  # both follow: theme, watchlist (with its prices), hotkeys
        assert window.theme is LIGHT
        await wait_until(
            lambda w=window: w.watchlist_model.symbols == ["BTC/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"],
            "the watchlist to follow",
        )
        await wait_until(lambda w=window: "XRP/USDT" in w.session.tickers, "the added symbol's price")
        assert not ticking(window.session, "ETH/USDT") and "ETH/USDT" not in window.session.tickers
        assert window.session.health.stream_state("ticker XRP/USDT") is not FeedState.FAILED
        assert window.trading.hotkeys_enabled()

    first.actions_by_id["app.quit"].trigger()
    await asyncio.wait_for(windows.wait_closed(), 10)
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


async def test_a_refused_value_is_named_on_its_field_and_nothing_is_written(
    launch: Launch, app_paths: AppPaths, qtbot: QtBot
) -> None:
    write_config(app_paths)
    async with launch() as t:
        written = app_paths.config_file.read_bytes()
        dialog = await open_preferences(t, qtbot)
        limit = dialog.risk.field("paper", "max_order_notional")
        limit.setText("-5")
        dialog.seed.setText("forty-two")
        dialog.hotkeys.setChecked(True)  # a good change goes nowhere either while another is refused
        press(dialog, QDialogButtonBox.StandardButton.Ok)

        assert dialog.isVisible()
        assert dialog.tabs.currentWidget() is dialog.risk  # the first refused field is shown
        assert dialog.risk.errors["paper"].text("max_order_notional") == "Must be 0 or more."
        assert dialog.errors.text("seed") == "Type a whole number, e.g. 42."
        assert app_paths.config_file.read_bytes() == written
        assert t.settings.trading.paper.risk.max_order_notional == 10_000
        assert not t.settings.trading.hotkeys_enabled

        # An unknown symbol is refused when added, and when left typed as OK is pressed.
        limit.setText("10000")
        dialog.seed.clear()
        page = dialog.watchlist
        qtbot.keyClicks(page.symbol, "NOPE/USDT")
        page.add_button.click()
        assert (
            page.errors.text("symbol")
            == "Simulated does not list NOPE/USDT: pick one of its symbols as you type."
        )
        assert page.symbols() == WATCHLIST
        press(dialog, QDialogButtonBox.StandardButton.Ok)
        assert dialog.isVisible() and dialog.tabs.currentWidget() is page
        assert app_paths.config_file.read_bytes() == written

        # Apply writes what is good; Cancel afterwards drops only what came after it.
        page.symbol.clear()
        press(dialog, QDialogButtonBox.StandardButton.Apply)
        assert dialog.isVisible() and page.errors.text("symbol") == ""
        assert read_toml(app_paths.config_file)["trading"]["hotkeys_enabled"] is True
        dialog.theme_box.setCurrentIndex(dialog.theme_box.findData("light"))
        press(dialog, QDialogButtonBox.StandardButton.Cancel)
        assert not dialog.isVisible()
        assert read_toml(app_paths.config_file)["theme"] == "dark" and t.window.theme.name == "dark"


async def test_preferences_is_in_the_file_menu_the_palette_and_the_shortcut_sheet(
    launch: Launch, qtbot: QtBot
) -> None:
    async with launch() as t:
        action = t.window.actions_by_id["preferences.open"]
        file_menu = t.window.menuBar().actions()[0].menu()
        assert action in file_menu.actions()
        assert any(e.label == "Preferences…" for e in t.window.palette_entries())
        sheet = t.window.show_shortcuts()
        assert ("General", "Preferences…", "Ctrl+,") in sheet.rows()
        assert isinstance(sheet, ShortcutSheet)
        sheet.close()
        action.trigger()
        await t.until(lambda: isinstance(QApplication.activeModalWidget(), PreferencesDialog), "Preferences")
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, PreferencesDialog)
        assert t.window.open_preferences() is dialog  # one per window: raised, not made again
        dialog.reject()


async def test_the_watchlist_menu_adds_removes_and_moves_symbols(
    launch: Launch, app_paths: AppPaths, qtbot: QtBot
) -> None:
    write_config(app_paths)
    async with launch() as t:
        view, model = t.window.watchlist, t.window.watchlist_model
        await t.until(
            lambda: model.symbols == ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT"], "the watchlist"
        )

        def trigger(row: int, text: str) -> None:
            actions = {a.text(): a for a in view.context_menu(row).actions()}
            assert actions[text].isEnabled(), text
            actions[text].trigger()

        assert not {a.text(): a for a in view.context_menu(0).actions()}["Move up"].isEnabled()
        trigger(2, "Move up")  # SOL/USDT above ETH/USDT, stepping over DOGE/USDT (not shown here)
        await t.until(
            lambda: model.symbols == ["BTC/USDT", "SOL/USDT", "ETH/USDT", "BNB/USDT"], "SOL moved up"
        )
        assert read_toml(app_paths.config_file)["watchlist"] == [
            "BTC/USDT", "DOGE/USDT", "SOL/USDT", "ETH/USDT", "BNB/USDT"
        ]  # fmt: skip

        trigger(2, "Remove ETH/USDT")
        await t.until(lambda: "ETH/USDT" not in model.symbols, "ETH/USDT removed")
        assert "ETH/USDT" not in read_toml(app_paths.config_file)["watchlist"]
        assert t.window.messages.last is not None
        assert t.window.messages.last.text == "ETH/USDT removed from the watchlist."

        trigger(-1, "Add symbol…")  # below the rows: only "Add symbol…"
        ask = t.window.findChild(AddSymbolDialog)
        assert ask is not None and ask.isVisible()
        qtbot.keyClicks(ask.symbol, "DOGE/USDT")
        qtbot.keyClick(ask.symbol, Qt.Key.Key_Return)
        assert ask.isVisible() and "already in the watchlist" in ask.errors.text("symbol")
        ask.symbol.setText("eth/usdt")
        qtbot.keyClick(ask.symbol, Qt.Key.Key_Return)
        assert not ask.isVisible()
        await t.until(lambda: model.symbols[-1] == "ETH/USDT", "ETH/USDT added at the end")
        await t.until(lambda: "ETH/USDT" in t.session.tickers, "its price")


async def test_the_palette_adds_and_removes_watchlist_symbols(
    launch: Launch, app_paths: AppPaths, qtbot: QtBot
) -> None:
    write_config(app_paths)
    async with launch() as t:
        model = t.window.watchlist_model
        await t.until(lambda: len(model.symbols) == 4, "the watchlist")
        labels = [e.label for e in t.window.palette_entries()]
        assert "Add XRP/USDT to watchlist" in labels and "Add BTC/USDT to watchlist" not in labels
        assert "Remove BTC/USDT from watchlist" in labels

        for typed, expected in (("add xrp", "XRP/USDT"), ("remove btc", "BTC/USDT")):
            await t.activate()
            qtbot.keyClick(t.focus(), Qt.Key.Key_K, CTRL)
            await t.until(lambda: isinstance(QApplication.activeModalWidget(), CommandPalette), "the palette")
            palette = QApplication.activeModalWidget()
            assert isinstance(palette, CommandPalette)
            qtbot.keyClicks(palette.query, typed)
            assert expected in palette.visible_labels()[0]
            qtbot.keyClick(palette.query, Qt.Key.Key_Return)
        await t.until(lambda: model.symbols == ["ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"], "the edits")
        assert read_toml(app_paths.config_file)["watchlist"] == [
            "DOGE/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"
        ]  # fmt: skip
