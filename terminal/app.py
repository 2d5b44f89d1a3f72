"""Composition root: settings, logging, the Qt application on one asyncio loop
(qasync), the market session and the main window.

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
from pathlib import Path

from terminal import APP_NAME, __version__
from terminal.config import SIMULATED, ConfigStore
from terminal.errors import TerminalError
from terminal.logs import setup_logging
from terminal.market.session import HistoryStore, MarketSession
from terminal.market.simulator import SimulatedExchange
from terminal.market.sources import history_for, make_source
from terminal.marketdata.timeframes import TIMEFRAMES
from terminal.paths import resolve_paths

log = logging.getLogger(__name__)
PROCESS_START = time.perf_counter()
WARMUP_AT_LATEST_MS = 10_000  # start compiling the backtest kernels by then, candles or not


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="terminal", description=f"{APP_NAME}: a crypto trading terminal.")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--config-dir", type=Path, help="folder for config.toml and the window layout")
    parser.add_argument("--data-dir", type=Path, help="folder for logs and market data")
    parser.add_argument("--symbol", help="symbol to open, e.g. ETH/USDT (remembered)")
    parser.add_argument("--timeframe", choices=list(TIMEFRAMES), help="chart timeframe (remembered)")
    parser.add_argument("--theme", choices=["dark", "light"], help="colour theme (remembered)")
    parser.add_argument("--seed", type=int, help="seed of the simulated market (repeatable runs)")
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
    paths = resolve_paths(args.config_dir, args.data_dir)
    narrowed = paths.ensure()
    config = ConfigStore(paths.config_file)
    settings = config.settings
    buffer = setup_logging(paths.log_dir, settings.log_level)
    log.info("%s %s starting (config %s, data %s)", APP_NAME, __version__, paths.config_dir, paths.data_dir)
    for line in narrowed:  # found before logging existed: said now
        log.info("%s", line)
    if config.problem:  # read before logging existed: say it now, in the file and the panel
        log.warning("%s", config.problem)
    from terminal.backtest import warmup

    # numba fixes a kernel's cache folder when the kernel is defined: choose it before
    # anything imports them (an installed or frozen build cannot write beside its sources)
    warmup.configure_cache(paths.data_dir / "numba-cache")
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

    # Qt and qasync are imported here, not at module level, so that --help
    # and --version answer without loading Qt.
    from terminal.ui import pin_qt_binding

    pin_qt_binding()  # before qasync, which takes the first Qt binding it finds

    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from terminal.ui.theme import THEMES, apply_theme
    from terminal.ui.window.main_window import MainWindow
    from terminal.ui.window.windows import WindowSet

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    icon = Path(__file__).resolve().parent.parent / "resources" / "icons" / "terminal.svg"
    if icon.exists():
        from PySide6.QtGui import QIcon

        app.setWindowIcon(QIcon(str(icon)))
    app.setQuitOnLastWindowClosed(False)  # the loop ends when run() has shut the feeds down
    apply_theme(app, THEMES[settings.theme])

    from terminal.store.database import default_path
    from terminal.store.history_file import HistoryFile

    history_file = HistoryFile(default_path(paths))  # opened when first needed

    def history(exchange: str) -> HistoryStore | None:
        """The local history of a market's charts: none for the simulator (it
        makes new history each start), the history file for real exchanges
        (unless it could not be opened, or only read-only)."""
        return None if exchange == SIMULATED else history_file.writable()

    def make_window(exchange: str, start_at: tuple[str, str] | None, primary: bool) -> MainWindow:
        problem = ""
        try:
            source = make_source(settings, exchange, seed=args.seed)
        except TerminalError as exc:
            problem = f"Could not open {exchange}: {exc.user_message()} Showing the simulated market."
            log.error("%s", problem)
            exchange = SIMULATED
            source = make_source(settings, SIMULATED, seed=args.seed)
        if isinstance(source, SimulatedExchange):
            log.info("Simulated market seed: %s", source.seed)
        else:
            log.info("Market: %s (ccxt %s)", source.name, source.id)
        store = history(exchange)
        session = MarketSession(
            source, settings.watchlist, max_history=history_for(exchange), store=store, store_name=exchange
        )
        window = MainWindow(
            session,
            config,
            paths,
            buffer,
            exchange=exchange,
            start_at=start_at,
            primary=primary,
            history=history,
            history_file=history_file,
        )
        if problem:
            window.notice.show_message(problem)
        paper_brokers.manage(window)
        return window

    from terminal.ui.trading.paper_brokers import PaperBrokers

    paper_brokers = PaperBrokers(settings, history_file.writable)
    windows = WindowSet(make_window)

    async def run_windows() -> None:
        """Open the first window, then run until every window has closed."""
        window = windows.open(settings.market.exchange)
        warming: list[object] = []

        def warm_up() -> None:
            # The backtest kernels compile in a daemon thread once the window shows
            # candles (or after a while without them), so that the start-up never
            # waits for numba and a user's first Run does not either.
            if not warming:
                warming.append(warmup.start_warmup())

        def ready() -> None:
            if args.startup_benchmark:
                print(f"candles on screen after {time.perf_counter() - PROCESS_START:.3f} s", flush=True)
                QTimer.singleShot(0, windows.close_all)
                warming.append(None)  # quitting at once: no compile to leave behind
            warm_up()

        window.on_first_candles = ready
        QTimer.singleShot(WARMUP_AT_LATEST_MS, warm_up)
        if args.screenshot:

            def shoot() -> None:
                window.grab().save(str(args.screenshot))
                print(f"screenshot saved to {args.screenshot}", flush=True)
                windows.close_all()

            QTimer.singleShot(int(args.screenshot_delay * 1000), shoot)
        await windows.wait_closed()
        await paper_brokers.shutdown()
        history_file.close()
        # numba aborts the process if the interpreter exits in the middle of a
        # compile: a quit right after start waits for the warm-up (a few seconds).
        for thread in warming:
            if isinstance(thread, threading.Thread) and thread.is_alive():
                log.info("Waiting for the backtest warm-up to finish before quitting")
                await asyncio.to_thread(thread.join, 15)

    # Ctrl+C in the shell closes the windows the normal way. Python only sees
    # signals between bytecodes, so a no-op timer gives it a chance.
    signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, windows.close_all))
    heartbeat = QTimer()
    heartbeat.start(250)
    heartbeat.timeout.connect(lambda: None)

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(run_windows())
    finally:
        heartbeat.stop()
        loop.close()
    log.info("%s closed cleanly", APP_NAME)
    logging.shutdown()
    return 0
