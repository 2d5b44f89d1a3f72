"""The main window: chart in the centre, dockable watchlist, order book,
trades and log around it, a status bar, menus and keyboard actions.

It owns no market logic: it asks the session to open symbols and timeframes
and repaints what the frame bridge says changed. Opening a market of another
exchange replaces the session: the old one is closed, the widgets are bound
to the new one (one exchange on screen at a time).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from terminal import APP_NAME, __version__
from terminal.analysis.setup import TEMPLATES_FILE, Templates
from terminal.config import SIMULATED, ConfigStore
from terminal.errors import TerminalError, describe
from terminal.logs import LogBuffer
from terminal.market.health import FeedState
from terminal.market.session import HistoryStore, MarketSession
from terminal.market.source import ExchangeSource
from terminal.market.sources import make_source
from terminal.market.topics import Topic
from terminal.marketdata.orderbook import decimals_for
from terminal.marketdata.timeframes import TIMEFRAMES
from terminal.messages import Messages
from terminal.paths import AppPaths
from terminal.shortcuts import resolve_bindings
from terminal.store.history_file import HistoryFile
from terminal.tasks import TaskGroup
from terminal.ui.alerts.center import AlertCenter
from terminal.ui.backtest.chart_link import ChartLink
from terminal.ui.chart.chart_widget import ChartWidget
from terminal.ui.chart.drawings.layer import DrawingLayer
from terminal.ui.chart.indicator_controls import IndicatorControls
from terminal.ui.chart.user_indicators import UserIndicators
from terminal.ui.data.history_problem import check_history_file, show_history_problem
from terminal.ui.data.sync_indicator import SyncIndicator
from terminal.ui.market.bridge import FrameBridge
from terminal.ui.market.depth_chart import DepthChart
from terminal.ui.market.new_market import NewMarketDialog
from terminal.ui.market.orderbook_view import OrderBookView
from terminal.ui.market.picker import MarketPicker
from terminal.ui.market.tape_view import TapeView
from terminal.ui.market.watchlist import WatchlistModel, WatchlistView
from terminal.ui.preferences.watchlist_edits import WatchlistEdits
from terminal.ui.theme import THEMES, Theme, apply_theme
from terminal.ui.trading.desk import DeskLink, TradingDesk
from terminal.ui.window.actions import build_actions
from terminal.ui.window.chart_grid import (
    CHARTS,
    COUNTS,
    ChartGrid,
    GridLink,
    apply_looks,
    charts_from_text,
    charts_to_text,
)
from terminal.ui.window.chart_menus import DRAWING_KINDS, build_chart_menus
from terminal.ui.window.chart_tools import ChartTools
from terminal.ui.window.help_sheet import ShortcutSheet
from terminal.ui.window.layout import BOOK_LEVELS, WindowLayout, make_dock
from terminal.ui.window.log_panel import LogPanel
from terminal.ui.window.menus import MenuCommands, build_menus_and_toolbar
from terminal.ui.window.notice import NoticeBar
from terminal.ui.window.palette import CommandPalette, PaletteEntry
from terminal.ui.window.status import FeedStatusBar
from terminal.ui.window.window_alerts import WindowAlerts

if TYPE_CHECKING:
    from terminal.credentials import CredentialStore
    from terminal.store.candles import CandleStore
    from terminal.trading.broker import Broker
    from terminal.ui.accounts.dialog import AccountsDialog
    from terminal.ui.backtest.panel import BacktestPanel
    from terminal.ui.data.manager import DataManager
    from terminal.ui.preferences.dialog import PreferencesDialog
    from terminal.ui.trading.seat import SeatAccounts

log = logging.getLogger(__name__)


def _settled() -> asyncio.Event:
    """An event already set: nothing to wait for (a window or account made on its own)."""
    event = asyncio.Event()
    event.set()
    return event


class MainWindow(QMainWindow):
    def __init__(
        self,
        session: MarketSession,
        config: ConfigStore,
        paths: AppPaths,
        log_buffer: LogBuffer,
        *,
        exchange: str = SIMULATED,
        start_at: tuple[str, str] | None = None,
        primary: bool = True,
        history: Callable[[str], HistoryStore | None] | None = None,
        history_file: HistoryFile | None = None,
        settled: asyncio.Event | None = None,
        sources: Callable[[str], ExchangeSource] | None = None,
        alerts: AlertCenter | None = None,
    ) -> None:
        super().__init__()
        # Makes the source of a market this window switches to (the app's shares its one
        # simulated market between windows).
        self.sources = sources or partial(make_source, config.settings)
        self.session = session
        self.exchange = exchange  # the account (or "simulated") this window shows
        self.start_at = start_at  # (symbol, timeframe) to open instead of the configured market
        # What this window shows, or was last asked to show: its own, not a setting (a second
        # window does not move the first one's market); the primary window's is remembered
        # for the next start as it closes.
        market = config.settings.market
        self._wanted: tuple[str, str] = start_at or (market.symbol, market.timeframe)
        self.primary = primary  # only the primary window's layout is saved
        # The local history for a market (None: none, e.g. the simulator).
        self.history = history or (lambda _exchange: None)
        # The history file itself, whatever the market (the data manager's).
        self.history_file = history_file or HistoryFile.of(None)
        self.data_manager: DataManager | None = None
        self.backtest: BacktestPanel | None = None  # made on first use (open_backtest)
        # Set by the window set when there is one: open another window, close them all.
        self.on_new_window: Callable[[], object] | None = None
        self.on_quit: Callable[[], object] | None = None
        # Set by the app: start a new simulated market (seed or None, reset the paper account).
        self.on_new_market: Callable[[int | None, bool], object] | None = None
        # Set by the app (PaperBrokers.manage): the accounts that trade this window's market,
        # told of each market switch, of a request to trade live, of the window closing.
        self.accounts: SeatAccounts | None = None
        # Set by the window set: every window (they share the history file).
        self.every_window: Callable[[], list[MainWindow]] = lambda: [self]
        self.config = config
        self.settings = config.settings
        self.paths = paths
        self.theme = THEMES[self.settings.theme]
        self.setWindowTitle(APP_NAME)
        self.setObjectName("MainWindow")
        self._shown_symbol = ""
        # Set when the window closes; an Event (not a future) so that a close
        # before run() has even started is not lost.
        self._closed = asyncio.Event()
        self.on_first_candles: Callable[[], None] | None = None
        # Work the first candles do not need (opening the history file to check it) waits for
        # this; the app shares one that it sets once the first window shows candles.
        self.settled = settled or _settled()
        self._credentials: CredentialStore | None = None  # made when first asked for (credentials)
        self._starting: asyncio.Task[None] | None = None
        self._switch_lock = asyncio.Lock()
        # Work the window does not wait for at once (a market switch, an export, the history
        # file's check); closing waits for it. A failure is logged and said above the chart.
        self._tasks = TaskGroup("window", on_error=self._background_failed, logger=log)
        self._dialogs: list[AccountsDialog | MarketPicker] = []

        self.chart = ChartWidget(self.theme, self.settings.chart.initial_candles)
        self.chart.time_zone = self.settings.chart.time_zone
        # 1, 2 or 4 charts: the first is this one, on the window's session
        self.chart_grid = ChartGrid(
            GridLink(
                main_chart=self.chart,
                main_session=lambda: self.session,
                open_main_symbol=self.open_symbol,
                set_main_timeframe=self.set_timeframe,
                spawn=self.in_background,
                initial_candles=self.settings.chart.initial_candles,
                time_zone=self.settings.chart.time_zone,
                watchlist=lambda: list(self.settings.watchlist),
            ),
            self.theme,
        )
        self.notice = NoticeBar(self.theme)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.notice)
        column.addWidget(self.chart_grid, 1)
        self.setCentralWidget(central)

        self.watchlist_model = WatchlistModel(self.theme)
        self.watchlist = WatchlistView(self.watchlist_model)
        self.watchlist.symbol_activated.connect(self.open_symbol)
        self.book_view = OrderBookView(session.book, self.theme)
        self.depth_chart = DepthChart(session.book, self.theme)  # a tab behind the ladder
        self.tape_view = TapeView(session.tape, self.theme)
        self.tape_view.time_zone = self.settings.chart.time_zone
        self.log_panel = LogPanel(log_buffer, self.theme)
        self.book_view.keep_levels(BOOK_LEVELS)
        self.docks = {
            "watchlist": make_dock(self, "Watchlist", self.watchlist),
            "book": make_dock(self, "Order book", self.book_view),
            "depth": make_dock(self, "Depth", self.depth_chart),
            "trades": make_dock(self, "Trades", self.tape_view),
            "log": make_dock(self, "Log", self.log_panel),
        }
        # Trading (bound to an account by set_broker): the ticket, open orders, positions
        # and fills; where every dock goes is the layout's (terminal/ui/window/layout.py).
        # The window's message channel: anything may post to it; the status bar shows it.
        self.messages = Messages()
        self.messages.subscribe(lambda message: self.statusBar().showMessage(message.text, 10_000))
        # the user's own indicators: files in the strategies folder, run in a process of their own
        self.user_indicators = UserIndicators(
            paths.config_dir / "strategies", lambda text, bad=False: self.messages.post(text, bad), self
        )
        # the indicators' commands act on the active chart (ChartTools keeps each chart's)
        self.indicators = IndicatorControls(
            lambda: self.chart_grid.active.chart.studies,
            Templates(paths.config_dir / TEMPLATES_FILE),
            self,
            lambda text, bad=False: self.messages.post(text, bad),
            reload=lambda: self.in_background(self.user_indicators.reload(), "load user indicators"),
        )
        # Settings changed in any window (theme, key bindings) reach this one too.
        self._stop_following = config.subscribe(self._settings_changed)
        # The watchlist's context menu and the palette edit the config's watchlist: every window follows.
        self.watchlist_edits = WatchlistEdits(config, lambda: self.session, self.messages.post, self,
                                              lambda: self.theme)  # fmt: skip
        self.watchlist_edits.attach(self.watchlist)
        self.trading = TradingDesk(
            DeskLink(
                parent=self,
                theme=self.theme,
                session=lambda: self.session,
                settings=lambda: self.settings,
                messages=self.messages,
                order_lines=self.chart.order_lines,
                book_marks=self.book_view.set_own_orders,
            )
        )
        self.book_view.price_clicked.connect(self.trading.price_picked)
        self.trading.positions.chart_requested.connect(self.open_symbol)
        self.chart.price_clicked.connect(self.trading.price_picked)
        # The tables below the chart scroll when they are wider than the room there,
        # rather than widening the window past its screen.
        self.trading_docks = {
            "ticket": make_dock(self, "Order ticket", self.trading.ticket, scrolled=True, keep=True),
            "orders": make_dock(self, "Orders", self.trading.orders, scrolled=True),
            "positions": make_dock(self, "Positions", self.trading.positions, scrolled=True),
            "fills": make_dock(self, "Fills", self.trading.fills, scrolled=True),
            "history": make_dock(self, "History", self.trading.history, scrolled=True),
        }

        self.status = FeedStatusBar(session.health, self.theme)
        self.setStatusBar(self.status)
        self.sync_indicator = SyncIndicator(lambda: self.session.cancel_sync())
        self.status.addWidget(self.sync_indicator)
        self.chart.wants_older.connect(lambda: self.session.request_older())
        self._feed_note_timer = QTimer(self)
        self._feed_note_timer.setInterval(500)
        self._feed_note_timer.timeout.connect(self.refresh_feed_note)
        self._feed_note_timer.start()

        bindings, problems = resolve_bindings(self.settings.keybindings)
        for problem in problems:
            log.warning("%s", problem)
        self.actions_by_id = build_actions(self, bindings, self._action_handlers())
        trading = self.trading
        menus = build_menus_and_toolbar(
            self,
            self.actions_by_id,
            [list(self.docks.values()), list(self.trading_docks.values())],
            MenuCommands(
                open_accounts=self.open_accounts,
                request_live=self.request_live,
                cancel_all=lambda: trading.cancel_all(confirm=True),
                flatten=lambda: trading.flatten(confirm=True),
                reset_paper=lambda: trading.flow.reset_paper(trading.say),
                export_journal=self.export_journal,
                open_palette=self.open_palette,
                show_about=self.show_about,
            ),
            live_possible=exchange != SIMULATED,
            timeframe=self._wanted[1],
        )
        self.accounts_action, self.live_action = menus.accounts, menus.live
        menus.chart.addMenu(self.indicators.menu)
        self.chart_menus = build_chart_menus(
            self,
            menus.chart,
            self.actions_by_id,
            self.chart_grid,
            lambda: self.chart_tools,
            self._compare_choices,
            lambda: self._charts_changed(),
        )
        self.symbol_action, self.timeframe_group = menus.symbol, menus.timeframes

        self.bridge = FrameBridge(session, parent=self)
        self.bridge.changed.connect(self._on_changed)

        self.dock_layout = WindowLayout(self, paths.layout_file, lambda: {**self.docks, **self.trading_docks})
        # each chart's drawings (history file) and indicators (layout file)
        self.chart_tools = ChartTools(
            self.chart_grid,
            self.indicators,
            lambda: self.exchange,
            self.history_file.get,
            self.messages.post,
            self.settled,
            self.dock_layout.saved_text,
            self._save_view_text,
            self.theme,
        )
        # the alerts: the app's one center (a window of its own when made alone, as tests do)
        self._owns_alerts = alerts is None
        self.alert_center = alerts or AlertCenter(
            self.history_file.writable,
            lambda: self.credentials,
            muted=self.settings.alerts.muted,
            parent=self,
        )
        self.alerts = WindowAlerts(self, self.alert_center)
        self.alerts.bind(session, exchange)
        self.restore_layout()
        self.chart_grid.active_changed.connect(self.chart_menus.show_looks)
        self.user_indicators.loaded.connect(self._user_indicators_loaded)
        self.chart_menus.show_looks(self.chart_grid.active)
        self.chart_grid.changed.connect(self._charts_changed)
        if config.problem:
            self.notice.show_message(config.problem)

    @property
    def credentials(self) -> CredentialStore:
        """Where this window's account keys are (the OS keyring): made when first
        asked for, so that the start-up does not load the keyring library."""
        if self._credentials is None:
            from terminal.credentials import CredentialStore

            self._credentials = CredentialStore()  # reads nothing until asked
        return self._credentials

    @credentials.setter
    def credentials(self, store: CredentialStore) -> None:  # tests put their own here
        self._credentials = store

    # -- building -----------------------------------------------------------------
    def _action_handlers(self) -> dict[str, Callable[[], object]]:
        """What each keyboard action of the registry does in this window."""
        handlers: dict[str, Callable[[], object]] = {
            "palette.open": self.open_palette,
            "market.open": self.open_market_picker,
            "data.manager": self.open_data_manager,
            "backtest.open": self.open_backtest,
            "research.open": self.open_research,
            "alerts.add": lambda: self.alerts.add_at_crosshair(),
            "alerts.panel": lambda: self.alerts.open_panel(),
            "market.new_simulated": self.ask_new_market,
            "help.shortcuts": self.show_shortcuts,
            "preferences.open": self.open_preferences,
            "app.quit": lambda: (self.on_quit or self.close)(),
            "window.new": lambda: self.on_new_window() if self.on_new_window else None,
            # the active chart's (the window's own when it shows one)
            "chart.zoom_in": lambda: self._active_chart().zoom(0.8),
            "chart.zoom_out": lambda: self._active_chart().zoom(1.25),
            "chart.pan_left": lambda: self._active_chart().pan(
                -max(1, self._active_chart().visible_count() // 10)
            ),
            "chart.pan_right": lambda: self._active_chart().pan(
                max(1, self._active_chart().visible_count() // 10)
            ),
            "chart.latest": lambda: self._active_chart().show_latest(),
            "chart.indicators": self.open_indicator_palette,
            **{f"draw.{kind}": partial(self._arm_drawing, kind) for kind in DRAWING_KINDS},
            **{f"charts.{n}": partial(self.set_chart_count, n) for n in COUNTS},
            "symbol.next": lambda: self.step_symbol(1),
            "symbol.previous": lambda: self.step_symbol(-1),
            "layout.reset": self.reset_layout,
            "view.fullscreen": self.toggle_fullscreen,
            "view.theme": self.toggle_theme,
            **self.trading.keys.handlers(),
        }
        for tf in TIMEFRAMES:
            handlers[f"timeframe.{tf}"] = partial(self._active_timeframe, tf)
        return handlers

    def export_journal(self) -> None:
        """Trade → Export trading journal: pick a file, write it off the GUI thread."""
        accounts = self.accounts
        if accounts is None:
            self.notice.show_message("There is no trading journal in this window.")
            return
        from terminal.ui.trading.journal_export import export_journal, journal_dialog

        dialog = journal_dialog(self, self.paths.data_dir)

        def chosen(path: str) -> None:
            async def write() -> None:
                await export_journal(await accounts.journal(), path, self.notice.show_message)

            self.in_background(write(), "export journal")

        dialog.fileSelected.connect(chosen)
        dialog.open()

    def request_live(self, live: bool) -> None:
        """The user asked to trade live (or back on paper) on this window's exchange."""
        if self.accounts is None:
            self.show_live(False)
            return
        self.accounts.live_requested(live)

    def show_live(self, live: bool) -> None:
        """Show whether this window trades live (the Trade menu's check mark)."""
        self.live_action.blockSignals(True)
        self.live_action.setChecked(live)
        self.live_action.blockSignals(False)
        self.live_action.setEnabled(self.exchange != SIMULATED)

    def show_notice(self, text: str) -> None:
        """Say something above the chart that stays until dismissed."""
        self.notice.show_message(text)

    def set_broker(self, broker: Broker | None) -> None:
        """Trade through ``broker`` (the account of this window's market; None: no trading).
        The caller owns it: it starts it before and closes it after."""
        self.trading.set_broker(broker)

    # -- lifecycle ----------------------------------------------------------------
    async def run(self) -> None:
        """Start the market session and keep it until the window closes, then shut it down
        (with whatever the dialogs and a market switch have under way)."""
        self._start(*self._wanted)
        # Every market keeps its paper account and journal in the history file: say as soon
        # as the start-up has settled (opening it is not on the first candles' path) if it
        # cannot be used.
        self.in_background(self._check_history_file(), "history file")
        self.in_background(self._load_user_indicators(), "load user indicators")
        self.in_background(self._load_alerts(), "load alerts")
        await self._closed.wait()
        self._stop_following()
        for dialog in self._dialogs:
            dialog.reject()
            await dialog.shutdown()
        await self.chart_grid.shutdown()  # the other charts' sessions, before this one's connection
        await self._tasks.close(cancel=False)
        await self.chart_tools.shutdown()  # the last drawings saved before the history file closes
        await self.user_indicators.close()
        if self.data_manager is not None:  # its jobs and table reads end first
            await self.data_manager.shutdown()
        if self.backtest is not None:  # its runs, reads and saves end first
            await self.backtest.shutdown()
        await self.trading.shutdown()  # orders under way get their answers first
        await self.alerts.release()  # its background candle watches, on this window's connection
        self.alerts.close()  # the app's alerts tell this window nothing more
        if self._owns_alerts:
            await self.alert_center.close()
        if self.accounts is not None:
            try:
                await self.accounts.close()
            except Exception as exc:  # noqa: BLE001 - the window must still close its market
                log.error("Closing the trading account failed: %s", describe(exc, detailed=True))
        await self._stop_session()

    def _user_indicators_loaded(self) -> None:
        """Saved indicators that waited for the user's files are drawn now (if they loaded)."""
        for slot in self.chart_grid.slots:
            self.indicators.retry_waiting(slot.chart.studies)

    async def _once_settled(self) -> bool:
        """Wait until the start-up has settled (the first candles come first) or the window
        closes; whether it is still open."""
        waits = [asyncio.ensure_future(self.settled.wait()), asyncio.ensure_future(self._closed.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return not self._closed.is_set()

    async def _load_user_indicators(self) -> None:
        """The user's indicators once the start-up has settled."""
        if await self._once_settled():
            await self.user_indicators.reload()

    async def _load_alerts(self) -> None:
        """The alerts from the history file once the start-up has settled."""
        if await self._once_settled():
            await self.alert_center.load()

    async def _check_history_file(self) -> None:
        """``check_history_file`` once the start-up has settled, unless the window closes first."""
        if await self._once_settled():
            await check_history_file(self)

    def _start(self, symbol: str, timeframe: str) -> None:
        session = self.session
        self._starting = asyncio.get_running_loop().create_task(session.start(symbol, timeframe))
        self._starting.add_done_callback(partial(self._report_start, session))

    async def _stop_session(self) -> None:
        """Stop the session's start (if still under way) and close the session."""
        if self._starting is not None:
            self._starting.cancel()
            await asyncio.gather(self._starting, return_exceptions=True)
            self._starting = None
        await self.session.close()

    def _report_start(self, session: MarketSession, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        assert exc is not None
        message = f"Could not start the {session.source.name} market: {describe(exc)}"
        log.error("%s", message)
        self.notice.show_message(message)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.primary:  # the window the next start opens like: its layout and market
            self.save_layout()
            self.config.remember_market(self.exchange, *self.requested_market())
            self.config.save()
        self._closed.set()
        event.accept()

    # -- layout -------------------------------------------------------------------
    def restore_layout(self) -> None:
        self.dock_layout.restore()
        levels = self.dock_layout.saved_choice("book_levels")
        self.book_view.set_levels(levels or None)  # 0 (or none saved): as many as fit
        count, states = charts_from_text(self.dock_layout.saved_text(CHARTS))
        if states:
            self.chart_grid.slots[0].group = states[0].group
            apply_looks(self.chart, states[0])
        self.chart_grid.spare = states[1:]  # the other charts, shown or not: back at 2 or 4
        if count > 1:
            self.chart_grid.set_count(count, states)
        if states and states[0].compare:
            self.chart_grid.set_compare(self.chart_grid.slots[0], states[0].compare)
        self._check_layout_action()

    def _save_view_text(self, key: str, text: str) -> None:
        """A chart's indicators or the charts changed: kept at once (the primary window's;
        the others open like it and do not write it; see closeEvent)."""
        if self.primary:
            self.dock_layout.save_text(key, text)

    def save_layout(self) -> None:
        self.dock_layout.save({"book_levels": self.book_view.canvas.max_levels or 0})
        self.dock_layout.save_text(CHARTS, charts_to_text(self.chart_grid.count, self.chart_grid.state()))
        self.chart_tools.save_all()

    def set_chart_count(self, count: int) -> None:
        """Chart ▸ Layout: 1, 2 or 4 charts."""
        self.chart_grid.set_count(count)
        self._check_layout_action()

    def _check_layout_action(self) -> None:
        action = self.actions_by_id.get(f"charts.{self.chart_grid.count}")
        if action is not None:
            action.setChecked(True)

    def _charts_changed(self) -> None:
        self._save_view_text(CHARTS, charts_to_text(self.chart_grid.count, self.chart_grid.state()))

    def reset_layout(self) -> None:
        self.dock_layout.reset()
        self.messages.post("Layout reset to the default.")

    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    # -- market -------------------------------------------------------------------
    # Requests go to the session, which lets the newest win and ignores
    # repeats; what the window compares against is the *requested* symbol and
    # timeframe, not the ones still on screen while a switch loads.
    def requested_market(self) -> tuple[str, str]:
        symbol, timeframe = self.session.requested
        return (symbol, timeframe) if symbol else self._wanted

    def open_symbol(self, symbol: str) -> None:
        # While a switch closes the old session, there is nothing to ask.
        if self.session.markets and not self._switch_lock.locked():
            self.session.request_open(symbol, self.requested_market()[1])

    def open_market(self, exchange: str, symbol: str) -> None:
        """Show ``symbol`` of ``exchange`` ("simulated" or an account): on the
        session on screen if it is that exchange, else on a new one."""
        if exchange == self.exchange and self.session.markets:
            self.open_symbol(symbol)
        else:
            self.switch_market(exchange, symbol)

    def switch_market(self, exchange: str, symbol: str) -> asyncio.Task[None]:
        """Replace the market session with one on ``exchange``, showing ``symbol``.

        The new source is made first (a failure leaves the market on screen as
        it is); then the old session is closed (every task, the connections)
        and the widgets are bound to the new one. Switches run one at a time.
        """
        return self.in_background(self._switch(exchange, symbol), "switch market")

    def in_background(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Run ``work`` as a task that closing the window waits for."""
        return self._tasks.spawn(work, name=name)

    def _background_failed(self, exc: BaseException, name: str) -> None:
        self.notice.show_message(f"{name[:1].upper()}{name[1:]} failed: {describe(exc)}")

    async def _switch(self, exchange: str, symbol: str) -> None:
        async with self._switch_lock:
            if self._closed.is_set():
                return
            try:
                # Making a ccxt source imports ccxt (half a second): not on the GUI thread.
                source = await asyncio.to_thread(self.sources, exchange)
            except TerminalError as exc:
                log.error("Could not open %s: %s", exchange, describe(exc, detailed=True))
                self.notice.show_message(f"Could not open {exchange}: {exc.user_message()}")
                return
            if self._closed.is_set():
                await source.close()
                return
            log.info("Switching the market to %s (%s)", exchange, source.name)
            # The first real exchange creates the history file: off the GUI thread too.
            store = await asyncio.to_thread(self.history, exchange)
            session = MarketSession.on(source, exchange, self.settings.watchlist, store)
            old_bridge = self.bridge
            old_bridge.changed.disconnect(self._on_changed)
            await self.chart_grid.shutdown()  # the other charts use the old connection
            await self.alerts.release()  # so do the alerts' background watches
            try:
                await self._stop_session()
            except Exception as exc:  # noqa: BLE001 - a failed close must not keep the old market on screen
                log.warning(
                    "The %s market did not close cleanly: %s", self.session.source.name, describe(exc)
                )
            old_bridge.deleteLater()  # the old session is closed: it notifies no more
            self.exchange = exchange  # first: the charts' drawings are kept under the new exchange
            self._bind(session, symbol)
            self.alerts.bind(session, exchange)
            self.chart_grid.rebind()  # the other charts move to the new connection
            if self.accounts is not None:
                self.accounts.session_changed(session)
            self.notice.clear()  # the old market's news; a history file problem stays, told anew
            self.show_history_problem()
            self._start(symbol, self.requested_market()[1])

    def _bind(self, session: MarketSession, symbol: str) -> None:
        """Point every widget at ``session`` (still empty: it fills in as it starts)."""
        self.session = session
        self.trading.set_broker(None)  # it traded the old market; the app gives the new one's
        self.bridge = FrameBridge(session, parent=self)
        self.bridge.changed.connect(self._on_changed)
        self._shown_symbol = ""
        self.chart.set_series(session.candles, symbol, self.chart.decimals)
        self.book_view.canvas.book = session.book
        self.book_view.refresh()
        self.depth_chart.set_book(session.book)
        self.tape_view.tape = session.tape
        self.tape_view.update()
        self.watchlist_model.set_symbols([], {})
        self.watchlist_model.refresh({})
        self.status.health = session.health
        self.status.set_market(f"{session.source.name} · connecting…")
        self.status.refresh()
        self.refresh_feed_note()

    def set_timeframe(self, timeframe: str) -> None:
        self.actions_by_id[f"timeframe.{timeframe}"].setChecked(True)
        if self._switch_lock.locked():
            self._wanted = (self._wanted[0], timeframe)  # what the new session starts with
        elif self.session.markets:
            self.session.request_open(self.requested_market()[0], timeframe)

    def step_symbol(self, step: int) -> None:
        symbols = self.watchlist_model.symbols
        if not symbols:
            return
        wanted = self.requested_market()[0]
        i = symbols.index(wanted) if wanted in symbols else -1
        self.open_symbol(symbols[(i + step) % len(symbols)])

    def _on_changed(self, topics: Topic) -> None:
        session = self.session
        if topics & Topic.MARKETS:
            self.watchlist_model.set_symbols(session.watchlist, session.markets)
        if topics & Topic.CANDLES_RELOAD:
            self._show_market()
        else:
            if topics & Topic.CANDLES_CORRECTED:
                self.chart.refresh()
            if topics & Topic.CANDLES_LIVE:
                self.chart.live_update()
        if topics & (Topic.CANDLES_RELOAD | Topic.CANDLES_LIVE):
            self._update_title()
        if topics & Topic.BOOK:
            self.book_view.refresh()
            self.depth_chart.refresh()
        if topics & Topic.TRADES:
            self.tape_view.update()
        if topics & Topic.TICKERS:
            self.watchlist_model.refresh(session.tickers)
        if topics & Topic.SYNC:
            self.sync_indicator.show_progress(session.sync_progress)
            self.chart.history_start_reached = session.history_start_reached
        if topics & Topic.STATUS:
            self.status.refresh()
            self.refresh_feed_note()
        self.trading.market_changed(topics)

    def refresh_feed_note(self) -> None:
        """Mark the chart while the feed is not live (also polled: staleness is
        a matter of time passing, not of an event)."""
        health = self.session.health
        state = health.state
        # Streams the exchange refused do not count in the overall state: the
        # chart's own are said over the chart, watchlist tickers in their rows.
        refusals = health.refusals()
        tickers = {n.removeprefix("ticker "): why for n, why in refusals.items() if n.startswith("ticker ")}
        refused = "; ".join(f"{n}: {why}" for n, why in refusals.items() if not n.startswith("ticker "))
        if state in (FeedState.LIVE, FeedState.CONNECTING, FeedState.STOPPED):
            self.chart.set_feed_note(f"REFUSED: {refused}" if refused else "")
        else:
            reason = f": {health.reason}" if health.reason else ""
            self.chart.set_feed_note(f"{state.value.upper()}{reason}")
        book = health.stream_state("order book")
        live = book in (None, FeedState.LIVE) and state is not FeedState.STOPPED
        why = f"The order book is {book or state}: its last good levels are shown."
        self.book_view.set_stale("" if live else why)
        self.depth_chart.set_stale("" if live else f"The order book is {book or state}: not drawn.")
        self.watchlist_model.set_refusals(tickers)

    def _show_market(self) -> None:
        session = self.session
        market = session.markets.get(session.symbol, {})
        precision = market.get("precision", {})
        tick = float(precision.get("price") or 0.01)
        lot = float(precision.get("amount") or 0.0001)
        decimals = decimals_for(tick)
        self.chart.set_series(session.candles, session.symbol, decimals)
        symbol_changed = session.symbol != self._shown_symbol
        if symbol_changed:
            self._shown_symbol = session.symbol
            self.book_view.set_market(session.book, tick, lot)
            self.depth_chart.set_market(session.book, tick, lot, session.symbol)
            self.tape_view.price_decimals = decimals
            self.tape_view.size_decimals = min(decimals_for(lot), 6)
            self.watchlist_model.set_current(session.symbol)
            self.watchlist_model.refresh(session.tickers)
        self.chart_grid.main_shown(session.symbol, session.timeframe, symbol_changed)
        self.actions_by_id[f"timeframe.{session.timeframe}"].setChecked(True)
        self._wanted = (session.symbol, session.timeframe)
        self.symbol_action.setText(f"{session.symbol}  ▾")
        self.status.set_market(f"{session.source.name} · {session.symbol} · {session.timeframe}")
        if self.on_first_candles is not None and len(session.candles):
            callback, self.on_first_candles = self.on_first_candles, None
            self.chart.candles.on_painted = callback

    def _update_title(self) -> None:
        last = self.session.candles.last()
        if last is None:
            return
        price = f"{last[4]:,.{self.chart.decimals}f}"
        self.setWindowTitle(f"{self.session.symbol} {price} · {self.session.timeframe} — {APP_NAME}")

    # -- dialogs and views --------------------------------------------------------
    def palette_entries(self) -> list[PaletteEntry]:
        entries = [
            PaletteEntry(
                symbol,
                f"{m.get('type', '')} · {self.session.source.name}",
                partial(self.open_symbol, symbol),
            )
            for symbol, m in self.session.markets.items()
        ]
        for action_id, action in self.actions_by_id.items():
            if action_id != "palette.open":
                keys = ", ".join(s.toString() for s in action.shortcuts())
                entries.append(PaletteEntry(action.text(), keys, action.trigger))
        entries.append(PaletteEntry(self.accounts_action.text(), "", self.accounts_action.trigger))
        entries += [PaletteEntry(label, "", run) for label, run in self.watchlist_edits.commands()]
        entries += self.indicators.palette_entries()
        entries += self.alerts.palette_entries()
        return entries

    def _compare_choices(self) -> list[str]:
        """The symbols to compare with: the watchlist's first, then every one listed."""
        listed = self.session.markets
        return [s for s in self.settings.watchlist if s in listed] + sorted(listed)

    def _active_chart(self) -> ChartWidget:
        return self.chart_grid.active.chart

    def _active_timeframe(self, timeframe: str) -> None:
        """1 - 6 (and the toolbar): the active chart's timeframe."""
        active = self.chart_grid.active
        if active.session is None:
            self.set_timeframe(timeframe)
        else:
            self.chart_grid.choose_timeframe(active, timeframe)
            toolbar = self.actions_by_id[f"timeframe.{self.session.timeframe}"]
            toolbar.setChecked(True)  # the toolbar's check stays on the window's own chart

    def _arm_drawing(self, kind: str) -> None:
        self.chart_tools.arm(kind)

    @property
    def drawings(self) -> DrawingLayer:
        """The window's own chart's drawings (the first of the grid)."""
        return self.chart_tools.of(self.chart_grid.slots[0]).layer

    def open_indicator_palette(self) -> CommandPalette:
        """The palette with the indicators only ("/"): type "RSI 21", Enter adds it. The user's
        indicators are looked for again meanwhile (a file just written shows the next time)."""
        self.in_background(self.user_indicators.reload(), "load user indicators")
        palette = CommandPalette(self.indicators.palette_entries(), self, typed=self.indicators.palette_typed)
        palette.setWindowTitle("Add indicator")
        palette.query.setPlaceholderText("Indicator and its numbers, e.g. RSI 14 or BB 20 2… (Enter adds it)")
        palette.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        palette.open()
        return palette

    def open_palette(self) -> CommandPalette:
        palette = CommandPalette(self.palette_entries(), self, typed=self.indicators.palette_typed)
        palette.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        palette.open()
        return palette

    def _keep_dialog[D: (AccountsDialog, MarketPicker)](self, dialog: D) -> D:
        """Keep ``dialog`` until run() ends (it may have work to wind down); let go of
        closed ones with nothing left to do."""
        for old in [d for d in self._dialogs if d.isHidden() and not d.busy]:
            self._dialogs.remove(old)
            old.deleteLater()
        self._dialogs.append(dialog)
        return dialog

    def open_market_picker(self) -> MarketPicker:
        picker = MarketPicker(
            self.settings,
            self.exchange,
            lambda: self.session.markets,
            self.theme,
            self,
            current_symbol=self.session.symbol,
        )
        picker.chosen.connect(self.open_market)
        picker.open()
        return self._keep_dialog(picker)

    def open_accounts(self) -> AccountsDialog:
        from terminal.ui.accounts.dialog import AccountsDialog  # keyring and the key forms: when asked

        on_screen = lambda: self.exchange  # noqa: E731 - the market this window shows
        dialog = AccountsDialog(self.config, self.credentials, self.theme, self, on_screen=on_screen)
        dialog.open()
        return self._keep_dialog(dialog)

    def open_preferences(self) -> PreferencesDialog:
        """Preferences (Ctrl+,): one dialog per window, raised if already open."""
        from terminal.ui.preferences.dialog import PreferencesDialog

        dialog = self.findChild(PreferencesDialog)
        if dialog is None or not dialog.isVisible():
            markets, name = self.session.markets, self.session.source.name
            dialog = PreferencesDialog(
                self.config, markets, name, self.theme, self, credentials=lambda: self.credentials
            )
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.open()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def open_data_manager(self) -> DataManager | None:
        """Show the market data panel (coverage, gaps, downloads, CSV), made on first use."""
        if self.data_manager is None:
            store = self.history_file.get()
            if store is None:
                self.show_history_problem()
                return None
            from terminal.market.history_sources import HistorySources
            from terminal.ui.data.manager import DataManager

            sources = HistorySources(self.settings, lambda: [self.session])
            self.data_manager = DataManager(store, sources, self.theme)
            self.data_manager.runner.finished.connect(
                lambda _outcome, message: self.alert_center.job_finished("download", message)
            )
            self.docks["data"] = dock = make_dock(self, "Market data", self.data_manager, scrolled=True)
            self.dock_layout.add_bottom_panel(dock, tall=True)
        self.dock_layout.show_panel(self.docks["data"])
        return self.data_manager

    def chart_link(self) -> ChartLink:
        """What a panel may know of this window's chart (``ChartLink``): read when used,
        so it follows market switches."""

        def market_info(exchange: str, symbol: str) -> Mapping[str, Any] | None:
            return self.session.markets.get(symbol) if exchange == self.exchange else None

        return ChartLink(
            chart=self.chart,
            market=lambda: (self.exchange, self.session.symbol, self.session.timeframe),
            series=lambda: self.session.candles,
            market_info=market_info,
        )

    def open_backtest(self) -> BacktestPanel:
        """Show the backtest panel (tabbed below the chart), made on first use: its
        modules load numba, which a start-up need not wait for."""
        if self.backtest is None:
            from terminal.ui.backtest.form_memory import FILE_NAME as FORM_FILE
            from terminal.ui.backtest.panel import BacktestPanel

            self.backtest = BacktestPanel(
                self.chart_link(),
                self.history_file,
                self.paths.config_dir / "strategies",
                self.theme,
                form_file=self.paths.config_dir / FORM_FILE,  # the form as last left, beside the layout
                research=self.settings.research,
                save_research=lambda chosen: self.config.change(research=chosen),
                keys=self.credentials,
            )
            self.backtest.research.ended.connect(
                lambda text, _bad: self.alert_center.job_finished("research", text)
            )
            self.docks["backtest"] = dock = make_dock(self, "Backtest", self.backtest, scrolled=True)
            self.dock_layout.add_bottom_panel(dock, tall=True)  # a form and results: room from the chart
        self.dock_layout.show_panel(self.docks["backtest"])
        return self.backtest

    def open_research(self) -> None:
        """The backtest panel's Research tab: sweeps of the strategy in its form."""
        self.open_backtest().open_research()

    # -- a history file that cannot be opened ----------------------------------------
    def show_history_problem(self) -> None:
        """Say why the history file is not open (if it is not), with the ways out as buttons."""
        show_history_problem(self)

    async def release_history(self) -> None:
        """Close the data panel: it holds the history store about to be replaced."""
        panel = self.data_manager
        if panel is not None:
            await panel.shutdown()
            self.removeDockWidget(self.docks.pop("data"))
            panel.deleteLater()
            self.data_manager = None

    def use_history(self, store: CandleStore) -> None:
        """The history file is open again: the chart's market keeps its history there."""
        self.session.store = store
        self.session.request_open(*self.requested_market(), reload=True)

    def show_shortcuts(self) -> ShortcutSheet:
        sheet = ShortcutSheet(self.actions_by_id, self, hotkeys_enabled=self.trading.hotkeys_enabled())
        sheet.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        sheet.open()
        return sheet

    def ask_new_market(self) -> NewMarketDialog | None:
        """Ask for a new simulated market (its seed, the paper account's fate)."""
        start = self.on_new_market
        if start is None:
            self.notice.show_message("A new simulated market can be started from the terminal's window only.")
            return None
        dialog = NewMarketDialog(start, self)
        dialog.open()
        return dialog

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<b>{APP_NAME}</b> {__version__}<br>A desktop trading terminal for crypto markets.<br>"
            f"Config: {self.paths.config_dir}<br>Data: {self.paths.data_dir}",
        )

    def toggle_theme(self) -> None:
        self.set_theme("light" if self.theme.name == "dark" else "dark")

    def set_theme(self, name: str) -> None:
        """Switch the theme of every window (and remember it)."""
        self.config.change(theme=name)

    def _settings_changed(self, changed: frozenset[str]) -> None:
        if "theme" in changed and self.settings.theme != self.theme.name:
            self._apply_theme(THEMES[self.settings.theme])
        if "watchlist" in changed:  # its tickers start and stop; the list follows (Topic.MARKETS)
            self.session.set_watchlist(self.settings.watchlist)
        if "alerts" in changed:  # Preferences ▸ Alerts ▸ Mute, or the panel's Mute in any window
            self.alert_center.set_muted(self.settings.alerts.muted)
        if "keybindings" in changed:
            bindings, problems = resolve_bindings(self.settings.keybindings)
            for problem in problems:
                log.warning("%s", problem)
            for action_id, action in self.actions_by_id.items():
                action.setShortcuts([QKeySequence(k) for k in bindings.get(action_id, ())])

    def _apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)
        for widget in (self.chart, self.book_view, self.tape_view, self.log_panel, self.status, self.notice):
            widget.apply_theme(theme)
        self.chart_grid.apply_theme(theme)
        self.chart_tools.apply_theme(theme)
        self.depth_chart.apply_theme(theme)
        if self.data_manager is not None:
            self.data_manager.apply_theme(theme)
        if self.backtest is not None:
            self.backtest.apply_theme(theme)
        self.trading.apply_theme(theme)
        if self.alerts.panel is not None:
            self.alerts.panel.apply_theme(theme)
        self.watchlist_model.theme = theme
        self.watchlist_model.refresh(self.session.tickers)
