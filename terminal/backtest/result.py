"""What a backtest returns: curves, trades and metrics, picklable as a whole."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from terminal.backtest.metrics import Metrics
from terminal.backtest.settings import BacktestSettings
from terminal.backtest.trades import TradeTable

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """One run. Arrays have one value per candle unless said otherwise.

    ``trades`` holds the closed trades (a structured array of
    ``terminal.backtest.trades.TRADE_DTYPE``, in exit order); ``open_trade``
    holds the trade still open at the end (0 or 1 row, marked at the last
    close) when the settings asked not to close it."""

    strategy: str  # the strategy's registry name
    params: dict[str, Any]  # the strategy parameters used (model_dump of its Params)
    settings: BacktestSettings
    ts: IntArray  # candle open times (ms)
    equity: FloatArray  # cash + position marked at each close
    drawdown: FloatArray  # equity over its running peak, minus one (<= 0)
    position: FloatArray  # signed base amount held at each close
    cash: FloatArray
    trades: TradeTable
    open_trade: TradeTable
    metrics: Metrics

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def final_equity(self) -> float:
        return self.metrics.final_equity
