"""The signal array a strategy returns, and helpers to build one.

One float per bar, decided at that bar's close and acted on at the next
bar's open:

* ``LONG`` (+1): be long; ``SHORT`` (-1): be short; ``FLAT`` (0): hold nothing;
* ``HOLD`` (NaN): no request; keep whatever position there is.

A request equal to the current position does nothing (no pyramiding), so a
strategy may repeat a request on every bar its condition holds; after a
stop-loss closed the trade, a repeated request opens a new one. A strategy
that wants one trade per event (a crossover) requests only at the event.
The run's direction setting filters requests: long-only turns ``SHORT`` into
``FLAT``, short-only turns ``LONG`` into ``FLAT``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from terminal.backtest.errors import InvalidSignalsError
from terminal.backtest.jit import compiled

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

LONG = 1.0
SHORT = -1.0
FLAT = 0.0
HOLD = float("nan")


def from_crossings(up: BoolArray, down: BoolArray) -> FloatArray:
    """``LONG`` where ``up``, ``SHORT`` where ``down``, ``HOLD`` elsewhere (stop-and-reverse
    on events: after a stop-loss the strategy waits for the next crossing)."""
    out = np.full(len(up), np.nan)
    out[up] = LONG
    out[down & ~up] = SHORT
    return out


@compiled("float64[::1](boolean[::1], boolean[::1], boolean[::1], boolean[::1])")
def _rules(
    long_entry: BoolArray, long_exit: BoolArray, short_entry: BoolArray, short_exit: BoolArray
) -> FloatArray:
    out = np.empty(len(long_entry))
    state = 0  # the position the rules want; exits only apply to the side they belong to
    for i in range(len(long_entry)):
        if long_entry[i] and not short_entry[i]:
            state = 1
            out[i] = 1.0
        elif short_entry[i] and not long_entry[i]:
            state = -1
            out[i] = -1.0
        elif (state == 1 and long_exit[i]) or (state == -1 and short_exit[i]):
            state = 0
            out[i] = 0.0
        else:
            out[i] = np.nan
    return out


def from_rules(
    long_entry: BoolArray,
    long_exit: BoolArray,
    short_entry: BoolArray,
    short_exit: BoolArray,
) -> FloatArray:
    """Signals from entry and exit conditions (each a bool per bar).

    ``LONG`` on every bar where ``long_entry`` holds, ``SHORT`` where
    ``short_entry`` holds (both at once: neither). An exit applies to its own
    side only: ``FLAT`` on the first bar ``long_exit`` holds after a long
    entry (likewise for shorts); an entry on the same bar wins over an exit."""
    arrays = [
        np.ascontiguousarray(a, dtype=np.bool_) for a in (long_entry, long_exit, short_entry, short_exit)
    ]
    if len({len(a) for a in arrays}) != 1:
        raise ValueError("entry and exit conditions must have one value per bar")
    return _rules(*arrays)


def validate(signals: object, n: int, source: str = "the strategy") -> FloatArray:
    """``signals`` as a float64 array of ``n`` values in {+1, -1, 0, NaN}, or an
    ``InvalidSignalsError`` that says what is wrong."""
    try:
        arr = np.ascontiguousarray(signals, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidSignalsError(f"{source} returned signals that are not numbers ({exc}).") from exc
    if arr.ndim != 1 or len(arr) != n:
        raise InvalidSignalsError(
            f"{source} returned {arr.shape} signals for {n} candles; it must return one value per candle."
        )
    bad = ~np.isnan(arr) & (arr != LONG) & (arr != SHORT) & (arr != FLAT)
    if bad.any():
        i = int(np.argmax(bad))
        raise InvalidSignalsError(
            f"{source} returned {arr[i]!r} at bar {i}; signals must be +1 (long), -1 (short), "
            "0 (flat) or NaN (no change)."
        )
    return arr if arr.flags.writeable else arr.copy()
