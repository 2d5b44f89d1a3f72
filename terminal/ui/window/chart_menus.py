"""The Chart menu's entries for what the charts hold: Draw, Style, Compare, Layout.

They act on the grid's active chart (``ChartGrid.active``) through the chart tools;
the menu only knows the window as a parent for its one question (the symbol to
compare with).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QInputDialog, QMenu, QWidget

from terminal.ui.chart.items import PRICE_STYLES
from terminal.ui.window.chart_grid import COUNTS, ChartGrid, ChartSlot
from terminal.ui.window.chart_tools import ChartTools

DRAWING_KINDS = ("hline", "trend", "ray", "rect", "fib", "note")  # Chart ▸ Draw, in this order
STYLE_NAMES = ("Candles", "Line", "Area", "Heikin-Ashi")


@dataclass
class ChartMenus:
    """The entries the window updates later: the active chart's style and scale."""

    styles: dict[str, QAction]
    log: QAction

    def show_looks(self, slot: ChartSlot) -> None:
        """The Style menu shows the active chart's."""
        self.styles[slot.chart.chart_style].setChecked(True)
        self.log.setChecked(slot.chart.log_scale)


def build_chart_menus(
    parent: QWidget,
    chart_menu: QMenu,
    actions: Mapping[str, QAction],
    grid: ChartGrid,
    tools: Callable[[], ChartTools],
    symbols: Callable[[], list[str]],
    looks_changed: Callable[[], None],
) -> ChartMenus:
    """Draw (the tools, with their keys from the registry; the magnet; undo), Style,
    Compare and Layout. ``symbols``: the ones to compare with, the watchlist's first."""
    menu = chart_menu.addMenu("&Draw")
    for kind in DRAWING_KINDS:
        menu.addAction(actions[f"draw.{kind}"])
    menu.addSeparator()
    magnet = menu.addAction("Magnet (snap to open, high, low, close)")
    magnet.setCheckable(True)
    magnet.setChecked(True)
    magnet.toggled.connect(lambda on: tools().set_magnet(on))
    menu.addSeparator()
    for text, command in (
        ("Undo drawing (Ctrl+Z on the chart)", "undo"),
        ("Redo drawing (Ctrl+Y on the chart)", "redo"),
        ("Delete selected drawing (Delete)", "delete_selected"),
    ):
        menu.addAction(text).triggered.connect(lambda _=False, c=command: getattr(tools(), c)())

    def set_looks(style: str | None = None, log: bool | None = None) -> None:
        chart = grid.active.chart
        if style is not None:
            chart.set_style(style)
        if log is not None:
            chart.set_log_scale(log)
        looks_changed()

    styles_menu = chart_menu.addMenu("&Style")
    styles: dict[str, QAction] = {}
    style_group = QActionGroup(parent)
    for style, text in zip(PRICE_STYLES, STYLE_NAMES, strict=True):
        action = styles_menu.addAction(text)
        action.setCheckable(True)
        action.setChecked(style == "candles")
        action.triggered.connect(lambda _=False, s=style: set_looks(style=s))
        style_group.addAction(action)
        styles[style] = action
    styles_menu.addSeparator()
    log = styles_menu.addAction("Log scale")
    log.setCheckable(True)
    log.triggered.connect(lambda on: set_looks(log=on))

    def ask_compare() -> None:
        choices = symbols()
        if not choices:
            return
        symbol, ok = QInputDialog.getItem(
            parent, "Compare", "Symbol to draw in percent from the left edge:", choices, 0, True
        )
        if ok and symbol.strip():
            grid.set_compare(grid.active, symbol.strip().upper())

    chart_menu.addAction("Compare with another symbol…").triggered.connect(lambda: ask_compare())
    chart_menu.addAction("Stop comparing").triggered.connect(lambda: grid.set_compare(grid.active, ""))
    layouts = chart_menu.addMenu("&Layout")
    group = QActionGroup(parent)
    for n in COUNTS:
        action = actions[f"charts.{n}"]
        action.setCheckable(True)
        group.addAction(action)
        layouts.addAction(action)
    actions["charts.1"].setChecked(True)
    return ChartMenus(styles, log)
