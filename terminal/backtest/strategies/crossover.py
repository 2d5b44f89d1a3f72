"""Moving-average crossovers: long when the fast average crosses above the slow
one, short when it crosses below (stop-and-reverse on crossings only)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from terminal.backtest import indicators
from terminal.backtest.signals import FloatArray, from_crossings
from terminal.backtest.strategy import Strategy, StrategyParams
from terminal.marketdata.candles import OHLCV


class CrossParams(StrategyParams):
    fast: int = Field(default=10, ge=1, le=1000, description="bars of the fast average")
    slow: int = Field(default=20, ge=2, le=5000, description="bars of the slow average")

    @model_validator(mode="after")
    def _fast_is_faster(self) -> Self:
        if self.fast >= self.slow:
            raise ValueError(
                f"the fast average ({self.fast}) must be shorter than the slow one ({self.slow})"
            )
        return self


class SmaCross(Strategy[CrossParams]):
    name = "sma_cross"
    chart_indicators = ("SMA {fast}", "SMA {slow}")
    title = "SMA cross"
    summary = (
        "Long when the fast simple moving average of the close crosses above the slow one, short when below."
    )
    Params = CrossParams

    def signals(self, candles: OHLCV) -> FloatArray:
        fast = indicators.sma(candles.close, self.params.fast)
        slow = indicators.sma(candles.close, self.params.slow)
        return from_crossings(indicators.crossed_above(fast, slow), indicators.crossed_below(fast, slow))


class EmaCross(Strategy[CrossParams]):
    name = "ema_cross"
    chart_indicators = ("EMA {fast}", "EMA {slow}")
    title = "EMA cross"
    summary = "Long when the fast exponential moving average crosses above the slow one, short when below."
    Params = CrossParams

    def signals(self, candles: OHLCV) -> FloatArray:
        fast = indicators.ema(candles.close, self.params.fast)
        slow = indicators.ema(candles.close, self.params.slow)
        return from_crossings(indicators.crossed_above(fast, slow), indicators.crossed_below(fast, slow))
