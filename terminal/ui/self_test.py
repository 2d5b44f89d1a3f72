"""``--self-test``: does this build of the terminal work, end to end?

    dist/terminal/terminal --self-test          (a frozen build)
    .venv/bin/python main.py --self-test        (from source)

It starts the terminal itself (``terminal.app.main``, the same composition as
any start) offscreen unless ``QT_QPA_PLATFORM`` says otherwise, on the
simulated market, with its settings and data in a temporary folder that is
removed afterwards, and checks while it runs:

* the main window opens and draws candles, and ccxt was not imported for it
  (its exchange modules cost ~1.2 s; the simulator does not need them);
* a short backtest (SMA cross on the chart's candles) runs in a worker
  thread; with numba (from source), numba writes its compiled kernels to
  the on-disk cache; without it (the frozen build), the kernels compiled
  ahead of time ran, and numba was not imported;
* a sweep on a Dask cluster: a few SMA-cross points on an in-process cluster
  (worker threads in this process: dask, distributed and what they load came
  with the build), the same trials as that sweep run here, and the cluster
  closed;
* the history database: candles written, read back and verified in a new
  file (beside the terminal's own, in the temporary data folder), which the
  migrations (alembic, run from their .py files) brought to the newest
  schema revision;
* ccxt's exchange classes load (a ccxt.pro exchange object is made; nothing
  goes to the network);
* the keyring: which backend the keyring library found. Not finding a usable
  one is reported, not a failure: the test machine may have none.

Each check prints one line, ``ok: ...`` or ``FAILED: ...``. The exit status
is 0 when every check passed, 1 when one failed (the line says why), 2 when
the test did not finish within its time limit.

Like ``terminal.app`` (whose ``main`` calls this), this module is a
composition root and imports Qt inside functions; nothing else imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import os
import platform
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from terminal import APP_NAME, __version__

if TYPE_CHECKING:
    from terminal.marketdata.candles import OHLCV
    from terminal.ui.window.main_window import MainWindow

#: the whole self-test's (a hang guard, not a speed target: on a busy 2-core machine with numba's
#: cache empty it took 30-35 s, the 18 indicators' first use 10-13 s of it)
TIME_LIMIT_S = 60.0
#: how long one check may take before it counts as hung (the keyring's D-Bus
#: calls and numba's first compile are the slow ones)
STEP_LIMIT_S = 20.0
SEED = 1
STORE_KEY = ("self-test", "BTC/USDT", "1m")
#: the cluster check's sweep: SMA cross on the chart's last candles, fast x slow (9 points)
SWEEP_CANDLES = 10_000
SWEEP_FAST = (5, 15, 5)
SWEEP_SLOW = (20, 40, 10)


class Report:
    """The lines printed so far, and whether any check failed."""

    def __init__(self, out: IO[str] | None) -> None:
        self.out = out
        self.failures: list[str] = []

    def ok(self, text: str) -> None:
        self._line("ok", text)

    def failed(self, text: str) -> None:
        self.failures.append(text)
        self._line("FAILED", text)

    def _line(self, tag: str, text: str) -> None:
        if self.out is not None:  # a Windows build without a console has no stdout
            print(f"{tag}: {text}", file=self.out, flush=True)


def run_self_test(
    start_terminal: Callable[[list[str]], int], process_start: float, time_limit_s: float = TIME_LIMIT_S
) -> int:
    """Run every check on the terminal ``start_terminal(argv)`` starts (the
    composition root's ``main``, handed in: the UI does not import it);
    ``process_start`` is the ``perf_counter`` at the process's start. Returns
    the process exit status."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.perf_counter()
    report = Report(sys.stdout)
    frozen = "frozen (PyInstaller)" if getattr(sys, "frozen", False) else "from source"
    report.ok(
        f"{APP_NAME} {__version__}, {frozen}, Python {platform.python_version()} on {platform.system()} "
        f"{platform.machine()}, Qt platform {os.environ['QT_QPA_PLATFORM']}"
    )
    # The last resort, if the GUI thread itself hangs and no Qt timer can fire.
    hard_stop = threading.Timer(time_limit_s + 15.0, _hard_stop, args=(report, time_limit_s + 15.0))
    hard_stop.daemon = True
    hard_stop.start()
    try:
        with tempfile.TemporaryDirectory(prefix="terminal-self-test-") as tmp:
            code = _run_terminal(Path(tmp), report, time_limit_s, start_terminal, process_start)
    except Exception as exc:  # noqa: BLE001  # a self-test reports every failure, with its reason
        report.failed(f"the terminal did not start: {type(exc).__name__}: {exc}")
        code = 1
    finally:
        hard_stop.cancel()
    if code == 2:
        return 2
    if code != 0 and not report.failures:
        report.failed(f"the terminal exited with status {code}")
    elapsed = time.perf_counter() - started
    if report.failures:
        print(f"self-test FAILED ({len(report.failures)} of its checks) in {elapsed:.1f} s", flush=True)
        return 1
    print(f"self-test passed in {elapsed:.1f} s", flush=True)
    return 0


def _hard_stop(report: Report, seconds: float) -> None:
    report.failed(f"the self-test hung for {seconds:.0f} s and was stopped")
    os._exit(2)


def _run_terminal(
    folder: Path,
    report: Report,
    time_limit_s: float,
    start_terminal: Callable[[list[str]], int],
    process_start: float,
) -> int:
    from terminal.ui import pin_qt_binding

    pin_qt_binding()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    # The terminal reuses this application object; the timer fires once its
    # event loop (and asyncio on it) runs, i.e. inside composition.main().
    application = QApplication.instance() or QApplication([sys.argv[0]])
    checks = WindowChecks(folder / "data", report, time_limit_s, process_start)
    QTimer.singleShot(0, checks.start)
    args = ["--config-dir", str(folder / "config"), "--data-dir", str(folder / "data")]
    code = start_terminal([*args, "--exchange", "simulated", "--seed", str(SEED)])
    del application
    if checks.timed_out:
        return 2
    if not checks.finished:
        report.failed(f"the terminal closed before the checks finished (at: {checks.step})")
    return code


class WindowChecks:
    """The checks that need the running terminal; they close it when done."""

    def __init__(self, data_dir: Path, report: Report, time_limit_s: float, process_start: float) -> None:
        self.data_dir = data_dir
        self.process_start = process_start
        self.report = report
        self.time_limit_s = time_limit_s
        self.step = "waiting for the event loop"
        self.finished = False  # run() ended, passed or not
        self.timed_out = False
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        from PySide6.QtCore import QTimer

        self.task = asyncio.ensure_future(self.run())
        QTimer.singleShot(int(self.time_limit_s * 1000), self.time_out)

    def time_out(self) -> None:
        if self.finished:
            return
        self.timed_out = True
        self.report.failed(f"the self-test did not finish within {self.time_limit_s:.0f} s (at: {self.step})")
        if self.task is not None:
            self.task.cancel()
        _close_windows()

    async def run(self) -> None:
        try:
            window = await self.first_window()
            candles = await self.candles_drawn(window)
            await self.indicators(window)
            await self.alerts(window)
            await self.backtest(candles)
            await self.user_strategy(candles)
            await self.cluster_sweep(candles)
            await self.history_database(candles)
            await self.ccxt_loads()
            await self.keyring_backend()
            await self.warmup_done()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  # a self-test reports every failure, with its reason
            self.report.failed(f"{self.step}: {type(exc).__name__}: {exc}")
        finally:
            self.finished = True
            _close_windows()

    # -- the checks -------------------------------------------------------------------
    async def first_window(self) -> MainWindow:
        self.step = "opening the main window"
        window = await _poll(_main_window, 10.0)
        if window is None:
            raise RuntimeError("no main window within 10 s")
        self.report.ok(f"main window opened on the {window.session.source.name} market")
        return window

    async def candles_drawn(self, window: MainWindow) -> OHLCV:
        self.step = "drawing candles"
        painted = await _poll(lambda: window.chart.candles.drawn > 0 or None, 10.0)
        if painted is None:
            raise RuntimeError("the chart drew no candles within 10 s")
        seconds = time.perf_counter() - self.process_start
        ccxt_loaded = "ccxt" in sys.modules  # before anything below may import it
        series = window.session.candles
        pixels = _candle_pixels(window)
        if pixels < 100:
            raise RuntimeError(f"the chart says it drew candles, but only {pixels} pixels have their colours")
        self.report.ok(
            f"candles drawn: {len(series):,} {window.session.symbol} {window.session.timeframe} candles, "
            f"{pixels:,} candle pixels on screen, {seconds:.2f} s after start"
        )
        if ccxt_loaded:
            self.report.failed("ccxt was imported before the first window (~1.2 s added to every start)")
        else:
            self.report.ok("ccxt not imported for the first window")
        return series.snapshot()

    async def indicators(self, window: MainWindow) -> None:
        """Every indicator of the catalogue on the chart (TA-Lib's C library and the
        engine's kernels as this build has them), drawn and equal to a full recompute."""
        self.step = "adding indicators to the chart"
        from terminal.analysis.catalogue import SPECS
        from terminal.analysis.live import LiveIndicator

        studies = window.chart.studies
        kept = studies.configs()
        started = time.perf_counter()
        for spec in SPECS:
            window.indicators.add(spec)
        seconds = time.perf_counter() - started

        def drawn() -> int:
            return sum(1 for study in studies.studies if any(item.drawn for item in study.items))

        # Ichimoku's lagging line may lie left of the view: all but one suffices
        await _poll(lambda: drawn() >= len(SPECS) - 1 or None, 5.0)
        window.chart.live_update()  # the live end, as the next frame would bring it
        wrong = []
        for study in studies.studies:
            full = LiveIndicator(study.config.spec, dict(study.config.params))
            full.compute(window.chart.series)
            for k in range(len(study.items)):
                a, b = study.live.line(k), full.line(k)
                if len(a) != len(b) or not np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True):
                    wrong.append(study.config.label)
        painted = drawn()
        studies.set_configs(kept)
        if wrong:
            raise RuntimeError(
                f"indicators whose live values differ from a full recompute: {', '.join(wrong)}"
            )
        if painted < len(SPECS) - 1:
            raise RuntimeError(f"only {painted} of {len(SPECS)} indicators drew anything")
        self.report.ok(
            f"indicators: all {len(SPECS)} added to the chart in {seconds:.2f} s, {painted} drawn, "
            "live values equal to a full recompute"
        )

    async def backtest(self, candles: OHLCV) -> None:
        self.step = "running a backtest"
        line = await _in_thread(_backtest, candles)
        self.report.ok(line)
        from terminal.backtest import jit

        if jit.MODE == "aot":
            self.step = "checking the ahead-of-time compiled kernels"
            if sys.modules.get("numba") is not None:
                raise RuntimeError("numba was imported although the kernels were compiled ahead of time")
            module = Path(jit.aot_module_file() or "?").name
            self.report.ok(
                f"backtest kernels: compiled ahead of time ({len(jit.KERNELS)} kernels in {module}; "
                "numba is not in this build)"
            )
            return
        self.step = "checking numba's cache"
        cache = Path(os.environ.get("NUMBA_CACHE_DIR", self.data_dir / "numba-cache"))
        indexes = list(cache.rglob("*.nbi"))
        if not indexes:
            raise RuntimeError(
                f"numba wrote no cache in {cache}: every start will compile the backtest again "
                "(a frozen build needs the jitted modules' .py files)"
            )
        self.report.ok(f"numba cache: {len(indexes)} compiled kernels written to the data folder")

    async def user_strategy(self, candles: OHLCV) -> None:
        self.step = "running a user strategy in its own process"
        self.report.ok(await _in_thread(_user_strategy, self.data_dir / "self-test-strategies", candles))

    async def cluster_sweep(self, candles: OHLCV) -> None:
        self.step = "running a sweep on an in-process Dask cluster"
        self.report.ok(await _in_thread(_cluster_sweep, candles))

    async def history_database(self, candles: OHLCV) -> None:
        from terminal.store.database import FILE_NAME

        self.step = "writing and reading the history database"
        # The terminal opens (creates and migrates) its own history file in a worker
        # thread at start. alembic keeps one migration context per process, so a
        # second migration at the same moment would run on the other's connection
        # (a crash, or a failed upgrade): let the terminal's finish first (the
        # backtest before this takes milliseconds when its kernels come compiled).
        await _poll(lambda: _at_newest_revision(self.data_dir / FILE_NAME) or None, 5.0)
        # a file of its own (the terminal may have its history file open): new, so
        # opening it runs every migration from its .py file
        path = self.data_dir / "self-test-history.sqlite"
        self.report.ok(await _in_thread(_history_database, path, candles))

    async def alerts(self, window: MainWindow) -> None:
        """An indicator alert fires on the live candles; the desktop notification service is
        asked once (none on this machine is reported, not a failure)."""
        from terminal.alerts.delivery.desktop import Sound
        from terminal.alerts.rules import Alert, Delivery, Firing, IndicatorCondition

        self.step = "firing an alert"
        center = window.alert_center
        await center.load()
        fired: list[Firing] = []

        def heard(firings: list[Firing]) -> None:  # a loop turn's firings
            fired.extend(firings)

        center.fired.connect(heard)
        condition = IndicatorCondition(expression="RSI 14 >= 0", timeframe="1m")
        alert = Alert(
            exchange=window.exchange, symbol=window.session.symbol, condition=condition,
            delivery=Delivery(desktop=False), note="self-test",
        )  # fmt: skip
        center.put(alert)
        try:
            if await _poll(lambda: fired or None, STEP_LIMIT_S) is None:
                raise RuntimeError(
                    f"the alert {condition.expression!r} did not fire within {STEP_LIMIT_S:g} s"
                )
        finally:
            center.fired.disconnect(heard)
            center.remove(alert.id)
        self.step = "sending a desktop notification"
        sent = await center.desktop.notify("Terminal self-test", "Desktop notifications work.", Sound("none"))
        said = "sent" if sent else f"none usable here (reported, not a failure): {center.desktop.problem}"
        self.report.ok(f"alerts: {fired[0].title}; desktop notifications: {said}")

    async def ccxt_loads(self) -> None:
        self.step = "loading ccxt"
        self.report.ok(await _in_thread(_ccxt_exchange))

    async def keyring_backend(self) -> None:
        self.step = "asking the keyring"
        ok, line = await _in_thread(_keyring_backend)
        (self.report.ok if ok else self.report.failed)(line)

    async def warmup_done(self) -> None:
        # The terminal compiles its backtest kernels in a daemon thread once
        # candles show; let it finish rather than exit under numba's feet.
        self.step = "waiting for the backtest warm-up"
        for thread in threading.enumerate():
            if thread.name == "backtest-warmup":
                await _in_thread(thread.join, STEP_LIMIT_S)


