"""Each metric against a small example worked out by hand (docs/backtesting.md
has the definitions)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from terminal.backtest.drawdown import drawdown_curve, episodes
from terminal.backtest.metrics import Metrics, bar_spacing_ms, compute_metrics
from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs, Sizing
from terminal.backtest.trades import TRADE_DTYPE
from tests.backtest.backtest_scenarios import T0, FixedSignals, H, L, candles, flat_bar, random_candles, sig

DAY = 86_400_000


def _metrics(
    equity: list[float],
    *,
    initial: float = 100.0,
    bar_ms: int = DAY,
    close: list[float] | None = None,
    position: list[float] | None = None,
    pnl: list[float] | None = None,
    ts: np.ndarray | None = None,
) -> Metrics:
    eq = np.array(equity, dtype=np.float64)
    n = len(eq)
    trades = np.zeros(len(pnl or []), dtype=TRADE_DTYPE)
    if pnl:
        trades["pnl"] = pnl
        trades["return_pct"] = np.array(pnl) / 100.0
        trades["amount"] = 1.0
        trades["entry_price"] = 100.0
    return compute_metrics(
        equity=eq,
        drawdown=drawdown_curve(eq, initial),
        position=np.array(position if position is not None else [0.0] * n),
        close=np.array(close if close is not None else [1.0] * n),
        ts=ts if ts is not None else T0 + bar_ms * np.arange(n, dtype=np.int64),
        initial=initial,
        trades=trades,
        fees_paid=0.0,
    )


# returns per bar: 0 (bar 0 against the starting cash), +10%, -10%, +10%
EQUITY = [100.0, 110.0, 99.0, 108.9]
RETURNS = np.array([0.0, 0.1, -0.1, 0.1])


def test_returns_and_their_annualisation_with_daily_bars() -> None:
    m = _metrics(EQUITY, close=[10, 11, 12, 15])
    assert m.bar_ms == DAY
    assert m.periods_per_year == 365
    assert m.total_return == pytest.approx(0.089)
    assert m.annualised_return == pytest.approx(1.089 ** (365 / 4) - 1)
    assert m.cagr == pytest.approx(1.089 ** (365 / 4) - 1)  # 4 days from the first open to the last close
    assert m.buy_hold_return == pytest.approx(0.5)
    assert m.final_equity == 108.9
    assert m.peak_equity == 110.0


def test_risk_ratios() -> None:
    m = _metrics(EQUITY)
    std = math.sqrt(((0 - 0.025) ** 2 + 0.075**2 + 0.125**2 + 0.075**2) / 3)
    assert m.volatility == pytest.approx(std * math.sqrt(365))
    assert m.sharpe == pytest.approx(0.025 / std * math.sqrt(365))
    assert m.sortino == pytest.approx(0.025 / math.sqrt(0.01 / 4) * math.sqrt(365))
    assert m.omega == pytest.approx(0.2 / 0.1)
    assert m.calmar == pytest.approx(m.cagr / 0.1)


def test_drawdown_not_recovered_lasts_to_the_end() -> None:
    m = _metrics(EQUITY)
    assert m.max_drawdown == pytest.approx(-0.1)  # 110 -> 99
    assert m.max_drawdown_bars == 2  # from the peak (bar 1) to the last bar
    assert m.max_drawdown_ms == 2 * DAY
    assert m.avg_drawdown == pytest.approx(-0.1)


def test_drawdown_episodes_from_peak_to_recovery() -> None:
    dd = drawdown_curve(np.array([100.0, 90.0, 100.0, 80.0, 120.0, 120.0]), 100.0)
    np.testing.assert_allclose(dd, [0, -0.1, 0, -0.2, 0, 0])
    eps = episodes(dd)
    assert list(eps.start_bar) == [0, 2]
    assert list(eps.end_bar) == [2, 4]
    np.testing.assert_allclose(eps.depth, [-0.1, -0.2])
    m = _metrics([100.0, 90.0, 100.0, 80.0, 120.0, 120.0])
    assert m.max_drawdown == pytest.approx(-0.2)
    assert m.avg_drawdown == pytest.approx(-0.15)
    assert m.max_drawdown_bars == 2
    assert m.avg_drawdown_ms == pytest.approx(2 * DAY)


def test_starting_cash_is_the_first_peak() -> None:
    dd = drawdown_curve(np.array([95.0, 100.0]), 100.0)
    np.testing.assert_allclose(dd, [-0.05, 0.0])
    assert list(episodes(dd).start_bar) == [0]


def test_var_and_cvar_are_historical_over_bar_returns() -> None:
    m = _metrics(EQUITY)
    assert m.var_95 == pytest.approx(-0.1)  # k = ceil(5% of 4) = 1: the worst return
    assert m.cvar_95 == pytest.approx(-0.1)
    # 40 bars: k = 2; the two worst returns are -3% and -2%
    rets = np.r_[[-0.03, -0.02, -0.01], np.full(37, 0.001)]
    eq = 100.0 * np.cumprod(1 + rets)
    m = _metrics(list(eq))
    assert m.var_95 == pytest.approx(-0.02)
    assert m.cvar_95 == pytest.approx(-0.025)


@pytest.mark.parametrize("losses", [0, 1, 3, 30])
@pytest.mark.parametrize("zeros", [0, 2, 80])
def test_var_and_cvar_follow_their_definition_whatever_the_mix_of_signs(losses: int, zeros: int) -> None:
    rng = np.random.default_rng(losses * 100 + zeros)
    rets = np.r_[-rng.uniform(0.001, 0.05, losses), np.zeros(zeros), rng.uniform(0.001, 0.05, 100)]
    rng.shuffle(rets)
    m = _metrics(list(100.0 * np.cumprod(1 + rets)))
    # the oracle: sort the bar returns (which are ``rets``), take the k = ceil(5% of n) smallest
    all_returns = np.sort(rets)
    k = math.ceil(0.05 * len(all_returns))
    assert m.var_95 == pytest.approx(all_returns[k - 1], abs=1e-12)
    assert m.cvar_95 == pytest.approx(all_returns[:k].mean(), abs=1e-12)


def test_exposure_is_the_share_of_bars_closed_with_a_position() -> None:
    assert _metrics(EQUITY, position=[0, 1, -2, 0]).exposure == 0.5


def test_trade_statistics() -> None:
    m = _metrics(EQUITY, pnl=[10.0, -5.0, 20.0, -5.0])
    assert m.trades == 4
    assert m.win_rate == 0.5
    assert m.best_trade == pytest.approx(0.2)
    assert m.worst_trade == pytest.approx(-0.05)
    assert m.avg_trade == pytest.approx(0.05)
    assert m.profit_factor == pytest.approx(30 / 10)
    assert m.expectancy == pytest.approx(5.0)
    assert m.sqn == pytest.approx(math.sqrt(4) * 5 / math.sqrt(150))
    assert m.kelly == pytest.approx(0.5 - 0.5 / (15 / 5))


def test_trade_statistics_without_losses_or_trades() -> None:
    m = _metrics(EQUITY, pnl=[1.0, 2.0])
    assert m.profit_factor == math.inf
    assert math.isnan(m.kelly)
    m = _metrics(EQUITY)
    assert m.trades == 0
    assert math.isnan(m.win_rate) and math.isnan(m.profit_factor) and math.isnan(m.expectancy)


def test_flat_equity_has_no_ratio() -> None:
    m = _metrics([100.0] * 5)
    assert m.total_return == 0.0 and m.max_drawdown == 0.0 and m.volatility == 0.0
    assert math.isnan(m.sharpe) and math.isnan(m.sortino) and math.isnan(m.calmar) and math.isnan(m.omega)


def test_annualisation_follows_the_bar_spacing() -> None:
    hourly = _metrics(EQUITY, bar_ms=3_600_000)
    assert hourly.periods_per_year == 365 * 24
    assert hourly.volatility == pytest.approx(_metrics(EQUITY).volatility * math.sqrt(24))
    assert hourly.annualised_return == pytest.approx(1.089 ** (365 * 24 / 4) - 1, rel=1e-9)


def test_cagr_counts_calendar_time_and_annualised_return_counts_bars() -> None:
    # four daily bars with a 6-day hole after the second: 10 days from first open to last close
    ts = T0 + DAY * np.array([0, 1, 8, 9], dtype=np.int64)
    m = _metrics(EQUITY, ts=ts)
    assert m.bar_ms == DAY  # the median spacing
    assert m.cagr == pytest.approx(1.089 ** (365 / 10) - 1)
    assert m.annualised_return == pytest.approx(1.089 ** (365 / 4) - 1)


def test_bar_spacing_is_the_median_gap() -> None:
    assert bar_spacing_ms(np.array([0, 60_000, 120_000, 600_000, 660_000])) == 60_000
    assert bar_spacing_ms(np.array([5])) == 0


def test_a_run_reports_fees_mae_mfe_and_durations() -> None:
    rows = [flat_bar(100), (100, 104, 97, 102), (102, 106, 101, 103), flat_bar(103)]
    result = run_backtest(
        candles(rows),
        FixedSignals(sig(L, H, H, H)),
        settings=BacktestSettings(
            initial_cash=1000, costs=Costs(taker_fee=0.001), sizing=Sizing(amount_step=1)
        ),
    )
    (trade,) = result.trades
    assert trade["bars"] == 2 and trade["exit_ts"] - trade["entry_ts"] == 2 * 60_000
    assert trade["mae"] == pytest.approx(97 / 100 - 1)  # bar 1's low
    assert trade["mfe"] == pytest.approx(106 / 100 - 1)  # bar 2's high
    m = result.metrics
    assert m.fees_paid == pytest.approx(9 * 100 * 0.001 + 9 * 103 * 0.001)  # floor(1000 / 100.1) = 9
    assert m.avg_trade_bars == 2 and m.max_trade_bars == 2 and m.max_trade_ms == 120_000
    assert m.avg_mae == pytest.approx(-0.03) and m.avg_mfe == pytest.approx(0.06)


def test_a_result_survives_pickling() -> None:
    """Sweeps return results from worker processes."""
    result = run_backtest(random_candles(np.random.default_rng(3), 500), "sma_cross", {"fast": 5, "slow": 12})
    assert len(result.trades) > 5
    copy = pickle.loads(pickle.dumps(result))
    np.testing.assert_equal(copy.metrics.as_dict(), result.metrics.as_dict())  # NaN equals NaN here
    assert copy.settings == result.settings
    np.testing.assert_array_equal(copy.equity, result.equity)
    assert copy.trades.tobytes() == result.trades.tobytes()
    assert copy.trades.dtype == TRADE_DTYPE
