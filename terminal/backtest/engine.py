"""The position loop: signals and candles in, fills, trades and equity out.

Fill rules (docs/backtesting.md is the full statement; the tests in
tests/backtest/test_fill_rules.py pin each one):

1. A signal decided at bar i's close fills at bar i + 1's open. A signal on
   the last bar never fills. Signals ask for a position (long, short, flat);
   one equal to the current position does nothing.
2. A change of side first closes the open trade, then opens the new one,
   both at that open (stop-and-reverse: two fills, two fees).
3. Market fills (entries, signal exits, stops, the end-of-data close) pay
   the taker fee and slippage against the trader; take-profits are limit
   orders: the maker fee, no slippage.
4. Stops and take-profits are checked in every bar a trade is open,
   including its entry bar, after that bar's open fills. A bar opening
   beyond a level fills at the open (a gap through a stop fills at the
   worse price, a gap through a take-profit at the better one). Otherwise,
   when the bar's range reaches both, the stop is assumed to come first.
5. Entry size follows the sizing setting and is rounded down to the amount
   step; an entry whose amount rounds to zero (or whose ATR is not defined
   yet when an ATR level is set) is not taken.
6. Equity at each bar is cash plus the position marked at the bar's close.

The loop runs in chunks of bars so that a caller can report progress and
cancel between chunks; all state that crosses a chunk boundary lives in the
``state`` vector.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from terminal.backtest import indicators
from terminal.backtest.jit import compiled
from terminal.backtest.settings import BacktestSettings, Direction, SizingMode
from terminal.backtest.trades import (
    N_TRADE_COLUMNS,
    T_AMOUNT,
    T_ENTRY_BAR,
    T_ENTRY_FEE,
    T_ENTRY_PRICE,
    T_EXIT_BAR,
    T_EXIT_FEE,
    T_EXIT_PRICE,
    T_HIGH,
    T_LOW,
    T_PNL,
    T_REASON,
    T_SIDE,
    T_STOP,
    T_TAKE_PROFIT,
    ExitReason,
)
from terminal.marketdata.candles import OHLCV

FloatArray = NDArray[np.float64]

CHUNK_BARS = 1 << 16

# the parameter vector (floats, so that the kernel has one stable signature)
P_TAKER = 0
P_MAKER = 1
P_SLIPPAGE = 2  # a fraction: bps / 10,000
P_SIZING = 3  # 0 fraction of equity, 1 quote amount, 2 risk per trade
P_SIZE = 4  # the fraction, the quote amount or the risk fraction
P_STEP = 5  # amount step, 0 = no rounding
P_ALLOW_LONG = 6
P_ALLOW_SHORT = 7
P_STOP_PCT = 8  # a fraction of the entry price; NaN = none (or ATR distances instead)
P_TP_PCT = 9
P_CLOSE_AT_END = 10  # 1: close a trade still open at the last bar's close
N_PARAMS = 11

# the state vector: what carries from one chunk to the next
S_CASH = 0
S_POSITION = 1  # signed amount: > 0 long, < 0 short
S_ENTRY_PRICE = 2
S_ENTRY_FEE = 3
S_ENTRY_BAR = 4
S_STOP = 5  # NaN: no stop-loss on the open trade
S_TAKE_PROFIT = 6
S_HIGH = 7  # highest and lowest price the open trade saw so far
S_LOW = 8
S_TRADES = 9  # number of trades written
S_FEES = 10  # all fees paid so far
N_STATE = 11

_SIGNAL = float(ExitReason.SIGNAL)
_STOP_LOSS = float(ExitReason.STOP_LOSS)
_TAKE_PROFIT = float(ExitReason.TAKE_PROFIT)
_END = float(ExitReason.END)


@compiled(
    "void(float64[:, ::1], int64, float64, int64, float64, float64, float64, float64, float64, float64, "
    "float64, float64, float64, float64)"
)
def _write_trade(
    trades: FloatArray,
    k: int,
    entry_bar: float,
    exit_bar: int,
    pos: float,
    entry: float,
    exit_price: float,
    stop: float,
    take_profit: float,
    entry_fee: float,
    exit_fee: float,
    reason: float,
    high: float,
    low: float,
) -> None:
    trades[k, T_ENTRY_BAR] = entry_bar
    trades[k, T_EXIT_BAR] = exit_bar
    trades[k, T_SIDE] = 1.0 if pos > 0.0 else -1.0
    trades[k, T_AMOUNT] = abs(pos)
    trades[k, T_ENTRY_PRICE] = entry
    trades[k, T_EXIT_PRICE] = exit_price
    trades[k, T_STOP] = stop
    trades[k, T_TAKE_PROFIT] = take_profit
    trades[k, T_ENTRY_FEE] = entry_fee
    trades[k, T_EXIT_FEE] = exit_fee
    trades[k, T_PNL] = pos * (exit_price - entry) - entry_fee - exit_fee
    trades[k, T_REASON] = reason
    trades[k, T_HIGH] = max(high, exit_price)
    trades[k, T_LOW] = min(low, exit_price)


@compiled(
    "void(int64, int64, float64[::1], float64[::1], float64[::1], float64[::1], float64[::1], float64[::1], "
    "float64[::1], float64[::1], float64[::1], float64[:, ::1], float64[::1], float64[::1], float64[::1])"
)
def run_bars(
    start: int,
    stop: int,
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    signal: FloatArray,
    stop_dist: FloatArray,
    tp_dist: FloatArray,
    p: FloatArray,
    state: FloatArray,
    trades: FloatArray,
    equity_out: FloatArray,
    position_out: FloatArray,
    cash_out: FloatArray,
) -> None:
    """Bars ``[start, stop)``. ``stop_dist``/``tp_dist``: per-bar ATR distances, or
    empty when the levels are percentages (or absent). ``trades`` must have room
    for ``stop - start + 1`` more rows (at most one entry per bar, and the end).

    The state lives in locals during the loop and goes back to ``state`` at the
    end of the chunk; the entry is written out in the loop rather than called:
    numba's compile time (paid on a terminal's first start) grows with every
    array access and every function."""
    taker = p[P_TAKER]
    maker = p[P_MAKER]
    slip = p[P_SLIPPAGE]
    allow_long = p[P_ALLOW_LONG] > 0.0
    allow_short = p[P_ALLOW_SHORT] > 0.0
    sizing = p[P_SIZING]
    size = p[P_SIZE]
    step = p[P_STEP]
    stop_pct = p[P_STOP_PCT]
    tp_pct = p[P_TP_PCT]
    end_bar = len(open_) - 1 if p[P_CLOSE_AT_END] > 0.0 else -1
    has_stop_dist = len(stop_dist) > 0
    has_tp_dist = len(tp_dist) > 0
    nan = np.nan

    cash = state[S_CASH]
    pos = state[S_POSITION]
    entry = state[S_ENTRY_PRICE]
    entry_fee = state[S_ENTRY_FEE]
    entry_bar = state[S_ENTRY_BAR]
    sl = state[S_STOP]  # NaN when there is none: every comparison with it is False
    tp = state[S_TAKE_PROFIT]
    hi = state[S_HIGH]
    lo = state[S_LOW]
    fees = state[S_FEES]
    k = int(state[S_TRADES])

    for i in range(start, stop):
        o = open_[i]
        # 1. at the open: the previous bar's signal; an exit first, then an entry
        if i > 0 and signal[i - 1] == signal[i - 1]:
            s = signal[i - 1]
            target = 1.0 if s > 0.0 and allow_long else (-1.0 if s < 0.0 and allow_short else 0.0)
            side = 0.0 if pos == 0.0 else (1.0 if pos > 0.0 else -1.0)
            if target != side:
                if side != 0.0:
                    price = o * (1.0 - side * slip)
                    fee = abs(pos) * price * taker
                    _write_trade(
                        trades, k, entry_bar, i, pos, entry, price, sl, tp, entry_fee, fee, _SIGNAL, hi, lo
                    )
                    cash += pos * price - fee
                    fees += fee
                    k += 1
                    pos = 0.0
                if target != 0.0:
                    price = o * (1.0 + target * slip)
                    sd = stop_dist[i - 1] if has_stop_dist else nan  # ATR levels: the signal bar's ATR
                    td = tp_dist[i - 1] if has_tp_dist else nan
                    if stop_pct == stop_pct:
                        sd = price * stop_pct
                    if tp_pct == tp_pct:
                        td = price * tp_pct
                    amount = 0.0
                    # no entry without equity (flat here: equity is cash), nor while an ATR
                    # level it needs is not defined yet
                    if cash > 0.0 and (sd > 0.0 or not has_stop_dist) and (td > 0.0 or not has_tp_dist):
                        affordable = cash / (price * (1.0 + taker))  # all equity buys, fee included
                        if sizing == 0.0:
                            amount = affordable * size
                        elif sizing == 1.0:
                            amount = min(size / price, affordable)
                        elif sd > 0.0:  # risk: lose ``size`` of equity if the stop fills
                            amount = min(cash * size / sd, affordable)
                        if step > 0.0:
                            # round down; the 1e-12 keeps 0.3 / 0.1 = 2.9999999999999996 a 3
                            q = amount / step
                            amount = math.floor(q + q * 1e-12) * step
                    if amount > 0.0:
                        entry_fee = amount * price * taker
                        cash -= target * amount * price + entry_fee
                        fees += entry_fee
                        pos = target * amount
                        entry = price
                        entry_bar = i
                        sl = price - target * sd  # NaN when there is no stop
                        tp = price + target * td
                        hi = lo = price
        # 2. inside the bar: stop-loss and take-profit; 3. the end-of-data close
        if pos != 0.0:
            side = 1.0 if pos > 0.0 else -1.0
            # prices as a long sees them: a short's levels and bar mirror through zero
            so, ssl, stp = side * o, side * sl, side * tp
            sh, slo = (high[i], low[i]) if side > 0.0 else (-low[i], -high[i])
            reason, price, rate = -1.0, 0.0, taker
            if so <= ssl:  # opened through the stop: filled at the (worse) open
                reason, price = _STOP_LOSS, o * (1.0 - side * slip)
            elif so >= stp:  # opened through the take-profit: the limit fills at the (better) open
                reason, price, rate = _TAKE_PROFIT, o, maker
            elif slo <= ssl:  # the stop first, even when the take-profit is in the range too
                reason, price = _STOP_LOSS, sl * (1.0 - side * slip)
            elif sh >= stp:
                reason, price, rate = _TAKE_PROFIT, tp, maker
            else:  # held to the close: the bar's range counts for MAE/MFE
                hi = max(hi, high[i])
                lo = min(lo, low[i])
                if i == end_bar:
                    reason, price = _END, close[i] * (1.0 - side * slip)
            if reason >= 0.0:
                fee = abs(pos) * price * rate
                _write_trade(
                    trades, k, entry_bar, i, pos, entry, price, sl, tp, entry_fee, fee, reason, hi, lo
                )
                cash += pos * price - fee
                fees += fee
                k += 1
                pos = 0.0
        # 4. marked to the close
        equity_out[i] = cash + pos * close[i]
        position_out[i] = pos
        cash_out[i] = cash

    state[S_CASH] = cash
    state[S_POSITION] = pos
    state[S_ENTRY_PRICE] = entry
    state[S_ENTRY_FEE] = entry_fee
    state[S_ENTRY_BAR] = entry_bar
    state[S_STOP] = sl
    state[S_TAKE_PROFIT] = tp
    state[S_HIGH] = hi
    state[S_LOW] = lo
    state[S_FEES] = fees
    state[S_TRADES] = k


@dataclass(frozen=True, eq=False)
class EngineOutput:
    """What the loop produced, before it becomes a ``BacktestResult``."""

    equity: FloatArray  # at each bar's close
    position: FloatArray  # signed amount held at each bar's close
    cash: FloatArray  # at each bar's close
    trades: FloatArray  # closed trades, raw rows (``terminal.backtest.trades``)
    open_trade: FloatArray  # 0 or 1 raw row: the trade still open, marked at the last close
    fees_paid: float  # every fee paid, the open trade's entry fee included


def parameters(settings: BacktestSettings) -> FloatArray:
    """The kernel's parameter vector for ``settings``."""
    costs, sizing, stops = settings.costs, settings.sizing, settings.stops
    p = np.full(N_PARAMS, np.nan)
    p[P_TAKER] = costs.taker_fee
    p[P_MAKER] = costs.maker_fee
    p[P_SLIPPAGE] = costs.slippage_bps / 10_000.0
    p[P_SIZING] = {SizingMode.FRACTION: 0.0, SizingMode.QUOTE: 1.0, SizingMode.RISK: 2.0}[sizing.mode]
    p[P_SIZE] = {
        SizingMode.FRACTION: sizing.fraction,
        SizingMode.QUOTE: sizing.quote_amount,
        SizingMode.RISK: sizing.risk_fraction,
    }[sizing.mode]
    p[P_STEP] = sizing.amount_step
    p[P_ALLOW_LONG] = float(settings.direction in (Direction.LONG, Direction.BOTH))
    p[P_ALLOW_SHORT] = float(settings.direction in (Direction.SHORT, Direction.BOTH))
    if stops.stop_loss_pct is not None:
        p[P_STOP_PCT] = stops.stop_loss_pct / 100.0
    if stops.take_profit_pct is not None:
        p[P_TP_PCT] = stops.take_profit_pct / 100.0
    p[P_CLOSE_AT_END] = float(settings.close_at_end)
    return p


