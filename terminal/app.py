"""Composition root: settings, logging, the Qt application on one asyncio loop
(qasync), the market session and the main window.

``main`` is the list of steps. The first window's candles come first:
what that window does not need to show them (opening the history file and
its migrations, loading the paper account, the backtest kernels' warm-up)
waits until they are on screen (``StartUp``), or until the user asks for it.
The simulated market, the default, needs no history file at all.

Exit is clean by construction: closing the window resolves ``MainWindow.run``,
which closes every feed and the source before the loop stops; the process
then exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from terminal import APP_NAME, __version__
from terminal.config import SIMULATED, ConfigStore, Settings
from terminal.errors import TerminalError
from terminal.logs import LogBuffer, setup_logging
from terminal.market.session import HistoryStore, MarketSession
from terminal.market.simulator import SimulatedExchange
from terminal.market.simulator.market import MarketStart, SimulatedMarket
from terminal.market.source import ExchangeSource
from terminal.market.sources import make_source
from terminal.marketdata.timeframes import TIMEFRAMES
from terminal.paths import AppPaths, resolve_paths
from terminal.tasks import TaskGroup

if TYPE_CHECKING:  # Qt is imported inside main(), so that --help and --version answer without it
    from PySide6.QtWidgets import QApplication

    from terminal.credentials import CredentialStore
    from terminal.market.simulator.memory import MarketMemory
    from terminal.store.history_file import HistoryFile
    from terminal.ui.alerts.center import AlertCenter
    from terminal.ui.trading.paper_brokers import PaperBrokers
    from terminal.ui.window.main_window import MainWindow
    from terminal.ui.window.windows import WindowSet

log = logging.getLogger(__name__)
PROCESS_START = time.perf_counter()
RESUMED_NOTE_MS = 120_000  # a simulated market away this long says so when it resumes
SETTLE_AT_LATEST_MS = 10_000  # what waits for the first candles starts by then, candles or not
ICON = Path(__file__).resolve().parent.parent / "resources" / "icons" / "terminal.svg"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="terminal", description=f"{APP_NAME}: a crypto trading terminal.")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--config-dir", type=Path, help="folder for config.toml and the window layout")
    parser.add_argument("--data-dir", type=Path, help="folder for logs and market data")
    parser.add_argument("--symbol", help="symbol to open, e.g. ETH/USDT (remembered)")
    parser.add_argument("--timeframe", choices=list(TIMEFRAMES), help="chart timeframe (remembered)")
    parser.add_argument("--theme", choices=["dark", "light"], help="colour theme (remembered)")
    parser.add_argument(
        "--seed",
        type=int,
        help="the simulated market's seed: without it the market kept in the history file goes on; "
        "another seed starts a new market (the same seed, the same market)",
    )
    parser.add_argument(
        "--exchange", help='"simulated" or the name of an account in config.toml (remembered)'
    )
    parser.add_argument(
        "--screenshot", type=Path, help="save a screenshot of the window to this PNG, then quit"
    )
    parser.add_argument(
        "--screenshot-delay", type=float, default=4.0, help="seconds to wait before --screenshot"
    )
    parser.add_argument(
        "--startup-benchmark",
        action="store_true",
        help="print seconds from launch to candles on screen, then quit",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this build end to end (offscreen, temporary folders), print the results, then quit",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.self_test:  # runs main() itself, in temporary folders (terminal/ui/self_test.py)
        from terminal.ui.self_test import run_self_test

        return run_self_test(main, PROCESS_START)
    paths, config, log_buffer = open_settings(args)
    apply_overrides(config.settings, args)
    qt_app = make_qt_app(config.settings)
    history_file = open_history_file(paths)
    factory = WindowFactory(config, paths, log_buffer, history_file, seed=args.seed)
    run_event_loop(qt_app, run_windows(args, factory), interrupt=factory.close_all)
    log.info("%s closed cleanly", APP_NAME)
    logging.shutdown()
    return 0


def open_settings(args: argparse.Namespace) -> tuple[AppPaths, ConfigStore, LogBuffer]:
    """The folders (made private), the config, and the log, which then says what
    was found before it existed."""
    paths = resolve_paths(args.config_dir, args.data_dir)
    narrowed = paths.ensure()
    config = ConfigStore(paths.config_file)
    log_buffer = setup_logging(paths.log_dir, config.settings.log_level)
    log.info("%s %s starting (config %s, data %s)", APP_NAME, __version__, paths.config_dir, paths.data_dir)
    for line in narrowed:
        log.info("%s", line)
    if config.problem:  # shown in the window too
        log.warning("%s", config.problem)
    from terminal.backtest import warmup  # imports nothing heavy (no numba)

    # numba fixes a kernel's cache folder when the kernel is defined: choose it before
    # anything imports them (an installed or frozen build cannot write beside its sources)
    warmup.configure_cache(paths.data_dir / "numba-cache")
    return paths, config, log_buffer


def apply_overrides(settings: Settings, args: argparse.Namespace) -> None:
    """What the command line says wins over the config (and is remembered)."""
    if args.symbol:
        settings.market.symbol = args.symbol
    if args.timeframe:
        settings.market.timeframe = args.timeframe
    if args.theme:
        settings.theme = args.theme
    if args.exchange:
        if args.exchange != SIMULATED and settings.account(args.exchange) is None:
            known = ", ".join([SIMULATED, *(a.name for a in settings.accounts)])
            raise SystemExit(f"--exchange {args.exchange}: no such account (known: {known}).")
        settings.market.exchange = args.exchange


def make_qt_app(settings: Settings) -> QApplication:
    """The Qt application, named, with its icon and theme. Qt is first imported here."""
    from terminal.ui import pin_qt_binding

    pin_qt_binding()  # before qasync, which takes the first Qt binding it finds
    from PySide6.QtWidgets import QApplication

    from terminal.ui.theme import THEMES, apply_theme

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    if ICON.exists():
        from PySide6.QtGui import QIcon

        app.setWindowIcon(QIcon(str(ICON)))
    app.setQuitOnLastWindowClosed(False)  # the loop ends when run() has shut the feeds down
    apply_theme(app, THEMES[settings.theme])
    return app


def open_history_file(paths: AppPaths) -> HistoryFile:
    """The app's one history file, not opened yet: it opens when first needed
    (a real exchange's chart, the paper accounts once the first candles are on screen)."""
    from terminal.store.database import default_path
    from terminal.store.history_file import HistoryFile

    return HistoryFile(default_path(paths))


def _credential_store() -> CredentialStore:
    from terminal.credentials import CredentialStore

    return CredentialStore()


class WindowFactory:
    """Makes each window: its market's source and session, the window itself,
    and its paper account (``PaperBrokers``), all sharing the history file."""

    def __init__(
        self,
        config: ConfigStore,
        paths: AppPaths,
        log_buffer: LogBuffer,
        history_file: HistoryFile,
        *,
        seed: int | None,
    ) -> None:
        from terminal.ui.trading.paper_brokers import PaperBrokers
        from terminal.ui.window.windows import WindowSet

        self.config = config
        self.settings = config.settings
        self.paths = paths
        self.log_buffer = log_buffer
        self.history_file = history_file
        self.seed = seed
        # The process's one simulated market: every window on it connects to it; it keeps
        # itself in the history file and continues there at the next start.
        self._keep_market_later = False  # a first start: the market is kept once the file exists
        # The factory's own background work (keeping the simulated market, a new market, a
        # paper reset the user chose): cancelled when the last window has closed.
        self._tasks = TaskGroup("windows", logger=log)
        self.simulated = self._new_simulated_market(
            seed if seed is not None else self.settings.simulator.seed
        )
        # Set once the first window shows candles (StartUp): the history file opens and
        # the paper accounts load after that; a window sets it when the user needs it sooner.
        self.settled = asyncio.Event()
        self.paper_brokers: PaperBrokers = PaperBrokers(self.settings, history_file.writable, self.settled)
        config.subscribe(self.paper_brokers.settings_changed)  # new risk limits reach every account
        self.windows: WindowSet = WindowSet(self.make_window)
        # The alerts: one engine for every window, each feeding it the market it shows.
        from terminal.ui.alerts.center import AlertCenter

        self.alerts: AlertCenter = AlertCenter(
            history_file.writable, _credential_store, muted=self.settings.alerts.muted
        )

    def history(self, exchange: str) -> HistoryStore | None:
        """The local history of a market's charts: none for the simulator (its
        market keeps its own candles in the file and serves them as an exchange
        does), the history file for real exchanges (unless it could not be
        opened, or only read-only)."""
        return None if exchange == SIMULATED else self.history_file.writable()

    def _new_simulated_market(self, seed: int | None, *, new: bool = False) -> SimulatedMarket:
        sim = self.settings.simulator
        market = SimulatedMarket(
            seed=seed, history_days=sim.history_days, speed=sim.speed, memory=self._market_memory, new=new
        )
        market.when_started(self._market_started)
        return market

    def _market_memory(self) -> MarketMemory | None:
        """Where the simulated market keeps itself (blocks: the history file opens). None on
        a first start: there is nothing to continue, and making the file (its schema)
        would delay the first candles; the market is kept there once they are shown."""
        from terminal.market.simulator.memory import MarketMemory

        if not self.history_file.path.exists():
            self._keep_market_later = True
            return None
        store = self.history_file.writable()
        return None if store is None else MarketMemory(store, SIMULATED)

    async def _keep_market(self, market: SimulatedMarket) -> None:
        """After the first candles: the history file is made, and the market kept there."""
        from terminal.market.simulator.memory import MarketMemory

        await self.settled.wait()
        store = await asyncio.to_thread(self.history_file.writable)
        if store is not None and market is self.simulated:
            await market.keep_in(MarketMemory(store, SIMULATED))

    def source_for(self, exchange: str) -> ExchangeSource:
        """A new source of ``exchange``; on the simulated one, a connection to its one market."""
        return make_source(self.settings, exchange, market=self.simulated)

    def _simulated_windows(self) -> list[MainWindow]:
        return [w for w in self.windows.windows if w.exchange == SIMULATED]

    def _market_started(self, start: MarketStart) -> None:
        """Say how the simulated market began: where it resumed, or which one it replaced."""
        away = start.resumed_after_ms
        how = "new" if away is None else "continued from the history file"
        log.info("Simulated market seed: %s (%s)", start.seed, how)
        windows = self._simulated_windows()
        if self._keep_market_later and windows:
            self._keep_market_later = False
            self._tasks.spawn(self._keep_market(self.simulated), name="keep the simulated market")
        if away is not None and away >= RESUMED_NOTE_MS:
            from terminal.backtest.metric_format import format_duration

            text = (
                f"The simulated market resumed after {format_duration(away)}: the time it was closed "
                "is filled by the simulator's own rules, from where it stopped."
            )
            log.info("%s", text)
            for window in self._simulated_windows():
                window.show_notice(text)
        if start.replaced_seed is not None:
            log.info(
                "A new simulated market (seed %s) replaces the one kept in the history file (seed %s)",
                start.seed,
                start.replaced_seed,
            )
            windows = self._simulated_windows()
            if windows:
                from terminal.ui.market.new_market import ask_about_paper_account

                ask_about_paper_account(windows[0], start, self._paper_choice)

    def _paper_choice(self, reset: bool) -> None:
        if not reset:
            log.info("The simulated paper account is kept for the new market")
            return

        async def reset_it() -> None:
            self.settled.set()  # the accounts load now, if they had not yet
            await self.paper_brokers.attached()
            if await self.paper_brokers.reset_account(SIMULATED):
                for window in self._simulated_windows():
                    window.show_notice("The simulated paper account is back at its start balances.")

        self._tasks.spawn(reset_it(), name="reset the paper account")

    def new_simulated_market(self, seed: int | None, reset_paper: bool) -> None:
        """Start a new simulated market on purpose (its seed, or a random one): the kept one
        is dropped, every window on the simulator moves to the new one, and the paper
        account is kept or reset as the user chose."""
        from terminal.market.simulator.market import new_seed

        old = self.simulated
        self.simulated = self._new_simulated_market(seed if seed is not None else new_seed(), new=True)
        self.simulated.on_start.clear()  # the user chose the paper account's fate with this request
        windows = self._simulated_windows()

        async def move() -> None:
            await old.close(save=False)
            for window in windows:
                await window.switch_market(SIMULATED, window.requested_market()[0])
            if reset_paper:
                self._paper_choice(True)

        self._tasks.spawn(move(), name="start a new simulated market")

    def make_window(self, exchange: str, start_at: tuple[str, str] | None, primary: bool) -> MainWindow:
        from terminal.ui.window.main_window import MainWindow

        source, exchange, problem = self.open_source(exchange)
        session = MarketSession.on(source, exchange, self.settings.watchlist, self.history(exchange))
        window = MainWindow(
            session,
            self.config,
            self.paths,
            self.log_buffer,
            exchange=exchange,
            start_at=start_at,
            primary=primary,
            history=self.history,
            history_file=self.history_file,
            settled=self.settled,
            sources=self.source_for,
            alerts=self.alerts,
        )
        window.on_new_market = self.new_simulated_market
        if problem:
            window.notice.show_message(problem)
        self.paper_brokers.manage(window)
        return window

    def open_source(self, exchange: str) -> tuple[ExchangeSource, str, str]:
        """(the source, the exchange it is, a problem to show): the simulated market
        when ``exchange`` cannot be opened."""
        problem = ""
        try:
            source = self.source_for(exchange)
        except TerminalError as exc:
            problem = f"Could not open {exchange}: {exc.user_message()} Showing the simulated market."
            log.error("%s", problem)
            exchange = SIMULATED
            source = self.source_for(SIMULATED)
        if not isinstance(source, SimulatedExchange):  # the simulated one says its seed as it starts
            log.info("Market: %s (ccxt %s)", source.name, source.id)
        return source, exchange, problem

    def close_all(self) -> None:
        self.windows.close_all()

    async def shutdown(self) -> None:
        """After every window has closed: the journal's last lines, then the history file."""
        await self._tasks.close(cancel=True)
        await self.alerts.close()
        await self.paper_brokers.shutdown()
        await self.simulated.close()  # its last minutes, kept for the next start
        self.history_file.close()


@dataclass
class StartUp:
    """What waits for the first window's first candles: the history file and the
    paper accounts (``settled``), the backtest kernels' warm-up, and the
    ``--startup-benchmark`` figure. They start when the candles are painted, or
    after ``SETTLE_AT_LATEST_MS`` without them (an exchange that does not answer)."""

    settled: asyncio.Event
    close_all: Callable[[], None]
    benchmark: bool = False
    warming: threading.Thread | None = None  # the warm-up, once started

    def watch(self, window: MainWindow) -> None:
        from PySide6.QtCore import QTimer

        window.on_first_candles = self.candles_shown
        QTimer.singleShot(SETTLE_AT_LATEST_MS, self.settle)

    def candles_shown(self) -> None:
        if self.benchmark:  # the figure, then quit at once: nothing to load or compile
            from PySide6.QtCore import QTimer

            print(f"candles on screen after {time.perf_counter() - PROCESS_START:.3f} s", flush=True)
            QTimer.singleShot(0, self.close_all)
            return
        self.settle()

    def settle(self) -> None:
        self.settled.set()
        if self.warming is None:
            # The backtest kernels compile in a daemon thread, so that the start-up
            # never waits for numba and a user's first Run does not either.
            from terminal.backtest import warmup

            self.warming = warmup.start_warmup(then=_warm_research)

    async def finish(self) -> None:
        """numba aborts the process if the interpreter exits in the middle of a
        compile: a quit right after start waits for the warm-up (a few seconds)."""
        thread = self.warming
        if thread is not None and thread.is_alive():
            log.info("Waiting for the backtest warm-up to finish before quitting")
            await asyncio.to_thread(thread.join, 15)


async def run_windows(args: argparse.Namespace, factory: WindowFactory) -> None:
    """Open the first window, then run until every window has closed."""
    start = StartUp(factory.settled, factory.close_all, benchmark=args.startup_benchmark)
    window = factory.windows.open(factory.settings.market.exchange)
    start.watch(window)
    if args.screenshot:
        take_screenshot(window, args.screenshot, args.screenshot_delay, then=factory.close_all)
    await factory.windows.wait_closed()
    await factory.shutdown()
    await start.finish()


def take_screenshot(window: MainWindow, path: Path, delay_s: float, then: Callable[[], None]) -> None:
    """Save a picture of ``window`` to ``path`` after ``delay_s``, then call ``then``."""
    from PySide6.QtCore import QTimer

    def shoot() -> None:
        window.grab().save(str(path))
        print(f"screenshot saved to {path}", flush=True)
        then()

    QTimer.singleShot(int(delay_s * 1000), shoot)


def run_event_loop(app: QApplication, work: Coroutine[Any, Any, None], interrupt: Callable[[], None]) -> None:
    """Run ``work`` on one qasync loop for its whole life (see docs/architecture.md).
    Ctrl+C in the shell calls ``interrupt`` (which closes the windows the normal way)."""
    import qasync
    from PySide6.QtCore import QTimer

    signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, interrupt))
    # Python only sees signals between bytecodes: a no-op timer gives it a chance.
    heartbeat = QTimer()
    heartbeat.start(250)
    heartbeat.timeout.connect(lambda: None)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(work)
    finally:
        heartbeat.stop()
        loop.close()


def _warm_research() -> float:
    """The research lab's fast-path kernel, after the backtest's (in the warm-up thread)."""
    from terminal.research import fast_path

    return fast_path.warm_up()