# -- the work done in threads ----------------------------------------------------------------
def _backtest(candles: OHLCV) -> str:
    import numpy as np

    from terminal.backtest import jit
    from terminal.backtest.runner import run_backtest

    t0 = time.perf_counter()
    result = run_backtest(candles, "sma_cross")
    seconds = time.perf_counter() - t0
    compiling = "kernels compiled ahead of time" if jit.MODE == "aot" else "numba compiling included"
    if len(result) != len(candles) or not np.isfinite(result.equity).all():
        raise RuntimeError(f"the backtest returned {len(result)} equity values for {len(candles)} candles")
    return (
        f"backtest in a worker thread: SMA cross on {len(candles):,} candles, {len(result.trades)} trades, "
        f"final equity {result.final_equity:,.2f}, {seconds:.3f} s ({compiling})"
    )


USER_STRATEGY = """\
import numpy as np
from terminal.backtest import indicators, signals
from terminal.backtest.strategy import Strategy, StrategyParams


class Params(StrategyParams):
    period: int = 20


class AboveAverage(Strategy[Params]):
    name = "self_test_above_average"
    title = "Close above its SMA"
    Params = Params

    def signals(self, candles):
        above = candles.close > indicators.sma(candles.close, self.params.period)
        return np.where(above, signals.LONG, signals.FLAT)
"""


