"""What the Research tab does with the backtest form beside it: its ranges
follow the strategy chosen there; Start sweeps that strategy on the form's
candles with the form's costs, sizing and stops (the parameters not varied
keep the form's values); a trial opens as a normal backtest of the form.

A sweep is a **study** kept in the history file (``terminal.research.study``):
each trial is stored as it completes, so a sweep the terminal did not finish
(closed, killed) is listed as interrupted and resumes from its last stored
trial; a trial run before with the same candles, strategy, parameters and
costs comes from the cache. With no history file open, the sweep still runs,
kept nowhere, and says so.

Trials run in a warm pool of worker processes (``terminal.research.pool``)
unless one numba kernel can run them all (the SMA cross's fast path), or on
the Dask cluster the Run-on box names (``terminal.research.cluster``): the
GUI process only asks, tells and stores. A user strategy runs there too,
loaded by the path of its file, as in the strategies' process: never in the
GUI process, which holds the keys' way to the keyring."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog

from terminal.backtest.settings import BacktestSettings
from terminal.backtest.strategies import BUILTIN, StrategyClass
from terminal.backtest.strategy import Strategy
from terminal.backtest.strategy_worker import WorkerStrategy
from terminal.config import ResearchSettings
from terminal.credentials import CredentialStore
from terminal.errors import TerminalError, describe
from terminal.marketdata.candles import OHLCV
from terminal.marketdata.timeframes import timeframe_ms
from terminal.research.cluster.compute import ComputeChoice, ComputeHolder
from terminal.research.cluster.connect import Cluster
from terminal.research.export import write_trials_csv
from terminal.research.importance import importance_text, importances
from terminal.research.methods import MethodKind
from terminal.research.objectives import Filters, Objective
from terminal.research.odds import Odds, overfitting_odds
from terminal.research.pool import TrialPool
from terminal.research.report import StudyPage, write_study_html
from terminal.research.space import Space, apply_settings, split_point
from terminal.research.study import StudySpec, StudyStore, new_study, run_study
from terminal.research.sweep import SweepProgress, SweepResult, Trial, run_sweep
from terminal.tasks import TaskGroup
from terminal.ui.backtest.request import DataChoice, RunRequest
from terminal.ui.backtest.strategy_box import StrategyBox
from terminal.ui.research.job import Job, SweepJob, Work
from terminal.ui.research.sweep_form import SweepChoice
from terminal.ui.research.view import ResearchView
from terminal.ui.research.walkforward_run import WalkForwardRunner

log = logging.getLogger(__name__)

#: parameters a sweep of a crossing compares: the fast one must stay below the slow one
CROSSING = ("fast", "slow")
CSV, HTML = "csv", "html"
Candles = OHLCV | Callable[[], OHLCV]


class ResearchController:
    def __init__(
        self,
        view: ResearchView,
        strategy: StrategyBox,
        *,
        request: Callable[[], RunRequest | None],
        candles_for: Callable[[DataChoice], Candles | None],
        studies: Callable[[], StudyStore],
        chart_market: Callable[[], tuple[str, str, str]],
        open_trial: Callable[[str, dict[str, Any], BacktestSettings, DataChoice], None],
        tasks: TaskGroup,
        keys: CredentialStore | None = None,
    ) -> None:
        """``request()``: the backtest form as a run request (None: it shows what is
        wrong); ``candles_for(data)``: its candles; ``studies()``: the study store of
        the history file (called in a worker thread; raises when it is not open);
        ``chart_market()``: the chart's (exchange, symbol, timeframe);
        ``open_trial(strategy, params, settings, data)``: run one trial as a backtest;
        ``keys``: where a cluster's TLS private key is kept (the keyring)."""
        self.view = view
        self.strategy = strategy
        self._request = request
        self._candles_for = candles_for
        self._studies = studies
        self._chart_market = chart_market
        self._open_trial = open_trial
        self._tasks = tasks
        self.job: SweepJob | None = None
        self.result: SweepResult | None = None
        self.study_id: int | None = None  # the study shown (None: a sweep kept nowhere)
        self.shown: StudySpec | None = None  # its definition, when it was read from the file
        #: what trials open with: the strategy (its fixed values), the costs and the candles
        #: (open times from, until before) of the sweep shown
        self.base: tuple[Strategy[Any], BacktestSettings] | None = None
        self.data: DataChoice | None = None
        self._shown_for = ""
        self.file_dialog: QFileDialog | None = None  # the export dialog open now (tests answer it)
        self.pool: TrialPool | None = None  # made by the first sweep that needs it, kept warm
        self._loop: asyncio.AbstractEventLoop | None = None  # the GUI's, for what a job's thread says
        self._space: Space | None = None  # the space of the sweep under way
        #: what the report says of the sweep shown: its definition, and the odds as sentences
        self._definition: list[tuple[str, str]] = []
        self._judged: tuple[str, ...] = ()
        self.compute = ComputeHolder(keys)  # the cluster the Run-on box names, once a job opened it
        self._cluster_timer = QTimer(view)
        self._cluster_timer.setInterval(1000)
        self._cluster_timer.timeout.connect(self._watch_cluster)
        self.walk = WalkForwardRunner(view, tasks=tasks, pool=self._workers)  # Start with Walk-forward ticked
        view.start_requested.connect(self.start)
        view.cancel_requested.connect(self.cancel)
        view.open_requested.connect(self.open)
        view.show_study_requested.connect(lambda study_id: self._tasks.spawn(self.show_study(study_id)))
        view.resume_requested.connect(self.resume)
        view.export_requested.connect(lambda: self.choose_export(CSV))
        view.report_requested.connect(lambda: self.choose_export(HTML))
        strategy.changed.connect(self.follow_strategy)
        self.follow_strategy()

    @property
    def running(self) -> bool:
        sweeping = self.job is not None and self.job.task is not None and not self.job.task.done()
        return sweeping or self.walk.running

    def follow_strategy(self) -> None:
        """Ranges for the strategy chosen in the backtest form (kept while it stays the same)."""
        cls = self.strategy.strategy()
        name = cls.name if cls is not None else ""
        if name == self._shown_for or cls is None:
            return
        self._shown_for = name
        params = self.strategy.params()
        values = params.model_dump() if params is not None else {}
        self.view.form.ranges.set_strategy(cls.Params, values)
        fields = cls.Params.model_fields
        self.view.form.constraints.setText(" < ".join(CROSSING) if all(f in fields for f in CROSSING) else "")

    # -- kept studies ---------------------------------------------------------------------------------
    def refresh_studies(self) -> asyncio.Task[None]:
        return self._tasks.spawn(self._refresh_studies(), name="list studies", key="studies")

    async def _refresh_studies(self) -> None:
        try:
            summaries = await asyncio.to_thread(lambda: self._studies().list())
        except TerminalError as exc:
            log.info("Research: studies not listed: %s", describe(exc, detailed=True))
            summaries = []
        self.view.set_studies(summaries)

    async def show_study(self, study_id: int) -> None:
        """A kept study's trials in the table (what it ran, how it stopped)."""
        if self.running:
            return
        try:
            study = await asyncio.to_thread(lambda: self._studies().load(study_id))
        except TerminalError as exc:
            self.view.end(exc.user_message(), True)
            return
        spec = study.summary.spec
        self.view.begin([p.name for p in spec.space.params], spec.objectives, len(study.trials))
        self.view.add(list(study.trials), None, spec.objectives[0])
        self.study_id, self.result, self.shown = study_id, None, spec
        self._judged = ()
        self._definition = definition(spec.space, spec.method, spec.objectives, spec.filters, spec.budget,
                                      spec.early_stop, spec.seed, spec.folds, spec.prune)  # fmt: skip
        known = BUILTIN.get(spec.strategy) or self.strategy.user.get(spec.strategy)
        self.base = (known.create(dict(spec.params)), spec.settings) if known is not None else None
        ref = spec.data
        end = ref.last_ts + timeframe_ms(ref.timeframe)  # after the last candle, as the form's range takes it
        self.data = DataChoice(ref.exchange, ref.symbol, ref.timeframe, False, ref.first_ts, end)
        message = study.summary.message or "interrupted: resume it to run the rest"
        self.view.end(f"Study #{study_id}: {len(study.trials):,} trials kept; {message}.")
        await self._judge(list(study.trials), spec.space)

    # -- running ------------------------------------------------------------------------------------
    def start(self) -> Job[Any, Any] | None:
        if self.running:
            return None
        request = self._request()
        if request is None:
            self.view.end("The backtest form needs fixing first: see the messages under its fields.", True)
            return None
        try:
            choice = self.view.form.choice()
            total = choice.space.grid_size() if choice.method is MethodKind.GRID else choice.budget
        except TerminalError as exc:
            self.view.end(exc.user_message(), True)
            return None
        candles = self._candles_for(request.data)
        if candles is None:
            self.view.end("The chart has no closed candles to sweep on yet.", True)
            return None
        strategy = request.strategy.create(request.params.model_dump())
        self._loop = asyncio.get_running_loop()
        if self.view.walk.isChecked():  # the same space and judging, fold by fold
            self.result = None
            return self.walk.start(candles, strategy, choice, self.view.walk.windows(), request.settings)
        cls, source_hash = request.strategy, _source_hash(request.strategy)
        self.base, self.shown, self.data = (strategy, request.settings), None, None
        self._space, self._judged = choice.space, ()
        self._definition = definition(choice.space, choice.method, choice.objectives, choice.filters,
                                      choice.budget, choice.early_stop, choice.seed, choice.folds,
                                      choice.prune)  # fmt: skip
        self.view.begin([p.name for p in choice.space.params], choice.objectives, total)
        data, settings = request.data, request.settings

        def work(cancel: threading.Event, progress: Callable[[SweepProgress], None],
                 on_trial: Callable[[Trial], None]) -> SweepResult:  # fmt: skip
            loaded = candles() if callable(candles) else candles
            pool = self._workers()  # a cluster opens here, off the GUI thread
            if len(loaded):  # the trials open on these very candles, whatever the chart has by then
                end = int(loaded.ts[-1]) + timeframe_ms(data.timeframe)
                self.data = DataChoice(data.exchange, data.symbol, data.timeframe, data.from_chart,
                                       int(loaded.ts[0]), end)  # fmt: skip
            try:
                studies = self._studies()
            except TerminalError as exc:  # the sweep runs, kept nowhere
                log.info("Research: the sweep is not kept: %s", describe(exc, detailed=True))
                self.study_id = None
                return _sweep(loaded, strategy, choice, settings, cancel, progress, on_trial, pool)
            spec = new_study(
                loaded, strategy, choice.space, exchange=data.exchange, symbol=data.symbol,
                timeframe=data.timeframe, source_hash=source_hash, method=choice.method,
                objectives=choice.objectives,
                filters=choice.filters, settings=settings, budget=choice.budget,
                early_stop=choice.early_stop, seed=choice.seed, folds=choice.folds, prune=choice.prune,
            )  # fmt: skip
            self.study_id = study_id = studies.create(spec)
            return run_study(studies, study_id, loaded, cls, source_hash=source_hash, cancel=cancel,
                             progress=progress, on_trial=on_trial, workers=pool)  # fmt: skip

        return self._launch(work, "sweep")

    def resume(self, study_id: int) -> asyncio.Task[None]:
        """Run a kept study on from its last stored trial, on the candles it had."""
        return self._tasks.spawn(self._resume(study_id), name="resume a study")

    async def _resume(self, study_id: int) -> None:
        if self.running:
            return
        await self.show_study(study_id)  # its kept trials first; the new ones come after them
        if self.study_id != study_id or self.shown is None:
            return  # it could not be read: said already
        name = self.shown.strategy
        cls = BUILTIN.get(name) or self.strategy.user.get(name)
        if cls is None:
            self.view.end(
                f"The strategy {name!r} is not loaded: press Load yours in the form, then Resume.", True
            )
            return
        source_hash = _source_hash(cls)
        self._loop = asyncio.get_running_loop()
        ref = self.shown.data
        on_chart = self._chart_market() == (ref.exchange, ref.symbol, ref.timeframe)
        data = DataChoice(ref.exchange, ref.symbol, ref.timeframe, on_chart, ref.first_ts, ref.last_ts + 1)
        candles = self._candles_for(data)
        if candles is None:
            self.view.end(f"The candles of study #{study_id} are not on the chart or stored any more.", True)
            return

        def work(cancel: threading.Event, progress: Callable[[SweepProgress], None],
                 on_trial: Callable[[Trial], None]) -> SweepResult:  # fmt: skip
            loaded = candles() if callable(candles) else candles
            pool = self._workers()  # a cluster opens here, off the GUI thread
            return run_study(self._studies(), study_id, loaded, cls, source_hash=source_hash, cancel=cancel,
                             progress=progress, on_trial=on_trial, workers=pool)  # fmt: skip

        self.view.say(f"Resuming study #{study_id}…")
        self._launch(work, "resume")

    def _launch(self, work: Work, what: str) -> SweepJob:
        self.result = None
        self.view.start_button.setEnabled(False)
        self.view.cancel_button.setEnabled(True)
        job = SweepJob(work, lambda trials, progress: self._heard(trials, progress))
        self.job = job
        job.start()
        self._tasks.spawn(self._finish(job, what), name=f"research {what}")
        return job

    def _heard(self, trials: list[Trial], progress: SweepProgress | None) -> None:
        objectives = self.view.model.objectives
        if objectives:
            self.view.add(trials, progress, objectives[0])

    async def _finish(self, job: SweepJob, what: str) -> None:
        assert job.task is not None
        try:
            result = await job.task
        except TerminalError as exc:
            self.view.end(exc.user_message(), True)
            self.refresh_studies()
            return
        except Exception as exc:  # the sweep failed: said, logged, never a traceback on screen
            log.exception("The research %s failed", what)
            self.view.end(f"The sweep stopped: {describe(exc)}", True)
            self.refresh_studies()
            return
        self.result = result
        said = f"{result.message[:1].upper()}{result.message[1:]} in {result.seconds:,.1f} s"
        if result.cache_hits:
            said += f" ({result.cache_hits:,} from the cache)"
        said += f"; kept as study #{self.study_id}." if self.study_id is not None else "; not kept."
        best = result.best
        if best is not None and best.values:
            label = result.objectives[0].label
            said += f" Best: #{best.number + 1:,}, {label} {best.values[0]:,.3f}. Open it as a backtest."
        else:
            said += " No trial passed the filters."
        self.view.end(said)
        self.refresh_studies()
        await self._judge(list(self.view.model.trials), self._space)  # all of them: the result keeps a few

    async def _judge(self, trials: list[Trial], space: Space | None) -> None:
        """The overfitting odds of these trials and which parameters matter, worked out in
        a worker thread (PBO of thousands of trials takes a second)."""

        def judge() -> tuple[Odds, str]:
            found = importance_text(importances(trials, space)) if space is not None else ""
            return overfitting_odds(trials), found

        try:
            odds, importance = await asyncio.to_thread(judge)
        except Exception as exc:  # noqa: BLE001 - a statistic that cannot be computed must not hide the trials
            log.warning("Research: the overfitting odds failed: %s", describe(exc, detailed=True))
            return
        self.view.set_odds(odds, importance)
        self._judged = (odds.dsr, odds.pbo, *((importance,) if importance else ()))

    def cancel(self) -> None:
        self.walk.cancel()
        if self.job is not None:
            self.job.cancel()
        if self.running:
            self.view.say("Cancelling after the trials under way…")

    def _pool(self) -> TrialPool:
        if self.pool is None:
            self.pool = TrialPool()
        return self.pool

    def _workers(self) -> TrialPool | Cluster:
        """Where the job about to run goes: the cluster the Run-on box names (opened
        now if it is not: blocking, so called from the job's thread), or the pool."""
        settings = self.view.compute.settings
        loop = self._loop
        assert loop is not None, "a job starts from the GUI thread, which sets the loop"
        if settings.compute != "local" and self.compute.cluster is None:
            loop.call_soon_threadsafe(self.view.say, f"Connecting to {ComputeChoice.of(settings).where}…")
        cluster = self.compute.get(settings)
        if cluster is None:
            return self._pool()

        def heard(text: str) -> None:  # from the job's thread: said on the GUI's
            loop.call_soon_threadsafe(self.view.say, text)

        cluster.on_status = heard
        loop.call_soon_threadsafe(self._cluster_timer.start)
        return cluster

    def _watch_cluster(self) -> None:
        """The cluster's workers on screen, every second while a job runs on it."""
        cluster = self.compute.cluster
        if cluster is None:
            self._cluster_timer.stop()
            return
        self._tasks.spawn(self._show_cluster(cluster), name="cluster state", key="cluster-state")
        if not self.running:  # the last look, with the job's figures: then quiet
            self._cluster_timer.stop()

    async def _show_cluster(self, cluster: Cluster) -> None:
        try:  # both are questions to the scheduler: off the GUI thread
            workers, dashboard = await asyncio.to_thread(lambda: (cluster.workers(), cluster.dashboard))
        except Exception:
            log.debug("the cluster's state could not be read", exc_info=True)
            return
        self.view.compute.show_cluster(cluster.description, dashboard, workers)

    def set_research_settings(self, settings: ResearchSettings) -> None:
        self.view.compute.show_settings(settings)

    async def shutdown(self) -> None:
        await self.walk.shutdown()
        if self.job is not None and self.job.task is not None:
            self.job.cancel()
            try:
                await self.job.task
            except Exception:  # it was told already; the window is closing
                log.debug("the sweep ended with an error at shutdown", exc_info=True)
        if self.pool is not None:
            await asyncio.to_thread(self.pool.close)
        await asyncio.to_thread(self.compute.close)

    # -- export ---------------------------------------------------------------------------------------
    def choose_export(self, kind: str = CSV) -> QFileDialog:
        """Ask where to write the trials as CSV (``CSV``) or the sweep as an HTML page
        (``HTML``); ``open()``, no nested loop."""
        stem = f"study-{self.study_id}" if self.study_id is not None else "sweep"
        if kind == HTML:
            title, names, name = "Export the sweep as an HTML report", "HTML files (*.html)", f"{stem}.html"
        else:
            title, names, name = "Export the trials as CSV", "CSV files (*.csv)", f"{stem}-trials.csv"
        dialog = QFileDialog(self.view, title, str(self._folder() / name))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(kind)
        dialog.setNameFilters([names, "All files (*)"])
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: self.export(Path(path), kind))
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def export(self, path: Path, kind: str = CSV) -> asyncio.Task[None]:
        return self._tasks.spawn(self._export(path, kind), name=f"export the sweep ({kind})")

    async def _export(self, path: Path, kind: str) -> None:
        model = self.view.model
        trials, names, objectives = list(model.trials), list(model.names), model.objectives
        try:
            if kind == HTML:
                page = self._page(trials, names, objectives)
                await asyncio.to_thread(write_study_html, path, page)
                said = f"Wrote the report of {len(trials):,} trials to {path}."
            else:
                rows = await asyncio.to_thread(write_trials_csv, path, trials, names, objectives)
                said = f"Wrote {rows:,} trials to {path}."
        except TerminalError as exc:
            self.view.say(exc.user_message(), error=True)
            return
        self.view.say(said)

    def _page(self, trials: list[Trial], names: list[str], objectives: tuple[Objective, ...]) -> StudyPage:
        strategy, settings = self.base if self.base is not None else (None, BacktestSettings())
        data = self.data
        market = f"{data.exchange} {data.symbol} {data.timeframe}" if data is not None else "unknown"
        facts = [
            ("Strategy", strategy.name if strategy is not None else "unknown"),
            ("Fixed parameters", ", ".join(f"{k} = {v}" for k, v in strategy.params.model_dump().items()
                                            if k not in names) or "none" if strategy is not None else ""),
            ("Market", market),
            *self._definition,
        ]  # fmt: skip
        title = f"Study #{self.study_id}" if self.study_id is not None else "Sweep"
        symbol = data.symbol if data is not None else "/USDT"
        return StudyPage(
            title=f"{title}: {facts[0][1]} on {market}",
            facts=facts,
            settings=settings,
            quote=symbol.partition("/")[2].split(":")[0],
            names=names,
            objectives=objectives,
            trials=trials,
            ended=self.view.status.text(),
            odds=self._judged,
        )

    @staticmethod
    def _folder() -> Path:
        return Path.home()

    # -- a trial as a backtest ---------------------------------------------------------------------
    def open(self, trial: Trial) -> None:
        if self.base is None or self.data is None:
            return
        strategy, settings = self.base
        values, changed = split_point(trial.params)  # the strategy's, and the settings' it varied
        try:
            run_settings = apply_settings(settings, changed)
        except (TerminalError, ValueError) as exc:  # a point whose settings do not validate
            self.view.say(f"Trial #{trial.number + 1} cannot run: {describe(exc)}", error=True)
            return
        self._open_trial(strategy.name, {**strategy.params.model_dump(), **values}, run_settings, self.data)


