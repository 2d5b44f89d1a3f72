"""The sweep's indicator memo: the same arrays bit for bit, each caller its own copy,
only the candles' own columns kept, and nothing outside the block or the thread."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest

from terminal.backtest import indicators
from terminal.marketdata.candles import OHLCV
from terminal.research.indicator_cache import indicator_memo
from tests.backtest.backtest_scenarios import random_candles

Compute = Callable[[OHLCV], tuple[np.ndarray, ...]]

CALLS: dict[str, Compute] = {
    "sma": lambda c: (indicators.sma(c.close, 20),),
    "ema": lambda c: (indicators.ema(c.close, 20),),
    "wilder": lambda c: (indicators.wilder(c.close, 20),),
    "rsi": lambda c: (indicators.rsi(c.close, 14),),
    "true_range": lambda c: (indicators.true_range(c.high, c.low, c.close),),
    "atr": lambda c: (indicators.atr(c.high, c.low, c.close, 14),),
    "rolling_std": lambda c: (indicators.rolling_std(c.close, 20),),
    "rolling_max": lambda c: (indicators.rolling_max(c.high, 20),),
    "rolling_min": lambda c: (indicators.rolling_min(c.low, 20),),
    "bollinger": lambda c: indicators.bollinger(c.close, 20, 2.0),
    "donchian": lambda c: indicators.donchian(c.high, c.low, 20),
}


@pytest.fixture(scope="module")
def candles() -> OHLCV:
    return random_candles(np.random.default_rng(151), 3000)


@pytest.mark.parametrize("name", list(CALLS))
def test_a_kept_indicator_is_the_computed_one_bit_for_bit(candles: OHLCV, name: str) -> None:
    compute = CALLS[name]
    plain = compute(candles)
    with indicator_memo(candles) as memo:
        first = compute(candles)
        misses = memo.misses
        second = compute(candles)
    assert memo.hits >= 1 and memo.misses == misses  # the second time, nothing was computed
    for a, b, c in zip(plain, first, second, strict=True):
        assert np.array_equal(a, b, equal_nan=True) and np.array_equal(a, c, equal_nan=True)
        assert a.tobytes() == c.tobytes()


def test_each_caller_gets_its_own_copy(candles: OHLCV) -> None:
    with indicator_memo(candles):
        mine = indicators.sma(candles.close, 10)
        mine[:] = 0.0  # a strategy may write into its indicator
        theirs = indicators.sma(candles.close, 10)
    assert np.array_equal(theirs, indicators.sma(candles.close, 10), equal_nan=True)
    assert theirs.flags.writeable


def test_an_indicator_of_a_computed_array_is_computed_every_time(candles: OHLCV) -> None:
    median = (candles.high + candles.low) / 2
    with indicator_memo(candles) as memo:
        got = indicators.sma(median, 10)
        indicators.sma((candles.high + candles.low) / 2, 10)
    assert len(memo) == 0 and memo.hits == 0
    assert np.array_equal(got, indicators.sma(median, 10), equal_nan=True)


def test_default_and_explicit_arguments_are_one_entry(candles: OHLCV) -> None:
    with indicator_memo(candles) as memo:
        indicators.rsi(candles.close)
        indicators.rsi(candles.close, 14)
        indicators.rsi(candles.close, period=14)
        indicators.rsi(candles.close, np.int64(14))  # type: ignore[arg-type]
        indicators.rsi(candles.close, 15)
    assert (memo.misses, memo.hits, len(memo)) == (2, 3, 2)


def test_past_its_budget_the_memo_computes_without_keeping(candles: OHLCV) -> None:
    one_array = candles.close.nbytes
    with indicator_memo(candles, budget_bytes=one_array) as memo:
        a = indicators.sma(candles.close, 10)
        b = indicators.sma(candles.close, 11)  # over the budget: computed, not kept
        indicators.sma(candles.close, 11)
    assert len(memo) == 1 and memo.bytes == one_array and memo.misses == 3
    assert np.array_equal(b, indicators.sma(candles.close, 11), equal_nan=True)
    assert np.array_equal(a, indicators.sma(candles.close, 10), equal_nan=True)


def test_the_memo_ends_with_its_block_and_stays_in_its_thread(candles: OHLCV) -> None:
    seen_in_thread: list[object] = []
    with indicator_memo(candles) as memo:
        assert indicators.MEMO.get() is memo
        thread = threading.Thread(target=lambda: seen_in_thread.append(indicators.MEMO.get()))
        thread.start()
        thread.join()
        indicators.sma(candles.close, 10)
    assert seen_in_thread == [None]
    assert indicators.MEMO.get() is None
    indicators.sma(candles.close, 10)
    assert memo.misses == 1 and memo.hits == 0
