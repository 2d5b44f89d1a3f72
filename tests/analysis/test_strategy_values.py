"""One implementation: what a strategy's signals read is what the chart draws for it.

Each built-in strategy runs on the candles with the engine's memo hook recording
every indicator array its signals computed; the chart's indicators for that run
(the strategy's ``chart_indicators`` at the same parameters, computed as the chart
computes them) must hold each of those arrays exactly, bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from terminal.analysis.catalogue import parse
from terminal.analysis.live import LiveIndicator
from terminal.backtest.indicators import MEMO
from terminal.backtest.strategies import BUILTIN, StrategyClass
from terminal.marketdata.candles import CandleSeries
from tests.analysis.candles import walk

DRAWN = {"sma", "ema", "rsi", "atr", "rolling_max", "rolling_min"}  # arrays a chart line shows as they are
CANDLES = walk(3_000, seed=11)


def recorded_indicators(cls: StrategyClass, params: dict[str, Any]) -> list[tuple[str, np.ndarray]]:
    calls: list[tuple[str, np.ndarray]] = []

    def record(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> np.ndarray:
        out = fn(*args, **kwargs)
        calls.append((fn.__name__, out))
        return out

    token = MEMO.set(record)
    try:
        cls.create(params).signals(CANDLES)
    finally:
        MEMO.reset(token)
    return [(name, out) for name, out in calls if name in DRAWN]


@pytest.mark.parametrize("name", sorted(BUILTIN))
@pytest.mark.parametrize("which", ["defaults", "others"])
def test_the_chart_draws_exactly_the_arrays_a_strategy_read(name: str, which: str) -> None:
    cls = BUILTIN[name]
    params = cls.Params().model_dump()
    if which == "others":  # other periods: the chart follows the run's parameters
        params = {
            k: (v + 3 if isinstance(v, int) and ("period" in k or k in ("fast", "slow", "lookback")) else v)
            for k, v in params.items()
        }
    recorded = recorded_indicators(cls, params)
    assert recorded, f"{name} read no indicator the chart draws"
    series = CandleSeries(60_000)
    series.replace(CANDLES)
    lines = []
    for text in cls.chart_texts(params):
        request = parse(text)
        live = LiveIndicator(request.spec, request.params)
        live.compute(series)
        lines += [live.line(i) for i in range(len(request.spec.lines))]
    for fn, array in recorded:
        assert any(np.array_equal(array, line, equal_nan=True) for line in lines), (
            f"{name}: its {fn} is on none of the chart's lines {cls.chart_texts(params)}"
        )
