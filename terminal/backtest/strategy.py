"""The strategy API: typed parameters and a vectorized ``signals(candles)``.

A strategy is a class with

* ``name`` (registry key, ``snake_case``), ``title`` (what a menu shows) and
  ``summary`` (one or two sentences of what it does);
* ``Params``: a pydantic model whose fields have defaults and, for numbers,
  bounds (``Field(default=20, ge=2, le=500)``), so that a UI can build a form and a
  sweep a grid (``param_specs``);
* ``signals(candles)``: one float per candle (see ``terminal.backtest.signals``),
  computed from candles up to and including that bar only.

Example (a file in the user's strategies folder)::

    import numpy as np
    from pydantic import Field
    from terminal.backtest import indicators, signals
    from terminal.backtest.strategy import Strategy, StrategyParams

    class Params(StrategyParams):
        period: int = Field(default=50, ge=2, le=500, description="SMA length")

    class AboveAverage(Strategy[Params]):
        name = "above_average"
        title = "Close above its SMA"
        summary = "Long while the close is above its SMA, flat below."
        Params = Params

        def signals(self, candles):
            above = candles.close > indicators.sma(candles.close, self.params.period)
            return np.where(above, signals.LONG, signals.FLAT)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import annotated_types
from pydantic import BaseModel, ConfigDict

from terminal.backtest.signals import FloatArray
from terminal.marketdata.candles import OHLCV


class StrategyParams(BaseModel):
    """Base of every strategy's parameter model: frozen, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Strategy[P: StrategyParams](ABC):
    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str] = ""
    Params: ClassVar[type[StrategyParams]]
    #: the indicators its signals read, as the chart's palette takes them, with the
    #: parameters' names in braces: ``("SMA {fast}", "SMA {slow}")``. The backtest panel
    #: draws them on the chart beside the run's trades.
    chart_indicators: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: P) -> None:
        self.params = params

    @classmethod
    def create(cls, params: StrategyParams | Mapping[str, Any] | None = None) -> Self:
        """An instance with ``params`` validated by ``Params`` (defaults for what is missing)."""
        model = cls.Params
        if isinstance(params, model):
            validated = params
        else:
            data = params.model_dump() if isinstance(params, BaseModel) else dict(params or {})
            validated = model.model_validate(data)
        # Params is the model of P, a link mypy cannot see between a ClassVar and a type parameter
        return cls(validated)  # type: ignore[arg-type]

    @classmethod
    def chart_texts(cls, params: Mapping[str, Any]) -> list[str]:
        """``chart_indicators`` with these parameters ("SMA 10", "SMA 30"); a text naming a
        parameter the strategy does not have is left as written (the chart says it cannot add it)."""
        out = []
        for text in cls.chart_indicators:
            try:
                out.append(text.format(**params))
            except (KeyError, IndexError, ValueError):
                out.append(text)
        return out

    @abstractmethod
    def signals(self, candles: OHLCV) -> FloatArray:
        """+1 long, -1 short, 0 flat, NaN no change; one value per candle."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"


@dataclass(frozen=True)
class ParamSpec:
    """One parameter as a form or a sweep needs it."""

    name: str
    kind: type  # int, float, bool, str
    default: Any
    minimum: float | None
    maximum: float | None
    exclusive_minimum: bool
    exclusive_maximum: bool
    description: str


def param_specs(params: type[StrategyParams]) -> list[ParamSpec]:
    """The fields of a parameter model with their type, default and bounds."""
    specs = []
    for name, info in params.model_fields.items():
        lo: float | None = None
        hi: float | None = None
        lo_open = hi_open = False
        for meta in info.metadata:
            if isinstance(meta, annotated_types.Ge):
                lo = float(meta.ge)  # type: ignore[arg-type]
            elif isinstance(meta, annotated_types.Gt):
                lo, lo_open = float(meta.gt), True  # type: ignore[arg-type]
            elif isinstance(meta, annotated_types.Le):
                hi = float(meta.le)  # type: ignore[arg-type]
            elif isinstance(meta, annotated_types.Lt):
                hi, hi_open = float(meta.lt), True  # type: ignore[arg-type]
        kind = info.annotation if isinstance(info.annotation, type) else object
        specs.append(ParamSpec(name, kind, info.default, lo, hi, lo_open, hi_open, info.description or ""))
    return specs
