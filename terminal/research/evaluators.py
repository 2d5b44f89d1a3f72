"""Where a sweep's trials run: in this thread one at a time, in the worker pool, or
many at once in the fast path's kernel. ``run_sweep`` picks one (``choose``) and
asks it for rounds of trials; every path gives each trial the outcome
``evaluate`` gives it, so which one ran is a matter of speed, never of results.

* **serial**: one trial per round, ``evaluate`` in place, the indicator memo of
  the sweep's thread. A round of one keeps the sweep's old rhythm: cancel,
  budget and early stop checked before every trial.
* **fast path** (``terminal.research.fast_path``): the SMA cross over fast ×
  slow, rounds sized to take about a quarter of a second so that Cancel is
  heard within a second.
* **pool** (``terminal.research.pool``): any strategy; a round is what keeps
  every worker busy (grid and random: several batches a worker; optuna:
  one, as it learns from each round it is told).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from terminal.backtest.runner import CancelToken
from terminal.backtest.settings import BacktestSettings
from terminal.marketdata.candles import OHLCV
from terminal.research import sweep
from terminal.research.fast_path import SmaCrossFastPath, fast_path_for
from terminal.research.methods import MethodKind
from terminal.research.objectives import Objective
from terminal.research.pool import PoolSession, TrialPool
from terminal.research.sweep import StrategyRef, TrialOutcome

#: a round of the fast path takes about this long (Cancel is checked between rounds)
FAST_ROUND_S = 0.25
#: grid and random rounds in the pool: this many batches per worker
POOL_BATCHES = 4


class Evaluator(Protocol):
    path: str  # which path ran the trials: "serial", "fast path", "pool"

    def round_size(self, kind: MethodKind) -> int: ...

    def run(
        self, points: Sequence[Mapping[str, Any]], cancel: CancelToken | None
    ) -> list[TrialOutcome | None]:
        """Each point's outcome, in order; None for a point a cancel left unrun."""
        ...


class Serial:
    path = "serial"

    def __init__(
        self,
        candles: OHLCV,
        strategy: StrategyRef,
        settings: BacktestSettings,
        objectives: Sequence[Objective],
    ) -> None:
        self.candles, self.strategy, self.settings, self.objectives = candles, strategy, settings, objectives

    def round_size(self, kind: MethodKind) -> int:
        return 1

    def run(
        self, points: Sequence[Mapping[str, Any]], cancel: CancelToken | None
    ) -> list[TrialOutcome | None]:
        out: list[TrialOutcome | None] = []
        for point in points:
            if cancel is not None and cancel.is_set():
                out.append(None)
            else:
                out.append(sweep.evaluate(self.candles, self.strategy, point, self.settings, self.objectives))
        return out


class FastPath:
    path = "fast path"

    def __init__(self, serial: Serial) -> None:
        self.serial = serial
        self.kernel = SmaCrossFastPath(serial.candles, serial.settings)
        self._per_trial = 0.0

    def round_size(self, kind: MethodKind) -> int:
        if kind not in (MethodKind.GRID, MethodKind.RANDOM):
            return 16  # optuna learns from what it is told: a few at a time
        if self._per_trial <= 0.0:
            return 64
        return max(16, min(4096, int(FAST_ROUND_S / self._per_trial)))

    def run(
        self, points: Sequence[Mapping[str, Any]], cancel: CancelToken | None
    ) -> list[TrialOutcome | None]:
        """``points`` hold every strategy parameter (the base ones too), as ``evaluate``
        takes them; a point the kernel refuses runs the usual way, for its message."""
        start = time.perf_counter()
        done = self.kernel.run(points)
        seconds = (time.perf_counter() - start) / max(1, len(points))
        self._per_trial = seconds
        objectives = self.serial.objectives
        out: list[TrialOutcome | None] = []
        for point, result in zip(points, done, strict=True):
            if result is None:
                out.extend(self.serial.run([point], cancel))
            else:
                metrics, daily = result
                values = tuple(float(getattr(metrics, o.value)) for o in objectives)
                out.append(TrialOutcome(metrics, values, "", seconds, daily))
        return out


class Pooled(AbstractContextManager["Pooled"]):
    """The pool's session for one sweep: open (the candles shared) inside the ``with``."""

    path = "pool"

    def __init__(
        self,
        pool: TrialPool,
        candles: OHLCV,
        strategy: StrategyRef,
        settings: BacktestSettings,
        objectives: Sequence[Objective],
    ) -> None:
        self._opening = pool.session(candles, strategy, {}, settings, objectives)
        self.session: PoolSession | None = None

    def __enter__(self) -> Pooled:
        self.session = self._opening.__enter__()
        return self

    def __exit__(self, *exc: Any) -> bool | None:
        self.session = None
        return self._opening.__exit__(*exc)

    def round_size(self, kind: MethodKind) -> int:
        assert self.session is not None, "a pool round outside the sweep's with block"
        if kind in (MethodKind.GRID, MethodKind.RANDOM):
            return self.session.capacity * POOL_BATCHES
        return self.session.capacity

    def run(
        self, points: Sequence[Mapping[str, Any]], cancel: CancelToken | None
    ) -> list[TrialOutcome | None]:
        return self.run_window(points, cancel, None)

    def run_window(
        self,
        points: Sequence[Mapping[str, Any]],
        cancel: CancelToken | None,
        window: tuple[int, int] | None,
    ) -> list[TrialOutcome | None]:
        """The trials on the ``window`` (start, end) of the session's candles (a fold's)."""
        assert self.session is not None, "a pool round outside the sweep's with block"
        outcomes: list[TrialOutcome | None] = self.session.run(points, cancel, window)
        return outcomes


def fast_reason(
    strategy: StrategyRef, settings: BacktestSettings, names: Sequence[str], fast: bool
) -> str | None:
    """Why the fast path does not run this sweep (None: it does)."""
    if not fast:
        return "the fast path is turned off for this sweep"
    return fast_path_for(strategy, settings, names)
