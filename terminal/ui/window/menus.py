"""The main window's keyboard actions, menus and toolbar: what each action
of the shortcut registry does, and where it appears."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup

from terminal import APP_NAME
from terminal.config import SIMULATED
from terminal.marketdata.timeframes import TIMEFRAMES

if TYPE_CHECKING:
    from terminal.ui.window.main_window import MainWindow


def window_handlers(w: MainWindow) -> dict[str, Callable[[], object]]:
    """What each keyboard action of the registry does in window ``w``."""
    handlers: dict[str, Callable[[], object]] = {
        "palette.open": w.open_palette,
        "market.open": w.open_market_picker,
        "data.manager": w.open_data_manager,
        "backtest.open": w.open_backtest,
        "help.shortcuts": w.show_shortcuts,
        "app.quit": lambda: (w.on_quit or w.close)(),
        "window.new": lambda: w.on_new_window() if w.on_new_window else None,
        "chart.zoom_in": lambda: w.chart.zoom(0.8),
        "chart.zoom_out": lambda: w.chart.zoom(1.25),
        "chart.pan_left": lambda: w.chart.pan(-max(1, w.chart.visible_count() // 10)),
        "chart.pan_right": lambda: w.chart.pan(max(1, w.chart.visible_count() // 10)),
        "chart.latest": lambda: w.chart.show_latest(),
        "symbol.next": lambda: w.step_symbol(1),
        "symbol.previous": lambda: w.step_symbol(-1),
        "layout.reset": w.reset_layout,
        "view.fullscreen": w.toggle_fullscreen,
        "view.theme": w.toggle_theme,
        **w.trading.keys.handlers(),
    }
    for tf in TIMEFRAMES:
        handlers[f"timeframe.{tf}"] = partial(w.set_timeframe, tf)
    return handlers


def build_menus_and_toolbar(w: MainWindow) -> None:
    """The menu bar and the chart toolbar of window ``w``, from its actions."""
    a = w.actions_by_id
    menu = w.menuBar()
    file_menu = menu.addMenu("&File")
    file_menu.addAction(a["window.new"])
    file_menu.addAction(a["market.open"])
    file_menu.addAction(a["data.manager"])
    file_menu.addAction(a["backtest.open"])
    file_menu.addAction(a["palette.open"])
    file_menu.addSeparator()
    w.accounts_action = QAction("Accounts and keys…", w)
    w.accounts_action.setObjectName("accounts.open")
    w.accounts_action.triggered.connect(w.open_accounts)
    file_menu.addAction(w.accounts_action)
    file_menu.addSeparator()
    file_menu.addAction(a["app.quit"])
    chart_menu = menu.addMenu("&Chart")
    w.timeframe_group = QActionGroup(w)
    for tf in TIMEFRAMES:
        action = a[f"timeframe.{tf}"]
        action.setCheckable(True)
        w.timeframe_group.addAction(action)
        chart_menu.addAction(action)
    chart_menu.addSeparator()
    for name in ("chart.zoom_in", "chart.zoom_out", "chart.pan_left", "chart.pan_right", "chart.latest"):
        chart_menu.addAction(a[name])
    trade_menu = menu.addMenu("&Trade")
    trade_menu.addAction(a["trade.quick_ticket"])
    trade_menu.addAction(a["trade.focus_ticket"])
    trade_menu.addSeparator()
    # Paper is every exchange's default; live needs the account's keys in the keyring.
    w.live_action = QAction("Trade live on this exchange (keys from the keyring)", w)
    w.live_action.setObjectName("trade.menu.live")
    w.live_action.setCheckable(True)
    w.live_action.setEnabled(w.exchange != SIMULATED)
    w.live_action.toggled.connect(w.request_live)
    trade_menu.addAction(w.live_action)
    trade_menu.addSeparator()
    # Menu entries always ask first; the hotkeys of the same name follow the config.
    for text, name, act in (
        ("Cancel all open orders…", "trade.menu.cancel_all", lambda: w.trading.cancel_all(confirm=True)),
        ("Flatten the position on screen…", "trade.menu.flatten", lambda: w.trading.flatten(confirm=True)),
        ("Reset paper account…", "trade.menu.reset", lambda: w.trading.flow.reset_paper(w.trading.say)),
        ("Export trading journal…", "trade.menu.journal", w.export_journal),
    ):
        action = QAction(text, w)
        action.setObjectName(name)
        action.triggered.connect(lambda _checked=False, act=act: act())
        trade_menu.addAction(action)
    view_menu = menu.addMenu("&View")
    for dock in w.docks.values():
        view_menu.addAction(dock.toggleViewAction())
    view_menu.addSeparator()
    for dock in w.trading_docks.values():
        view_menu.addAction(dock.toggleViewAction())
    view_menu.addSeparator()
    for name in ("view.theme", "view.fullscreen", "layout.reset"):
        view_menu.addAction(a[name])
    help_menu = menu.addMenu("&Help")
    help_menu.addAction(a["help.shortcuts"])
    about = QAction(f"About {APP_NAME}", w)
    about.triggered.connect(w.show_about)
    help_menu.addAction(about)

    toolbar = w.addToolBar("Chart")
    toolbar.setObjectName("toolbar_chart")
    toolbar.setMovable(False)
    w.symbol_action = QAction("BTC/USDT", w)
    w.symbol_action.setToolTip("Search symbols and commands (Ctrl+K)")
    w.symbol_action.triggered.connect(w.open_palette)
    toolbar.addAction(w.symbol_action)
    toolbar.addSeparator()
    for tf in TIMEFRAMES:
        action = a[f"timeframe.{tf}"]
        action.setIconText(tf)
        toolbar.addAction(action)
    a[f"timeframe.{w.requested_market()[1]}"].setChecked(True)