def _user_strategy(folder: Path, candles: OHLCV) -> str:
    """A strategy file loaded and backtested in the strategies' process (spawned:
    in a frozen build, this executable started again through freeze_support)."""
    from terminal.backtest.strategy_worker import StrategyWorker

    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / "above_average.py"
    path.write_text(USER_STRATEGY, encoding="utf-8")
    path.chmod(0o600)
    worker = StrategyWorker(folder)
    t0 = time.perf_counter()
    try:
        scan = worker.scan()
        if scan.errors:
            raise RuntimeError(f"the strategy file did not load: {scan.errors[0]}")
        result = worker.run(candles, "self_test_above_average")
        pid = worker.pid
    finally:
        worker.close()
    if pid is None or pid == os.getpid() or len(result) != len(candles):
        raise RuntimeError(f"the strategies' process gave {len(result)} values (pid {pid})")
    return (
        f"user strategy in its own process (pid {pid}): {len(result.trades)} trades on "
        f"{len(candles):,} candles, {time.perf_counter() - t0:.2f} s including the process's start"
    )


def _cluster_sweep(candles: OHLCV) -> str:
    """A few SMA-cross points on ``Cluster.in_process`` (the research lab's path to a
    Dask cluster, with its worker in this process's threads), checked against the
    same sweep run here trial for trial, then the cluster closed. In a frozen build
    this is what shows a missing piece of Dask: its YAML config, tornado, msgpack,
    cloudpickle, or a module imported by name."""
    from dataclasses import replace

    from terminal.research.cluster.connect import Cluster
    from terminal.research.space import IntParam, Space
    from terminal.research.sweep import run_sweep

    candles = candles.slice(max(0, len(candles) - SWEEP_CANDLES), len(candles))
    space = Space((IntParam("fast", *SWEEP_FAST), IntParam("slow", *SWEEP_SLOW)), ("fast < slow",))
    t0 = time.perf_counter()
    cluster = Cluster.in_process(1)
    try:
        workers = cluster.worker_count()
        on_cluster = run_sweep(candles, "sma_cross", space, workers=cluster)
    finally:
        cluster.close()
    seconds = time.perf_counter() - t0
    if cluster.client.status != "closed":
        raise RuntimeError(f"the cluster's client did not close (status {cluster.client.status})")
    here = run_sweep(candles, "sma_cross", space, fast=False)
    # each trial but its run time; repr: floats to the last bit, and NaN equal to NaN
    rows = [[repr(replace(t, seconds=0.0)) for t in r.trials] for r in (on_cluster, here)]
    if on_cluster.path != "cluster" or not rows[0] or rows[0] != rows[1]:
        differ = sum(a != b for a, b in zip(*rows, strict=False))
        raise RuntimeError(
            f"the cluster's sweep ({len(rows[0])} trials, on the {on_cluster.path} path) is not the same "
            f"sweep run here ({len(rows[1])} trials; {differ} of the first ones differ)"
        )
    # what a cluster's version check compares (in a bundle numba's code is left out, its
    # version is not: the kernels were compiled by it)
    from terminal.research.cluster.versions import local_versions

    versions = local_versions()
    unknown = [name for name, version in versions.items() if version in ("not installed", "")]
    if unknown:
        raise RuntimeError(f"no version for {', '.join(unknown)}: every cluster would be refused")
    return (
        f"sweep on an in-process Dask cluster: {workers} worker{'s' if workers != 1 else ''}, "
        f"{len(rows[0])} SMA-cross trials on {len(candles):,} candles, the same trials as here, "
        f"{seconds:.2f} s including the cluster's start and close; versions "
        + ", ".join(f"{name} {version}" for name, version in versions.items())
    )


