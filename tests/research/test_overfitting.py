"""PSR, DSR and PBO against their formulas worked step by step, the DSR paper's own
example, a plain-Python CSCV, and the properties that make them worth showing
(docs/research.md, "Overfitting odds")."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest

from terminal.research import overfitting as of
from terminal.research.montecarlo import InsufficientDataError


def phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


# -- PSR and DSR ------------------------------------------------------------------------------
def test_probabilistic_sharpe_worked_by_hand() -> None:
    # SR 0.1 per period over 253 returns, skew -0.5, kurtosis 4, against 0:
    # spread = 1 - (-0.5)(0.1) + (4 - 1)/4 * 0.1^2 = 1 + 0.05 + 0.0075 = 1.0575
    # z = 0.1 * sqrt(252) / sqrt(1.0575) = 1.587451 / 1.028348 = 1.543690
    z = 0.1 * math.sqrt(252) / math.sqrt(1.0575)
    assert z == pytest.approx(1.543690, abs=1e-6)
    assert of.probabilistic_sharpe(0.1, 253, -0.5, 4.0) == pytest.approx(phi(z), abs=1e-12)
    assert phi(z) == pytest.approx(0.93866, abs=1e-5)


def test_expected_max_sharpe_worked_by_hand() -> None:
    # N = 10, V = 0.04: sqrt(V) * ((1 - g) * Z^-1(0.9) + g * Z^-1(1 - 1/(10 e)))
    g = 0.5772156649015329
    z1, z2 = 1.2815515655446004, statistics.NormalDist().inv_cdf(1 - 1 / (10 * math.e))
    assert z2 == pytest.approx(1.789242, abs=1e-6)  # Z^-1(0.9632121)
    assert of.expected_max_sharpe(10, 0.04) == pytest.approx(0.2 * ((1 - g) * z1 + g * z2), abs=1e-12)
    assert of.expected_max_sharpe(1, 0.04) == 0.0
    assert of.expected_max_sharpe(10, 0.0) == 0.0


@pytest.mark.parametrize(("trials", "tolerance"), [(10, 0.03), (100, 0.02), (1_000, 0.02)])
def test_expected_max_sharpe_is_the_mean_of_the_largest_draw(trials: int, tolerance: float) -> None:
    """The formula is an approximation of E[max of N standard normals]; measured,
    it is within 2-3% (the mean of 20,000 maxima has a standard error near 0.003)."""
    maxima = np.random.default_rng(trials).standard_normal((20_000, trials)).max(axis=1)
    assert of.expected_max_sharpe(trials, 1.0) == pytest.approx(maxima.mean(), rel=tolerance)


def test_deflated_sharpe_of_the_papers_example() -> None:
    """Bailey & López de Prado (2014), the numerical example: 100 trials, annualised
    Sharpe 2.5 over five years of daily returns (T = 1,250, 250 days a year), the
    trials' annualised Sharpe ratios with variance 1/2, skewness -3, kurtosis 10.
    The paper finds SR0 = 0.1132 and DSR = 0.9004 (per day). Reconstructed from
    the paper as remembered: both figures come out of those inputs to 4 digits."""
    sr = 2.5 / math.sqrt(250)
    dsr = of.deflated_sharpe(sr, 100, 0.5 / 250, 1_250, -3.0, 10.0)
    assert dsr.expected_max == pytest.approx(0.1132, abs=5e-5)
    assert dsr.probability == pytest.approx(0.9004, abs=5e-5)
    # step by step: (SR - SR0) sqrt(T - 1) / sqrt(1 - skew SR + (kurt - 1)/4 SR^2)
    z = (sr - dsr.expected_max) * math.sqrt(1_249) / math.sqrt(1 + 3 * sr + 9 / 4 * sr**2)
    assert dsr.probability == pytest.approx(phi(z), abs=1e-12)
    text = dsr.sentence(periods_per_year=250)
    assert "the best of 100 trials" in text
    assert "would arise by chance with probability 0.10" in text


def test_one_trial_is_deflated_against_zero() -> None:
    dsr = of.deflated_sharpe(0.05, 1, 0.01, 500, 0.1, 3.5)
    assert dsr.expected_max == 0.0
    assert dsr.probability == of.probabilistic_sharpe(0.05, 500, 0.1, 3.5)


def test_moments_worked_by_hand() -> None:
    r = [0.02, -0.01, 0.03, 0.0, -0.02]
    mean = sum(r) / 5  # 0.004
    d = [x - mean for x in r]
    m2, m3, m4 = (sum(x**k for x in d) / 5 for k in (2, 3, 4))
    got = of.moments(np.array(r))
    assert got.sharpe == pytest.approx(mean / statistics.stdev(r), rel=1e-12)
    assert got.skew == pytest.approx(m3 / m2**1.5, rel=1e-12)
    assert got.kurtosis == pytest.approx(m4 / m2**2, rel=1e-12)
    assert got.n_obs == 5


def test_deflated_sharpe_of_a_study_takes_the_best_trial_and_the_spread_of_all() -> None:
    returns = np.random.default_rng(3).normal(0.0005, 0.01, (300, 8))
    returns[:, 5] += 0.002
    dsr = of.deflated_sharpe_of(returns)
    sharpes = [statistics.mean(returns[:, j]) / statistics.stdev(returns[:, j]) for j in range(8)]
    assert dsr.sharpe == pytest.approx(max(sharpes), rel=1e-9) == pytest.approx(sharpes[5], rel=1e-9)
    assert dsr.sharpe_variance == pytest.approx(statistics.variance(sharpes), rel=1e-9)
    assert dsr.trials == 8 and dsr.n_obs == 300


def test_the_best_of_many_worthless_trials_is_not_significant_once_deflated() -> None:
    """Pure noise, 200 trials of 500 returns, 30 studies: the best trial's PSR against 0
    looks significant almost always; its DSR almost never (measured: 0 of 100 studies
    above 0.95, median 0.50)."""
    dsr, psr = [], []
    for seed in range(30):
        d = of.deflated_sharpe_of(np.random.default_rng(seed).normal(0.0, 0.01, (500, 200)))
        dsr.append(d.probability)
        psr.append(of.probabilistic_sharpe(d.sharpe, d.n_obs, d.skew, d.kurtosis))
    assert np.mean(np.array(psr) > 0.95) >= 0.9
    assert np.mean(np.array(dsr) > 0.95) <= 0.1


# -- PBO ----------------------------------------------------------------------------------------
def cscv_by_hand(m: list[list[float]], s: int) -> tuple[list[float], list[float], list[float]]:
    """The paper's procedure in plain Python: logits, in-sample and out-of-sample
    Sharpe ratio of each combination's in-sample best."""
    length = len(m) // s
    rows = m[len(m) - length * s :]
    blocks = [rows[i * length : (i + 1) * length] for i in range(s)]
    n = len(m[0])

    def sharpe(sample: list[list[float]], j: int) -> float:
        column = [row[j] for row in sample]
        return statistics.mean(column) / statistics.stdev(column)

    logits, ins, outs = [], [], []
    for chosen in itertools.combinations(range(s), s // 2):
        train = [row for i in chosen for row in blocks[i]]
        test = [row for i in range(s) if i not in chosen for row in blocks[i]]
        is_sr = [sharpe(train, j) for j in range(n)]
        oos_sr = [sharpe(test, j) for j in range(n)]
        best = is_sr.index(max(is_sr))
        rank = 1 + sum(x < oos_sr[best] for x in oos_sr)
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
        ins.append(is_sr[best])
        outs.append(oos_sr[best])
    return logits, ins, outs


def test_pbo_agrees_with_the_procedure_in_plain_python() -> None:
    m = np.random.default_rng(4).normal(0.0003, 0.01, (43, 5))  # 43 = 3 dropped + 4 blocks of 10
    logits, ins, outs = cscv_by_hand(m.tolist(), 4)
    got = of.pbo(m, partitions=4)
    assert got.combinations == 6 and got.rows_used == 40
    assert got.logits == pytest.approx(logits, abs=1e-9)
    assert got.in_sample == pytest.approx(ins, rel=1e-9)
    assert got.out_of_sample == pytest.approx(outs, rel=1e-9)
    assert got.pbo == sum(x <= 0 for x in logits) / 6
    slope = statistics.covariance(ins, outs) / statistics.variance(ins)
    assert got.slope == pytest.approx(slope, rel=1e-9)
    assert got.prob_oos_loss == sum(x < 0 for x in outs) / 6


def test_pbo_ignores_the_rows_that_do_not_fill_a_partition() -> None:
    m = np.random.default_rng(5).normal(0.0, 0.01, (100, 6))  # 16 blocks of 6: the first 4 rows unused
    changed = m.copy()
    changed[:4] = 1.0
    assert of.pbo(changed).logits == pytest.approx(of.pbo(m).logits)


def test_pbo_of_pure_noise_is_one_half() -> None:
    """With N even and trials of pure noise, the in-sample best's out-of-sample rank is
    uniform on 1..N, so E[PBO] = 1/2 exactly. One study's PBO varies a lot (sd 0.21,
    measured over 200 studies), so this averages 400 seeded studies: standard error
    0.0105, tolerance 0.04 (about 4 standard errors)."""
    values = [
        of.pbo(np.random.default_rng(seed).normal(0.0, 0.01, (240, 20)), partitions=8).pbo
        for seed in range(400)
    ]
    assert statistics.mean(values) == pytest.approx(0.5, abs=0.04)


def test_pbo_of_a_trial_that_dominates_every_period_is_zero() -> None:
    rng = np.random.default_rng(6)
    others = rng.normal(0.0, 0.01, (320, 11))
    dominant = others.max(axis=1) + 0.005  # better than every other trial on every day
    got = of.pbo(np.column_stack([others, dominant]))
    assert (got.best_trial == 11).all()
    assert got.pbo == 0.0
    assert (got.logits == math.log(12 / 13 / (1 - 12 / 13))).all()  # rank N of N: w = N / (N + 1)
    assert got.prob_oos_loss == 0.0
    assert "probability of backtest overfitting is 0.00" in got.sentence()
    assert "12,870 ways" in got.sentence()


def test_a_trial_that_never_traded_ranks_with_a_sharpe_of_zero() -> None:
    m = np.random.default_rng(7).normal(0.0, 0.01, (64, 4))
    m[:, 0] = 0.0
    got = of.pbo(m, partitions=4)
    assert np.isfinite(got.logits).all()
    assert of.sharpe_ratios(m)[0] == 0.0


def test_pbo_refuses_what_it_cannot_split() -> None:
    with pytest.raises(ValueError, match="even"):
        of.pbo(np.zeros((100, 3)), partitions=5)
    with pytest.raises(InsufficientDataError):
        of.pbo(np.zeros((20, 3)), partitions=16)
    with pytest.raises(InsufficientDataError):
        of.pbo(np.zeros((100, 1)))
