"""The F1 sheet fits: over a 1024×640 or 1280×800 window it is no larger than
the window and its screen, every cell's text fits its cell (wrapped, never cut
or elided), the list scrolls up and down but never sideways, and while trading
hotkeys are off a note above the list says how to turn them on."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QApplication, QStyle, QTableWidget

from terminal.ui.trading.hotkeys import OFF_MARK
from terminal.ui.window.help_sheet import HOTKEYS_NOTE, ShortcutSheet
from tests.ui.harness import Launch


def cell(table: QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    return item.text() if item is not None else ""


def cut_cells(table: QTableWidget) -> list[str]:
    """The cells whose text, wrapped at word boundaries, does not fit inside the cell
    (less the margins the item delegate draws text within, as the style sets them)."""
    metrics = table.fontMetrics()
    margins = 2 * (table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table) + 1)
    cut = []
    for row in range(table.rowCount()):
        for column in range(table.columnCount()):
            item = table.item(row, column)
            if item is None or not item.text():
                continue
            cell = table.visualItemRect(item)
            room = cell.width() - margins
            needs = metrics.boundingRect(QRect(0, 0, room, 10_000), Qt.TextFlag.TextWordWrap, item.text())
            if needs.width() > room or needs.height() > cell.height():
                cut.append(f"{item.text()!r} needs {needs.size().toTuple()} in {cell.size().toTuple()}")
    return cut


@pytest.mark.parametrize(
    "size", [QSize(1024, 640), QSize(1280, 800)], ids=lambda s: f"{s.width()}x{s.height()}"
)
async def test_the_sheet_fits_its_window_and_cuts_nothing(launch: Launch, size: QSize) -> None:
    async with launch() as t:
        t.window.resize(size)
        await t.until(lambda: t.window.size() == size, f"the window to be {size.toTuple()}")
        sheet = t.window.show_shortcuts()
        await t.until(sheet.isVisible, "the sheet")
        QApplication.sendPostedEvents()
        assert isinstance(sheet, ShortcutSheet)
        screen = t.window.screen().availableGeometry()
        assert sheet.width() <= min(size.width(), screen.width())
        assert sheet.height() <= min(size.height(), screen.height())

        assert sheet.note.isVisible() and sheet.note.text() == HOTKEYS_NOTE, "hotkeys are off by default"
        assert "Preferences → Trading (Ctrl+,)" in HOTKEYS_NOTE and "hotkeys_enabled = true" in HOTKEYS_NOTE
        assert sheet.note.wordWrap() and sheet.note.heightForWidth(sheet.note.width()) <= sheet.note.height()

        table = sheet.table
        widths = sum(table.columnWidth(c) for c in range(table.columnCount()))
        assert widths <= table.viewport().width(), "the columns share the width: nothing off to the right"
        assert table.horizontalScrollBar().maximum() == 0
        assert cut_cells(table) == []
        keys = {cell(table, r, 1): cell(table, r, 2) for r in range(table.rowCount())}
        assert keys["Flatten: sell the position on screen at market"] == f"Alt+Shift+F  {OFF_MARK}"

        rows = table.verticalHeader().length()
        assert rows <= table.viewport().height() or table.verticalScrollBar().maximum() > 0, "fits or scrolls"
        table.scrollToBottom()
        last = table.item(table.rowCount() - 1, 1)
        assert last is not None
        assert table.viewport().rect().contains(table.visualItemRect(last)), "the last row comes in view"
        sheet.close()


async def test_with_hotkeys_on_there_is_no_note_and_no_mark(launch: Launch) -> None:
    async with launch() as t:
        t.settings.trading.hotkeys_enabled = True  # as the config file would have it
        sheet = t.window.show_shortcuts()
        await t.until(sheet.isVisible, "the sheet")
        assert not sheet.note.isVisible()
        table = sheet.table
        assert all(OFF_MARK not in cell(table, r, 2) for r in range(table.rowCount()))
        assert cut_cells(table) == []
        sheet.close()