def _history_database(path: Path, candles: OHLCV) -> str:
    import numpy as np

    from terminal.store import CandleStore, migrations

    t0 = time.perf_counter()
    with CandleStore(path) as store:
        written = store.write(*STORE_KEY, candles)
        back = store.read(*STORE_KEY)
        problems = store.verify()
    same = len(back) == len(candles) and all(
        np.array_equal(getattr(back, f), getattr(candles, f)) for f in ("ts", "open", "high", "low", "close")
    )
    if not same:
        raise RuntimeError(f"{len(candles)} candles written, {len(back)} read back, not the same")
    if problems:
        raise RuntimeError(f"the file fails its check: {problems[:3]}")
    with sqlite3.connect(path) as conn:
        revision = migrations.read_revision(conn)
    if revision != migrations.HEAD:
        raise RuntimeError(f"schema revision {revision}, expected {migrations.HEAD}")
    scripts = _migration_scripts()
    if scripts != len(migrations.REVISIONS):
        raise RuntimeError(f"alembic found {scripts} migration scripts, expected {len(migrations.REVISIONS)}")
    return (
        f"history database: {written:,} candles written, read back and verified; schema revision {revision} "
        f"(alembic ran {scripts} migration scripts), {time.perf_counter() - t0:.2f} s"
    )


