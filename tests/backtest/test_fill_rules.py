"""Every fill rule pinned by a small candle scenario with hand-computed results.

Each row: candles (open, high, low, close), one signal per bar (L long,
S short, F flat, H hold), the settings, and the trades expected as
(entry bar, exit bar, side, amount, entry price, exit price, exit reason).
The expected numbers are worked out by hand from the rules in
docs/backtesting.md, not taken from the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs, Direction, Sizing, SizingMode, Stops
from terminal.backtest.trades import ExitReason
from tests.backtest.backtest_scenarios import F, FixedSignals, H, L, S, candles, flat_bar, sig

SIGNAL, STOP, TP, END, OPEN = (
    ExitReason.SIGNAL,
    ExitReason.STOP_LOSS,
    ExitReason.TAKE_PROFIT,
    ExitReason.END,
    ExitReason.OPEN,
)

RISING = [(100, 101, 99, 100), (102, 103, 101, 102), (104, 105, 103, 104), (106, 107, 105, 106)]
ENTRY_BARS = [flat_bar(100), (100, 101, 99, 100)]  # a long/short request at bar 0 fills at 100


def settings(
    *,
    cash: float = 1000.0,
    step: float = 1.0,
    taker: float = 0.0,
    maker: float = 0.0,
    slippage_bps: float = 0.0,
    direction: Direction = Direction.BOTH,
    close_at_end: bool = True,
    sizing: dict[str, Any] | None = None,
    **stops: Any,
) -> BacktestSettings:
    return BacktestSettings(
        initial_cash=cash,
        costs=Costs(taker_fee=taker, maker_fee=maker, slippage_bps=slippage_bps),
        sizing=Sizing(amount_step=step, **(sizing or {})),
        stops=Stops(**stops),
        direction=direction,
        close_at_end=close_at_end,
    )


@dataclass
class Scenario:
    name: str
    rows: list[tuple[float, float, float, float]]
    signals: tuple[float, ...]
    settings: BacktestSettings
    trades: list[tuple[int, int, int, float, float, float, ExitReason]]
    final_equity: float | None = None
    fees: list[tuple[float, float]] = field(default_factory=list)  # (entry fee, exit fee) per trade
    open_trade: tuple[int, int, int, float, float, float, ExitReason] | None = None
    equity: list[float] | None = None
    mae_mfe: list[tuple[float, float]] = field(default_factory=list)


SCENARIOS = [
    # -- timing --------------------------------------------------------------------
    Scenario(
        "a signal at a close fills at the next open",
        RISING,
        (L, H, H, H),
        settings(),
        [(1, 3, 1, 9, 102, 106, END)],  # floor(1000 / 102) = 9 units
        final_equity=1000 - 9 * 102 + 9 * 106,
        equity=[1000, 1000, 82 + 9 * 104, 82 + 9 * 106],
    ),
    Scenario("a signal on the last bar never fills", RISING, (H, H, H, L), settings(), [], final_equity=1000),
    Scenario(
        "a flat signal exits at the next open",
        RISING,
        (L, F, H, H),
        settings(),
        [(1, 2, 1, 9, 102, 104, SIGNAL)],
        final_equity=1018,
    ),
    Scenario(
        "a request for the side already held does nothing",
        RISING,
        (L, L, L, H),
        settings(),
        [(1, 3, 1, 9, 102, 106, END)],
    ),
    # -- stops and take-profits ----------------------------------------------------------
    Scenario(
        "a stop-loss inside a bar fills at the stop",
        [*ENTRY_BARS, (99, 99, 94, 96), flat_bar(96)],
        (L, H, H, H),
        settings(stop_loss_pct=5.0),
        [(1, 2, 1, 10, 100, 95, STOP)],
        final_equity=950,
        mae_mfe=[(-0.05, 0.01)],  # worst: the stop fill; best: bar 1's high, held to its close
    ),
    Scenario(
        "a stop-loss can fill in the entry bar",
        [flat_bar(100), (100, 100, 90, 92), flat_bar(92)],
        (L, H, H),
        settings(stop_loss_pct=5.0),
        [(1, 1, 1, 10, 100, 95, STOP)],
        final_equity=950,
    ),
    Scenario(
        "stop and take-profit both in one bar: the stop is assumed first",
        [*ENTRY_BARS, (100, 106, 94, 100), flat_bar(100)],
        (L, H, H, H),
        settings(stop_loss_pct=5.0, take_profit_pct=5.0),
        [(1, 2, 1, 10, 100, 95, STOP)],
    ),
    Scenario(
        "a gap through a stop fills at the open, the worse price",
        [*ENTRY_BARS, (90, 92, 88, 91), flat_bar(91)],
        (L, H, H, H),
        settings(stop_loss_pct=5.0),
        [(1, 2, 1, 10, 100, 90, STOP)],
        final_equity=900,
    ),
    Scenario(
        "a gap through a take-profit fills at the open, the better price",
        [*ENTRY_BARS, (110, 112, 109, 111), flat_bar(111)],
        (L, H, H, H),
        settings(take_profit_pct=5.0),
        [(1, 2, 1, 10, 100, 110, TP)],
    ),
    Scenario(
        "a take-profit inside a bar fills at its price",
        [*ENTRY_BARS, (101, 106, 100, 104), flat_bar(104)],
        (L, H, H, H),
        settings(take_profit_pct=5.0),
        [(1, 2, 1, 10, 100, 105, TP)],
    ),
    Scenario(
        "a short's stop-loss is above the entry",
        [*ENTRY_BARS, (101, 106, 100, 104), flat_bar(104)],
        (S, H, H, H),
        settings(stop_loss_pct=5.0),
        [(1, 2, -1, 10, 100, 105, STOP)],
        final_equity=950,
    ),
    Scenario(
        "a gap up through a short's stop fills at the open",
        [*ENTRY_BARS, (110, 111, 108, 109), flat_bar(109)],
        (S, H, H, H),
        settings(stop_loss_pct=5.0),
        [(1, 2, -1, 10, 100, 110, STOP)],
        final_equity=900,
    ),
    Scenario(
        "a short's take-profit is below the entry",
        [*ENTRY_BARS, (99, 100, 94, 96), flat_bar(96)],
        (S, H, H, H),
        settings(take_profit_pct=5.0),
        [(1, 2, -1, 10, 100, 95, TP)],
        final_equity=1050,
    ),
    Scenario(
        "a repeated request re-enters after a stop-loss",
        [*ENTRY_BARS, (99, 99, 94, 96), (96, 97, 95, 96), flat_bar(96)],
        (L, L, L, L, H),
        settings(stop_loss_pct=5.0),
        [(1, 2, 1, 10, 100, 95, STOP), (3, 4, 1, 9, 96, 96, END)],  # floor(950 / 96) = 9
    ),
    Scenario(
        "a single request does not re-enter after a stop-loss",
        [*ENTRY_BARS, (99, 99, 94, 96), (96, 97, 95, 96), flat_bar(96)],
        (L, H, H, H, H),
        settings(stop_loss_pct=5.0),
        [(1, 2, 1, 10, 100, 95, STOP)],
    ),
    # -- fees and slippage ------------------------------------------------------------
    Scenario(
        "fees: taker on the entry, maker on a take-profit; fraction sizing leaves room for the fee",
        [*ENTRY_BARS, (101, 106, 100, 104), flat_bar(104)],
        (L, H, H, H),
        settings(step=0.001, taker=0.001, maker=0.0002, take_profit_pct=5.0),
        [(1, 2, 1, 9.990, 100, 105, TP)],  # 1000 / (100 * 1.001) = 9.99000.. -> 9.990
        fees=[(9.99 * 100 * 0.001, 9.99 * 105 * 0.0002)],
        final_equity=1000 + 9.99 * 5 - 9.99 * 100 * 0.001 - 9.99 * 105 * 0.0002,
    ),
    Scenario(
        "fees: a signal exit pays the taker fee",
        RISING,
        (L, F, H, H),
        settings(step=0.001, taker=0.001, maker=0.0),
        [(1, 2, 1, 9.794, 102, 104, SIGNAL)],  # 1000 / (102 * 1.001) = 9.7941.. -> 9.794
        fees=[(9.794 * 102 * 0.001, 9.794 * 104 * 0.001)],
        final_equity=1000 + 9.794 * 2 - 9.794 * 102 * 0.001 - 9.794 * 104 * 0.001,
    ),
    Scenario(
        "fees: the end-of-data close pays the taker fee",
        RISING,
        (L, H, H, H),
        settings(taker=0.001),
        [(1, 3, 1, 9, 102, 106, END)],  # floor(1000 / 102.102) = 9
        fees=[(9 * 102 * 0.001, 9 * 106 * 0.001)],
    ),
    Scenario(
        "slippage moves market fills against the trader",
        RISING,
        (L, F, H, H),
        settings(step=0.0, slippage_bps=10.0),
        [(1, 2, 1, 1000 / 102.102, 102 * 1.001, 104 * 0.999, SIGNAL)],
    ),
    Scenario(
        "slippage applies to a stop fill, and the stop is set from the slipped entry",
        [*ENTRY_BARS, (99, 99, 94, 96), flat_bar(96)],
        (L, H, H, H),
        settings(step=0.0, slippage_bps=10.0, stop_loss_pct=5.0),
        [(1, 2, 1, 1000 / 100.1, 100.1, 100.1 * 0.95 * 0.999, STOP)],
    ),
    Scenario(
        "no slippage on a take-profit: it is a limit order",
        [*ENTRY_BARS, (101, 112, 100, 104), flat_bar(104)],
        (L, H, H, H),
        settings(step=0.0, slippage_bps=10.0, take_profit_pct=5.0),
        [(1, 2, 1, 1000 / 100.1, 100.1, 100.1 * 1.05, TP)],
    ),
    # -- sizing and rounding ---------------------------------------------------------------
    Scenario(
        "amount step 1 trades whole units (rounded down)",
        [flat_bar(30), flat_bar(30), flat_bar(30)],
        (L, H, H),
        settings(step=1.0),
        [(1, 2, 1, 33, 30, 30, END)],
    ),
    Scenario(
        "amount step 0.1 rounds down to tenths",
        [flat_bar(30), flat_bar(30), flat_bar(30)],
        (L, H, H),
        settings(step=0.1),
        [(1, 2, 1, 33.3, 30, 30, END)],
    ),
    Scenario(
        "an amount that is a whole number of steps is not rounded down by float error",
        [flat_bar(100), flat_bar(100), flat_bar(100)],
        (L, H, H),
        settings(cash=30.0, step=0.1),
        [(1, 2, 1, 0.3, 100, 100, END)],  # 0.3 / 0.1 is 2.9999999999999996 in floats
    ),
    Scenario(
        "amount step 0 does not round",
        [flat_bar(30), flat_bar(30), flat_bar(30)],
        (L, H, H),
        settings(step=0.0),
        [(1, 2, 1, 1000 / 30, 30, 30, END)],
    ),
    Scenario(
        "an amount that rounds to zero opens no trade",
        [flat_bar(2000), flat_bar(2000), flat_bar(2000)],
        (L, H, H),
        settings(step=1.0),
        [],
        final_equity=1000,
    ),
    Scenario(
        "a fraction of equity",
        [flat_bar(100), flat_bar(100), flat_bar(100)],
        (L, H, H),
        settings(step=0.0, sizing={"fraction": 0.25}),
        [(1, 2, 1, 2.5, 100, 100, END)],
    ),
    Scenario(
        "a fixed quote amount",
        [flat_bar(100), flat_bar(100), flat_bar(100)],
        (L, H, H),
        settings(step=0.0, sizing={"mode": SizingMode.QUOTE, "quote_amount": 500.0}),
        [(1, 2, 1, 5, 100, 100, END)],
    ),
    Scenario(
        "a fixed quote amount is capped by equity",
        [flat_bar(100), flat_bar(100), flat_bar(100)],
        (L, H, H),
        settings(step=0.0, sizing={"mode": SizingMode.QUOTE, "quote_amount": 5000.0}),
        [(1, 2, 1, 10, 100, 100, END)],
    ),
    Scenario(
        "risk per trade with a percentage stop: risk / stop distance",
        [flat_bar(100), flat_bar(100), flat_bar(100)],
        (L, H, H),
        settings(step=0.0, sizing={"mode": SizingMode.RISK, "risk_fraction": 0.01}, stop_loss_pct=5.0),
        [(1, 2, 1, 10 / 5, 100, 100, END)],  # 1% of 1000 = 10 at risk, 5 per unit
    ),
    Scenario(
        "risk per trade with an ATR stop, from the ATR at the signal bar",
        # true range 2 on every bar, so ATR(3) = 2 from bar 2 on; 1.5 ATR = 3 below the entry
        [(100, 101, 99, 100)] * 4 + [(100, 101, 96, 97), (97, 98, 96, 97)],
        (H, H, L, H, H, H),
        settings(
            step=0.001,
            sizing={"mode": SizingMode.RISK, "risk_fraction": 0.01},
            stop_loss_atr=1.5,
            atr_period=3,
        ),
        [(3, 4, 1, 3.333, 100, 97, STOP)],  # 10 / 3 = 3.333..
    ),
    Scenario(
        "no entry while the ATR of an ATR stop is not defined yet",
        [(100, 101, 99, 100)] * 4,
        (L, H, H, H),
        settings(stop_loss_atr=1.5, atr_period=3),
        [],
        final_equity=1000,
    ),
    # -- direction ----------------------------------------------------------------
    Scenario(
        "stop-and-reverse: the opposite signal closes and opens at the same open",
        RISING,
        (L, H, S, H),
        settings(),
        # after the exit the cash is 82 + 9 * 106 = 1036: floor(1036 / 106) = 9 units short
        [(1, 3, 1, 9, 102, 106, SIGNAL), (3, 3, -1, 9, 106, 106, END)],
        final_equity=1036,
    ),
    Scenario(
        "stop-and-reverse pays the fee of both fills",
        RISING,
        (L, H, S, H),
        settings(step=0.0, taker=0.001),
        [
            (1, 3, 1, 1000 / 102.102, 102, 106, SIGNAL),
            (3, 3, -1, (1000 / 102.102 * 106 * 0.999) / 106.106, 106, 106, END),
        ],
        fees=[
            (1000 / 102.102 * 102 * 0.001, 1000 / 102.102 * 106 * 0.001),
            ((1000 / 102.102 * 106 * 0.999) / 106.106 * 106 * 0.001,) * 2,
        ],
    ),
    Scenario(
        "long-only: a short signal closes the long and stays flat",
        RISING,
        (L, H, S, H),
        settings(direction=Direction.LONG),
        [(1, 3, 1, 9, 102, 106, SIGNAL)],
        final_equity=1036,
    ),
    Scenario(
        "short-only: a long signal closes the short and never opens a long",
        RISING,
        (L, S, L, H),
        settings(direction=Direction.SHORT),
        [(2, 3, -1, 9, 104, 106, SIGNAL)],  # floor(1000 / 104) = 9
        final_equity=1000 - 18,
    ),
    # -- end of data ------------------------------------------------------------------
    Scenario(
        "end of data: the open trade is reported apart, marked at the last close",
        RISING,
        (L, H, H, H),
        settings(close_at_end=False, taker=0.001),
        [],
        open_trade=(1, 3, 1, 9, 102, 106, OPEN),
        final_equity=1000 - 9 * 102 * 1.001 + 9 * 106,  # marked: no exit fee
    ),
]


@pytest.mark.parametrize("case", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_fill_rule(case: Scenario) -> None:
    data = candles(case.rows)
    assert len(case.signals) == len(data)
    result = run_backtest(data, FixedSignals(sig(*case.signals)), settings=case.settings)

    got = [
        (
            int(t["entry_bar"]),
            int(t["exit_bar"]),
            int(t["side"]),
            float(t["amount"]),
            float(t["entry_price"]),
            float(t["exit_price"]),
            ExitReason(int(t["exit_reason"])),
        )
        for t in result.trades
    ]
    assert len(got) == len(case.trades), got
    for actual, expected in zip(got, case.trades, strict=True):
        assert actual[:3] == expected[:3]
        assert actual[3:6] == pytest.approx(expected[3:6], rel=1e-12)
        assert actual[6] == expected[6]
    for t, (entry_fee, exit_fee) in zip(result.trades, case.fees, strict=False):
        assert float(t["entry_fee"]) == pytest.approx(entry_fee, rel=1e-12)
        assert float(t["exit_fee"]) == pytest.approx(exit_fee, rel=1e-12)
    for t, (mae, mfe) in zip(result.trades, case.mae_mfe, strict=False):
        assert float(t["mae"]) == pytest.approx(mae)
        assert float(t["mfe"]) == pytest.approx(mfe)
    if case.open_trade is None:
        assert len(result.open_trade) == 0
    else:
        t = result.open_trade[0]
        assert (int(t["entry_bar"]), int(t["exit_bar"]), int(t["side"])) == case.open_trade[:3]
        assert (float(t["amount"]), float(t["entry_price"]), float(t["exit_price"])) == pytest.approx(
            case.open_trade[3:6]
        )
        assert ExitReason(int(t["exit_reason"])) == case.open_trade[6]
        assert float(t["exit_fee"]) == 0.0
    if case.final_equity is not None:
        assert result.metrics.final_equity == pytest.approx(case.final_equity, rel=1e-12)
    if case.equity is not None:
        np.testing.assert_allclose(result.equity, case.equity, rtol=1e-12)
    # every trade's P&L is its price move on the amount, minus both fees
    for t in result.trades:
        move = t["side"] * t["amount"] * (t["exit_price"] - t["entry_price"])
        assert math.isclose(t["pnl"], move - t["entry_fee"] - t["exit_fee"], rel_tol=1e-12, abs_tol=1e-9)


def test_no_position_is_open_after_the_end_of_data_close() -> None:
    result = run_backtest(candles(RISING), FixedSignals(sig(L, H, H, H)), settings=settings())
    assert result.position[-1] == 0.0
    assert result.cash[-1] == pytest.approx(result.equity[-1])
