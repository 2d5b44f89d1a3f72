"""Start's other path in the Research tab: with Walk-forward ticked, the form's
space, method, objectives, filters and budget are swept fold by fold
(``terminal.research.walkforward.walk_forward``) on the backtest form's candles
with its costs, in a worker thread, the trials in the controller's warm pool.
The status says "fold 2 of 5" with the fold's sweep's progress; Cancel stops
after the trials under way and shows the folds done. Data too short for the
folds is the analysis's to say: it says so before any fold runs, and the tab
shows its message.

A walk-forward is not kept as a study: its folds' sweeps are on other
candles than any single sweep's, and it takes seconds to run again."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from terminal.backtest.settings import BacktestSettings
from terminal.backtest.strategy import Strategy
from terminal.errors import TerminalError, describe
from terminal.marketdata.candles import OHLCV
from terminal.research.cluster.connect import Cluster
from terminal.research.pool import TrialPool
from terminal.research.sweep import Trial
from terminal.research.walkforward import WalkForwardProgress, Windows, walk_forward
from terminal.tasks import TaskGroup
from terminal.ui.research.job import Job
from terminal.ui.research.sweep_form import SweepChoice
from terminal.ui.research.view import ResearchView, progress_text
from terminal.ui.research.walkforward_view import WalkForwardOutcome, headline

log = logging.getLogger(__name__)

#: the progress bar's steps per fold (a fold's sweep fills its share as its trials run)
STEPS = 1000

WalkJob = Job[WalkForwardOutcome, WalkForwardProgress]


class WalkForwardRunner:
    def __init__(
        self, view: ResearchView, *, tasks: TaskGroup, pool: Callable[[], TrialPool | Cluster]
    ) -> None:
        """``pool()``: where the trials run: the controller's warm pool of worker processes
        (made on first use) or the cluster the Run-on box names (opened on first use:
        blocking, so it is called in the job's thread)."""
        self.view = view
        self._tasks = tasks
        self._pool = pool
        self.job: WalkJob | None = None
        self.outcome: WalkForwardOutcome | None = None  # the last walk-forward that ended

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.task is not None and not self.job.task.done()

    def start(
        self,
        candles: OHLCV | Callable[[], OHLCV],
        strategy: Strategy[Any],
        choice: SweepChoice,
        windows: Windows,
        settings: BacktestSettings,
    ) -> WalkJob:
        """Walk ``strategy`` (its values for the parameters not varied) forward over
        ``candles`` (or what the callable loads, in the worker thread)."""
        self.outcome = None
        view = self.view
        view.begin([p.name for p in choice.space.params], choice.objectives, None)
        view.progress.setRange(0, STEPS)
        view.walk_view.clear("Walking forward…")
        view.results.setCurrentWidget(view.walk_view)

        def work(cancel: threading.Event, progress: Callable[[WalkForwardProgress], None],
                 _on_trial: Callable[[Trial], None]) -> WalkForwardOutcome:  # fmt: skip
            loaded = candles() if callable(candles) else candles
            pool = self._pool()
            result = walk_forward(
                loaded, strategy, choice.space, windows, method=choice.method,
                objectives=choice.objectives, filters=choice.filters, settings=settings,
                budget=choice.budget, early_stop=choice.early_stop, seed=choice.seed,
                cancel=cancel, progress=progress, workers=pool, folds=choice.folds, prune=choice.prune,
            )  # fmt: skip
            return WalkForwardOutcome(result, loaded)

        job: WalkJob = Job(work, lambda _trials, progress: self._heard(progress, choice))
        self.job = job
        job.start()
        self._tasks.spawn(self._finish(job), name="research walk-forward")
        return job

    def _heard(self, progress: WalkForwardProgress | None, choice: SweepChoice) -> None:
        if progress is None:
            return
        sweep = progress.sweep
        share = min(sweep.done / sweep.total, 1.0) if sweep.total else 0.0
        self.view.progress.setRange(0, STEPS * progress.folds)
        self.view.progress.setValue(int(STEPS * (progress.fold - 1 + share)))
        fold = f"Fold {progress.fold} of {progress.folds}"
        self.view.say(f"{fold} · {progress_text(sweep, choice.objectives[0])}")

    async def _finish(self, job: WalkJob) -> None:
        assert job.task is not None
        try:
            outcome = await job.task
        except TerminalError as exc:  # the data too short for the folds, a window that does not add up
            self.view.walk_view.clear(exc.user_message())
            self.view.end(exc.user_message(), True)
            return
        except Exception as exc:  # failed: said, logged, never a traceback on screen
            log.exception("The research walk-forward failed")
            self.view.walk_view.clear(f"The walk-forward stopped: {describe(exc)}")
            self.view.end(f"The walk-forward stopped: {describe(exc)}", True)
            return
        self.outcome = outcome
        self.view.walk_view.show_outcome(outcome)
        self.view.progress.setValue(self.view.progress.maximum())
        self.view.end(f"{headline(outcome.result)} Not kept as a study: see the Walk-forward tab.")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    async def shutdown(self) -> None:
        """Stop a walk-forward under way and wait for it (before the pool closes)."""
        if self.job is not None and self.job.task is not None:
            self.job.cancel()
            try:
                await self.job.task
            except Exception:  # it was told already; the window is closing
                log.debug("the walk-forward ended with an error at shutdown", exc_info=True)
