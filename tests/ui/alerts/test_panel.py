"""The alerts panel: the alerts in words with their state, how they fire, their expiry,
when they last fired and what stops the engine from evaluating them; the user's
requests as signals (tick, edit, delete, mute, clear); the history newest first with
the value that fired each. Real widgets, offscreen; clicks and keys as a user makes them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from terminal.alerts.rules import Alert, Firing, IndicatorCondition, OrderEvent, PriceCross, Trigger
from terminal.alerts.words import describe
from terminal.ui.alerts.panel import AlertsPanel, local_time

NOW = int(time.time() * 1000)
HOUR = 3_600_000
BTC = Alert(id="btc65k", exchange="simulated", symbol="BTC/USDT", condition=PriceCross(level=65_000))
RSI = Alert(
    id="solrsi",
    exchange="simulated",
    symbol="SOL/USDT",
    condition=IndicatorCondition(expression="RSI 14 > 70", timeframe="15m"),
    trigger=Trigger.ONCE_PER_BAR,
    timeframe="15m",
    enabled=False,
    note="overbought",
)
ORDERS = Alert(
    id="fills", exchange="simulated", condition=OrderEvent(), trigger=Trigger.EVERY, expires_ms=NOW - HOUR
)
XYZ = Alert(
    id="xyz", exchange="simulated", symbol="XYZ/USDT", condition=PriceCross(level=1.5), expires_ms=NOW + HOUR
)
PROBLEM = "simulated does not list XYZ/USDT: the alert cannot be watched"


@pytest.fixture
def panel(qtbot: QtBot) -> Iterator[AlertsPanel]:
    panel = AlertsPanel()
    qtbot.addWidget(panel)
    panel.resize(1100, 300)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_alerts([BTC, RSI, ORDERS, XYZ], {BTC.id: NOW - 60_000}, {XYZ.id: PROBLEM})
    yield panel


def row_texts(panel: AlertsPanel, row: int) -> list[str]:
    model = panel.view.model()
    return [str(model.index(row, c).data()) for c in range(model.columnCount())]


def history_rows(panel: AlertsPanel) -> list[list[str]]:
    model = panel.history.model()
    return [
        [str(model.index(r, c).data()) for c in range(model.columnCount())] for r in range(model.rowCount())
    ]


def checkbox_centre(panel: AlertsPanel, row: int) -> QPoint:
    """Where the row's checkbox is drawn, as the view's style places it."""
    index = panel.view.model().index(row, 0)
    option = QStyleOptionViewItem()
    option.initFrom(panel.view)
    option.rect = panel.view.visualRect(index)
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    option.text = str(index.data())
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasDisplay
    style = panel.view.style()
    return style.subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, panel.view).center()


def focus_on_view(panel: AlertsPanel, qtbot: QtBot) -> None:
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    panel.view.setFocus()


def test_the_panel_lists_each_alert_in_words_with_its_state_trigger_expiry_last_firing_and_problem(
    panel: AlertsPanel,
) -> None:
    assert panel.view.model().rowCount() == 4
    assert row_texts(panel, 0) == ["on", describe(BTC), "once", "never", local_time(NOW - 60_000), ""]
    assert row_texts(panel, 0)[1] == "BTC/USDT on simulated: price crosses 65,000"
    rsi_words = "SOL/USDT on simulated: RSI 14 > 70 (15m) — overbought"
    assert row_texts(panel, 1) == ["off", rsi_words, "once per 15m bar", "never", "never", ""]
    assert row_texts(panel, 2)[1:4] == [
        "simulated: an order filled or cancelled or rejected", "every time",
        f"{local_time(NOW - HOUR, seconds=False)} (expired)",
    ]  # fmt: skip
    assert row_texts(panel, 3)[3:] == [local_time(NOW + HOUR, seconds=False), "never", PROBLEM]
    model = panel.view.model()
    assert model.index(1, 0).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    assert model.index(0, 0).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert panel.tabs.tabText(0) == "Alerts (4)"


def test_ticking_an_alerts_checkbox_turns_it_on_and_says_so(panel: AlertsPanel, qtbot: QtBot) -> None:
    changes: list[tuple[str, bool]] = []
    panel.enabled_changed.connect(lambda alert_id, on: changes.append((alert_id, on)))

    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=checkbox_centre(panel, 1))
    assert changes == [("solrsi", True)]
    assert row_texts(panel, 1)[0] == "on"  # shown at once, before the window hands the list back

    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=checkbox_centre(panel, 0))
    assert changes == [("solrsi", True), ("btc65k", False)]
    assert panel.view.model().index(0, 0).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked


def test_the_enable_button_follows_the_selection_and_toggles_it(panel: AlertsPanel, qtbot: QtBot) -> None:
    changes: list[tuple[str, bool]] = []
    panel.enabled_changed.connect(lambda alert_id, on: changes.append((alert_id, on)))
    assert not panel.enable_button.isEnabled() and not panel.edit_button.isEnabled()  # nothing selected

    panel.view.selectRow(1)
    assert panel.enable_button.text() == "Enable"
    qtbot.mouseClick(panel.enable_button, Qt.MouseButton.LeftButton)
    assert changes == [("solrsi", True)] and panel.enable_button.text() == "Disable"


def test_enter_edits_and_delete_deletes_the_selected_alert_and_new_asks_for_one(
    panel: AlertsPanel, qtbot: QtBot
) -> None:
    asked: list[str] = []
    panel.edit_requested.connect(lambda alert_id: asked.append(f"edit {alert_id}"))
    panel.delete_requested.connect(lambda alert_id: asked.append(f"delete {alert_id}"))
    panel.new_requested.connect(lambda: asked.append("new"))
    focus_on_view(panel, qtbot)

    panel.view.selectRow(3)
    qtbot.keyClick(panel.view, Qt.Key.Key_Return)
    qtbot.keyClick(panel.view, Qt.Key.Key_Delete)
    qtbot.mouseClick(panel.new_button, Qt.MouseButton.LeftButton)
    assert asked == ["edit xyz", "delete xyz", "new"]


def test_a_new_list_keeps_the_selected_alert_selected(panel: AlertsPanel) -> None:
    panel.view.selectRow(2)
    moved = RSI.model_copy(update={"enabled": True})
    panel.set_alerts([XYZ, ORDERS, moved], {}, {})
    assert panel.selected() == ORDERS.id
    assert row_texts(panel, 2)[0] == "on" and panel.tabs.tabText(0) == "Alerts (3)"
    panel.set_alerts([BTC], {}, {})
    assert panel.selected() is None and not panel.delete_button.isEnabled()


def test_mute_says_so_and_the_windows_mute_is_shown_without_an_echo(panel: AlertsPanel, qtbot: QtBot) -> None:
    said: list[bool] = []
    panel.muted_changed.connect(said.append)
    assert panel.muted_note.isHidden()

    qtbot.mouseClick(panel.mute_button, Qt.MouseButton.LeftButton)
    assert said == [True] and panel.muted
    assert panel.muted_note.isVisible() and "nothing is sent" in panel.muted_note.text()
    assert panel.mute_button.text() == "Muted"

    panel.set_muted(False)  # the window's own state (e.g. from another window): no signal back
    assert said == [True] and not panel.muted and panel.muted_note.isHidden()


def firing(alert: Alert, minutes_ago: int, value: float | None) -> Firing:
    return Firing(
        alert_id=alert.id,
        fired_ms=NOW - minutes_ago * 60_000,
        title=f"{alert.symbol or 'an order'}: {minutes_ago} min ago",
        message=f"fired {minutes_ago} min ago",
        value=value,
        symbol=alert.symbol,
        exchange=alert.exchange,
    )


def test_history_shows_firings_newest_first_with_the_value_and_clear_asks_the_window(
    panel: AlertsPanel, qtbot: QtBot
) -> None:
    panel.set_history([firing(BTC, 30, 65_001.5), firing(RSI, 5, 71.25), firing(BTC, 60, 64_999.0)])
    assert [row[1] for row in history_rows(panel)] == [
        "SOL/USDT: 5 min ago", "BTC/USDT: 30 min ago", "BTC/USDT: 60 min ago",
    ]  # fmt: skip
    assert history_rows(panel)[0] == [local_time(NOW - 5 * 60_000), "SOL/USDT: 5 min ago", "71.25",
                                      "fired 5 min ago"]  # fmt: skip
    assert history_rows(panel)[1][2] == "65,001.5"

    panel.add_firing(firing(ORDERS, 1, None))  # a new one, on top; no value for an order's alert
    assert history_rows(panel)[0][1:3] == ["an order: 1 min ago", "–"]
    assert panel.tabs.tabText(1) == "History (4)"

    cleared: list[bool] = []
    panel.clear_history_requested.connect(lambda: cleared.append(True))
    panel.tabs.setCurrentIndex(1)
    qtbot.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    assert cleared == [True]
    panel.set_history([])  # as the window answers
    assert history_rows(panel) == [] and not panel.clear_button.isEnabled()


def test_history_keeps_the_newest_thousand(panel: AlertsPanel) -> None:
    panel.set_history([firing(BTC, m, float(m)) for m in range(1, 1_001)])
    panel.add_firing(firing(BTC, 0, 0.0))
    model = panel.history.model()
    assert model.rowCount() == 1_000
    assert model.index(0, 2).data() == "0" and model.index(999, 2).data() == "999"
