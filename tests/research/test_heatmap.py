"""A sweep's objective over two parameters (``terminal.research.heatmap``): the
best value per pair, the other parameters aggregated by their best, NaN where
no counted trial has the pair."""

from __future__ import annotations

import math

from terminal.research.heatmap import heatmap
from terminal.research.sweep import Trial, TrialState


def _trial(
    number: int, fast: int, slow: int, kind: str, value: float, state: TrialState = TrialState.DONE
) -> Trial:
    return Trial(number, {"fast": fast, "slow": slow, "kind": kind}, (value,), None, state)


def test_each_cell_holds_the_best_trial_of_its_pair_and_names_it() -> None:
    trials = [
        _trial(0, 5, 20, "sma", 1.0),
        _trial(1, 5, 20, "ema", 2.5),  # same pair, better: the cell's value
        _trial(2, 10, 20, "sma", -1.0),
        _trial(3, 5, 30, "sma", 0.5),
        _trial(4, 10, 30, "sma", 9.0, TrialState.FILTERED),  # not counted: refused by a filter
        _trial(5, 10, 30, "sma", math.nan),  # no value: not counted
    ]
    found = heatmap(trials, "fast", "slow")
    assert found.xs == (5, 10) and found.ys == (20, 30)
    assert found.values[0, 0] == 2.5 and found.trials[0, 0] == 1
    assert found.values[0, 1] == -1.0 and found.values[1, 0] == 0.5
    assert math.isnan(found.values[1, 1]) and found.trials[1, 1] == -1


def test_a_choice_parameter_maps_too() -> None:
    found = heatmap([_trial(0, 5, 20, "sma", 1.0), _trial(1, 7, 20, "ema", 3.0)], "kind", "fast")
    assert found.xs == ("ema", "sma") and found.ys == (5, 7)
    assert found.values[1, 0] == 3.0 and math.isnan(found.values[1, 1])
