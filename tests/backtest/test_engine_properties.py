"""Properties of the engine that hold for any candles, signals and settings.

* The ledger: replaying the trade table's fills (each fill's amount x price,
  and the fee its rate gives) reproduces cash, position and equity at every
  bar: equity = cash + position x close, and each fee is charged exactly
  once per fill (a fee charged twice, or not at all, breaks the replay).
* No look-ahead: changing the candles after bar t changes nothing the run
  did up to bar t.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.backtest.result import BacktestResult
from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs, Direction, Sizing, SizingMode, Stops
from terminal.backtest.strategies import BUILTIN
from terminal.backtest.trades import ExitReason
from terminal.marketdata.candles import OHLCV
from tests.backtest.backtest_scenarios import FixedSignals, random_candles

fee_rates = st.sampled_from([0.0, 0.0002, 0.001, 0.0075])


@st.composite
def run_settings(draw: st.DrawFn) -> BacktestSettings:
    mode = draw(st.sampled_from(list(SizingMode)))
    stop_kind = draw(
        st.sampled_from(["none", "pct", "atr"] if mode is not SizingMode.RISK else ["pct", "atr"])
    )
    tp_kind = draw(st.sampled_from(["none", "pct", "atr"]))
    return BacktestSettings(
        initial_cash=draw(st.sampled_from([1_000.0, 25_000.0])),
        costs=Costs(
            taker_fee=draw(fee_rates),
            maker_fee=draw(st.sampled_from([-0.0001, 0.0, 0.0002])),
            slippage_bps=draw(st.sampled_from([0.0, 5.0, 50.0])),
        ),
        sizing=Sizing(
            mode=mode,
            fraction=draw(st.sampled_from([1.0, 0.5])),
            quote_amount=draw(st.sampled_from([300.0, 5_000.0])),
            risk_fraction=draw(st.sampled_from([0.01, 0.2])),
            amount_step=draw(st.sampled_from([0.0, 0.001, 1.0])),
        ),
        stops=Stops(
            stop_loss_pct=draw(st.sampled_from([0.5, 2.0])) if stop_kind == "pct" else None,
            stop_loss_atr=draw(st.sampled_from([1.0, 3.0])) if stop_kind == "atr" else None,
            take_profit_pct=draw(st.sampled_from([0.5, 3.0])) if tp_kind == "pct" else None,
            take_profit_atr=draw(st.sampled_from([1.0, 4.0])) if tp_kind == "atr" else None,
            atr_period=draw(st.sampled_from([1, 3, 10])),
        ),
        direction=draw(st.sampled_from(list(Direction))),
        close_at_end=draw(st.booleans()),
    )


@st.composite
def market(draw: st.DrawFn) -> tuple[OHLCV, np.ndarray]:
    n = draw(st.integers(2, 80))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    data = random_candles(rng, n, gaps=draw(st.booleans()))
    choices = np.array([1.0, -1.0, 0.0, np.nan])
    weights = draw(st.sampled_from([(0.1, 0.1, 0.05, 0.75), (0.3, 0.3, 0.2, 0.2), (0.5, 0.5, 0.0, 0.0)]))
    signals = rng.choice(choices, size=n, p=weights)
    return data, signals


def _fill_fee(amount: float, price: float, reason: int, s: BacktestSettings) -> float:
    rate = s.costs.maker_fee if reason == ExitReason.TAKE_PROFIT else s.costs.taker_fee
    return amount * price * rate


def _replay(result: BacktestResult, n: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Cash and position after each bar, rebuilt from the trade table alone."""
    s = result.settings
    cash_delta = np.zeros(n)
    pos_delta = np.zeros(n)
    fees = 0.0
    for t in [*result.trades, *result.open_trade]:
        amount, side = float(t["amount"]), int(t["side"])
        entry_fee = amount * float(t["entry_price"]) * s.costs.taker_fee
        assert math.isclose(float(t["entry_fee"]), entry_fee, rel_tol=1e-12, abs_tol=1e-12)
        cash_delta[t["entry_bar"]] -= side * amount * float(t["entry_price"]) + entry_fee
        pos_delta[t["entry_bar"]] += side * amount
        fees += entry_fee
        if t["exit_reason"] == ExitReason.OPEN:
            assert float(t["exit_fee"]) == 0.0
            continue
        exit_fee = _fill_fee(amount, float(t["exit_price"]), int(t["exit_reason"]), s)
        assert math.isclose(float(t["exit_fee"]), exit_fee, rel_tol=1e-12, abs_tol=1e-12)
        cash_delta[t["exit_bar"]] += side * amount * float(t["exit_price"]) - exit_fee
        pos_delta[t["exit_bar"]] -= side * amount
        fees += exit_fee
    cash = s.initial_cash + np.cumsum(cash_delta)
    return cash, np.cumsum(pos_delta), fees


