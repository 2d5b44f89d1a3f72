"""Support and resistance with an RSI filter: fade the range's edges."""

from __future__ import annotations

from typing import Self

import numpy as np
from pydantic import Field, model_validator

from terminal.backtest import indicators
from terminal.backtest.signals import FloatArray, from_rules
from terminal.backtest.strategy import Strategy, StrategyParams
from terminal.marketdata.candles import OHLCV


class LevelsParams(StrategyParams):
    lookback: int = Field(
        default=50, ge=2, le=5000, description="bars whose lowest low / highest high are the levels"
    )
    tolerance_pct: float = Field(
        default=0.5, ge=0.0, le=20.0, description="how close to a level counts as a touch, %"
    )
    rsi_period: int = Field(default=14, ge=2, le=500, description="RSI length in bars")
    rsi_low: float = Field(default=35.0, ge=0.0, le=100.0, description="a long needs the RSI below this")
    rsi_high: float = Field(default=65.0, ge=0.0, le=100.0, description="a short needs the RSI above this")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.rsi_low > self.rsi_high:
            raise ValueError("rsi_low must not be above rsi_high")
        return self


class SupportResistanceRsi(Strategy[LevelsParams]):
    name = "support_resistance_rsi"
    chart_indicators = ("DC {lookback}", "RSI {rsi_period}")
    title = "Support/resistance + RSI"
    summary = (
        "Support is the lowest low and resistance the highest high of the previous lookback bars. Long "
        "when the low touches support while the RSI is below rsi_low, short when the high touches "
        "resistance while the RSI is above rsi_high; a long exits at resistance or when the RSI rises "
        "above rsi_high, a short at support or when the RSI falls below rsi_low."
    )
    Params = LevelsParams

    def signals(self, candles: OHLCV) -> FloatArray:
        p = self.params
        tol = p.tolerance_pct / 100.0
        support = indicators.shift(indicators.rolling_min(candles.low, p.lookback)) * (1.0 + tol)
        resistance = indicators.shift(indicators.rolling_max(candles.high, p.lookback)) * (1.0 - tol)
        rsi = indicators.rsi(candles.close, p.rsi_period)
        close = candles.close
        with np.errstate(invalid="ignore"):
            at_support = candles.low <= support
            at_resistance = candles.high >= resistance
            return from_rules(
                at_support & (rsi < p.rsi_low),
                (close >= resistance) | (rsi > p.rsi_high),
                at_resistance & (rsi > p.rsi_high),
                (close <= support) | (rsi < p.rsi_low),
            )
