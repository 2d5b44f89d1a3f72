"""The odds that the best of many trials is an artefact of having tried many.

* The Probabilistic Sharpe Ratio (Bailey & López de Prado, 2012) and the
  Deflated Sharpe Ratio (Bailey & López de Prado, 2014): how likely the true
  Sharpe ratio of the best trial exceeds what the best of N worthless trials
  would show by chance, given the returns' skewness and tails and the sample's
  length.
* The Probability of Backtest Overfitting by combinatorially symmetric
  cross-validation (Bailey, Borwein, López de Prado & Zhu, 2017): how often the
  trial that did best on one half of the history did worse than the median
  trial on the other half.

**Units.** Every Sharpe ratio here is per period, not annualised: the mean of
the per-period returns over their standard deviation (``ddof=1``), the period
being whatever the returns are (a day, for the daily returns the research lab
keeps per trial). Multiply by ``sqrt(periods per year)`` to annualise, for
display only. Definitions and worked examples: docs/research.md.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from terminal.research.montecarlo import InsufficientDataError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Metric = Literal["sharpe", "mean"]

EULER_GAMMA = 0.5772156649015329
PARTITIONS = 16  # the paper's choice: 12,870 combinations
_NORMAL = NormalDist()
# combinations of a chunk x trials of a PBO computation held at once (~8 MB a matrix)
_CHUNK_ELEMENTS = 1 << 20


# -- moments -------------------------------------------------------------------------------
def sharpe_ratios(returns: FloatArray) -> FloatArray:
    """Per-period Sharpe ratio of each column (a trial's returns): mean / std (ddof=1).
    A column without variance has 0 when its mean is 0, and +-inf otherwise."""
    r = np.asarray(returns, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = r.mean(axis=0) / r.std(axis=0, ddof=1)
    return np.asarray(np.nan_to_num(out, nan=0.0, posinf=np.inf, neginf=-np.inf), dtype=np.float64)


@dataclass(frozen=True)
class Moments:
    """What the PSR needs of a return series."""

    sharpe: float  # per period, std with ddof=1
    skew: float  # m3 / m2^1.5 (population moments)
    kurtosis: float  # m4 / m2^2, not excess: 3 for a normal distribution
    n_obs: int


def moments(returns: FloatArray) -> Moments:
    r = np.asarray(returns, dtype=np.float64)
    n = len(r)
    if n < 2:
        raise InsufficientDataError("A Sharpe ratio needs at least two returns.")
    d = r - r.mean()
    m2 = float(np.mean(d**2))
    if m2 == 0.0:
        raise InsufficientDataError("The returns never vary: their Sharpe ratio has no meaning.")
    sharpe = float(r.mean() / r.std(ddof=1))
    return Moments(sharpe, float(np.mean(d**3)) / m2**1.5, float(np.mean(d**4)) / m2**2, n)


# -- PSR and DSR -------------------------------------------------------------------------------
def probabilistic_sharpe(
    sharpe: float, n_obs: int, skew: float, kurtosis: float, benchmark: float = 0.0
) -> float:
    """PSR: the probability that the true Sharpe ratio exceeds ``benchmark``, given an
    estimate ``sharpe`` from ``n_obs`` returns with this skewness and (non-excess)
    kurtosis (Bailey & López de Prado, 2012)::

        PSR = Phi((SR - SR*) * sqrt(T - 1) / sqrt(1 - skew * SR + (kurtosis - 1) / 4 * SR^2))
    """
    if n_obs < 2:
        raise InsufficientDataError("A Sharpe ratio needs at least two returns.")
    spread = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not spread > 0.0:  # impossible for real moments (kurtosis >= 1 + skew^2)
        return math.nan
    return _NORMAL.cdf((sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(spread))


def expected_max_sharpe(trials: int, variance: float) -> float:
    """The expected largest of ``trials`` Sharpe ratios whose true value is 0 and whose
    estimates vary with ``variance`` (Bailey & López de Prado, 2014)::

        SR0 = sqrt(V) * ((1 - gamma) * Z^-1(1 - 1/N) + gamma * Z^-1(1 - 1/(N e)))

    with gamma the Euler-Mascheroni constant. One trial (or no spread) gives 0."""
    if trials < 1:
        raise ValueError("at least one trial is needed")
    if trials == 1 or variance <= 0.0:
        return 0.0
    z = _NORMAL.inv_cdf
    return math.sqrt(variance) * (
        (1.0 - EULER_GAMMA) * z(1.0 - 1.0 / trials) + EULER_GAMMA * z(1.0 - 1.0 / (trials * math.e))
    )


@dataclass(frozen=True)
class DeflatedSharpe:
    """The DSR of one trial chosen as the best of ``trials``. Sharpe ratios per period."""

    sharpe: float  # the best trial's
    trials: int
    sharpe_variance: float  # of the trials' Sharpe ratios
    n_obs: int
    skew: float
    kurtosis: float
    expected_max: float  # SR0: what the best of this many worthless trials would show
    probability: float  # the DSR: PSR against SR0

    def sentence(self, period: str = "day", periods_per_year: float | None = None) -> str:
        """The DSR in plain words; ``periods_per_year`` adds annualised figures."""

        def shown(sr: float) -> str:
            text = f"{sr:.3f} per {period}"
            if periods_per_year:
                text = f"{sr * math.sqrt(periods_per_year):.2f} a year ({text})"
            return text

        best = "the one trial" if self.trials == 1 else f"the best of {self.trials:,} trials"
        return (
            f"Sharpe ratio {shown(self.sharpe)}, {best}, over {self.n_obs:,} {period}s. "
            f"Chance alone would give a best of about {shown(self.expected_max)}. "
            f"A Sharpe this high would arise by chance with probability {1.0 - self.probability:.2f} "
            f"(deflated Sharpe ratio {self.probability:.2f})."
        )


def deflated_sharpe(
    sharpe: float, trials: int, sharpe_variance: float, n_obs: int, skew: float, kurtosis: float
) -> DeflatedSharpe:
    """DSR = PSR(SR0), SR0 = ``expected_max_sharpe(trials, sharpe_variance)``: all per period.

    ``trials`` counts independent trials; trials that move together (neighbouring
    parameters) count for fewer, so the number tried overstates SR0 and understates
    the DSR: the error is on the cautious side."""
    sr0 = expected_max_sharpe(trials, sharpe_variance)
    psr = probabilistic_sharpe(sharpe, n_obs, skew, kurtosis, benchmark=sr0)
    return DeflatedSharpe(sharpe, trials, sharpe_variance, n_obs, skew, kurtosis, sr0, psr)


def deflated_sharpe_of(returns: FloatArray, best: int | None = None) -> DeflatedSharpe:
    """The DSR of a study from its T x N matrix of per-period returns (one column per
    trial): the best trial (the highest Sharpe ratio unless ``best`` is given), its
    moments, and the variance (ddof=1) of all trials' Sharpe ratios."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] < 1:
        raise ValueError("returns must be a T x N matrix, one column per trial")
    ratios = sharpe_ratios(r)
    finite = ratios[np.isfinite(ratios)]
    chosen = int(np.argmax(ratios)) if best is None else best
    m = moments(r[:, chosen])
    variance = float(finite.var(ddof=1)) if len(finite) > 1 else 0.0
    return deflated_sharpe(m.sharpe, r.shape[1], variance, m.n_obs, m.skew, m.kurtosis)


# -- PBO ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Overfitting:
    """CSCV's findings, one value per combination of half the partitions."""

    pbo: float  # share of combinations whose logit is <= 0
    logits: FloatArray  # ln(w / (1 - w)), w the in-sample best's out-of-sample relative rank
    best_trial: IntArray  # the in-sample best trial of each combination
    in_sample: FloatArray  # its in-sample performance
    out_of_sample: FloatArray  # its out-of-sample performance
    slope: float  # of out_of_sample on in_sample, least squares: the performance degradation
    intercept: float
    prob_oos_loss: float  # share of combinations where the in-sample best lost out of sample
    trials: int
    partitions: int
    rows_used: int  # the first T mod S rows are left out so that the partitions are equal
    metric: Metric

    @property
    def combinations(self) -> int:
        return len(self.logits)

    def sentence(self) -> str:
        overfit = int(np.count_nonzero(self.logits <= 0.0))
        trend = "worse" if self.slope < 0 else "better"
        return (
            f"Split into {self.partitions} parts, the history gives {self.combinations:,} ways to choose "
            f"half of it. In {overfit:,} of them, the best of {self.trials:,} trials on the chosen half "
            f"did no better than the median trial on the other half: the probability of backtest "
            f"overfitting is {self.pbo:.2f}. The better a trial did in-sample, the {trend} it did "
            f"out-of-sample (slope {self.slope:+.2f}); the in-sample best lost out-of-sample in "
            f"{self.prob_oos_loss:.0%} of the splits."
        )


def pbo(returns: FloatArray, partitions: int = PARTITIONS, metric: Metric = "sharpe") -> Overfitting:
    """PBO by combinatorially symmetric cross-validation (Bailey, Borwein, López de
    Prado & Zhu, 2017) from a T x N matrix of per-period returns, one column per trial.

    The rows are cut into ``partitions`` (S, even) equal consecutive blocks; each
    of the C(S, S/2) choices of half the blocks is the in-sample set, the rest the
    out-of-sample set. The trial with the best in-sample ``metric`` is found, its
    out-of-sample rank among all N trials taken as w = rank / (N + 1) (ties share
    their mean rank) and its logit ln(w / (1 - w)) recorded. PBO is the share of
    logits <= 0: the in-sample best no better than the out-of-sample median.

    Efficient: each block's per-trial sums (of returns and of squares) are
    computed once; a combination's in-sample statistics are a 0/1 combination of
    the blocks' (one matrix product per chunk of combinations), and its
    out-of-sample ones are the totals minus those."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2:
        raise ValueError("returns must be a T x N matrix, one column per trial")
    if partitions < 2 or partitions % 2:
        raise ValueError(f"the number of partitions must be even and at least 2, not {partitions}")
    rows, trials = r.shape
    if trials < 2:
        raise InsufficientDataError("PBO compares trials: it needs at least two.")
    block = rows // partitions
    if block < 2:
        raise InsufficientDataError(
            f"{rows:,} periods cannot be cut into {partitions} parts of at least two periods each."
        )
    used = r[rows - block * partitions :]
    shift = used.mean(axis=0)  # sums of squares of centred values keep their precision
    centred = (used - shift).reshape(partitions, block, trials)
    block_sum = centred.sum(axis=1)  # (S, N)
    block_sq = (centred * centred).sum(axis=1)
    total_sum, total_sq = block_sum.sum(axis=0), block_sq.sum(axis=0)
    half = partitions // 2
    chosen = np.array(list(itertools.combinations(range(partitions), half)), dtype=np.int64)
    count = len(chosen)
    indicator = np.zeros((count, partitions))
    indicator[np.arange(count)[:, None], chosen] = 1.0
    n_half = block * half

    logits = np.empty(count)
    best = np.empty(count, dtype=np.int64)
    is_best = np.empty(count)
    oos_best = np.empty(count)
    step = max(1, _CHUNK_ELEMENTS // trials)
    for start in range(0, count, step):
        part = slice(start, start + step)
        ind = indicator[part]
        s_in, q_in = ind @ block_sum, ind @ block_sq
        perf_in = _performance(s_in, q_in, n_half, shift, metric)
        perf_out = _performance(total_sum - s_in, total_sq - q_in, n_half, shift, metric)
        winner = np.argmax(perf_in, axis=1)
        at = np.arange(len(winner))
        oos = perf_out[at, winner]
        below = np.count_nonzero(perf_out < oos[:, None], axis=1)
        tied = np.count_nonzero(perf_out == oos[:, None], axis=1)  # the winner included
        w = (below + (tied + 1) / 2.0) / (trials + 1)
        logits[part] = np.log(w / (1.0 - w))
        best[part] = winner
        is_best[part] = perf_in[at, winner]
        oos_best[part] = oos
    slope, intercept = _line(is_best, oos_best)
    return Overfitting(
        pbo=float(np.mean(logits <= 0.0)),
        logits=logits,
        best_trial=best,
        in_sample=is_best,
        out_of_sample=oos_best,
        slope=slope,
        intercept=intercept,
        prob_oos_loss=float(np.mean(oos_best < 0.0)),
        trials=trials,
        partitions=partitions,
        rows_used=block * partitions,
        metric=metric,
    )


def _performance(
    centred_sum: FloatArray, centred_sq: FloatArray, n: int, shift: FloatArray, metric: Metric
) -> FloatArray:
    """Per-period mean or Sharpe ratio from sums of values centred by ``shift``."""
    mean = centred_sum / n + shift
    if metric == "mean":
        return np.asarray(mean, dtype=np.float64)
    var = np.maximum(centred_sq - centred_sum * centred_sum / n, 0.0) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = mean / np.sqrt(var)
    # no variance: 0 for no return (a trial that never traded), +-inf otherwise
    return np.asarray(np.nan_to_num(sharpe, nan=0.0, posinf=np.inf, neginf=-np.inf), dtype=np.float64)


def _line(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """Least-squares slope and intercept of y on x over the finite pairs (NaN if x is constant)."""
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 2:
        return math.nan, math.nan
    dx = x - x.mean()
    spread = float(np.dot(dx, dx))
    if spread == 0.0:
        return math.nan, math.nan
    slope = float(np.dot(dx, y - y.mean())) / spread
    return slope, float(y.mean() - slope * x.mean())
