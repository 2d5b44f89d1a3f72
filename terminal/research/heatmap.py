"""A sweep's objective over two of its parameters, as a table of cells: for
each pair of values, the best value any trial with that pair reached (the
other parameters aggregated by their best, what a trader asks of a heatmap:
"could this pair work at all?"), or NaN where no counted trial has it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from terminal.research.objectives import Direction
from terminal.research.space import Value
from terminal.research.sweep import Trial, TrialState


@dataclass(frozen=True)
class Heatmap:
    x_name: str
    y_name: str
    xs: tuple[Value, ...]  # sorted
    ys: tuple[Value, ...]
    values: NDArray[np.float64]  # len(ys) x len(xs); NaN: no trial
    trials: NDArray[np.int64]  # the trial number behind each cell (-1: none)


def heatmap(
    trials: Sequence[Trial],
    x_name: str,
    y_name: str,
    objective: int = 0,
    direction: Direction = Direction.MAXIMIZE,
) -> Heatmap:
    """The best value of objective ``objective`` per (x, y) pair over the trials that
    counted (done, not filtered, failed or repeated)."""
    counted = [
        t for t in trials
        if t.state is TrialState.DONE and t.repeat_of is None and x_name in t.params and y_name in t.params
        and objective < len(t.values) and math.isfinite(t.values[objective])
    ]  # fmt: skip
    xs = tuple(sorted({t.params[x_name] for t in counted}, key=_order))
    ys = tuple(sorted({t.params[y_name] for t in counted}, key=_order))
    values = np.full((len(ys), len(xs)), np.nan)
    numbers = np.full((len(ys), len(xs)), -1, dtype=np.int64)
    col = {v: i for i, v in enumerate(xs)}
    row = {v: i for i, v in enumerate(ys)}
    sign = 1.0 if direction is Direction.MAXIMIZE else -1.0
    for t in counted:
        i, j = row[t.params[y_name]], col[t.params[x_name]]
        value = t.values[objective]
        if math.isnan(values[i, j]) or sign * value > sign * values[i, j]:
            values[i, j], numbers[i, j] = value, t.number
    return Heatmap(x_name, y_name, xs, ys, values, numbers)


def _order(value: Value) -> tuple[int, float | str]:
    """Numbers in order, then text (a choice parameter) alphabetically."""
    if isinstance(value, bool | int | float):
        return (0, float(value))
    return (1, str(value))
