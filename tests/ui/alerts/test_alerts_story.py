"""Issue 18's story, end to end: a trader draws a line and sets an alert on it from the
line's menu, sets an RSI alert on a symbol that is not on screen, works in another
window, gets both as desktop notifications with their sounds (a real notification
service on the private D-Bus session), and finds them in the alerts panel's history
after a restart.

The market is the deterministic simulator on a clock the test moves; a twin run tells
where the price will go, so the line is drawn where the price will cross it."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QWidget
from pytestqt.qtbot import QtBot

from terminal.market.session import MarketSession
from terminal.paths import AppPaths
from terminal.store.history_file import HistoryFile
from terminal.ui.alerts.dialog import AlertDialog
from terminal.ui.alerts.toast import toasts
from terminal.ui.chart.drawings.menu import ALERT, drawing_menu
from terminal.ui.chart.drawings.model import Kind
from tests.alerts.market_path import STEP_MS, first_rise, market, walk
from tests.alerts.notification_daemon import NotificationDaemon
from tests.conftest import ManualClock
from tests.ui.harness import Launch

pytestmark = [pytest.mark.keyring, pytest.mark.slow]

ON_SCREEN, ELSEWHERE = "BTC/USDT", "SOL/USDT"


@pytest.fixture
def history(app_paths: AppPaths) -> Iterator[HistoryFile]:
    held = HistoryFile(app_paths.data_dir / "history.sqlite")
    yield held
    held.close()


def bell(path: Path) -> Path:
    """A short WAV file the user picks as the alert's sound."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x10" * 800)
    return path


def click_at(qtbot: QtBot, chart: object, t_s: float, price: float) -> None:
    vb = chart.price_plot.getViewBox()  # type: ignore[attr-defined]
    at = chart.glw.mapFromScene(vb.mapViewToScene(QPointF(t_s, price)))  # type: ignore[attr-defined]
    qtbot.mouseClick(chart.glw.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(at.x(), at.y()))  # type: ignore[attr-defined]


def choose(box: object, data: str) -> None:
    index = box.findData(data)  # type: ignore[attr-defined]
    assert index >= 0, f"{data!r} is not offered"
    box.setCurrentIndex(index)  # type: ignore[attr-defined]


def press_ok(qtbot: QtBot, dialog: AlertDialog) -> None:
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible(), "the dialog refused what was typed"


