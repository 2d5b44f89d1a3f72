"""The main window's menus and toolbar: where each keyboard action of the
shortcut registry appears, and the few entries that are menu-only (accounts,
trading live, the trade commands that always ask first). It knows the window
only as a QMainWindow, its actions, its panels and the commands it is given."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

from terminal import APP_NAME
from terminal.marketdata.timeframes import TIMEFRAMES


@dataclass(frozen=True)
class MenuCommands:
    """What the menu-only entries do."""

    open_accounts: Callable[[], object]
    request_live: Callable[[bool], object]
    cancel_all: Callable[[], object]  # asks first
    flatten: Callable[[], object]  # asks first
    reset_paper: Callable[[], object]
    export_journal: Callable[[], object]
    open_palette: Callable[[], object]
    show_about: Callable[[], object]


@dataclass(frozen=True)
class WindowMenus:
    """The entries the window updates later."""

    accounts: QAction
    live: QAction  # checked while the window trades live
    symbol: QAction  # the toolbar's symbol button
    timeframes: QActionGroup
    chart: QMenu  # the window adds the indicators' and drawings' menus


def build_menus_and_toolbar(
    w: QMainWindow,
    a: Mapping[str, QAction],
    panels: Sequence[Sequence[QDockWidget]],
    commands: MenuCommands,
    *,
    live_possible: bool,
    timeframe: str,
) -> WindowMenus:
    """The menu bar and the chart toolbar of window ``w``, from its actions ``a``;
    ``panels``: the docks the View menu shows and hides, in groups."""
    menu = w.menuBar()
    file_menu = menu.addMenu("&File")
    file_menu.addAction(a["window.new"])
    file_menu.addAction(a["market.open"])
    file_menu.addAction(a["market.new_simulated"])
    file_menu.addAction(a["data.manager"])
    file_menu.addAction(a["backtest.open"])
    file_menu.addAction(a["research.open"])
    file_menu.addAction(a["palette.open"])
    file_menu.addSeparator()
    accounts = QAction("Accounts and keys…", w)
    accounts.setObjectName("accounts.open")
    accounts.triggered.connect(commands.open_accounts)
    file_menu.addAction(accounts)
    file_menu.addAction(a["preferences.open"])
    file_menu.addSeparator()
    file_menu.addAction(a["app.quit"])
    chart_menu = menu.addMenu("&Chart")
    timeframes = QActionGroup(w)
    for tf in TIMEFRAMES:
        action = a[f"timeframe.{tf}"]
        action.setCheckable(True)
        timeframes.addAction(action)
        chart_menu.addAction(action)
    chart_menu.addSeparator()
    for name in ("chart.zoom_in", "chart.zoom_out", "chart.pan_left", "chart.pan_right", "chart.latest"):
        chart_menu.addAction(a[name])
    chart_menu.addSeparator()
    chart_menu.addAction(a["chart.indicators"])
    trade_menu = menu.addMenu("&Trade")
    trade_menu.addAction(a["trade.quick_ticket"])
    trade_menu.addAction(a["trade.focus_ticket"])
    trade_menu.addSeparator()
    # Paper is every exchange's default; live needs the account's keys in the keyring.
    live = QAction("Trade live on this exchange (keys from the keyring)", w)
    live.setObjectName("trade.menu.live")
    live.setCheckable(True)
    live.setEnabled(live_possible)
    live.toggled.connect(commands.request_live)
    trade_menu.addAction(live)
    trade_menu.addSeparator()
    # Menu entries always ask first; the hotkeys of the same name follow the config.
    for text, name, act in (
        ("Cancel all open orders…", "trade.menu.cancel_all", commands.cancel_all),
        ("Flatten the position on screen…", "trade.menu.flatten", commands.flatten),
        ("Reset paper account…", "trade.menu.reset", commands.reset_paper),
        ("Export trading journal…", "trade.menu.journal", commands.export_journal),
    ):
        action = QAction(text, w)
        action.setObjectName(name)
        action.triggered.connect(lambda _checked=False, act=act: act())
        trade_menu.addAction(action)
    alerts_menu = menu.addMenu("Alerts")  # no mnemonic: Alt+A adds an alert
    for name in ("alerts.add", "alerts.panel"):
        if name in a:
            alerts_menu.addAction(a[name])
    view_menu = menu.addMenu("&View")
    for group in panels:
        for dock in group:
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
    for name in ("view.theme", "view.fullscreen", "layout.reset"):
        view_menu.addAction(a[name])
    help_menu = menu.addMenu("&Help")
    help_menu.addAction(a["help.shortcuts"])
    about = QAction(f"About {APP_NAME}", w)
    about.triggered.connect(commands.show_about)
    help_menu.addAction(about)

    toolbar = w.addToolBar("Chart")
    toolbar.setObjectName("toolbar_chart")
    toolbar.setMovable(False)
    symbol = QAction("BTC/USDT", w)
    symbol.setToolTip("Search symbols and commands (Ctrl+K)")
    symbol.triggered.connect(commands.open_palette)
    toolbar.addAction(symbol)
    toolbar.addSeparator()
    for tf in TIMEFRAMES:
        action = a[f"timeframe.{tf}"]
        action.setIconText(tf)
        toolbar.addAction(action)
    a[f"timeframe.{timeframe}"].setChecked(True)
    return WindowMenus(accounts=accounts, live=live, symbol=symbol, timeframes=timeframes, chart=chart_menu)