def _sweep(
    candles: OHLCV,
    strategy: Strategy[Any],
    choice: SweepChoice,
    settings: BacktestSettings,
    cancel: threading.Event,
    progress: Callable[[SweepProgress], None],
    on_trial: Callable[[Trial], None],
    pool: TrialPool | Cluster,
) -> SweepResult:
    return run_sweep(
        candles, strategy, choice.space, method=choice.method, objectives=choice.objectives,
        filters=choice.filters, settings=settings, budget=choice.budget, early_stop=choice.early_stop,
        seed=choice.seed, cancel=cancel, progress=progress, on_trial=on_trial, workers=pool,
        folds=choice.folds, prune=choice.prune, keep_trials=False,  # the view keeps them for its table
    )  # fmt: skip


def _source_hash(strategy: StrategyClass) -> str | None:
    """A user strategy's file's hash (its trials are not comparable across versions);
    None for a built-in (the study takes the terminal's version)."""
    return strategy.info.source_hash if issubclass(strategy, WorkerStrategy) else None


def definition(
    space: Space,
    method: MethodKind,
    objectives: tuple[Objective, ...],
    filters: Filters,
    budget: int | None,
    early_stop: int | None,
    seed: int,
    folds: int = 1,
    prune: bool = False,
) -> list[tuple[str, str]]:
    """A sweep's definition as (name, value) lines for its report."""
    ranges = "; ".join(f"{p.name}: {p.as_dict()}" for p in space.params)
    drawdown = f"{filters.max_drawdown:.0%}" if filters.max_drawdown is not None else "no limit"
    return [
        ("Varied", ranges or "nothing"),
        ("Constraints", "; ".join(space.constraints) or "none"),
        ("Method", f"{method.label}, seed {seed}" + (f", budget {budget:,} trials" if budget else "")),
        ("Objectives", ", ".join(o.label for o in objectives)),
        ("Filters", f"at least {filters.min_trades} trades; drawdown {drawdown}"),
        ("Early stop", f"after {early_stop:,} trials with no better one" if early_stop else "never"),
        ("Folds", f"{folds}, each trial scored over all" + (", weak trials pruned" if prune else "")
         if folds > 1 else "none: the whole period"),
    ]  # fmt: skip
