"""Keyboard control: timeframes, zoom and scroll, the palette, the shortcut sheet."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from terminal.market.health import FeedState
from terminal.marketdata.timeframes import TIMEFRAMES
from terminal.paths import AppPaths
from terminal.ui.window.help_sheet import ShortcutSheet
from terminal.ui.window.palette import CommandPalette
from tests.ui.harness import Launch

CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier
FOUR_HOURS_MS = 4 * 3600 * 1000


async def test_key_5_switches_the_chart_to_four_hour_candles(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        await t.activate()
        qtbot.keyClick(t.focus(), Qt.Key.Key_5)
        await t.until(lambda: t.chart.series.timeframe_ms == FOUR_HOURS_MS, "the chart to reload in 4h")

        spacing = np.diff(t.chart.series.ts)
        assert len(spacing) > 20 and (spacing == FOUR_HOURS_MS).all()
        assert t.chart.candles.drawn > 0
        checked = [tf for tf in TIMEFRAMES if t.window.actions_by_id[f"timeframe.{tf}"].isChecked()]
        assert checked == ["4h"]  # in the Chart menu and on the toolbar
        assert "4h" in t.window.windowTitle()
        assert "4h" in t.window.status.market.text()
        assert t.window.requested_market()[1] == "4h"  # what closing remembers


async def test_zoom_keys_change_how_many_candles_are_in_view(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        await t.activate()
        start = t.chart.visible_count()
        qtbot.keyClick(t.focus(), Qt.Key.Key_Plus)
        zoomed_in = t.chart.visible_count()
        qtbot.keyClick(t.focus(), Qt.Key.Key_Equal)  # "+" without Shift, on most keyboards
        further_in = t.chart.visible_count()
        assert start > zoomed_in > further_in
        qtbot.keyClick(t.focus(), Qt.Key.Key_Minus)
        qtbot.keyClick(t.focus(), Qt.Key.Key_Minus)
        qtbot.keyClick(t.focus(), Qt.Key.Key_Minus)
        assert t.chart.visible_count() > start


async def test_end_jumps_back_to_the_latest_candle_after_scrolling_back(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        await t.activate()
        in_view = t.chart.visible_count()
        assert t.chart.visible_indices()[1] == len(t.chart.series)  # the live candle is on screen
        for _ in range(15):
            qtbot.keyClick(t.focus(), Qt.Key.Key_Left)
        last = t.chart.visible_indices()[1]
        assert last < len(t.chart.series) - in_view // 2  # well back in history
        qtbot.keyClick(t.focus(), Qt.Key.Key_End)
        assert t.chart.visible_indices()[1] == len(t.chart.series)
        assert abs(t.chart.visible_count() - in_view) <= 1  # same zoom as before


async def test_ctrl_k_palette_finds_eth_and_enter_opens_it(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        await t.activate()
        qtbot.keyClick(t.focus(), Qt.Key.Key_K, CTRL)
        await t.until(
            lambda: isinstance(QApplication.activeModalWidget(), CommandPalette),
            "the command palette to open",
        )
        palette = QApplication.activeModalWidget()
        assert isinstance(palette, CommandPalette)
        await t.until(palette.query.hasFocus, "the search field to take the keyboard")

        qtbot.keyClicks(palette.query, "eth")
        assert palette.visible_labels()[0].startswith("ETH/USDT")
        qtbot.keyClick(palette.query, Qt.Key.Key_Return)
        assert not palette.isVisible()
        # A closed palette is deleted, so opening it again and again leaves nothing behind.
        await t.until(lambda: not t.window.findChildren(CommandPalette), "the closed palette to be deleted")
        await t.until(lambda: t.chart.symbol == "ETH/USDT", "the chart to show ETH/USDT")
        assert t.session.symbol == "ETH/USDT"
        assert "ETH/USDT" in t.chart.readout.text()


async def test_alt_down_steps_to_the_next_watchlist_symbol(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        await t.activate()
        qtbot.keyClick(t.focus(), Qt.Key.Key_Down, ALT)
        await t.until(lambda: t.chart.symbol == "ETH/USDT", "the chart to show the next symbol")
        qtbot.keyClick(t.focus(), Qt.Key.Key_Up, ALT)
        await t.until(lambda: t.chart.symbol == "BTC/USDT", "the chart to go back to BTC/USDT")


async def test_f1_lists_every_shortcut_named_in_the_design(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        await t.activate()
        qtbot.keyClick(t.focus(), Qt.Key.Key_F1)
        await t.until(
            lambda: isinstance(QApplication.activeModalWidget(), ShortcutSheet), "the shortcut sheet to open"
        )
        sheet = QApplication.activeModalWidget()
        assert isinstance(sheet, ShortcutSheet)
        table = sheet.table
        keys = {table.item(r, 1).text(): table.item(r, 2).text() for r in range(table.rowCount())}
        expected = {
            "Symbol search / command palette": "Ctrl+K",
            **{f"Timeframe {tf}": str(i) for i, tf in enumerate(TIMEFRAMES, start=1)},
            "Zoom in": "+, =",
            "Zoom out": "-",
            "Jump to latest candle": "End",
            "Reset layout": "Ctrl+Shift+R",
            "Full screen": "F11",
            "Quit": "Ctrl+Q",
            "Keyboard shortcuts": "F1, Ctrl+/",
        }
        assert {action: keys.get(action) for action in expected} == expected
        qtbot.keyClick(sheet, Qt.Key.Key_Escape)
        assert not sheet.isVisible()


async def test_keys_rebound_in_the_config_replace_the_defaults(
    launch: Launch, app_paths: AppPaths, qtbot: QtBot
) -> None:
    app_paths.config_file.write_text('[keybindings]\n"chart.latest" = "Home"\n', encoding="utf-8")
    async with launch() as t:
        await t.activate()
        for _ in range(15):
            qtbot.keyClick(t.focus(), Qt.Key.Key_Left)
        scrolled_back = t.chart.visible_indices()
        qtbot.keyClick(t.focus(), Qt.Key.Key_End)  # no longer bound
        assert t.chart.visible_indices() == scrolled_back
        qtbot.keyClick(t.focus(), Qt.Key.Key_Home)
        assert t.chart.visible_indices()[1] == len(t.chart.series)


async def test_ctrl_q_quits(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        await t.activate()
        qtbot.keyClick(t.focus(), Qt.Key.Key_Q, CTRL)
        await t.until(t.task.done, "run() to finish")
        assert not t.window.isVisible()
        assert t.session.health.state is FeedState.STOPPED
