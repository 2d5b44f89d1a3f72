"""The trade record: the engine's raw columns and the table a result holds.

The engine writes trades into a float64 matrix (one row per trade, the
``T_*`` columns): numba fills it without allocating objects. ``to_table``
turns it into a numpy structured array with named, typed fields, which
sorts, pickles and converts to a DataFrame (``pandas.DataFrame(table)``).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class ExitReason(IntEnum):
    SIGNAL = 0  # an opposite or flat signal, filled at the next bar's open
    STOP_LOSS = 1
    TAKE_PROFIT = 2
    END = 3  # closed at the last bar's close (settings.close_at_end)
    OPEN = 4  # still open at the end; exit price is the last close (a mark, not a fill)


# raw columns written by the engine
T_ENTRY_BAR = 0
T_EXIT_BAR = 1
T_SIDE = 2  # +1 long, -1 short
T_AMOUNT = 3  # base units, > 0
T_ENTRY_PRICE = 4  # fill prices, slippage included
T_EXIT_PRICE = 5
T_STOP = 6  # stop-loss price, NaN when none
T_TAKE_PROFIT = 7
T_ENTRY_FEE = 8
T_EXIT_FEE = 9
T_PNL = 10  # quote currency, both fees deducted
T_REASON = 11
T_HIGH = 12  # highest and lowest price the trade saw (fills, and bars held to their close)
T_LOW = 13
N_TRADE_COLUMNS = 14

TRADE_DTYPE = np.dtype(
    [
        ("entry_bar", np.int64),
        ("exit_bar", np.int64),
        ("entry_ts", np.int64),  # open time of the entry bar (ms)
        ("exit_ts", np.int64),  # open time of the exit bar (ms)
        ("side", np.int8),
        ("amount", np.float64),
        ("entry_price", np.float64),
        ("exit_price", np.float64),
        ("stop_loss", np.float64),
        ("take_profit", np.float64),
        ("entry_fee", np.float64),
        ("exit_fee", np.float64),
        ("pnl", np.float64),
        ("return_pct", np.float64),  # pnl / (amount * entry_price), as a fraction
        ("mae", np.float64),  # maximum adverse excursion, fraction of the entry price (<= 0)
        ("mfe", np.float64),  # maximum favourable excursion (>= 0)
        ("bars", np.int64),  # exit_bar - entry_bar
        ("exit_reason", np.int8),
    ]
)

TradeTable = np.ndarray  # structured array of TRADE_DTYPE (numpy has no typed form for these)


def to_table(raw: FloatArray, ts: IntArray) -> TradeTable:
    """The structured trade table of the engine's raw rows."""
    table = np.zeros(len(raw), dtype=TRADE_DTYPE)
    if not len(raw):
        return table
    entry_bar = raw[:, T_ENTRY_BAR].astype(np.int64)
    exit_bar = raw[:, T_EXIT_BAR].astype(np.int64)
    side = raw[:, T_SIDE]
    entry = raw[:, T_ENTRY_PRICE]
    table["entry_bar"] = entry_bar
    table["exit_bar"] = exit_bar
    table["entry_ts"] = ts[entry_bar]
    table["exit_ts"] = ts[exit_bar]
    table["side"] = side.astype(np.int8)
    table["amount"] = raw[:, T_AMOUNT]
    table["entry_price"] = entry
    table["exit_price"] = raw[:, T_EXIT_PRICE]
    table["stop_loss"] = raw[:, T_STOP]
    table["take_profit"] = raw[:, T_TAKE_PROFIT]
    table["entry_fee"] = raw[:, T_ENTRY_FEE]
    table["exit_fee"] = raw[:, T_EXIT_FEE]
    table["pnl"] = raw[:, T_PNL]
    table["return_pct"] = raw[:, T_PNL] / (raw[:, T_AMOUNT] * entry)
    long = side > 0
    high_move = raw[:, T_HIGH] / entry - 1.0
    low_move = raw[:, T_LOW] / entry - 1.0
    table["mae"] = np.where(long, low_move, -high_move)
    table["mfe"] = np.where(long, high_move, -low_move)
    table["bars"] = exit_bar - entry_bar
    table["exit_reason"] = raw[:, T_REASON].astype(np.int8)
    return table
