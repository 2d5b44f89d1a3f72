"""Mean reversion: buy what fell far, sell what rose far, leave at the middle."""

from __future__ import annotations

from typing import Self

import numpy as np
from pydantic import Field, model_validator

from terminal.backtest import indicators
from terminal.backtest.signals import FloatArray, from_rules
from terminal.backtest.strategy import Strategy, StrategyParams
from terminal.marketdata.candles import OHLCV


class RsiParams(StrategyParams):
    period: int = Field(default=14, ge=2, le=500, description="RSI length in bars")
    oversold: float = Field(default=30.0, ge=0.0, le=100.0, description="go long below this RSI")
    overbought: float = Field(default=70.0, ge=0.0, le=100.0, description="go short above this RSI")
    exit_level: float = Field(
        default=50.0, ge=0.0, le=100.0, description="leave a trade when the RSI crosses it"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.oversold <= self.exit_level <= self.overbought:
            raise ValueError("the levels must be ordered: oversold <= exit level <= overbought")
        return self


class RsiReversion(Strategy[RsiParams]):
    name = "rsi_reversion"
    chart_indicators = ("RSI {period}",)
    title = "RSI mean reversion"
    summary = (
        "Long while the RSI is below the oversold level, short while it is above the overbought level; "
        "a long exits when the RSI rises above the exit level, a short when it falls below it."
    )
    Params = RsiParams

    def signals(self, candles: OHLCV) -> FloatArray:
        p = self.params
        rsi = indicators.rsi(candles.close, p.period)
        with np.errstate(invalid="ignore"):
            return from_rules(rsi < p.oversold, rsi > p.exit_level, rsi > p.overbought, rsi < p.exit_level)


class BollingerParams(StrategyParams):
    period: int = Field(default=20, ge=2, le=1000, description="bars of the middle band (SMA)")
    width: float = Field(default=2.0, gt=0.0, le=10.0, description="band distance in standard deviations")


class BollingerReversion(Strategy[BollingerParams]):
    name = "bollinger_reversion"
    chart_indicators = ("BB {period} {width}",)
    title = "Bollinger band reversion"
    summary = (
        "Long when the close falls below the lower band, short when it rises above the upper band; "
        "either trade exits when the close reaches the middle band."
    )
    Params = BollingerParams

    def signals(self, candles: OHLCV) -> FloatArray:
        close = candles.close
        mid, upper, lower = indicators.bollinger(close, self.params.period, self.params.width)
        with np.errstate(invalid="ignore"):
            return from_rules(close < lower, close >= mid, close > upper, close <= mid)
