"""A sweep's memo of indicator arrays: a trial asking for SMA(close, 30) after
another trial computed it gets that array back instead of computing it again.

In a grid over ``fast × slow`` every fast average is asked for by a hundred
trials in a row and every slow one once per fast value; the memo computes
each once. Measured on the SMA-cross grid on 100,000 bars (docs/research.md):
200 trials take 0.49 s with it and 0.73 s without.

``indicator_memo(candles)`` sets the memo for the ``with`` block, through the
context variable ``terminal.backtest.indicators.MEMO`` that the indicators'
public functions read (one read per call; nothing else changes for them).
What it keeps, and why the results stay the same bit for bit:

* Only calls on the candles' own columns (``candles.close``, by identity)
  are kept: the key is the function, the column names and the other
  arguments, so the kept array is what the function returns for them. An
  indicator of a computed array (an average of ``(high + low) / 2``) is
  computed every time, as a new array's identity says nothing of its values.
* Each caller gets its own copy, so a strategy that writes into an
  indicator's array changes nothing for the next trial (a copy is ~3% of an
  SMA's cost).
* It keeps arrays until ``budget_bytes`` are held, then keeps computing the
  others without keeping them: no eviction, because a grid asks in cycles, and
  evicting the oldest in a cycle longer than the budget would miss every time.

Contextvars are per thread (and per asyncio task): a memo set in a worker
thread is that thread's only, and ends with the block.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from terminal.backtest import indicators
from terminal.backtest.indicators import FloatArray
from terminal.marketdata.candles import OHLCV

#: how many bytes of arrays a memo keeps: 256 MB holds 320 arrays of 100,000 bars, 32 of 1,000,000
DEFAULT_BUDGET = 256 * 1024 * 1024
_COLUMNS = ("open", "high", "low", "close", "volume")


class IndicatorMemo:
    """The memo itself: ``memo(function, args, kwargs)`` as the indicators call it."""

    def __init__(self, candles: OHLCV, budget_bytes: int = DEFAULT_BUDGET) -> None:
        # the columns by identity, with the array itself so that a reused id() cannot match
        self._columns = {id(getattr(candles, name)): (name, getattr(candles, name)) for name in _COLUMNS}
        self._arrays: dict[Hashable, FloatArray] = {}
        self._signatures: dict[Callable[..., Any], inspect.Signature] = {}
        self.budget_bytes = budget_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def __call__(
        self, fn: Callable[..., FloatArray], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> FloatArray:
        key = self._key(fn, args, kwargs)
        if key is None:
            return fn(*args, **kwargs)
        kept = self._arrays.get(key)
        if kept is not None:
            self.hits += 1
            return kept.copy()
        self.misses += 1
        result = fn(*args, **kwargs)
        if self.bytes + result.nbytes <= self.budget_bytes:
            kept = result.copy()
            kept.flags.writeable = False
            self._arrays[key] = kept
            self.bytes += kept.nbytes
        return result

    def __len__(self) -> int:
        return len(self._arrays)

    def _key(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable | None:
        """(function, arguments with each column by name), or None when an argument is
        an array other than a candle column, or not hashable."""
        signature = self._signatures.get(fn)
        if signature is None:
            signature = self._signatures[fn] = inspect.signature(fn)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()  # rsi(close) and rsi(close, 14) are one key
        parts: list[Hashable] = [fn.__module__, fn.__qualname__]
        for value in bound.arguments.values():
            if isinstance(value, np.ndarray):
                column = self._columns.get(id(value))
                if column is None or column[1] is not value:
                    return None
                parts.append(("column", column[0]))
            elif isinstance(value, int | float | str | bool):
                parts.append(value)
            elif isinstance(value, np.integer | np.floating):
                parts.append(value.item())
            else:
                return None
        return tuple(parts)


@contextmanager
def indicator_memo(candles: OHLCV, budget_bytes: int = DEFAULT_BUDGET) -> Iterator[IndicatorMemo]:
    """Indicators of ``candles``' columns computed once in this block (this thread's)."""
    with using(IndicatorMemo(candles, budget_bytes)) as memo:
        yield memo


@contextmanager
def using(memo: IndicatorMemo) -> Iterator[IndicatorMemo]:
    """``memo`` (kept from an earlier block) in this block, in this thread: a cluster
    worker's batches run in whichever of its threads is free."""
    token = indicators.MEMO.set(memo)
    try:
        yield memo
    finally:
        indicators.MEMO.reset(token)
