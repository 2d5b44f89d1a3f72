"""Toasts: a notice in the top-right corner of the window's central area (not over a
dock), that goes after its time unless the mouse is over it, goes at a click, and
stacks three at most, the newest on top. Real widgets on a real QMainWindow, offscreen;
times are short so that the tests wait for what a user would see, not for 6 s."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow
from pytestqt.qtbot import QtBot

from terminal.ui.alerts.toast import MARGIN, STACK, Toast, show_toast, toasts

SHORT_MS = 150


@pytest.fixture
def window(qtbot: QtBot) -> Iterator[QMainWindow]:
    """A main window with the chart's place in the middle and a dock on the right, as the terminal's."""
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("chart"))
    dock = QDockWidget("Order book", window)
    book = QLabel("book")
    book.setMinimumWidth(300)
    dock.setWidget(book)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.resize(1000, 600)
    window.show()
    qtbot.waitExposed(window)
    QCursor.setPos(window.mapToGlobal(QPoint(5, window.height() - 5)))  # away from the toasts' corner
    yield window


def central(window: QMainWindow) -> QLabel:
    widget = window.centralWidget()
    assert isinstance(widget, QLabel)
    return widget


def test_a_toast_shows_its_title_and_text_in_the_central_areas_top_right_corner_and_goes_after_its_time(
    window: QMainWindow, qtbot: QtBot
) -> None:
    toast = show_toast(window, "BTC/USDT: price up through 65,000", "at 65,010.5", duration_ms=SHORT_MS)

    assert toast.isVisible()
    assert (toast.title(), toast.text()) == ("BTC/USDT: price up through 65,000", "at 65,010.5")
    area = central(window).geometry()
    assert area.right() < window.width() - 100  # the dock takes the right: the corner is the chart's
    assert toast.geometry().right() == area.right() - MARGIN
    assert toast.geometry().top() == area.top() + MARGIN
    assert area.contains(toast.geometry())

    qtbot.waitUntil(lambda: toasts(window) == [], timeout=3_000)
    assert toast.gone


def test_a_click_dismisses_a_toast(window: QMainWindow, qtbot: QtBot) -> None:
    toast = show_toast(window, "Feed down", "simulated: feed stale or down for 30 s", kind="error")
    with qtbot.waitSignal(toast.dismissed, timeout=1_000):
        qtbot.mouseClick(toast, Qt.MouseButton.LeftButton, pos=QPoint(20, 10))
    assert toasts(window) == [] and not toast.isVisible()


def test_the_mouse_over_a_toast_keeps_it_until_the_mouse_leaves(window: QMainWindow, qtbot: QtBot) -> None:
    other = show_toast(window, "ETH/USDT: price crosses 3,000", "", duration_ms=SHORT_MS)
    toast = show_toast(window, "SOL/USDT: RSI 14 > 70", "RSI 14 at 71.2", duration_ms=SHORT_MS)
    QCursor.setPos(toast.mapToGlobal(toast.rect().center()))  # the user points at the newest
    qtbot.waitUntil(toast.underMouse, timeout=1_000)
    qtbot.waitUntil(lambda: other.gone, timeout=3_000)  # the other one went in its time, meanwhile
    qtbot.wait(SHORT_MS * 2)  # and more than the toast's own time goes by
    assert toasts(window) == [toast] and toast.isVisible()

    QCursor.setPos(
        window.mapToGlobal(QPoint(5, window.height() - 5))
    )  # the mouse leaves: its time runs again
    qtbot.waitUntil(lambda: toast.gone, timeout=3_000)


def test_toasts_stack_newest_on_top_three_at_most_and_close_up_when_one_goes(
    window: QMainWindow, qtbot: QtBot
) -> None:
    shown = [show_toast(window, f"alert {n}", f"fired {n}") for n in range(STACK + 1)]

    assert shown[0].gone  # the fourth put the oldest away
    assert toasts(window) == shown[1:]
    tops = [t.geometry().top() for t in reversed(shown[1:])]  # newest first
    assert tops == sorted(tops) and tops[0] == central(window).geometry().top() + MARGIN
    for upper, lower in zip(reversed(shown[2:]), reversed(shown[1:-1]), strict=True):
        assert upper.geometry().bottom() < lower.geometry().top()  # none covers another

    shown[-1].dismiss()  # the newest goes: the others move up
    assert shown[-2].geometry().top() == central(window).geometry().top() + MARGIN
    assert all(t.isVisible() for t in shown[1:-1])


def test_a_long_message_wraps_and_the_toast_is_as_tall_as_it_needs(window: QMainWindow) -> None:
    short = show_toast(window, "Short", "one line")
    long = show_toast(window, "Long", "a message that goes on " * 12)
    assert long.height() > short.height()
    assert long.width() == short.width()
    label = long.text_label
    assert label.geometry().bottom() <= long.contentsRect().bottom()  # all of the text inside the toast


def test_the_stack_follows_the_window_when_it_is_resized(window: QMainWindow, qtbot: QtBot) -> None:
    toast = show_toast(window, "BTC/USDT: price crosses 65,000", "")
    window.resize(1300, 700)
    qtbot.waitUntil(lambda: toast.geometry().right() == central(window).geometry().right() - MARGIN)
    assert isinstance(toast, Toast)
