"""An indicator of the user's own, from a ``.py`` file in the strategies folder.

    import numpy as np
    from pydantic import Field
    from terminal.backtest.strategy import StrategyParams
    from terminal.backtest.user_indicator import Indicator

    class MomentumParams(StrategyParams):
        period: int = Field(default=10, ge=1, le=1000)

    class Momentum(Indicator):
        name = "MOM"              # what the palette takes: "MOM 20"
        title = "Momentum"
        lines = ("momentum",)     # one array per line, in this order
        pane = True               # its own pane (False: over the candles)
        levels = (0.0,)           # the pane's guide lines
        lookback = "period"       # bars a value depends on: a number, or a parameter's name
        Params = MomentumParams

        def compute(self, candles):
            close = candles.close
            out = np.full(len(close), np.nan)
            out[self.params.period:] = close[self.params.period:] - close[:-self.params.period]
            return out

A strategy in the same folder uses it as the chart does
(``Momentum.create({"period": 20}).outputs(candles)``): one implementation.
The file loads, reloads and reports errors (file and line) exactly as a user
strategy does (``terminal.backtest.user_strategies``); like the strategies, the
code runs in the strategies' own process, never in the window's.

The chart recomputes a live candle from the last ``lookback`` bars (twice that,
and a few more): a value must depend on no more than that many bars, or, for an
indicator that smooths recursively, ``lookback`` must be long enough for its start
no longer to matter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from terminal.backtest.errors import BacktestError
from terminal.backtest.strategy import StrategyParams
from terminal.marketdata.candles import OHLCV

FloatArray = NDArray[np.float64]
MAX_LINES = 8


class Indicator(ABC):
    name: ClassVar[str]
    title: ClassVar[str]
    Params: ClassVar[type[StrategyParams]]
    lines: ClassVar[tuple[str, ...]] = ("value",)
    pane: ClassVar[bool] = True
    levels: ClassVar[tuple[float, ...]] = ()
    lookback: ClassVar[int | str] = 200

    def __init__(self, params: StrategyParams) -> None:
        self.params = params

    @classmethod
    def create(cls, params: StrategyParams | Mapping[str, Any] | None = None) -> Self:
        model = cls.Params
        data = params.model_dump() if isinstance(params, BaseModel) else dict(params or {})
        return cls(model.model_validate(data))

    @abstractmethod
    def compute(self, candles: OHLCV) -> FloatArray | tuple[FloatArray, ...]:
        """One array per line (``lines``), one value per candle; NaN where there is none."""

    def outputs(self, candles: OHLCV) -> tuple[FloatArray, ...]:
        """``compute``'s arrays, checked: as many as ``lines``, each one value per candle."""
        raw = self.compute(candles)
        arrays = (raw,) if isinstance(raw, np.ndarray) else tuple(raw)
        if len(arrays) != len(self.lines):
            raise BacktestError(
                f"{self.name}.compute returned {len(arrays)} array(s) "
                f"for {len(self.lines)} line(s) {self.lines}."
            )
        out = []
        for line, array in zip(self.lines, arrays, strict=True):
            values = np.asarray(array, dtype=np.float64)
            if values.shape != (len(candles),):
                raise BacktestError(
                    f"{self.name}'s {line} has shape {values.shape}; "
                    f"one value per candle ({len(candles)}) is wanted."
                )
            out.append(np.ascontiguousarray(values))
        return tuple(out)

    @classmethod
    def bars(cls, params: Mapping[str, Any]) -> int:
        """``lookback`` for these parameters (a number, or the named parameter's value)."""
        look = cls.lookback
        value = params.get(look, 200) if isinstance(look, str) else look
        return max(1, int(value))


def check_indicator(cls: type[Indicator]) -> str:
    """Why a user's Indicator subclass cannot be used, or ""."""
    label = cls.__name__
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name.replace("_", "").isalnum() or not name[:1].isalpha():
        return f'{label} needs a name: a class attribute like name = "MOM" (letters, digits, _)'
    if not isinstance(getattr(cls, "title", None), str):
        return f'{label} needs a title: a class attribute like title = "Momentum"'
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and issubclass(params, StrategyParams)):
        return f"{label} needs Params: a StrategyParams subclass declaring its parameters"
    lines = getattr(cls, "lines", None)
    if not (
        isinstance(lines, tuple) and all(isinstance(x, str) for x in lines) and 1 <= len(lines) <= MAX_LINES
    ):
        return f'{label}.lines must name its 1 to {MAX_LINES} lines, e.g. lines = ("value",)'
    levels = getattr(cls, "levels", ())
    if not (isinstance(levels, tuple) and all(isinstance(x, int | float) for x in levels)):
        return f"{label}.levels must be numbers, e.g. levels = (30, 70)"
    look = getattr(cls, "lookback", None)
    fields = params.model_fields
    if not (isinstance(look, int) and look >= 1) and not (isinstance(look, str) and look in fields):
        return f"{label}.lookback must be a number of bars or the name of one of its parameters"
    return ""
