"""The ways to an alert in the window: Alt+A at the crosshair's price (the last price
when the mouse is elsewhere), "Add alert on this line…" and an alert that follows its
line when the line is dragged, the Alerts panel from the menu and the palette; alerts that
fire together are each listed and each a toast, in order."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from terminal.alerts.rules import Alert, Delivery, LineCross, PriceCross, Trigger
from terminal.ui.alerts.dialog import AlertDialog
from terminal.ui.alerts.toast import toasts
from terminal.ui.chart.drawings.model import Drawing, Kind
from terminal.ui.window.palette import CommandPalette
from tests.ui.harness import Launch


def press_ok(qtbot: QtBot, dialog: AlertDialog) -> None:
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible(), "the dialog refused what it was given"


async def test_alt_a_sets_a_price_alert_at_the_last_price_and_the_panel_lists_it(
    launch: Launch, qtbot: QtBot
) -> None:
    async with launch() as t:
        window = t.window
        await t.activate()
        assert window.actions_by_id["alerts.add"].shortcut() == QKeySequence("Alt+A")
        qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
        dialog = window.alerts.dialog
        assert dialog is not None and dialog.isVisible()
        last = float(t.chart.series.close[-1])
        press_ok(qtbot, dialog)
        (alert,) = window.alert_center.alerts()
        assert isinstance(alert.condition, PriceCross)
        assert abs(alert.condition.level - last) <= abs(last) * 1e-6 + 1e-9
        assert alert.symbol == t.session.symbol and alert.exchange == window.exchange

        # the alert is a dashed line on the chart; dragging it moves the alert
        lines = window.alerts.marks.lines_of(window.chart_grid.slots[0])
        (mark,) = lines.lines
        assert mark.price == alert.condition.level and mark.key == alert.id and mark.label.startswith("ALERT")
        assert lines.grab(mark.price, tolerance=mark.price * 1e-6)
        lines.drag_to(mark.price * 1.01)
        lines.drop()
        (alert,) = window.alert_center.alerts()
        assert isinstance(alert.condition, PriceCross) and alert.condition.level == mark.price * 1.01
        assert lines.lines[0].price == mark.price * 1.01
        window.alert_center.set_enabled(alert.id, False)
        assert lines.lines == []  # an alert switched off leaves the chart

        window.actions_by_id["alerts.panel"].trigger()
        panel = window.alerts.panel
        assert panel is not None and panel.isVisible()
        assert panel.model.row_total() == 1
        assert "price crosses" in panel.model.cell(0, 1)


async def test_an_alert_on_a_line_follows_the_line_when_it_is_dragged(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        window, chart = t.window, t.chart
        layer = window.drawings
        t_s = float(chart.series.ts[-20]) / 1000.0
        price = float(chart.series.close[-1]) * 1.01
        line = Drawing("line-1", Kind.HLINE, ((t_s, price),))
        layer.add(line)
        layer.request_alert(line.id)  # what "Add alert on this line…" does
        dialog = window.alerts.dialog
        assert dialog is not None
        press_ok(qtbot, dialog)
        (alert,) = window.alert_center.alerts()
        assert isinstance(alert.condition, LineCross) and alert.condition.p1 == price

        layer.change(line.moved_by(0.0, 25.0))  # dragged up by 25
        (alert,) = window.alert_center.alerts()
        assert isinstance(alert.condition, LineCross)
        assert alert.condition.p1 == price + 25.0 and alert.condition.drawing_id == line.id
        assert window.alert_center.engine.alerts[alert.id].condition == alert.condition


async def test_alerts_are_in_the_palette(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        window = t.window
        await t.activate()
        window.alerts.new_alert(price=float(t.chart.series.close[-1]) * 2)
        dialog = window.alerts.dialog
        assert dialog is not None
        press_ok(qtbot, dialog)
        qtbot.keyClick(
            QApplication.focusWidget() or window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier
        )
        await t.until(lambda: isinstance(QApplication.activeModalWidget(), CommandPalette), "the palette")
        palette = QApplication.activeModalWidget()
        assert isinstance(palette, CommandPalette)
        qtbot.keyClicks(palette.query, "alerts panel")
        qtbot.keyClick(palette.query, Qt.Key.Key_Return)
        await t.until(
            lambda: window.alerts.panel is not None and window.alerts.panel.isVisible(), "the panel"
        )
        labels = [e.label for e in window.palette_entries()]
        assert any(
            label.startswith(f"Alert: {t.session.symbol} on simulated: price crosses") for label in labels
        )


async def test_alerts_fired_at_once_are_each_in_history_and_a_toast_in_the_order_they_fired(
    launch: Launch,
) -> None:
    # a jump over three levels fires three alerts on one price: the window hears them together
    # (one loop turn) and still shows each, in order
    async with launch() as t:
        window, center = t.window, t.window.alert_center
        window.settled.set()
        await t.until(lambda: center.loaded.is_set(), "the alerts loaded")
        window.config.change(alerts=window.settings.alerts.model_copy(update={"toast_seconds": 120}))
        panel = window.alerts.open_panel()
        symbol = t.session.symbol
        levels = [1_000_000.0, 1_001_000.0, 1_002_000.0]
        for level in levels:
            center.put(
                Alert(
                    exchange=window.exchange, symbol=symbol, condition=PriceCross(level=level),
                    trigger=Trigger.EVERY, delivery=Delivery(desktop=False),
                )
            )  # fmt: skip
        now = window.session.source.milliseconds() + 10_000
        center.engine.price(window.exchange, symbol, 999_000.0, now)  # the reference
        center.engine.price(window.exchange, symbol, 1_002_500.0, now + 1)  # up through all three
        titles = [f"{symbol}: up through {level:,.0f} at 1,002,500" for level in levels]
        await t.until(lambda: len(toasts(window)) >= 3, "three toasts")
        assert [toast.title() for toast in toasts(window)][-3:] == titles  # oldest first
        assert [f.title for f in panel.history_model.firings[:3]] == titles[::-1]  # newest first
        assert [f.title for f in center.history[:3]] == titles[::-1]
        await t.until(lambda: not center._tasks, "the firings saved")
