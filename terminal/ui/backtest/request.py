"""What the panel asks for when the user presses Run: the data, the strategy
with its parameters, and the settings. Plain values; the panel turns them
into a queued job and, when it finishes, a saved run."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from terminal.backtest.result import BacktestResult
from terminal.backtest.run_store import RunSummary, default_label
from terminal.backtest.settings import BacktestSettings
from terminal.backtest.strategies import StrategyClass
from terminal.backtest.strategy import StrategyParams
from terminal.marketdata.candles import OHLCV
from terminal.ui.backtest.formats import params_text


@dataclass(frozen=True)
class DataChoice:
    """A series and a range of it: stored in the history file, or the chart's candles."""

    exchange: str
    symbol: str
    timeframe: str
    from_chart: bool  # the candles the chart holds (the only ones on the simulated market)
    start_ms: int | None = None  # open times from start until before end; None: from the first / to the last
    end_ms: int | None = None

    @property
    def title(self) -> str:
        return f"{self.exchange} {self.symbol} {self.timeframe}"


@dataclass(frozen=True)
class RunRequest:
    data: DataChoice
    strategy: StrategyClass
    params: StrategyParams
    settings: BacktestSettings
    label: str = ""
    source_hash: str | None = None  # of a user strategy's file (built-ins have none)

    @property
    def title(self) -> str:
        params = params_text(self.params.model_dump())
        return f"{self.strategy.title} ({params}) · {self.data.symbol} {self.data.timeframe}"


def in_range(candles: OHLCV, start_ms: int | None, end_ms: int | None) -> OHLCV:
    """The candles with open time in [start, end)."""
    lo = 0 if start_ms is None else int(np.searchsorted(candles.ts, np.int64(start_ms), side="left"))
    hi = len(candles) if end_ms is None else int(np.searchsorted(candles.ts, np.int64(end_ms), side="left"))
    return candles.slice(lo, hi)


def summary_of(run_id: int, result: BacktestResult, request: RunRequest) -> RunSummary:
    """The summary of a finished run as the panel knows it: shown at once, and kept
    for a run that could not be saved (``run_id`` 0); the store's own replaces it
    once the saved runs are listed."""
    d = request.data
    n = len(result)
    return RunSummary(
        id=run_id,
        created_ms=time.time_ns() // 1_000_000,
        label=request.label
        or default_label(result.strategy, result.params, d.exchange, d.symbol, d.timeframe),
        strategy=result.strategy,
        source_hash=request.source_hash,
        params=dict(result.params),
        exchange=d.exchange,
        symbol=d.symbol,
        timeframe=d.timeframe,
        start_ms=int(result.ts[0]) if n else 0,
        end_ms=int(result.ts[-1]) if n else 0,
        bars=n,
        settings=result.settings.model_dump(mode="json"),
        metrics={k: float(v) for k, v in result.metrics.as_dict().items()},
        trades=len(result.trades),
    )
