"""The one entry point a worker thread or process calls: ``run_backtest``.

Qt-free and stateless: the result depends only on the arguments, so runs
can go to threads or processes in any number. Progress goes to a callback;
cancellation is a ``threading.Event``-like object checked between stages
and between chunks of bars, which ends the run with ``BacktestCancelled``.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

from terminal.backtest import signals as signal_rules
from terminal.backtest.drawdown import drawdown_curve
from terminal.backtest.engine import simulate
from terminal.backtest.errors import BacktestCancelled, BacktestError, StrategyFailedError
from terminal.backtest.metrics import compute_metrics
from terminal.backtest.result import BacktestResult
from terminal.backtest.settings import BacktestSettings
from terminal.backtest.strategies import StrategyClass, strategy_by_name
from terminal.backtest.strategy import Strategy, StrategyParams
from terminal.backtest.trades import to_table
from terminal.marketdata.candles import OHLCV

# share of the progress bar each stage fills (measured: the loop and the
# signals dominate, the metrics are a small tail)
_SIGNALS_DONE = 0.3
_LOOP_DONE = 0.9


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


Progress = Callable[[float], None]


def run_backtest(
    candles: OHLCV,
    strategy: Strategy[Any] | StrategyClass | str,
    params: StrategyParams | Mapping[str, Any] | None = None,
    settings: BacktestSettings | None = None,
    *,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> BacktestResult:
    """Backtest ``strategy`` on ``candles``.

    ``strategy`` is an instance (then ``params`` must be None), a strategy
    class or a built-in's registry name; ``params`` a parameter model or a
    mapping validated by the strategy's ``Params`` (missing fields take their
    defaults). ``progress(fraction)`` is called with 0..1 from the calling
    thread; ``cancel.is_set()`` is checked between stages and chunks."""
    settings = settings or BacktestSettings()
    instance = _instance(strategy, params)

    def step(fraction: float) -> None:
        if cancel is not None and cancel.is_set():
            raise BacktestCancelled()
        if progress is not None:
            progress(fraction)

    step(0.0)
    if not len(candles):
        raise BacktestError("There are no candles to backtest on.", hint="Pick a range with history.")
    try:
        raw = instance.signals(candles)
    except Exception as exc:  # a strategy may raise anything; the user sees where
        raise _failure(instance, exc) from exc
    sig = signal_rules.validate(raw, len(candles), f"The strategy {instance.name!r}")
    step(_SIGNALS_DONE)
    out = simulate(
        candles,
        sig,
        settings,
        between_chunks=lambda f: step(_SIGNALS_DONE + (_LOOP_DONE - _SIGNALS_DONE) * f),
    )
    ts = np.ascontiguousarray(candles.ts, dtype=np.int64)
    trades = to_table(out.trades, ts)
    open_trade = to_table(out.open_trade, ts)
    drawdown = drawdown_curve(out.equity, settings.initial_cash)
    metrics = compute_metrics(
        equity=out.equity,
        drawdown=drawdown,
        position=out.position,
        close=candles.close,
        ts=ts,
        initial=settings.initial_cash,
        trades=trades,
        fees_paid=out.fees_paid,
    )
    step(1.0)
    return BacktestResult(
        strategy=instance.name,
        params=instance.params.model_dump(),
        settings=settings,
        ts=ts,
        equity=out.equity,
        drawdown=drawdown,
        position=out.position,
        cash=out.cash,
        trades=trades,
        open_trade=open_trade,
        metrics=metrics,
    )


def _failure(instance: Strategy[Any], exc: Exception) -> StrategyFailedError:
    """The error to show for a strategy that raised: where in its own file, if known."""
    try:
        path = inspect.getsourcefile(type(instance)) or ""
    except TypeError:
        path = ""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if path and frame.filename == path:
            line = frame.lineno
    where = f" ({path}, line {line})" if line is not None else ""
    return StrategyFailedError(
        f"The strategy {instance.name!r} failed{where}: {type(exc).__name__}: {exc}",
        path=path,
        line=line,
        detail="".join(traceback.format_exception(exc)),
    )


def _instance(
    strategy: Strategy[Any] | StrategyClass | str, params: StrategyParams | Mapping[str, Any] | None
) -> Strategy[Any]:
    if isinstance(strategy, Strategy):
        if params is not None:
            raise TypeError("pass parameters either inside the strategy instance or as params, not both")
        return strategy
    cls = strategy_by_name(strategy) if isinstance(strategy, str) else strategy
    return cls.create(params)