@settings(max_examples=300, deadline=None)
@given(market(), run_settings())
def test_equity_is_cash_plus_position_value_and_every_fill_pays_its_fee_once(
    data: tuple[OHLCV, np.ndarray], s: BacktestSettings
) -> None:
    candles, signals = data
    n = len(candles)
    result = run_backtest(candles, FixedSignals(signals), settings=s)
    cash, position, fees = _replay(result, n)
    scale = s.initial_cash + np.abs(position) * candles.close
    np.testing.assert_allclose(result.position, position, rtol=0, atol=1e-9 * (1 + np.abs(position).max()))
    np.testing.assert_allclose(result.cash, cash, rtol=0, atol=1e-9 * scale.max())
    np.testing.assert_allclose(
        result.equity, cash + position * candles.close, rtol=0, atol=1e-9 * scale.max()
    )
    assert math.isclose(result.metrics.fees_paid, fees, rel_tol=1e-9, abs_tol=1e-9)

    # one trade at a time, each entered on the bar after a request for its side
    trades = result.trades
    if len(trades) > 1:
        assert np.all(trades["entry_bar"][1:] >= trades["exit_bar"][:-1])
    for t in [*trades, *result.open_trade]:
        assert t["entry_bar"] >= 1 and signals[t["entry_bar"] - 1] == t["side"]
        if s.direction is Direction.LONG:
            assert t["side"] == 1
        if s.direction is Direction.SHORT:
            assert t["side"] == -1
        step = s.sizing.amount_step
        if step:
            units = t["amount"] / step
            assert abs(units - round(units)) < 1e-6
    if s.close_at_end:
        assert len(result.open_trade) == 0 and result.position[-1] == 0.0


@st.composite
def strategy_case(draw: st.DrawFn) -> tuple[str, dict[str, float]]:
    name = draw(st.sampled_from(sorted(BUILTIN)))
    small = {
        "sma_cross": {"fast": 3, "slow": 7},
        "ema_cross": {"fast": 3, "slow": 7},
        "rsi_reversion": {"period": 5, "oversold": 40.0, "overbought": 60.0},
        "bollinger_reversion": {"period": 6, "width": 1.0},
        "donchian_breakout": {"entry_period": 5, "exit_period": 3},
        "atr_breakout": {"atr_period": 4, "multiplier": 0.5, "exit_period": 5},
        "support_resistance_rsi": {"lookback": 6, "rsi_period": 4, "rsi_low": 45.0, "rsi_high": 55.0},
    }
    return name, small[name]


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(30, 120), st.data(), strategy_case(), run_settings())
def test_candles_after_bar_t_never_change_what_happened_up_to_t(
    seed: int, n: int, data: st.DataObject, case: tuple[str, dict[str, float]], s: BacktestSettings
) -> None:
    rng = np.random.default_rng(seed)
    candles = random_candles(rng, n)
    t = data.draw(st.integers(0, n - 2), label="t")
    changed = random_candles(np.random.default_rng(seed + 1), n, start=float(candles.close[t]) * 1.1)
    cols = {}
    for name in ("ts", "open", "high", "low", "close", "volume"):
        col = getattr(candles, name).copy()
        if name != "ts":
            col[t + 1 :] = getattr(changed, name)[t + 1 :]
        cols[name] = col
    other = OHLCV(**cols)

    name, params = case
    a = run_backtest(candles, name, params, s)
    b = run_backtest(other, name, params, s)

    upto = slice(0, t + 1)
    np.testing.assert_array_equal(a.equity[upto], b.equity[upto])
    np.testing.assert_array_equal(a.position[upto], b.position[upto])
    np.testing.assert_array_equal(a.cash[upto], b.cash[upto])
    done_a = a.trades[a.trades["exit_bar"] <= t]
    done_b = b.trades[b.trades["exit_bar"] <= t]
    assert done_a.tobytes() == done_b.tobytes()
    # a trade open at t: the same entry in both
    entry_fields = ["entry_bar", "side", "amount", "entry_price", "entry_fee", "stop_loss", "take_profit"]
    open_a = [*a.trades[(a.trades["entry_bar"] <= t) & (a.trades["exit_bar"] > t)], *a.open_trade]
    open_b = [*b.trades[(b.trades["entry_bar"] <= t) & (b.trades["exit_bar"] > t)], *b.open_trade]
    open_a = [x for x in open_a if x["entry_bar"] <= t]
    open_b = [x for x in open_b if x["entry_bar"] <= t]
    assert len(open_a) == len(open_b)
    for x, y in zip(open_a, open_b, strict=True):
        for f in entry_fields:
            np.testing.assert_array_equal(x[f], y[f])  # NaN (no stop) equals NaN here