def _at_newest_revision(path: Path) -> bool:
    """Whether the history file at ``path`` exists and its migrations are done."""
    from terminal.store import migrations

    if not path.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=0.1)) as conn:
            return migrations.read_revision(conn) == migrations.HEAD
    except sqlite3.Error:  # being written: not yet
        return False


def _migration_scripts() -> int:
    from alembic.script import ScriptDirectory

    from terminal.store import migrations

    return len(list(ScriptDirectory.from_config(migrations.alembic_config()).walk_revisions()))


def _ccxt_exchange() -> str:
    t0 = time.perf_counter()
    import ccxt
    import ccxt.pro

    from terminal.market.ccxt_source import CcxtSource

    source = CcxtSource("binance")  # makes the exchange object: no network
    seconds = time.perf_counter() - t0
    try:
        kind = f"{type(source.exchange).__module__}.{type(source.exchange).__name__}"
    finally:
        asyncio.run(source.close())
    return (
        f"ccxt {ccxt.__version__}: {len(ccxt.exchanges)} exchanges, {len(ccxt.pro.exchanges)} with "
        f"websockets; imported and made {kind} in {seconds:.2f} s (offline)"
    )


def _keyring_backend() -> tuple[bool, str]:
    """(passed, line). The keyring's entry points missing is a broken build;
    no usable backend on this machine is not."""
    import keyring

    from terminal.credentials import CredentialStore, KeyringUnavailableError

    names = sorted(ep.name for ep in importlib.metadata.entry_points(group="keyring.backends"))
    if not names:
        return False, "keyring: no backends registered (keyring's metadata is missing from this build)"
    backend = keyring.get_keyring()
    kind = f"{type(backend).__module__}.{type(backend).__qualname__}"
    store = CredentialStore()
    in_build = f"backends in this build: {', '.join(names)}"
    try:
        store.check()
    except KeyringUnavailableError:
        return True, (
            f"keyring: none usable on this machine ({kind}; reported, not a failure: exchange keys "
            f"cannot be saved here until one is installed or unlocked); {in_build}"
        )
    return True, f"keyring: {store.backend_description()} ({kind}), usable for exchange keys; {in_build}"


