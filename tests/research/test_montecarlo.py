"""Monte Carlo of a run's trades: hand-worked paths, the invariants the simulations
promise (docs/research.md, "Monte Carlo"), and the contract with the engine's
trade table that the statistics rely on."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs
from terminal.backtest.trades import TRADE_DTYPE
from terminal.marketdata.candles import OHLCV
from terminal.research import montecarlo as mc


def _trades(bars: list[int], side: list[int], returns: list[float]) -> np.ndarray:
    table = np.zeros(len(bars), dtype=TRADE_DTYPE)
    table["bars"] = bars
    table["side"] = side
    table["return_pct"] = returns
    return table


def _walk(n: int, seed: int) -> OHLCV:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    ts = 1_700_000_000_000 + 60_000 * np.arange(n, dtype=np.int64)
    return OHLCV(
        ts, open_, np.maximum(open_, close) * 1.001, np.minimum(open_, close) * 0.999, close, np.ones(n)
    )


# -- the steps ----------------------------------------------------------------------------
def test_growth_is_each_trades_return_on_the_equity_before_it() -> None:
    steps = mc.TradeSteps.from_pnl([100.0, -55.0, 20.0], 1_000.0)
    # equity before each trade: 1000, 1100, 1045
    assert steps.growth.tolist() == pytest.approx([100 / 1000, -55 / 1100, 20 / 1045])


def test_equity_before_each_trade_is_what_the_engine_sized_it_from() -> None:
    """The engine is flat between trades (a reversal exits before it enters), so the
    equity a trade starts from is the cash plus the P&L before it; with all equity in
    every trade, that is what the engine spends on the entry and its fee."""
    candles = _walk(3_000, seed=4)
    settings = BacktestSettings(initial_cash=1_000.0, close_at_end=True)
    result = run_backtest(candles, "sma_cross", {"fast": 5, "slow": 12}, settings)
    trades = result.trades
    assert len(trades) > 50
    steps = mc.TradeSteps.of(trades, 1_000.0)
    before = 1_000.0 * np.concatenate(([1.0], np.cumprod(1.0 + steps.growth)[:-1]))
    spent = trades["amount"] * trades["entry_price"] * (1.0 + settings.costs.taker_fee)
    assert before == pytest.approx(spent, rel=1e-9)
    assert 1_000.0 * np.prod(1.0 + steps.growth) == pytest.approx(result.final_equity, rel=1e-9)


def test_a_run_without_trades_cannot_be_simulated() -> None:
    with pytest.raises(mc.InsufficientDataError):
        mc.reshuffle(mc.TradeSteps.from_pnl([], 1_000.0), 10)


# -- reshuffling --------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["compound", "fixed"])
def test_reshuffling_keeps_the_total_pnl_and_changes_the_drawdown(model: mc.Model) -> None:
    pnl = np.random.default_rng(7).normal(3.0, 40.0, 300)
    steps = mc.TradeSteps.from_pnl(pnl, 10_000.0)
    sim = mc.reshuffle(steps, 2_000, model=model, seed=1)
    assert sim.final_equity - 10_000.0 == pytest.approx(np.full(2_000, pnl.sum()), rel=1e-9)
    assert sim.prob_loss() in (0.0, 1.0)  # every path ends in the same place
    assert sim.max_drawdown.min() < sim.max_drawdown.max()  # but not by the same way


def test_reshuffled_drawdowns_of_two_trades_worked_by_hand() -> None:
    # +100 then -100: 1100, 1000 -> 1000 / 1100 - 1; -100 then +100: 900 -> -10%
    steps = mc.TradeSteps.from_pnl([100.0, -100.0], 1_000.0)
    sim = mc.reshuffle(steps, 10_000, model="fixed", seed=2)
    assert set(np.round(sim.max_drawdown, 12)) == {round(1000 / 1100 - 1, 12), -0.1}
    # each order has probability 1/2: 10,000 paths give 0.5 +- 0.005 (one sd)
    assert sim.prob_drawdown_beyond(0.095) == pytest.approx(0.5, abs=0.03)
    assert sim.prob_drawdown_beyond(0.1) == sim.prob_drawdown_beyond(0.095)
    assert sim.prob_drawdown_beyond(0.11) == 0.0
    assert sim.prob_ruin(900.0) == sim.prob_drawdown_beyond(0.095)  # the paths that went down first
    assert sim.prob_ruin(899.0) == 0.0


def test_compounded_paths_and_ruin_worked_by_hand() -> None:
    # growth -50% and +100%: 500 -> 1000, or 2000 -> 1000; both orders lose half from a peak
    steps = mc.TradeSteps.from_pnl([-500.0, 500.0], 1_000.0)
    assert steps.growth.tolist() == [-0.5, 1.0]
    sim = mc.reshuffle(steps, 4_000, seed=3)
    assert sim.max_drawdown == pytest.approx(np.full(4_000, -0.5))
    assert set(np.round(sim.min_equity, 9)) == {500.0, 1_000.0}
    assert sim.prob_ruin(600.0) == pytest.approx(0.5, abs=0.05)
    fan = sim.fan((0, 50, 100))
    assert fan.trades.tolist() == [0, 1, 2]
    assert fan.equity[:, 0] == pytest.approx([1_000.0] * 3)  # everything starts at the cash
    assert fan.equity[:, 1] == pytest.approx([500.0, fan.equity[1, 1], 2_000.0])
    assert fan.equity[:, 2] == pytest.approx([1_000.0] * 3)  # and ends at the run's final equity


def test_the_fan_is_sampled_from_start_to_end_and_ordered_by_percentile() -> None:
    steps = mc.TradeSteps.from_pnl(np.random.default_rng(5).normal(1.0, 30.0, 1_000), 5_000.0)
    sim = mc.resample(steps, 500, seed=4, fan_points=51)
    fan = sim.fan()
    assert fan.trades[0] == 0 and fan.trades[-1] == 1_000 and len(fan.trades) == 51
    assert fan.percentiles == mc.PERCENTILES
    assert (np.diff(fan.equity, axis=0) >= 0).all()
    assert fan.equity[:, -1] == pytest.approx(np.percentile(sim.final_equity, mc.PERCENTILES))


def test_the_same_seed_gives_the_same_paths() -> None:
    steps = mc.TradeSteps.from_pnl(np.random.default_rng(6).normal(0.0, 10.0, 200), 1_000.0)
    a = mc.block_resample(steps, 300, seed=9)
    b = mc.block_resample(steps, 300, seed=np.random.default_rng(9))
    c = mc.block_resample(steps, 300, seed=10)
    assert np.array_equal(a.final_equity, b.final_equity) and np.array_equal(a.fan_equity, b.fan_equity)
    assert not np.array_equal(a.final_equity, c.final_equity)


# -- resampling ---------------------------------------------------------------------------
def test_resampled_paths_are_sums_of_the_runs_own_trades() -> None:
    pnl = [1.0, 10.0, 100.0]
    sim = mc.resample(mc.TradeSteps.from_pnl(pnl, 1_000.0), 2_000, model="fixed", seed=1)
    possible = {sum(c) for c in itertools.product(pnl, repeat=3)}
    assert set(np.round(sim.final_equity - 1_000.0, 9)) <= possible
    # with replacement: 111 (each once) is only 6 of the 27 equally likely draws
    assert np.mean(np.isclose(sim.final_equity, 1_111.0)) == pytest.approx(6 / 27, abs=0.04)


def test_resampled_total_is_unbiased() -> None:
    pnl = np.random.default_rng(8).normal(2.0, 50.0, 400)
    sim = mc.resample(mc.TradeSteps.from_pnl(pnl, 100_000.0), 4_000, model="fixed", seed=2)
    # E[total] = n * mean(pnl); standard error of the mean of 4,000 totals
    se = math.sqrt(len(pnl) * pnl.var()) / math.sqrt(4_000)
    assert (sim.final_equity - 100_000.0).mean() == pytest.approx(pnl.sum(), abs=4 * se)


def test_block_bootstrap_keeps_streaks_that_resampling_breaks() -> None:
    # 50 winners, 50 losers, ten times over: trades depend on their neighbours
    pnl = np.tile(np.repeat([10.0, -10.0], 50), 10)
    steps = mc.TradeSteps.from_pnl(pnl, 100_000.0)
    iid = mc.resample(steps, 2_000, model="fixed", seed=1)
    blocks = mc.block_resample(steps, 2_000, block_length=50, model="fixed", seed=1)
    # iid: sd of the total is 10 * sqrt(1000) ~ 316; blocks of ~50 like trades: several times that
    assert blocks.final_equity.std() > 2.0 * iid.final_equity.std()
    assert blocks.method == "stationary blocks of 50"


def test_stationary_indices_continue_a_block_or_start_one() -> None:
    rng = np.random.default_rng(1)
    index = mc.stationary_indices(rng, 200, 500, 10.0)
    assert index.shape == (200, 500) and index.min() >= 0 and index.max() < 500
    continues = index[:, 1:] == (index[:, :-1] + 1) % 500
    # a new block starts with probability 1/10 (and may by chance continue the old one)
    assert 1.0 - continues.mean() == pytest.approx(0.1 * (1 - 1 / 500), abs=0.01)


def test_moving_blocks_are_whole_runs_of_consecutive_indices() -> None:
    index = mc.moving_block_indices(np.random.default_rng(2), 50, 103, 10)
    assert index.shape == (50, 103)
    blocks = np.pad(index, ((0, 0), (0, 7)), constant_values=-1).reshape(50, 11, 10)[:, :10]
    assert (np.diff(blocks, axis=2) == 1).all()
    assert blocks[:, :, 0].max() <= 93  # a block never wraps past the last trade


# -- random entries -----------------------------------------------------------------------
def test_signal_trade_returns_reproduce_the_engines_trades() -> None:
    """The baseline fills its random trades as the engine fills a signal trade."""
    candles = _walk(5_000, seed=11)
    settings = BacktestSettings(
        initial_cash=1_000.0,
        costs=Costs(taker_fee=0.002, maker_fee=0.002, slippage_bps=3.0),
        close_at_end=False,
    )
    trades = run_backtest(candles, "sma_cross", {"fast": 5, "slow": 12}, settings).trades
    assert len(trades) > 100
    assert (trades["exit_reason"] == 0).all()
    ours = mc.signal_trade_returns(
        candles.open,
        trades["entry_bar"],
        trades["bars"],
        trades["side"].astype(np.float64),
        fee_rate=0.002,
        slippage_bps=3.0,
    )
    assert ours == pytest.approx(trades["return_pct"], rel=1e-9, abs=1e-12)


def test_a_short_trade_worked_by_hand() -> None:
    opens = 100.0 * 0.99 ** np.arange(20)
    fee, s = 0.001, 10 / 10_000
    sell, buy = opens[3] * (1 - s), opens[8] * (1 + s)  # a short sells first, then buys back
    expected = (sell - buy - fee * sell - fee * buy) / sell
    got = mc.signal_trade_returns(
        opens, np.array([3]), np.array([5]), np.array([-1.0]), fee_rate=fee, slippage_bps=10
    )
    assert got[0] == pytest.approx(expected, rel=1e-12)


def test_on_a_steady_trend_every_entry_does_the_same() -> None:
    opens = 50.0 * 1.002 ** np.arange(400)
    bars, side = [3, 10, 25], [1, 1, -1]
    ratios = 1.002 ** np.array(bars)
    returns = np.array(side) * (ratios - 1) - 0.001 * (1 + ratios)
    trades = _trades(bars, side, returns.tolist())
    baseline = mc.random_entry_baseline(trades, opens, fee_rate=0.001, paths=500, seed=1)
    assert baseline.run_return == pytest.approx(np.prod(1 + returns) - 1, rel=1e-12)
    assert baseline.returns == pytest.approx(np.full(500, baseline.run_return), rel=1e-9)


def test_p_value_counts_the_random_entries_that_did_as_well() -> None:
    baseline = mc.Baseline(run_return=0.1, returns=np.array([0.0, 0.1, 0.2, -0.1]), trades=1)
    assert baseline.p_value == (1 + 2) / (4 + 1)
    assert "in 50.0% of 4 tries" in baseline.sentence()


def test_perfect_timing_beats_random_timing() -> None:
    opens = _walk(3_000, seed=3).open
    gains = opens[10:] / opens[:-10]
    best = int(np.argmax(gains))
    ratio = gains[best]
    trades = _trades([10] * 30, [1] * 30, [ratio - 1 - 0.001 * (1 + ratio)] * 30)
    baseline = mc.random_entry_baseline(trades, opens, fee_rate=0.001, paths=2_000, seed=2)
    assert baseline.p_value == 1 / 2_001


def test_random_timing_is_not_rejected_by_its_own_baseline() -> None:
    """A run whose entries were random gets p-values spread over (0, 1]: under the
    null, P(p <= 0.1) is about 0.1: 4 of 40 runs expected (sd 1.9), 12 is over 4 sd away."""
    opens = _walk(4_000, seed=5).open
    rng = np.random.default_rng(6)
    low = 0
    for _ in range(40):
        bars = rng.integers(1, 60, 25)
        side = rng.choice([-1.0, 1.0], 25)
        entry = (rng.random(25) * (len(opens) - bars)).astype(np.int64)
        returns = mc.signal_trade_returns(opens, entry, bars, side, fee_rate=0.001)
        trades = _trades(bars.tolist(), side.astype(int).tolist(), returns.tolist())
        p = mc.random_entry_baseline(trades, opens, fee_rate=0.001, paths=400, seed=rng).p_value
        low += p <= 0.1
    assert low <= 12


def test_a_trade_longer_than_the_candles_is_refused() -> None:
    with pytest.raises(mc.InsufficientDataError):
        mc.random_entry_baseline(_trades([10], [1], [0.0]), np.ones(10), fee_rate=0.0, paths=10)
