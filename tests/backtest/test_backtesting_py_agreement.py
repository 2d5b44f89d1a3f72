"""Agreement with backtesting.py 0.6.6 on the same data and the same rules.

backtesting.py: ``Backtest(data, SmaCross, cash, commission=0.002,
exclusive_orders=True, trade_on_close=False)`` with its canonical SmaCross
(``buy()`` on a crossover, ``sell()`` on a crossunder; with
``exclusive_orders`` each order first closes the open trade: stop-and-reverse).
Its default order size is "all available equity" in whole units:
``floor(equity / (open * (1 + commission)))``, and it charges the commission
on entry and on exit, and fills market orders at the next bar's open.

Ours, the same expressed in settings: SMA cross 10/20, taker = maker = 0.2%,
fraction 1 of equity (the fee included), amount step 1 (whole units), both
directions, the last trade left open (backtesting.py leaves it open unless
``finalize_trades=True``; both mark it at the last close).

The prices are off any tick grid, so that the two averages are never exactly
equal: backtesting.py's ``crossover`` misses a crossing through an exact tie
(and then, on the next crossing the same way, closes and reopens the trade),
where ours counts it (``test_strategies``: a crossing through a tie). On
such data the two differ by design; the test checks that the premise holds.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs, Direction, Sizing
from terminal.market.simulator.history import generate_history
from terminal.market.simulator.instruments import INSTRUMENTS
from terminal.marketdata.candles import OHLCV

CASH = 1_000_000.0
COMMISSION = 0.002


def _sma(values: np.ndarray, n: int) -> pd.Series:
    return pd.Series(values).rolling(n).mean()


class SmaCross(Strategy):  # type: ignore[misc]
    n1 = 10
    n2 = 20

    def init(self) -> None:
        self.sma1 = self.I(_sma, self.data.Close, self.n1)
        self.sma2 = self.I(_sma, self.data.Close, self.n2)

    def next(self) -> None:
        if crossover(self.sma1, self.sma2):
            self.buy()
        elif crossover(self.sma2, self.sma1):
            self.sell()


def _frame(candles: OHLCV) -> pd.DataFrame:
    index = pd.to_datetime(candles.ts, unit="ms", utc=True).tz_localize(None)
    return pd.DataFrame(
        {
            "Open": candles.open,
            "High": candles.high,
            "Low": candles.low,
            "Close": candles.close,
            "Volume": candles.volume,
        },
        index=index,
    )


@pytest.mark.parametrize(("seed", "instrument"), [(1, 2), (7, 3)])
def test_sma_cross_agrees_with_backtesting_py(seed: int, instrument: int) -> None:
    off_grid = dataclasses.replace(INSTRUMENTS[instrument], tick=1e-9)
    candles = generate_history(off_grid, 1_700_000_040_000, 20_000, np.random.default_rng(seed))
    fast, slow = _sma(candles.close, 10).to_numpy(), _sma(candles.close, 20).to_numpy()
    assert not np.any(fast == slow)  # the premise: no exact ties (see the module's docstring)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "some trades remain open": the last one, on purpose
        stats = Backtest(
            _frame(candles),
            SmaCross,
            cash=CASH,
            commission=COMMISSION,
            exclusive_orders=True,
            trade_on_close=False,
        ).run()
    theirs = stats["_trades"]

    settings = BacktestSettings(
        initial_cash=CASH,
        costs=Costs(taker_fee=COMMISSION, maker_fee=COMMISSION),
        sizing=Sizing(fraction=1.0, amount_step=1.0),
        direction=Direction.BOTH,
        close_at_end=False,
    )
    ours = run_backtest(candles, "sma_cross", {"fast": 10, "slow": 20}, settings)
    trades = ours.trades

    assert len(theirs) > 100  # enough crossings to mean something
    assert len(trades) == len(theirs)
    np.testing.assert_array_equal(trades["entry_bar"], theirs["EntryBar"].to_numpy())
    np.testing.assert_array_equal(trades["exit_bar"], theirs["ExitBar"].to_numpy())
    np.testing.assert_array_equal(trades["side"] * trades["amount"], theirs["Size"].to_numpy())
    np.testing.assert_allclose(trades["entry_price"], theirs["EntryPrice"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(trades["exit_price"], theirs["ExitPrice"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(trades["pnl"], theirs["PnL"].to_numpy(), rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(trades["return_pct"], theirs["ReturnPct"].to_numpy(), rtol=1e-9, atol=1e-12)

    # the trade left open at the end, and the equity marked with it
    assert len(ours.open_trade) == 1
    assert ours.final_equity == pytest.approx(stats["Equity Final [$]"], rel=1e-3)  # the bar: 0.1%
    assert ours.final_equity == pytest.approx(stats["Equity Final [$]"], rel=1e-9)  # what it really is
    np.testing.assert_allclose(ours.equity, stats["_equity_curve"]["Equity"].to_numpy(), rtol=1e-9)

    # the trade statistics both define the same way
    m = ours.metrics
    assert m.trades == stats["# Trades"]
    assert m.win_rate * 100 == pytest.approx(stats["Win Rate [%]"], rel=1e-12)
    assert m.best_trade * 100 == pytest.approx(stats["Best Trade [%]"], rel=1e-9)
    assert m.worst_trade * 100 == pytest.approx(stats["Worst Trade [%]"], rel=1e-9)
    assert m.sqn == pytest.approx(stats["SQN"], rel=1e-9)
    assert m.kelly == pytest.approx(stats["Kelly Criterion"], rel=1e-9)
    assert m.max_drawdown * 100 == pytest.approx(stats["Max. Drawdown [%]"], rel=1e-9)
    assert m.total_return * 100 == pytest.approx(stats["Return [%]"], rel=1e-9)