# -- helpers ---------------------------------------------------------------------------------
async def _in_thread[T](fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a daemon thread: unlike ``asyncio.to_thread``'s pool, a
    call that never returns (a keyring waiting on D-Bus) cannot hold up the exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def work() -> None:
        try:
            value = fn(*args)
        except BaseException as exc:  # noqa: BLE001  # handed to the awaiting coroutine, which raises it
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, value, None)

    threading.Thread(target=work, name="self-test", daemon=True).start()
    return await asyncio.wait_for(future, STEP_LIMIT_S)


async def _poll[T](probe: Callable[[], T | None], seconds: float) -> T | None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        found = probe()
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    return None


def _main_window() -> MainWindow | None:
    from PySide6.QtWidgets import QApplication

    from terminal.ui.window.main_window import MainWindow

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow) and widget.isVisible():
            return widget
    return None


def _close_windows() -> None:
    from PySide6.QtWidgets import QApplication

    from terminal.ui.window.main_window import MainWindow

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow):
            widget.close()


def _candle_pixels(window: MainWindow) -> int:
    """Pixels of the chart in the theme's up and down candle colours."""
    import numpy as np
    from PySide6.QtGui import QColor, QImage

    image = window.chart.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    rows = np.frombuffer(image.constBits(), dtype=np.uint32, count=height * stride // 4)
    pixels = rows.reshape(height, stride // 4)[:, :width] & 0xFFFFFF
    colours = [QColor(window.theme.up).rgb() & 0xFFFFFF, QColor(window.theme.down).rgb() & 0xFFFFFF]
    return int(np.isin(pixels, colours).sum())
