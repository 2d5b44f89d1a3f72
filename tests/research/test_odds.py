"""The overfitting odds of a sweep in plain words (``terminal.research.odds``):
from the trials' daily returns, the DSR of the best and the PBO, or what is
too little to judge."""

from __future__ import annotations

import numpy as np

from terminal.research.odds import overfitting_odds
from terminal.research.sweep import Trial, TrialState
from terminal.research.trial_returns import TrialReturns


def _trials(returns: np.ndarray, state: TrialState = TrialState.DONE) -> list[Trial]:
    """One trial per column of ``returns`` (days x trials)."""
    return [
        Trial(i, {"n": i}, (0.0,), None, state, daily=TrialReturns(19_000, returns[:, i].astype(np.float32)))
        for i in range(returns.shape[1])
    ]


def test_the_best_of_many_noise_trials_is_called_likely_chance_and_overfit() -> None:
    noise = np.random.default_rng(3).normal(0.0, 0.01, size=(400, 200))
    odds = overfitting_odds(_trials(noise))
    assert odds.deflated is not None and odds.deflated < 0.5
    assert odds.overfit is not None and 0.3 < odds.overfit < 0.8
    assert "the best of 200 trials" in odds.dsr and "would arise by chance with probability" in odds.dsr
    assert "probability of backtest overfitting" in odds.pbo


def test_a_trial_with_a_real_edge_stands_out() -> None:
    rng = np.random.default_rng(5)
    returns = rng.normal(0.0, 0.01, size=(400, 50))
    returns[:, 7] += 0.004  # a steady edge of 0.4 % a day, over 400 days
    odds = overfitting_odds(_trials(returns))
    assert odds.deflated is not None and odds.deflated > 0.95
    assert odds.overfit is not None and odds.overfit < 0.1


def test_too_little_to_judge_is_said_not_computed() -> None:
    assert "two trials" in overfitting_odds(_trials(np.zeros((30, 1)))).dsr
    short = overfitting_odds(_trials(np.random.default_rng(1).normal(size=(3, 10))))
    assert short.deflated is None and "3 days" in short.dsr
    failed = overfitting_odds(_trials(np.random.default_rng(1).normal(size=(30, 5)), TrialState.FAILED))
    assert failed.deflated is None


def test_ten_days_split_in_four_parts_and_say_the_odds_are_rough() -> None:
    odds = overfitting_odds(_trials(np.random.default_rng(2).normal(0, 0.01, size=(10, 40))))
    assert odds.overfit is not None and "Only 10 days: 4 parts of 2 day(s)" in odds.pbo
