"""The backtest panel (File → Backtest, Ctrl+B): choose candles, a strategy and
its settings, run (Ctrl+Enter), and look at the results; every finished run
is saved and can be reopened, compared, exported and drawn on the chart.

Nothing here blocks the GUI thread. Runs go through a ``BacktestQueue`` (one
at a time, in a worker thread, with progress and Cancel); the history file
is opened, read (coverage, candles, saved runs) and written (saves) in
worker threads; user strategy files are loaded in a worker thread too (their
code runs when they load). Errors are said on the panel in plain words
(``terminal.errors.describe``), never as a traceback; details go to the log.

The form (strategy, parameters, settings, candles and range) is kept across
restarts in the config folder (``form_memory``): written when a run is
queued and when the panel shuts down, restored when it is made. A part
that no longer fits (a deleted strategy file, parameters that no longer
validate, a series no longer stored) is left at its default, with a note.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from terminal.analysis.catalogue import parse
from terminal.analysis.setup import IndicatorConfig
from terminal.backtest.errors import BacktestCancelled, BacktestError
from terminal.backtest.queue import BacktestJob, BacktestQueue
from terminal.backtest.result import BacktestResult
from terminal.backtest.run_store import RunStore, RunSummary, SavedRun
from terminal.backtest.settings import BacktestSettings
from terminal.backtest.strategies import BUILTIN, StrategyClass
from terminal.backtest.strategy_versions import StrategyVersions
from terminal.backtest.strategy_worker import StrategyWorker, WorkerStrategy, runner_with
from terminal.config import ResearchSettings
from terminal.credentials import CredentialStore
from terminal.errors import TerminalError, describe
from terminal.marketdata.candles import OHLCV
from terminal.marketdata.orderbook import decimals_for
from terminal.marketdata.timeframes import timeframe_ms
from terminal.research.study import StudyStore
from terminal.store.candles import CandleStore, SeriesKey
from terminal.store.history_file import HistoryFile
from terminal.tasks import TaskGroup
from terminal.ui.backtest.chart_link import ChartLink
from terminal.ui.backtest.compare import CompareView, Pair
from terminal.ui.backtest.data_picker import CHART, ChartCandles, DataPicker
from terminal.ui.backtest.exports import CSV, HTML, WRITERS, export_dialog
from terminal.ui.backtest.form_memory import FormMemory, SavedForm
from terminal.ui.backtest.montecarlo_job import MonteCarloOutcome
from terminal.ui.backtest.montecarlo_view import MonteCarloView, run_opens
from terminal.ui.backtest.on_chart import ChartTrades
from terminal.ui.backtest.request import DataChoice, RunRequest, in_range, summary_of
from terminal.ui.backtest.results import ResultsView
from terminal.ui.backtest.run_form import RunForm
from terminal.ui.backtest.runs_list import RunsList
from terminal.ui.backtest.trades_model import all_trades
from terminal.ui.backtest.versions_dialog import VersionsDialog
from terminal.ui.research.controller import ResearchController
from terminal.ui.research.view import ResearchView
from terminal.ui.theme import DARK, Theme

log = logging.getLogger(__name__)


class HistoryNotOpenError(BacktestError):
    """The history file (stored candles, saved runs) could not be opened."""


class BacktestPanel(QWidget):
    def __init__(
        self,
        link: ChartLink,
        history: HistoryFile,
        strategies_folder: Path,
        theme: Theme = DARK,
        parent: QWidget | None = None,
        *,
        queue: BacktestQueue | None = None,
        form_file: Path | None = None,
        research: ResearchSettings | None = None,
        save_research: Callable[[ResearchSettings], None] | None = None,
        keys: CredentialStore | None = None,
    ) -> None:
        """``form_file`` keeps the form across restarts (none: it is not kept);
        ``research``: where research jobs run, ``save_research`` keeps a changed choice;
        ``keys``: the keyring store that holds a cluster's TLS private key."""
        super().__init__(parent)
        self.link = link
        self.history = history
        self.theme = theme
        # User strategies load and run in a process of their own, which holds no keys.
        self.worker = StrategyWorker(strategies_folder)
        self.queue = queue or BacktestQueue()
        self.queue.runner = runner_with(self.worker, self.queue.runner)
        self.queue.listener = self._job_changed
        self.shown: SavedRun | None = None  # the run in the results view
        self.summaries: list[RunSummary] = []
        self.file_dialog: QFileDialog | None = None  # the export dialog open now (tests answer it)
        self.versions_dialog: VersionsDialog | None = None  # the user strategy's Versions… open now
        self.on_chart = ChartTrades(link)
        # Reads, saves and exports; and per job, its wait, save and show (awaited, not
        # cancelled, at shutdown: the queue cancels the job, a save under way finishes).
        self._tasks = TaskGroup("backtest panel", on_error=self._report_failure, logger=log)
        self._runs = TaskGroup("backtest runs", on_error=self._report_failure, logger=log)
        self._run_store: RunStore | None = None
        self._run_store_of: CandleStore | None = None
        self._strategy_lock = asyncio.Lock()
        self.memory = FormMemory(form_file) if form_file is not None else None
        self._form_lock = asyncio.Lock()  # one write of the form at a time, in order
        #: restored parts that wait for what they need: the user's strategies
        #: loaded (with the strategy the form showed then), the stored series read
        self._pending_strategy: tuple[SavedForm, str | None] | None = None
        self._pending_data: SavedForm | None = None
        self._saved_settings: dict[str, Any] | None = None  # the last valid settings kept
        self._restore_notes: list[str] = []  # what did not come back, said together

        # -- the left: what to run; the right: results, saved runs, comparison ----------------------
        self.form = RunForm(strategies_folder, theme, self)
        # the form's parts, by the names the panel's users know them
        self.data, self.strategy, self.settings_form = (
            self.form.data,
            self.form.strategy,
            self.form.settings_form,
        )
        self.label, self.run_button = self.form.label, self.form.run_button
        self.queue_view, self.message = self.form.queue_view, self.form.message
        self.results = ResultsView(theme, self)
        self.runs = RunsList(theme, self)
        self.compare = CompareView(theme, self)
        self.research = ResearchView(theme, self)
        self.tabs = QTabWidget(self)
        self.montecarlo = MonteCarloView(theme, self)  # of the run in Results
        self.tabs.addTab(self.results, "Results")
        self.tabs.addTab(self.montecarlo, "Monte Carlo")
        self.tabs.addTab(self.runs, "Saved runs")
        self.tabs.addTab(self.compare, "Compare")
        self.tabs.addTab(self.research, "Research")

        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.form)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([400, 1100])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)

        for sequence in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(sequence), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.run)
        self.run_button.clicked.connect(lambda _checked=False: self.run())
        self.queue_view.cancel_requested.connect(self.queue.cancel)
        self.data.changed.connect(self._data_changed)
        self.strategy.reload_requested.connect(self.reload_strategies)
        self.strategy.versions_requested.connect(self.open_versions)
        self.results.trade_chosen.connect(self.show_trade)
        self.results.export_html_button.clicked.connect(lambda _checked=False: self.choose_export(HTML))
        self.results.export_csv_button.clicked.connect(lambda _checked=False: self.choose_export(CSV))
        self.results.marks_button.clicked.connect(lambda _checked=False: self.clear_marks())
        self.results.reuse_button.clicked.connect(lambda _checked=False: self.set_up_again())
        self.montecarlo.run_requested.connect(self.run_montecarlo)
        self.runs.open_requested.connect(self.open_run)
        self.runs.compare_requested.connect(self.compare_runs)
        self.runs.delete_requested.connect(self.delete_runs)
        self.runs.refresh_requested.connect(self.refresh_runs)
        link.chart.series_changed.connect(self._chart_changed)
        #: sweeps of the form's strategy (the Research tab, File → Research)
        self.sweeps = ResearchController(
            self.research,
            self.strategy,
            request=self._research_request,
            candles_for=self._candles_for,
            studies=lambda: StudyStore(self._candle_store()),
            chart_market=link.market,
            open_trial=self.run_trial,
            tasks=self._tasks,
            keys=keys,
        )
        if research is not None:
            self.sweeps.set_research_settings(research)
        self.research.compute.on_save = save_research
        # the Monte Carlo tab runs where the Research tab's jobs run
        self.montecarlo.where = lambda: self.sweeps.compute.get(self.research.compute.settings)

        self.apply_theme(theme)
        self._chart_changed()
        self._restore_form()
        self.refresh_stored()

    # -- tasks -------------------------------------------------------------------------------------
    def _spawn[T](self, work: Coroutine[Any, Any, T], name: str, key: str | None = None) -> asyncio.Task[T]:
        return self._tasks.spawn(work, name=f"backtest panel: {name}", key=key)

    def _report_failure(self, exc: BaseException, _name: str) -> None:
        """An error no step handled (the group logged it in full): in plain words on the panel."""
        self._say(describe(exc), error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.form.say(text, error)

    @property
    def busy(self) -> bool:
        """Runs queued or running, or reads, saves and exports under way."""
        return self.queue.busy or self._tasks.busy or self._runs.busy

    # -- the history file --------------------------------------------------------------------------
    def _open_runs(self) -> RunStore:
        """In a worker thread: the run store over the history file as it is now (a file
        moved aside and started fresh is a new store)."""
        store = self.history.get()
        if store is None:
            reason = self.history.error.user_message() if self.history.error else "it is not open."
            raise HistoryNotOpenError(f"The market history file cannot be used: {reason}")
        if self._run_store is None or self._run_store_of is not store:
            self._run_store, self._run_store_of = RunStore(store), store
        return self._run_store

    def _candle_store(self) -> CandleStore:
        store = self.history.get()
        if store is None:
            reason = self.history.error.user_message() if self.history.error else "it is not open."
            raise HistoryNotOpenError(f"Stored candles cannot be read: {reason}")
        return store

    def refresh_stored(self) -> asyncio.Task[None]:
        """Read the stored series and the saved runs again (one read at a time)."""
        reading = self._tasks.running("stored")
        if reading is None or reading.done():
            reading = self._spawn(self._refresh_stored(), "read the history file", key="stored")
        return reading

    async def _refresh_stored(self) -> None:
        try:
            coverage = await asyncio.to_thread(lambda: self._candle_store().coverage())
        except TerminalError as exc:
            log.warning("Backtest panel: %s", describe(exc, detailed=True))
            self.runs.status.setText(f"Runs are not saved: {exc.user_message()}")
            self._say(
                f"{exc.user_message()} Runs on the chart's candles still work; they are not saved.", True
            )
            self._restore_data()
            return
        self.data.set_coverage(coverage)
        self._restore_data()
        await self._list_runs()

    def refresh_runs(self) -> asyncio.Task[list[RunSummary]]:
        return self._spawn(self._list_runs(), "list saved runs")

    async def _list_runs(self) -> list[RunSummary]:
        self.summaries = await asyncio.to_thread(lambda: self._open_runs().list())
        self.runs.set_runs(self.summaries)
        return self.summaries

    # -- strategies --------------------------------------------------------------------------------
    def reload_strategies(self) -> asyncio.Task[None]:
        """Load the strategies folder (again), in the strategies' process."""
        return self._spawn(self._reload_strategies(), "load strategies")

    async def _reload_strategies(self) -> None:
        async with self._strategy_lock:  # one scan at a time
            scan = await asyncio.to_thread(self.worker.scan)
        known = {name: getattr(cls, "info", None) for name, cls in self.strategy.user.items()}
        found = {info.name: info for info in scan.strategies}
        same_errors = [str(e) for e in scan.errors] == [str(e) for e in self.strategy.load_errors]
        if self.strategy.loaded and known == found and same_errors:
            return  # nothing changed: the form keeps its class
        self.strategy.set_user({name: info.stand_in() for name, info in found.items()}, list(scan.errors))
        for error in scan.errors:
            log.warning("User strategy not loaded: %s", describe(error, detailed=True))
        self._restore_user_strategy()

    # -- the chart ---------------------------------------------------------------------------------
    def chart_candles(self) -> ChartCandles | None:
        """The chart's market and its closed candles (the forming one is left out:
        its close is not known yet)."""
        exchange, symbol, timeframe = self.link.market()
        series = self.link.series()
        n = self._closed(series.ts, timeframe)
        if not symbol or n == 0:
            return None
        return ChartCandles(exchange, symbol, timeframe, n, int(series.ts[0]), int(series.ts[n - 1]))

    @staticmethod
    def _closed(ts: np.ndarray, timeframe: str) -> int:
        n = len(ts)
        if n and int(ts[-1]) + timeframe_ms(timeframe) > time.time() * 1000:
            n -= 1
        return n

    def _chart_changed(self) -> None:
        self.data.set_chart(self.chart_candles())
        self.on_chart.follow_chart()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # since it was last shown, the chart has more candles, and the market data
        # panel (or another window) may have stored or saved more
        self.data.set_chart(self.chart_candles())
        self.refresh_stored()
        self.sweeps.refresh_studies()

    def _data_changed(self) -> None:
        choice = self.data.choice()
        if choice is None:
            return
        market = self.link.market_info(choice.exchange, choice.symbol)
        if market is None:
            return
        precision = market.get("precision") or {}
        step = precision.get("amount")
        self.settings_form.set_market(
            float(step) if step else None,
            _rate(market.get("taker")),
            _rate(market.get("maker")),
        )

    # -- running -----------------------------------------------------------------------------------
    def request(self) -> RunRequest | None:
        """The form as a run request, or None with what is wrong shown on the fields."""
        self.data.set_chart(self.chart_candles())
        choice = self.data.choice()
        cls = self.strategy.strategy()
        params = self.strategy.params()
        settings = self.settings_form.settings()
        if choice is None or cls is None or params is None or settings is None:
            return None
        source_hash = cls.info.source_hash if issubclass(cls, WorkerStrategy) else None
        return RunRequest(choice, cls, params, settings, self.label.text().strip(), source_hash)

    def run(self) -> asyncio.Task[BacktestJob | None]:
        """Queue the run the form describes (a user strategy's file is read again
        first); the task's result is the queued job, or None if the form is wrong."""
        return self._spawn(self._submit(), "run")

    async def _submit(self) -> BacktestJob | None:
        if self.request() is None:
            self._say("Some fields need fixing first: see the messages under them.", error=True)
            return None
        cls = self.strategy.strategy()
        if cls is not None and self.strategy.is_user(cls.name):
            await self._reload_strategies()  # run the file as it is now
        request = self.request()
        if request is None:
            self._say("Some fields need fixing first: see the messages under them.", error=True)
            return None
        candles = self._candles_for(request.data)
        if candles is None:
            self._say("The chart has no closed candles to test on yet.", error=True)
            return None
        job = self.queue.submit(
            candles, request.strategy, request.params, request.settings, title=request.title
        )
        self._runs.spawn(self._finish(job, request), name=f"backtest #{job.id}")
        self._say(f"Queued: {request.title}.")
        self._spawn(self.keep_form(), "keep the form")
        return job

    def run_trial(
        self, strategy: str, params: dict[str, Any], settings: BacktestSettings, data: DataChoice
    ) -> None:
        """A sweep's trial as a normal run: the form set to its strategy, parameters,
        costs and candles (the sweep's range, not the chart's newer candles), then Run
        (its results and trades show as any run's)."""
        if not self.strategy.select(strategy, params):
            self._say(f"The strategy {strategy!r} is no longer in the list.", error=True)
            return
        self.settings_form.set_settings(settings)  # the sweep's costs, whatever the form has now
        chart = self.chart_candles()
        on_chart = chart is not None and chart.key == SeriesKey(data.exchange, data.symbol, data.timeframe)
        if not self.data.select(CHART if on_chart else SeriesKey(data.exchange, data.symbol, data.timeframe)):
            self._say(f"The candles of this sweep ({data.title}) are not on the chart or stored.", error=True)
            return
        if data.start_ms is not None and data.end_ms is not None:
            self.data.set_range(data.start_ms, data.end_ms)
        self.tabs.setCurrentWidget(self.results)
        self.run()

    def open_research(self) -> None:
        self.tabs.setCurrentWidget(self.research)

    def _candles_for(self, data: DataChoice) -> OHLCV | Callable[[], OHLCV] | None:
        """The candles of ``data``, or a function the queue's worker calls to read them."""
        if not data.from_chart:
            return lambda: self._candle_store().read(
                data.exchange, data.symbol, data.timeframe, data.start_ms, data.end_ms
            )
        series = self.link.series()
        n = self._closed(series.ts, data.timeframe)
        if n == 0:
            return None
        # Copied here, on the GUI thread, where the session changes the series: a
        # history page or a late trade can correct closed candles in place, so a
        # worker copying meanwhile could read a candle half old, half new. A copy
        # costs a few ms at a million candles; the range is cut in the worker.
        candles = series.copy(0, n)
        return lambda: in_range(candles, data.start_ms, data.end_ms)

    async def _finish(self, job: BacktestJob, request: RunRequest) -> None:
        try:
            result = await job
        except BacktestCancelled:
            self._say(f"Cancelled: {request.title}.")
            return
        except Exception as exc:  # noqa: BLE001 - a run's failure is told on the panel (the queue logs it)
            self._say(f"The backtest failed: {describe(exc)}", error=True)
            return
        # The save is shielded: a panel shutting down waits for it (the history
        # file closes after), rather than leave a thread writing behind its back.
        saving = asyncio.ensure_future(asyncio.to_thread(self._save, result, request))
        try:
            saved, problem = await asyncio.shield(saving)
        except asyncio.CancelledError:
            await asyncio.wait([saving])
            raise
        if saved.summary.id:
            try:
                await self._list_runs()
            except TerminalError as exc:
                log.warning("Listing saved runs failed: %s", describe(exc, detailed=True))
            found = next((s for s in self.summaries if s.id == saved.summary.id), None)
            if found is not None:
                saved = SavedRun(found, saved.result)
        self.show_run(saved)
        m = result.metrics
        what = f"{m.trades:,} trades, total return {m.total_return * 100:+.2f}%".replace("-", "−")
        if problem:
            self._say(f"Done: {request.title}: {what}. Not saved: {problem}", error=True)
        else:
            self._say(f"Done: {request.title}: {what}. Saved as run #{saved.summary.id}.")

    def _save(self, result: BacktestResult, request: RunRequest) -> tuple[SavedRun, str]:
        """In a worker thread: save the run; on failure, the run as it is and why it was not saved."""
        d = request.data
        try:
            run_id = self._open_runs().save(
                result,
                exchange=d.exchange,
                symbol=d.symbol,
                timeframe=d.timeframe,
                source_hash=request.source_hash,
                label=request.label,
            )
        except TerminalError as exc:
            log.warning("Backtest run not saved: %s", describe(exc, detailed=True))
            return SavedRun(summary_of(0, result, request), result), exc.user_message()
        self._keep_version(request.strategy)
        return SavedRun(summary_of(run_id, result, request), result), ""

    # -- versions of the user's strategies -------------------------------------------------------
    def _keep_version(self, cls: StrategyClass) -> None:
        """In a worker thread: keep the text of the user strategy's file that ran (as the
        strategies' process hashed it), so its runs and studies can be told apart by version."""
        if not issubclass(cls, WorkerStrategy) or not cls.info.source:
            return
        info = cls.info
        try:
            StrategyVersions(self._candle_store()).record(info.name, info.source_hash, info.source, info.path)
        except TerminalError as exc:
            log.warning("The version of %s was not kept: %s", info.name, describe(exc, detailed=True))

    def _research_request(self) -> RunRequest | None:
        """The form's request for the Research tab: a sweep of a user strategy keeps its version."""
        request = self.request()
        if request is not None and request.source_hash:
            cls = request.strategy
            self._spawn(asyncio.to_thread(self._keep_version, cls), "keep the strategy's version")
        return request

    def open_versions(self, name: str) -> VersionsDialog | None:
        """The Versions… dialog of user strategy ``name`` (one at a time, not modal)."""
        cls = self.strategy.user.get(name)
        if cls is None:
            return None
        if self.versions_dialog is not None:
            self.versions_dialog.close()
            self.versions_dialog.deleteLater()
        dialog = VersionsDialog(
            name,
            cls.title,
            self.strategy.folder,
            versions=lambda: StrategyVersions(self._candle_store()),
            runs=lambda: self._open_runs().list(),
            tasks=self._tasks,
            theme=self.theme,
            parent=self,
        )
        dialog.setWindowFlag(Qt.WindowType.Window)
        dialog.restored.connect(lambda _path: self.reload_strategies())
        self.versions_dialog = dialog
        dialog.show()
        dialog.refresh()
        return dialog

    def _job_changed(self, job: BacktestJob) -> None:
        self.queue_view.show_job(job)

    # -- showing a run -----------------------------------------------------------------------------
    def show_run(self, run: SavedRun) -> None:
        s = run.summary
        self.shown = run
        self.results.show_run(run, self._price_decimals(s.exchange, s.symbol))
        self.montecarlo.set_run(run)
        self.tabs.setCurrentWidget(self.results)
        trades = all_trades(run.result.trades, run.result.open_trade)
        indicators = self._chart_indicators(s.strategy, s.params)
        self.on_chart.show(trades, (s.exchange, s.symbol, s.timeframe), indicators)

    def _chart_indicators(self, strategy: str, params: Mapping[str, Any]) -> list[IndicatorConfig]:
        """The indicators the run's strategy reads (its ``chart_indicators``), as the chart takes them."""
        cls = BUILTIN.get(strategy) or self.strategy.user.get(strategy)
        if cls is None:
            return []
        configs = []
        for text in cls.chart_texts(params):
            try:
                request = parse(text)
            except ValueError as exc:
                log.warning("Strategy %s: its chart indicator %r cannot be drawn: %s", strategy, text, exc)
                continue
            configs.append(IndicatorConfig.new(request.spec, request.params))
        return configs

    def _price_decimals(self, exchange: str, symbol: str) -> int | None:
        market = self.link.market_info(exchange, symbol)
        tick = ((market or {}).get("precision") or {}).get("price")
        return decimals_for(float(tick)) if tick else None

    def run_montecarlo(self) -> asyncio.Task[MonteCarloOutcome | None] | None:
        """The Monte Carlo tab's Run: the shown run's trades simulated in a worker thread
        (a second Run replaces one under way)."""
        run = self.shown
        if run is None:
            return None
        opens = run_opens(run, self.link, self._candle_store)
        return self._spawn(self.montecarlo.compute(run, opens), "Monte Carlo", key="montecarlo")

    def clear_marks(self) -> None:
        self.on_chart.clear()
        self._say("The trades were taken off the chart.")

    def show_trade(self, index: int) -> bool:
        """Centre the price chart on trade ``index`` of the shown run; False (and a
        note) when the chart shows another market."""
        run = self.shown
        if run is None:
            return False
        s = run.summary
        trades = all_trades(run.result.trades, run.result.open_trade)
        note = self.on_chart.centre_on(trades, index, (s.exchange, s.symbol, s.timeframe))
        if note:
            self._say(note)
        return not note.startswith("The chart shows")

    # -- saved runs --------------------------------------------------------------------------------
    def open_run(self, run_id: int) -> asyncio.Task[SavedRun | None]:
        return self._spawn(self._open(run_id), f"open run #{run_id}")

    async def _open(self, run_id: int) -> SavedRun | None:
        try:
            saved = await asyncio.to_thread(lambda: self._open_runs().load(run_id))
        except TerminalError as exc:
            log.warning("Opening run #%s failed: %s", run_id, describe(exc, detailed=True))
            self._say(f"Could not open run #{run_id}: {exc.user_message()}", error=True)
            return None
        self.show_run(saved)
        self._say(f"Opened run #{run_id}.")
        return saved

    def compare_runs(self, run_ids: list[int]) -> asyncio.Task[list[Pair] | None]:
        """The runs' metrics side by side at once; then, from their curves read in a
        worker thread, whether their difference is real (a new Compare replaces it)."""
        chosen = [s for s in self.summaries if s.id in set(run_ids)]
        self.compare.set_runs(chosen)
        self.tabs.setCurrentWidget(self.compare)
        difference = self.compare.test_difference(lambda run_id: self._open_runs().load(run_id))
        return self._spawn(difference, "compare runs", key="compare")

    def delete_runs(self, run_ids: list[int]) -> asyncio.Task[None]:
        return self._spawn(self._delete(run_ids), "delete runs")

    async def _delete(self, run_ids: list[int]) -> None:
        def delete() -> None:
            runs = self._open_runs()
            for run_id in run_ids:
                runs.delete(run_id)

        try:
            await asyncio.to_thread(delete)
        finally:
            await self._list_runs()
        if self.shown is not None and self.shown.summary.id in run_ids:
            self.shown = None
            self.results.clear()
            self.montecarlo.set_run(None)
            self.clear_marks()
        self._say(f"Deleted {len(run_ids)} run{'s' if len(run_ids) > 1 else ''}.")

    def set_up_again(self) -> None:
        """Put the shown run's strategy, parameters and settings into the form."""
        run = self.shown
        if run is None:
            return
        s = run.summary
        if not self.strategy.select(s.strategy, s.params):
            self._say(f"The strategy {s.strategy!r} is not available any more.", error=True)
            return
        self.settings_form.set_settings(run.result.settings)
        self.data.select(_key_or_chart(self.data, s))
        self._say(f"The form now holds the set-up of {s.label}.")

    # -- exports -----------------------------------------------------------------------------------
    def choose_export(self, kind: str) -> QFileDialog | None:
        """Ask where to write the shown run's HTML report (``HTML``) or trades (``CSV``)."""
        run = self.shown
        if run is None:
            return None
        dialog = export_dialog(self, run, kind, Path.home())
        dialog.fileSelected.connect(lambda path, kind=kind, run=run: self.export(kind, Path(path), run))
        self.file_dialog = dialog
        dialog.open()  # window-modal, without a nested event loop (never exec())
        return dialog

    def export(self, kind: str, path: Path, run: SavedRun | None = None) -> asyncio.Task[None] | None:
        chosen = run or self.shown
        if chosen is None:
            return None
        return self._spawn(self._export(kind, path, chosen), f"export {kind}")

    async def _export(self, kind: str, path: Path, run: SavedRun) -> None:
        try:
            await asyncio.to_thread(WRITERS[kind], path, run)
        except TerminalError as exc:
            log.warning("Export to %s failed: %s", path, describe(exc, detailed=True))
            self._say(f"Could not export: {exc.user_message()}", error=True)
            return
        what = "The report" if kind == HTML else "The trades"
        self._say(
            f"{what} of run #{run.summary.id} written to {path}."
            if run.summary.id
            else f"{what} written to {path}."
        )

    # -- the form across restarts ----------------------------------------------------------------
    def _restore_form(self) -> None:
        """Put the saved form back: settings and a built-in strategy now; a user
        strategy once the user loads theirs; the candles once the stored series are read."""
        if self.memory is None:
            return
        saved, note = self.memory.load()
        self._note(note)
        if saved is None:
            return
        self._note(self._restore_settings(saved))
        if saved.strategy in BUILTIN:
            self._note(self._restore_params(saved))
        elif saved.strategy:
            self._pending_strategy = (saved, self.strategy.combo.currentData())
            title = saved.strategy_title or saved.strategy
            self._note(f"Your last strategy, {title}, comes back when you load yours (Load yours).")
        self._pending_data = saved

    def _note(self, text: str) -> None:
        """Add to what the panel says about the restored form (nothing for "")."""
        if text:
            self._restore_notes.append(text)
            self._say(" ".join(self._restore_notes))

    def _restore_settings(self, saved: SavedForm) -> str:
        if saved.settings is None:
            return ""
        try:
            settings = BacktestSettings.model_validate(saved.settings)
        except ValidationError as exc:
            log.info("Saved backtest settings not restored: %s", exc)
            return "The last costs, sizing and stops no longer fit; they start from the defaults."
        self.settings_form.set_settings(settings, saved.chosen)
        self._saved_settings = saved.settings
        self._data_changed()  # fields the user did not choose follow the market again
        return ""

    def _restore_params(self, saved: SavedForm) -> str:
        """Choose the saved strategy with its parameters; at its defaults if they no longer validate."""
        box = self.strategy
        if not box.select(saved.strategy):
            return f"The strategy {saved.strategy_title or saved.strategy} is not available any more."
        form = box.form
        try:
            if form is not None:
                form.set_values(saved.params)
            fits = form is not None and form.params() is not None
        except (TypeError, ValueError, OverflowError):  # a value of another kind than the field's
            fits = False
        if fits:
            return ""
        box.reset_params()
        cls = box.strategy()
        title = cls.title if cls is not None else saved.strategy
        return f"The last parameters of {title} no longer fit it; it starts from its defaults."

    def _restore_user_strategy(self) -> None:
        """After the user's strategies load: the saved one, if the user has not chosen another meanwhile."""
        pending, self._pending_strategy = self._pending_strategy, None
        if pending is None:
            return
        saved, shown = pending
        if self.strategy.combo.currentData() != shown:
            return
        self._restore_notes = []  # the note that it would come back is answered now
        title = saved.strategy_title or saved.strategy
        if saved.strategy not in self.strategy.user:
            self._note(f"Your last strategy, {title}, is not in your strategies folder any more.")
            return
        self._note(
            self._restore_params(saved) or f"Your last strategy, {title}, is back with its parameters."
        )

    def _restore_data(self) -> None:
        """Once the stored series are known: the saved candles and range."""
        saved, self._pending_data = self._pending_data, None
        if saved is None:
            return
        data = self.data
        if not data.select(saved.source) and isinstance(saved.source, SeriesKey):
            k = saved.source
            self._note(f"{k.exchange} {k.symbol} {k.timeframe} is not stored any more: the chart is chosen.")
            return
        if not saved.whole and saved.start_ms is not None and saved.end_ms is not None:
            data.whole.setChecked(False)
            data.start.set_ms(saved.start_ms)
            data.end.set_ms(saved.end_ms)

    def form_now(self) -> SavedForm:
        """The form as it stands, for keeping; parts still waiting to be restored are kept as saved."""
        form = SavedForm()
        pending = self._pending_strategy[0] if self._pending_strategy is not None else None
        cls, params = self.strategy.strategy(), self.strategy.form
        if pending is not None:
            form.strategy, form.strategy_title = pending.strategy, pending.strategy_title
            form.params = pending.params
        elif cls is not None and params is not None:
            form.strategy, form.strategy_title, form.params = cls.name, cls.title, params.values()
        settings = self.settings_form.settings()
        if settings is not None:
            self._saved_settings = settings.model_dump(mode="json")
        form.settings = self._saved_settings
        form.chosen = self.settings_form.chosen_market_fields()
        waiting = self._pending_data
        if waiting is not None:
            form.source, form.whole = waiting.source, waiting.whole
            form.start_ms, form.end_ms = waiting.start_ms, waiting.end_ms
        else:
            form.source = self.data.key() or CHART
            form.whole = self.data.whole.isChecked()
            form.start_ms, form.end_ms = self.data.start.ms(), self.data.end.ms()
        return form

    async def keep_form(self) -> bool:
        """Write the form to its file (in a worker thread); False when it is not kept."""
        if self.memory is None:
            return False
        form, memory = self.form_now(), self.memory
        async with self._form_lock:
            return await asyncio.to_thread(memory.save, form)

    # -- look and end ------------------------------------------------------------------------------
    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.form.set_theme(theme)
        self.results.apply_theme(theme)
        self.montecarlo.apply_theme(theme)
        self.runs.apply_theme(theme)
        self.compare.apply_theme(theme)
        self.research.set_theme(theme)
        if self.versions_dialog is not None:
            self.versions_dialog.set_theme(theme)

    async def shutdown(self) -> None:
        """Keep the form; cancel the runs and reads; wait until the worker and any save have stopped."""
        await self.keep_form()
        await self.sweeps.shutdown()
        self._tasks.cancel()
        await self.queue.shutdown()
        await self._tasks.close()
        await self._runs.close(cancel=False)
        await asyncio.to_thread(self.worker.close)
        with contextlib.suppress(RuntimeError, TypeError):  # the chart went first (a window torn down)
            self.link.chart.series_changed.disconnect(self._chart_changed)


def _rate(value: object) -> float | None:
    try:
        return None if value is None else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _key_or_chart(picker: DataPicker, s: RunSummary) -> SeriesKey | str:
    """The stored series a run used if it is still stored, else the chart's candles."""
    key = SeriesKey(s.exchange, s.symbol, s.timeframe)
    return key if key in picker.stored else CHART