async def test_a_line_alert_and_an_rsi_alert_off_screen_notify_the_desktop_and_come_back_after_a_restart(
    launch: Launch,
    history: HistoryFile,
    qtbot: QtBot,
    notification_daemon: NotificationDaemon,
    tmp_path: Path,
) -> None:
    path = await walk(ON_SCREEN, 200)
    _first, level = first_rise(path)
    sound = bell(tmp_path / "bell.wav")
    clock = ManualClock()
    session = MarketSession(market(clock), [ON_SCREEN, "ETH/USDT"])
    async with launch(session=session, history_file=history, wait=False) as t:
        window, chart = t.window, t.chart
        await t.until(lambda: session.symbol and chart.candles.drawn > 0, "candles on screen")
        window.settled.set()  # the history file opens now (the app does so after the first candles)
        # toasts that stay until the test has looked at them, however slow the machine
        window.config.change(alerts=window.settings.alerts.model_copy(update={"toast_seconds": 120}))
        await t.until(lambda: window.alert_center.loaded.is_set(), "the alerts loaded")
        await t.activate()

        # a horizontal line, drawn with the mouse where the price will rise through it
        layer = window.drawings
        await t.until(
            lambda: window.chart_tools.of(window.chart_grid.slots[0]).keeper.loaded, "drawings loaded"
        )
        layer.set_magnet(False)
        layer.arm("hline")  # Alt+L
        click_at(qtbot, chart, float(chart.series.ts[-10]) / 1000.0, level)
        (line,) = layer.drawings
        assert line.kind is Kind.HLINE
        drawn = line.points[0][1]
        crossings = [i for i in range(1, len(path)) if path[i - 1] < drawn <= path[i]]
        assert crossings and max(path[:1]) < drawn, "the line was drawn where the price will cross it"

        # its context menu: "Add alert on this line…"
        menu = drawing_menu(layer, line)
        (add,) = [a for a in menu.actions() if a.text() == ALERT]
        add.trigger()
        dialog = window.alerts.dialog
        assert dialog is not None and dialog.isVisible()
        choose(dialog.sound_box, "default")
        press_ok(qtbot, dialog)

        # an RSI alert on a symbol that is on no chart and not in the watchlist
        assert ELSEWHERE not in session.watchlist
        dialog = window.alerts.new_alert()
        choose(dialog.kind_box, "indicator")
        dialog.symbol_box.setCurrentIndex(dialog.symbol_box.findText(ELSEWHERE))
        expression = dialog.page().expression  # type: ignore[attr-defined]
        expression.setFocus()
        qtbot.keyClicks(expression, "RSI 14 > 1")
        choose(dialog.sound_box, "file")
        dialog.sound_path.setText(str(sound))
        press_ok(qtbot, dialog)
        assert len(window.alert_center.alerts()) == 2

        # the trader works in another window meanwhile
        other = QWidget()
        other.setWindowTitle("a spreadsheet")
        other.show()
        other.activateWindow()
        try:
            rsi_call = (await notification_daemon.wait_for(1, timeout=20))[0]
            assert rsi_call.summary.startswith(f"{ELSEWHERE}: RSI 14 > 1")
            assert rsi_call.app_name == "Terminal" and rsi_call.hints.get("sound-file") == str(sound)
            for step in range(crossings[0] + 1):  # the market moves on to the line's crossing
                clock.now += STEP_MS
                price = path[step]
                await t.until(
                    lambda p=price: session.source.engine(ON_SCREEN).last_price == p, f"step {step}"
                )  # type: ignore[attr-defined]
            calls = await notification_daemon.wait_for(2, timeout=20)
            # a click on the RSI alert's notification brings the window forward with the
            # firing in the alerts panel's History
            assert QApplication.activeWindow() is other
            await notification_daemon.click(1)

            def shown() -> bool:
                panel = window.alerts.panel
                firing = panel.shown_firing() if panel is not None and panel.isVisible() else None
                return firing is not None and firing.symbol == ELSEWHERE

            await t.until(shown, "the clicked alert shown in the panel's History")
            assert QApplication.activeWindow() is window
        finally:
            other.close()
        line_call = calls[1]
        assert line_call.summary.startswith(f"{ON_SCREEN}: up through the line at")
        assert "sound-name" in line_call.hints and "sound-file" not in line_call.hints
        assert len(await notification_daemon.calls()) == 2  # once each (both fire once)
        shown = [toast.title() for toast in toasts(window)]  # and in the window, as toasts
        assert any(title.startswith(ON_SCREEN) for title in shown), shown
        assert any(title.startswith(ELSEWHERE) for title in shown), shown
        fired = [f.title for f in window.alert_center.history]
        await t.until(lambda: not window.alert_center._tasks, "the firings saved")

    # after a restart: both alerts (fired once, so now off) and their history
    clock = ManualClock(clock.now)
    session = MarketSession(market(clock), [ON_SCREEN])
    async with launch(session=session, history_file=history, wait=False) as t:
        window = t.window
        await t.until(lambda: session.symbol and t.chart.candles.drawn > 0, "candles on screen")
        window.settled.set()
        await t.until(lambda: window.alert_center.loaded.is_set(), "the alerts loaded")
        panel = window.alerts.open_panel()
        history_rows = panel.history_model.row_total()  # type: ignore[attr-defined]
        assert history_rows == 2
        assert [f.title for f in window.alert_center.history] == fired
        assert {a.symbol for a in window.alert_center.alerts()} == {ON_SCREEN, ELSEWHERE}
        assert not any(a.enabled for a in window.alert_center.alerts())  # once: fired, then off
