"""The alerts panel: the alerts (on or off, what each watches in words, how it fires,
when it expires, when it last fired, and why the engine cannot evaluate it, if so) and
the history of what fired (newest first, with the value that fired it).

The panel keeps no alerts of its own: it shows what the window hands it and says what
the user asked for by signals (new, edit, delete, enable, mute, clear); the window
changes the alerts and hands them back. A checkbox shows its new state at once.
"Mute" silences deliveries only: alerts still fire and are kept in the history.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from terminal.alerts.rules import Alert, Firing, Trigger
from terminal.alerts.words import describe, number
from terminal.ui.table_model import HeaderedTableModel, ModelIndex
from terminal.ui.tables import fit_columns, table
from terminal.ui.theme import DARK, Theme

HISTORY_ROWS = 1_000  # the panel's share of the history file's firings (it keeps more)
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
MUTED_NOTE = "Deliveries are muted: alerts still fire and are kept in History; nothing is sent."


def local_time(ms: int, seconds: bool = True) -> str:
    """A time as the panel shows it, in the machine's time zone: the year only when it is
    not this one (as the other panels, "12-07 17:07:32"; the columns stay narrow)."""
    when = dt.datetime.fromtimestamp(ms / 1000)
    if when.year != dt.datetime.now().year:
        return f"{when:%Y-%m-%d %H:%M}"
    return f"{when:%m-%d %H:%M:%S}" if seconds else f"{when:%m-%d %H:%M}"


def trigger_words(alert: Alert) -> str:
    if alert.trigger is Trigger.ONCE_PER_BAR:
        return f"once per {alert.timeframe} bar"
    return "every time" if alert.trigger is Trigger.EVERY else "once"


def expiry_words(alert: Alert, now_ms: int) -> str:
    if alert.expires_ms is None:
        return "never"
    text = local_time(alert.expires_ms, seconds=False)
    return f"{text} (expired)" if alert.expired(now_ms) else text


class AlertsModel(HeaderedTableModel):
    """One row per alert, in the order given; column 0 is its on/off checkbox."""

    headers = ("State", "Alert", "Trigger", "Expires", "Last fired", "Problem")
    toggled = Signal(str, bool)  # the user ticked or unticked an alert

    def __init__(self, theme: Theme, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.alerts: list[Alert] = []
        self.last_fired: dict[str, int] = {}
        self.problems: dict[str, str] = {}
        self.now_ms = 0

    def row_total(self) -> int:
        return len(self.alerts)

    def set_alerts(
        self, alerts: Sequence[Alert], last_fired: dict[str, int], problems: dict[str, str], now_ms: int
    ) -> None:
        self.beginResetModel()
        self.alerts = list(alerts)
        self.last_fired = dict(last_fired)
        self.problems = dict(problems)
        self.now_ms = now_ms
        self.endResetModel()

    def row_of(self, alert_id: str) -> int:
        return next((i for i, a in enumerate(self.alerts) if a.id == alert_id), -1)

    def cell(self, row: int, column: int) -> str:
        alert = self.alerts[row]
        match column:
            case 0:  # beside the checkbox: its box alone is faint on a dark theme
                return "on" if alert.enabled else "off"
            case 1:
                return describe(alert)
            case 2:
                return trigger_words(alert)
            case 3:
                return expiry_words(alert, self.now_ms)
            case 4:
                fired = self.last_fired.get(alert.id)
                return "never" if fired is None else local_time(fired)
            case 5:
                return self.problems.get(alert.id, "")
        return ""

    def set_enabled(self, row: int, on: bool) -> None:
        """Show the alert on or off at once (the window hands the list back when it is saved)."""
        self.alerts[row] = self.alerts[row].model_copy(update={"enabled": on})
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.headers) - 1))

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsUserCheckable if index.column() == 0 else flags

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        alert = self.alerts[row]
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return Qt.CheckState.Checked if alert.enabled else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                return "On: the alert is watched" if alert.enabled else "Off: the alert is not watched"
            return self.cell(row, column) or None  # the whole of a long description or problem
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 5:
                return QColor(self.theme.down)
            return None if alert.enabled else QColor(self.theme.muted)  # an alert off is greyed
        return None

    def setData(self, index: ModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != 0 or role != Qt.ItemDataRole.CheckStateRole:
            return False
        on = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value)
        if on == self.alerts[index.row()].enabled:
            return False
        self.set_enabled(index.row(), on)
        self.toggled.emit(self.alerts[index.row()].id, on)
        return True


class FiringsModel(HeaderedTableModel):
    """The firings, newest first, at most ``HISTORY_ROWS``."""

    headers = ("Time", "Alert", "Value", "Message")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.firings: list[Firing] = []

    def row_total(self) -> int:
        return len(self.firings)

    def set_firings(self, firings: Sequence[Firing]) -> None:
        self.beginResetModel()
        self.firings = sorted(firings, key=lambda f: -f.fired_ms)[:HISTORY_ROWS]
        self.endResetModel()

    def add(self, firing: Firing) -> None:
        # Firings come in time order, so this is row 0 (found at once); one late by a moment
        # goes where its time says.
        row = next(
            (i for i, f in enumerate(self.firings) if f.fired_ms <= firing.fired_ms), len(self.firings)
        )
        self.beginInsertRows(QModelIndex(), row, row)
        self.firings.insert(row, firing)
        self.endInsertRows()
        if len(self.firings) > HISTORY_ROWS:
            self.beginRemoveRows(QModelIndex(), HISTORY_ROWS, len(self.firings) - 1)
            del self.firings[HISTORY_ROWS:]
            self.endRemoveRows()

    def cell(self, row: int, column: int) -> str:
        firing = self.firings[row]
        match column:
            case 0:
                return local_time(firing.fired_ms)
            case 1:
                return firing.title
            case 2:
                return "–" if firing.value is None else number(firing.value)
            case 3:
                return firing.message
        return ""

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.cell(index.row(), index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if index.column() == 2 else _LEFT
        return None


def _button_column(*buttons: QPushButton) -> QVBoxLayout:
    # Beside the table, not above it: the panels below the chart are low, and every row counts.
    column = QVBoxLayout()
    column.setContentsMargins(4, 4, 4, 4)
    for button in buttons:
        column.addWidget(button)
    column.addStretch(1)
    return column


def _beside(parent: QWidget, view: QTableView, buttons: QVBoxLayout) -> QWidget:
    page = QWidget(parent)
    row = QHBoxLayout(page)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(0)
    row.addWidget(view, 1)
    row.addLayout(buttons)
    return page


class AlertsPanel(QWidget):
    new_requested = Signal()  # the window opens the dialog
    edit_requested = Signal(str)  # alert id
    delete_requested = Signal(str)
    enabled_changed = Signal(str, bool)
    muted_changed = Signal(bool)
    clear_history_requested = Signal()  # the window clears the record, then calls set_history([])

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.model = AlertsModel(theme, self)
        self.view = table(self)
        self.view.setModel(self.model)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        typical = ("☐ off", "BTC/USDT on simulated: price up through 65,000.5", "once per 15m bar",
                   "12-31 23:59 (expired)", "12-31 23:59:59")  # fmt: skip
        fit_columns(self.view, typical)
        self.new_button = QPushButton("New…", self)
        self.edit_button = QPushButton("Edit…", self)
        self.delete_button = QPushButton("Delete (Del)", self)
        self.enable_button = QPushButton("Disable", self)

        self.history_model = FiringsModel(self)
        self.history = table(self)
        self.history.setModel(self.history_model)
        fit_columns(self.history, ("12-31 23:59:59", "BTC/USDT: price up through 65,000.5", "65,000.5"))
        self.clear_button = QPushButton("Clear history", self)

        self.mute_button = QPushButton("Mute", self)
        self.mute_button.setCheckable(True)
        self.mute_button.setToolTip(
            "Mute deliveries: alerts still fire and are kept in History, but no notification, "
            "sound or webhook is sent"
        )
        self.muted_note = QLabel(MUTED_NOTE, self)
        self.muted_note.setWordWrap(True)
        self.muted_note.setContentsMargins(4, 2, 4, 2)
        self.muted_note.hide()

        self.tabs = QTabWidget(self)
        buttons = (self.new_button, self.edit_button, self.delete_button, self.enable_button)
        self.tabs.addTab(_beside(self, self.view, _button_column(*buttons)), "Alerts")
        self.tabs.addTab(_beside(self, self.history, _button_column(self.clear_button)), "History")
        self.tabs.setCornerWidget(self.mute_button, Qt.Corner.TopRightCorner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.muted_note)
        layout.addWidget(self.tabs, 1)

        for key in (Qt.Key.Key_Delete, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            shortcut = QShortcut(QKeySequence(key), self.view)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(
                self.delete_selected if key == Qt.Key.Key_Delete else self.edit_selected
            )
        self.view.doubleClicked.connect(lambda _index: self.edit_selected())
        self.view.customContextMenuRequested.connect(self._menu)
        self.model.toggled.connect(self._toggled)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.new_button.clicked.connect(lambda _checked=False: self.new_requested.emit())
        self.edit_button.clicked.connect(lambda _checked=False: self.edit_selected())
        self.delete_button.clicked.connect(lambda _checked=False: self.delete_selected())
        self.enable_button.clicked.connect(lambda _checked=False: self.toggle_selected())
        self.clear_button.clicked.connect(lambda _checked=False: self.clear_history_requested.emit())
        self.mute_button.toggled.connect(self._mute_toggled)
        self.apply_theme(theme)
        self._update_counts()
        self._update_buttons()

    # -- what the window hands over -----------------------------------------------------------
    def set_alerts(self, alerts: list[Alert], last_fired: dict[str, int], problems: dict[str, str]) -> None:
        selected = self.selected()
        self.model.set_alerts(alerts, last_fired, problems, int(time.time() * 1000))
        if selected is not None:
            self.select(selected)
        self._update_counts()
        self._update_buttons()

    def add_firing(self, firing: Firing) -> None:
        """A firing at the top of History."""
        self.history_model.add(firing)
        self._update_counts()

    def set_history(self, firings: list[Firing]) -> None:
        self.history_model.set_firings(firings)
        self._update_counts()

    def show_firing(self, firing: Firing) -> bool:
        """History in front, with ``firing``'s row selected and in view (False when it is
        no longer listed)."""
        self.tabs.setCurrentIndex(1)
        row = next((i for i, f in enumerate(self.history_model.firings) if f == firing), -1)
        if row >= 0:
            self.history.selectRow(row)
            self.history.scrollTo(self.history_model.index(row, 0))
        return row >= 0

    def shown_firing(self) -> Firing | None:
        """The firing selected in History, if any."""
        rows = self.history.selectionModel().selectedRows()
        return self.history_model.firings[rows[0].row()] if rows else None

    def set_muted(self, muted: bool) -> None:
        """Show the mute as the window has it (no ``muted_changed`` back)."""
        self.mute_button.blockSignals(True)
        self.mute_button.setChecked(muted)
        self.mute_button.blockSignals(False)
        self._show_muted(muted)

    @property
    def muted(self) -> bool:
        return self.mute_button.isChecked()

    # -- the selection and what it asks for -----------------------------------------------------
    def selected(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.alerts[rows[0].row()].id if rows else None

    def select(self, alert_id: str) -> bool:
        row = self.model.row_of(alert_id)
        if row >= 0:
            self.view.selectRow(row)
        return row >= 0

    def edit_selected(self) -> None:
        selected = self.selected()
        if selected is not None:
            self.edit_requested.emit(selected)

    def delete_selected(self) -> None:
        selected = self.selected()
        if selected is not None:
            self.delete_requested.emit(selected)

    def toggle_selected(self) -> None:
        row = self.model.row_of(self.selected() or "")
        if row >= 0:
            self.model.setData(
                self.model.index(row, 0),
                Qt.CheckState.Unchecked if self.model.alerts[row].enabled else Qt.CheckState.Checked,
                Qt.ItemDataRole.CheckStateRole,
            )

    def _toggled(self, alert_id: str, on: bool) -> None:
        self._update_buttons()
        self.enabled_changed.emit(alert_id, on)

    def _mute_toggled(self, muted: bool) -> None:
        self._show_muted(muted)
        self.muted_changed.emit(muted)

    def _show_muted(self, muted: bool) -> None:
        self.mute_button.setText("Muted" if muted else "Mute")
        self.muted_note.setVisible(muted)

    def _menu(self, at: QPoint) -> None:
        index = self.view.indexAt(at)
        if index.isValid():
            self.view.selectRow(index.row())
        menu = QMenu(self)
        menu.addAction("New alert…", self.new_requested.emit)
        if self.selected() is not None:
            menu.addAction("Edit…", self.edit_selected)
            menu.addAction(self.enable_button.text(), self.toggle_selected)
            menu.addAction("Delete", self.delete_selected)
        menu.popup(self.view.viewport().mapToGlobal(at))

    def _update_buttons(self) -> None:
        row = self.model.row_of(self.selected() or "")
        for button in (self.edit_button, self.delete_button, self.enable_button):
            button.setEnabled(row >= 0)
        self.enable_button.setText("Enable" if row >= 0 and not self.model.alerts[row].enabled else "Disable")

    def _update_counts(self) -> None:
        self.tabs.setTabText(0, f"Alerts ({self.model.row_total()})")
        self.tabs.setTabText(1, f"History ({self.history_model.row_total()})")
        self.clear_button.setEnabled(self.history_model.row_total() > 0)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.model.theme = theme
        self.muted_note.setStyleSheet(f"color: {theme.down};")
