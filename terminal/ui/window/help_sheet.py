"""The shortcut sheet (F1): every action and its keys, as currently bound.

The sheet fits the screen it opens on and the window it belongs to (a
1024×640 window included): the list scrolls up and down, never sideways, and
no text is cut. Columns share the width so that the longest keys ("Alt+B
(off: trading.hotkeys_enabled)") and actions wrap at word boundaries, each row
as tall as its text. While trading hotkeys are off, a note above the list
says how to turn them on.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QAction, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from terminal.shortcuts import ACTIONS
from terminal.ui.trading.hotkeys import mark_off_keys
from terminal.ui.window.actions import key_text

HOTKEYS_NOTE = (
    "Trading keys marked “off” do nothing until you turn trading hotkeys on: "
    "Preferences → Trading (Ctrl+,), or hotkeys_enabled = true under [trading] in config.toml."
)
AREA, ACTION, KEYS = range(3)
_CELL_PADDING = 14  # the item delegate's text margins and the grid line, with room to spare
_SLACK = 4  # beyond a column's size hint, which leaves the text no pixel to spare
_KEYS_SHARE = 0.45  # of the list's width, at most, for the keys when the actions need room
_PREFERRED = QSize(760, 720)  # the sheet's size when the screen and window have room


class ShortcutSheet(QDialog):
    def __init__(
        self,
        actions: dict[str, QAction],
        parent: QWidget | None = None,
        *,
        hotkeys_enabled: bool | None = None,
    ) -> None:
        """``hotkeys_enabled`` False marks the trading keys off and shows how to
        turn them on (None: not said)."""
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self._rows = rows = [
            (spec.category, spec.title, key_text(actions[spec.id])) for spec in ACTIONS if spec.id in actions
        ]
        self.note = QLabel(HOTKEYS_NOTE, self)
        self.note.setObjectName("hotkeys_note")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.setVisible(hotkeys_enabled is False)

        self.table = table = QTableWidget(len(rows), 3, self)
        table.setHorizontalHeaderLabels(["Area", "Action", "Keys"])
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setWordWrap(True)
        table.setTextElideMode(Qt.TextElideMode.ElideNone)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # columns fit instead
        table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)  # steady width to fit to
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)  # tall rows scroll smoothly
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.horizontalHeader().setStretchLastSection(False)
        table.viewport().installEventFilter(self)  # its width changes: the columns follow
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                table.setItem(r, c, QTableWidgetItem(value))
        if hotkeys_enabled is False:
            mark_off_keys(table, False)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(table, 1)
        layout.addWidget(buttons)
        self.resize(self.bounds().boundedTo(_PREFERRED))

    def rows(self) -> list[tuple[str, str, str]]:
        """(area, action, keys) as listed."""
        return list(self._rows)

    # -- fitting -----------------------------------------------------------------------
    def bounds(self) -> QSize:
        """The most room the sheet may take: its screen's free area, and its window's size."""
        parent = self.parentWidget()
        window = parent.window() if parent is not None else None
        screen = (window or self).screen()
        room = screen.availableGeometry().size() * 0.9 if screen is not None else _PREFERRED
        if window is not None and window.isVisible():
            room = room.boundedTo(window.size() * 0.95)  # over its window, the window's edges in view
        return room

    def fit_columns(self) -> None:
        """Share the list's width among the columns so that it never scrolls sideways
        and no word is cut, then make each row as tall as its wrapped text."""
        table = self.table
        width = table.viewport().width()
        natural = [table.sizeHintForColumn(c) + _SLACK for c in range(3)]
        words = [self._widest_word(c) for c in range(3)]
        area = natural[AREA]
        keys = max(words[KEYS], min(natural[KEYS], int(width * _KEYS_SHARE), width - area - words[ACTION]))
        action = max(words[ACTION], width - area - keys)
        for column, size in ((AREA, area), (ACTION, action), (KEYS, keys)):
            table.setColumnWidth(column, size)
        table.resizeRowsToContents()

    def _widest_word(self, column: int) -> int:
        """The width of the longest unbreakable run of text in ``column``, with its cell's margins."""
        metrics = self.table.fontMetrics()
        widest = 0
        for row in range(self.table.rowCount()):
            item = self.table.item(row, column)
            for word in re.split(r"\s+", item.text() if item is not None else ""):
                widest = max(widest, metrics.horizontalAdvance(word))
        return widest + _CELL_PADDING

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(watched, event)

    def showEvent(self, event: QShowEvent) -> None:
        self.resize(self.size().boundedTo(self.bounds()))  # the window may have shrunk since
        super().showEvent(event)
        self.fit_columns()
