"""The user's own indicators in the catalogue: each ``IndicatorInfo`` the strategies'
process found becomes an ``IndicatorSpec`` whose ``compute`` asks that process.

Parameters that are numbers are the palette's ("MOM 20"); others keep their
defaults. A live candle recomputes the last ``2 x lookback + 8`` bars (the
indicator declares its look-back), over the same pipe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from terminal.analysis.catalogue import BY_KEY, COLORS, IndicatorSpec, Line, Param, Streaming
from terminal.backtest.strategy_worker import IndicatorInfo
from terminal.marketdata.candles import OHLCV

FloatArray = NDArray[np.float64]
Compute = Callable[[str, Mapping[str, Any], OHLCV], tuple[FloatArray, ...]]
BIG = 1e12  # the range of a parameter that declares none


def user_specs(infos: Sequence[IndicatorInfo], compute: Compute) -> tuple[list[IndicatorSpec], list[str]]:
    """The specs of ``infos``, and a sentence for each that cannot be one."""
    specs, problems = [], []
    for info in infos:
        if info.name in BY_KEY:
            problems.append(
                f"The user indicator {info.name} ({info.path}) has the name of a built-in one: rename it"
            )
            continue
        specs.append(_spec(info, compute))
    return specs, problems


def _spec(info: IndicatorInfo, compute: Compute) -> IndicatorSpec:
    params = []
    for p in info.specs:
        if p.kind not in (int, float) or isinstance(p.default, bool):
            continue  # a choice or a switch: its default (the palette takes numbers)
        lo = p.minimum if p.minimum is not None else -BIG
        hi = p.maximum if p.maximum is not None else BIG
        params.append(
            Param(p.name, p.name.replace("_", " ").capitalize(), float(p.default), lo, hi, p.kind is int)
        )
    lines = tuple(Line(name, COLORS[i % len(COLORS)]) for i, name in enumerate(info.lines))
    name = info.name
    look = info.lookback

    def lookback(p: dict[str, float | int]) -> int:
        return max(1, int(p.get(look, 200)) if isinstance(look, str) else int(look))

    return IndicatorSpec(
        key=name,
        title=f"{info.title} (yours)",
        pane=info.pane,
        params=tuple(params),
        lines=lines,
        compute=lambda candles, p: compute(name, p, candles),
        streaming=Streaming.WINDOW,
        lookback=lookback,
        levels=info.levels,
    )
