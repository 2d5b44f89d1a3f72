"""Breakouts: follow the price out of its recent range."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from terminal.backtest import indicators
from terminal.backtest.signals import FloatArray, from_rules
from terminal.backtest.strategy import Strategy, StrategyParams
from terminal.marketdata.candles import OHLCV


class DonchianParams(StrategyParams):
    entry_period: int = Field(default=20, ge=1, le=5000, description="bars of the channel a breakout leaves")
    exit_period: int = Field(
        default=10, ge=1, le=5000, description="bars of the channel a trade exits through"
    )


class DonchianBreakout(Strategy[DonchianParams]):
    name = "donchian_breakout"
    chart_indicators = ("DC {entry_period}", "DC {exit_period}")
    title = "Donchian breakout"
    summary = (
        "Long when the close exceeds the highest high of the previous entry-period bars, short when it "
        "falls below their lowest low; a long exits below the lowest low of the previous exit-period "
        "bars, a short above their highest high (the turtle rules)."
    )
    Params = DonchianParams

    def signals(self, candles: OHLCV) -> FloatArray:
        p = self.params
        close = candles.close
        # the channels of the bars before this one: this bar's own high cannot be exceeded by its close
        entry_hi, entry_lo = (
            indicators.shift(x) for x in indicators.donchian(candles.high, candles.low, p.entry_period)
        )
        exit_hi, exit_lo = (
            indicators.shift(x) for x in indicators.donchian(candles.high, candles.low, p.exit_period)
        )
        with np.errstate(invalid="ignore"):
            return from_rules(close > entry_hi, close < exit_lo, close < entry_lo, close > exit_hi)


class AtrBreakoutParams(StrategyParams):
    atr_period: int = Field(default=14, ge=1, le=1000, description="bars of the ATR")
    multiplier: float = Field(
        default=2.0, gt=0.0, le=20.0, description="move in ATRs that counts as a breakout"
    )
    exit_period: int = Field(default=20, ge=1, le=1000, description="SMA a trade exits through")


class AtrBreakout(Strategy[AtrBreakoutParams]):
    name = "atr_breakout"
    chart_indicators = ("SMA {exit_period}", "ATR {atr_period}")
    title = "ATR volatility breakout"
    summary = (
        "Long when the close rises more than multiplier x ATR above the previous close, short when it "
        "falls that far below it (ATR of the previous bar); a long exits when the close falls below its "
        "exit-period SMA, a short when it rises above it."
    )
    Params = AtrBreakoutParams

    def signals(self, candles: OHLCV) -> FloatArray:
        p = self.params
        close = candles.close
        band = p.multiplier * indicators.shift(indicators.atr(candles.high, candles.low, close, p.atr_period))
        prev = indicators.shift(close)
        ma = indicators.sma(close, p.exit_period)
        with np.errstate(invalid="ignore"):
            return from_rules(close > prev + band, close < ma, close < prev - band, close > ma)