def _atr_distances(candles: OHLCV, settings: BacktestSettings) -> tuple[FloatArray, FloatArray]:
    stops = settings.stops
    empty = np.empty(0)
    if not stops.uses_atr or not len(candles):
        return empty, empty
    atr = indicators.atr(candles.high, candles.low, candles.close, stops.atr_period)
    sl = atr * stops.stop_loss_atr if stops.stop_loss_atr is not None else empty
    tp = atr * stops.take_profit_atr if stops.take_profit_atr is not None else empty
    return sl, tp


def simulate(
    candles: OHLCV,
    signals: FloatArray,
    settings: BacktestSettings,
    *,
    between_chunks: Callable[[float], None] | None = None,
) -> EngineOutput:
    """Run the position loop over ``candles`` with validated ``signals``.

    ``between_chunks(fraction_done)`` is called after each chunk of bars; it
    may raise (a cancellation) to stop the run."""
    n = len(candles)
    o, h, l, c = (indicators.as_prices(getattr(candles, name)) for name in ("open", "high", "low", "close"))
    stop_dist, tp_dist = _atr_distances(candles, settings)
    p = parameters(settings)
    state = np.zeros(N_STATE)
    state[S_CASH] = settings.initial_cash
    state[S_STOP] = state[S_TAKE_PROFIT] = np.nan
    equity = np.empty(n)
    position = np.empty(n)
    cash = np.empty(n)
    trades = np.empty((min(n, 1024) + 1, N_TRADE_COLUMNS))
    for start in range(0, n, CHUNK_BARS):
        stop = min(start + CHUNK_BARS, n)
        room = len(trades) - int(state[S_TRADES])
        if room < stop - start + 1:  # one entry per bar at most, plus the end-of-data close
            grown = np.empty((len(trades) + max(len(trades), stop - start + 1), N_TRADE_COLUMNS))
            grown[: len(trades)] = trades
            trades = grown
        run_bars(
            start, stop, o, h, l, c, signals, stop_dist, tp_dist, p, state, trades, equity, position, cash
        )
        if between_chunks is not None:
            between_chunks(stop / n)
    open_trade = np.empty((0, N_TRADE_COLUMNS))
    if n and state[S_POSITION] != 0.0:  # still open: the settings leave it open at the end
        open_trade = _mark_open_trade(state, n - 1, c[n - 1])
    k = int(state[S_TRADES])
    return EngineOutput(equity, position, cash, trades[:k].copy(), open_trade, float(state[S_FEES]))


def _mark_open_trade(state: FloatArray, bar: int, price: float) -> FloatArray:
    """The open trade as a row, marked at ``price`` with no exit fee (it has not been sold)."""
    row = np.empty((1, N_TRADE_COLUMNS))
    _write_trade(
        row,
        0,
        float(state[S_ENTRY_BAR]),
        int(bar),
        float(state[S_POSITION]),
        float(state[S_ENTRY_PRICE]),
        float(price),
        float(state[S_STOP]),
        float(state[S_TAKE_PROFIT]),
        float(state[S_ENTRY_FEE]),
        0.0,
        float(ExitReason.OPEN),
        float(state[S_HIGH]),
        float(state[S_LOW]),
    )
    return row
