"""The odds that a sweep's best trial is an artefact of having tried many, in
plain words, from the trials' daily returns: the Deflated Sharpe Ratio of the
best (Bailey & López de Prado, 2014) and the Probability of Backtest
Overfitting by CSCV (Bailey, Borwein, López de Prado & Zhu, 2017); the
definitions are in ``overfitting`` and docs/research.md.

The trials of one sweep ran on the same candles, so their daily returns cover
the same days: they form the T x N matrix both need. Only trials that ran
count (a repeat or a failed trial adds nothing), and what is too little to
judge is said rather than computed: DSR needs two trials and a few days, PBO
splits the days into an even number of parts (at most 16) of at least two
days each."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from terminal.research.overfitting import PARTITIONS, deflated_sharpe_of, pbo
from terminal.research.sweep import Trial, TrialState

MIN_DAYS = 4  # fewer daily returns say nothing about a Sharpe ratio's spread
DAYS_A_YEAR = 365  # crypto trades every day


@dataclass(frozen=True)
class Odds:
    dsr: str  # the DSR in plain words, or why it is not given
    pbo: str
    deflated: float | None = None  # the DSR itself (probability the best's Sharpe is real)
    overfit: float | None = None  # the PBO


def overfitting_odds(trials: Sequence[Trial]) -> Odds:
    ran = [
        t for t in trials if t.daily is not None and t.repeat_of is None and t.state is not TrialState.FAILED
    ]
    if len(ran) < 2:
        why = "It needs two trials or more that ran."
        return Odds(why, why)
    lengths = {len(t.daily) for t in ran if t.daily is not None}
    days = min(lengths)
    if days < MIN_DAYS:
        why = f"The candles cover {days} day{'s' if days != 1 else ''}: too few daily returns to judge."
        return Odds(why, why)
    matrix = np.column_stack([t.daily.returns[:days].astype(np.float64) for t in ran if t.daily is not None])
    matrix = matrix[:, np.isfinite(matrix).all(axis=0)]
    if matrix.shape[1] < 2:
        why = "Fewer than two trials have returns on every day."
        return Odds(why, why)
    deflated = deflated_sharpe_of(matrix)
    dsr_text = (
        deflated.sentence("day", DAYS_A_YEAR)
        if math.isfinite(deflated.probability)
        else ("The best trial's returns never vary: its Sharpe ratio has no meaning.")
    )
    half = days // 2  # CSCV's parts are at least two days each, and even in number
    parts = min(PARTITIONS, half - half % 2)
    found = pbo(matrix, partitions=parts)
    pbo_text = found.sentence()
    if parts < PARTITIONS:
        pbo_text += f" (Only {days} days: {parts} parts of {days // parts} day(s) each; the odds are rough.)"
    return Odds(dsr_text, pbo_text, deflated.probability, found.pbo)
