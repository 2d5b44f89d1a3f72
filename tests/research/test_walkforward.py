"""Walk-forward: the folds never look ahead and their out-of-sample windows never
overlap; each fold's out-of-sample result is a plain run of the chosen parameters
on that window; the stitched equity goes on from fold to fold; efficiency and
stability are what their definitions say; cancel and progress reach the caller."""

from __future__ import annotations

import math
import threading
from datetime import timedelta
from itertools import pairwise

import numpy as np
import pytest

from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs
from terminal.backtest.strategies import SmaCross
from terminal.backtest.strategy import FloatArray
from terminal.marketdata.candles import OHLCV
from terminal.research.objectives import Filters, light_metrics
from terminal.research.space import BoolParam, ChoiceParam, IntParam, Space, Value
from terminal.research.walkforward import (
    Fold,
    WalkForwardError,
    WalkForwardProgress,
    WalkForwardResult,
    Windows,
    annualised,
    efficiency,
    run_window,
    stability,
    walk_forward,
)
from tests.backtest.backtest_scenarios import MINUTE_MS, random_candles

SPACE = Space((IntParam("fast", 3, 9, step=2), IntParam("slow", 10, 30, step=10)), ("fast < slow",))
FEES = BacktestSettings(costs=Costs(taker_fee=0.001, maker_fee=0.001))
WINDOWS = Windows(in_sample=600, out_of_sample=200)


@pytest.fixture(scope="module")
def candles() -> OHLCV:
    return random_candles(np.random.default_rng(15), 1500)


@pytest.fixture(scope="module")
def walk(candles: OHLCV) -> WalkForwardResult:
    return walk_forward(candles, "sma_cross", SPACE, WINDOWS, settings=FEES)


def check_no_look_ahead(folds: tuple[Fold, ...], n: int) -> None:
    for f in folds:
        assert f.in_start < f.in_stop == f.out_start < f.out_stop  # in-sample ends where out-of-sample starts
    for a, b in pairwise(folds):
        assert a.out_stop == b.out_start  # consecutive, never overlapping
    assert folds[-1].out_stop == n  # the newest bars are used


# -- folds ---------------------------------------------------------------------------
def test_rolling_folds_by_lengths_slide_a_fixed_window_and_end_at_the_last_bar(candles: OHLCV) -> None:
    folds = Windows(in_sample=300, out_of_sample=100).plan(candles)
    # (1500 - 300) // 100 = 12 folds; nothing left over
    assert len(folds) == 12
    assert [(f.in_start, f.out_start) for f in folds[:2]] == [(0, 300), (100, 400)]
    assert {f.in_bars for f in folds} == {300} and {f.out_bars for f in folds} == {100}
    check_no_look_ahead(folds, len(candles))


def test_anchored_folds_keep_the_first_bar_and_grow() -> None:
    candles = random_candles(np.random.default_rng(1), 1050)
    folds = Windows(in_sample=300, out_of_sample=100, anchored=True).plan(candles)
    # 7 folds fit; the 50 bars left over join the first in-sample window
    assert len(folds) == 7
    assert {f.in_start for f in folds} == {0}
    assert [f.in_bars for f in folds] == [350 + 100 * i for i in range(7)]
    check_no_look_ahead(folds, len(candles))


def test_a_fold_count_cuts_the_candles_at_the_ratio(candles: OHLCV) -> None:
    rolling = Windows(folds=4, ratio=3.0).plan(candles)
    # 1500 / (3 + 4) = 214 out-of-sample bars a fold, 642 in-sample
    assert len(rolling) == 4
    assert {f.out_bars for f in rolling} == {214} and {f.in_bars for f in rolling} == {642}
    check_no_look_ahead(rolling, len(candles))
    anchored = Windows(folds=4, ratio=3.0, anchored=True).plan(candles)
    assert [(f.out_start, f.out_stop) for f in anchored] == [(f.out_start, f.out_stop) for f in rolling]
    assert {f.in_start for f in anchored} == {0}
    check_no_look_ahead(anchored, len(candles))


def test_durations_are_bars_at_the_bar_length_and_a_count_keeps_the_newest_folds(candles: OHLCV) -> None:
    by_time = Windows(in_sample=timedelta(hours=5), out_of_sample=timedelta(minutes=100)).plan(candles)
    assert by_time == Windows(in_sample=300, out_of_sample=100).plan(candles)
    newest = Windows(in_sample=300, out_of_sample=100, folds=3).plan(candles)
    assert [(f.in_start, f.out_start, f.out_stop) for f in newest] == [
        (f.in_start, f.out_start, f.out_stop) for f in by_time[-3:]
    ]
    assert [f.index for f in newest] == [0, 1, 2]


@pytest.mark.parametrize(
    ("windows", "words"),
    [
        (
            Windows(in_sample=1000, out_of_sample=300, folds=2),
            "1,500 bars; 2 rolling folds of 1,000 in-sample and 300 out-of-sample bars need 1,600",
        ),
        (Windows(in_sample=1500, out_of_sample=10), "need 1,510"),
        (Windows(folds=800), "800 rolling folds at 4 to 1 leave 4 in-sample and 1 out-of-sample"),
    ],
)
def test_data_too_short_for_the_folds_says_so(candles: OHLCV, windows: Windows, words: str) -> None:
    with pytest.raises(WalkForwardError, match=words) as caught:
        windows.plan(candles)
    assert "load more history" in caught.value.user_message()


def test_windows_given_halfway_are_refused(candles: OHLCV) -> None:
    with pytest.raises(WalkForwardError, match="both the in-sample and the out-of-sample"):
        Windows(in_sample=300).plan(candles)
    with pytest.raises(WalkForwardError, match="a number of folds"):
        Windows().plan(candles)


# -- the walk ------------------------------------------------------------------------
def test_each_fold_chooses_on_its_in_sample_bars_alone(candles: OHLCV, walk: WalkForwardResult) -> None:
    first = walk.folds[0]
    assert (first.fold.in_start, first.fold.out_start) == (100, 700)
    assert first.best is not None and first.params == first.best.params
    # the bars after the first in-sample window, replaced by another market, change nothing it chose
    other = random_candles(np.random.default_rng(99), len(candles))
    cut = first.fold.in_stop

    def join(column: str) -> FloatArray:
        return np.concatenate([getattr(candles, column)[:cut], getattr(other, column)[cut:]])

    mixed = OHLCV(candles.ts, join("open"), join("high"), join("low"), join("close"), candles.volume)
    again = walk_forward(mixed, "sma_cross", SPACE, WINDOWS, settings=FEES)
    assert again.folds[0].params == first.params
    assert again.folds[0].in_metrics == first.in_metrics
    assert again.folds[0].out_return != first.out_return  # the out-of-sample bars did change


class _Masked(SmaCross):
    """SMA cross that asks for nothing during its first ``lead`` bars."""

    lead = 0

    def signals(self, candles: OHLCV) -> FloatArray:
        out = super().signals(candles).copy()
        out[: self.lead] = np.nan
        return out


def test_a_folds_out_of_sample_result_is_a_direct_run_on_its_window(
    candles: OHLCV, walk: WalkForwardResult
) -> None:
    for f in walk.folds:
        assert f.out is not None and f.params is not None
        lead = int(f.params["slow"])  # auto: the longest average's bars
        assert f.out.warmup == lead
        _Masked.lead = lead
        strategy = _Masked(SmaCross.Params.model_validate(f.params))
        direct = run_backtest(candles.slice(f.fold.out_start - lead, f.fold.out_stop), strategy, None, FEES)
        assert (direct.equity[:lead] == FEES.initial_cash).all()  # flat through the warm-up
        np.testing.assert_array_equal(f.out.equity, direct.equity[lead:])
        np.testing.assert_array_equal(f.out.ts, candles.ts[f.fold.out_start : f.fold.out_stop])
        fees = direct.metrics.fees_paid
        expected = light_metrics(
            direct.equity[lead:], direct.ts[lead:], FEES.initial_cash, direct.trades, fees
        )
        assert f.out.metrics == expected
        assert f.out_trades == len(direct.trades)


def test_without_warm_up_the_out_of_sample_run_is_run_backtest_on_the_window(
    candles: OHLCV, walk: WalkForwardResult
) -> None:
    f = walk.folds[1]
    assert f.params is not None
    params = {"fast": f.params["fast"], "slow": f.params["slow"]}
    cold = run_window(candles, "sma_cross", params, FEES, f.fold.out_start, f.fold.out_stop, warmup=0)
    direct = run_backtest(candles.slice(f.fold.out_start, f.fold.out_stop), "sma_cross", params, FEES)
    np.testing.assert_array_equal(cold.equity, direct.equity)
    assert cold.metrics.total_return == direct.metrics.total_return
    assert cold.metrics.sharpe == direct.metrics.sharpe
    assert cold.metrics.trades == direct.metrics.trades
    # warmed up, the averages are ready at the window's first bar: the runs differ
    warm = run_window(candles, "sma_cross", params, FEES, f.fold.out_start, f.fold.out_stop, warmup=1000)
    assert warm.warmup == f.fold.out_start  # capped at the bars there are
    assert not np.array_equal(warm.equity, cold.equity)


def test_the_stitched_equity_goes_on_from_each_folds_end(walk: WalkForwardResult) -> None:
    start = walk.folds[0].fold.out_start
    assert len(walk.stitched_equity) == len(walk.stitched_ts) == sum(f.fold.out_bars for f in walk.folds)
    level = walk.initial_cash
    for f in walk.folds:
        assert f.out is not None
        part = walk.stitched_equity[f.fold.out_start - start : f.fold.out_stop - start]
        np.testing.assert_allclose(part, f.out.equity * level / walk.initial_cash, rtol=1e-12)
        level = float(part[-1])
    product = math.prod(1.0 + f.out_return for f in walk.folds)
    assert walk.total_return == pytest.approx(product - 1.0, rel=1e-12)


# -- efficiency and stability --------------------------------------------------------
def test_walk_forward_efficiency_on_a_constructed_case() -> None:
    # in-sample +6% over 300 one-minute bars, out-of-sample +1% over 100: per unit of
    # time the out-of-sample window made half as much
    rate_in = annualised(0.06, 300, MINUTE_MS)
    rate_out = annualised(0.01, 100, MINUTE_MS)
    assert rate_in == pytest.approx(0.06 * 525_600 / 300)
    assert efficiency(rate_in, rate_out) == pytest.approx(0.5)
    assert efficiency(rate_in, annualised(-0.01, 100, MINUTE_MS)) == pytest.approx(-0.5)
    assert math.isnan(efficiency(annualised(-0.06, 300, MINUTE_MS), rate_out))  # a ratio to a loss
    assert math.isnan(efficiency(0.0, rate_out))


def test_the_results_efficiency_is_the_ratio_of_its_folds_rates(walk: WalkForwardResult) -> None:
    for f in walk.folds:
        assert f.in_annualised == annualised(f.in_return, f.fold.in_bars, MINUTE_MS)
        assert f.out_annualised == annualised(f.out_return, f.fold.out_bars, MINUTE_MS)
        assert f.efficiency == efficiency(f.in_annualised, f.out_annualised) or (
            math.isnan(f.efficiency) and f.in_annualised <= 0.0
        )
    # equal windows: overall = mean out-of-sample return / mean in-sample return × 600 / 200
    mean_in = np.mean([f.in_return for f in walk.folds])
    mean_out = np.mean([f.out_return for f in walk.folds])
    assert mean_in > 0
    assert walk.efficiency == pytest.approx(mean_out / mean_in * 3.0, rel=1e-12)


def test_parameter_stability_measures_spread_over_the_range_and_changes() -> None:
    space = Space((IntParam("fast", 3, 12), BoolParam("flag"), ChoiceParam("kind", ("sma", "ema", "wma"))))
    chosen: list[dict[str, Value]] = [
        {"fast": 3, "flag": True, "kind": "sma"},
        {"fast": 3, "flag": True, "kind": "ema"},
        {"fast": 9, "flag": True, "kind": "sma"},
    ]
    fast, flag, kind = stability(space, chosen)
    assert fast.values == (3, 3, 9) and fast.spread == pytest.approx(6 / 9)
    assert (fast.changes, fast.change_rate) == (1, 0.5)
    assert (flag.spread, flag.changes, flag.change_rate) == (0.0, 0, 0.0)
    assert kind.spread == pytest.approx(0.5) and kind.changes == 2 and kind.change_rate == 1.0


def test_the_walks_stability_follows_its_folds(walk: WalkForwardResult) -> None:
    fast = walk.stability[0]
    assert fast.name == "fast"
    assert fast.values == tuple(f.params["fast"] for f in walk.folds if f.params is not None)
    changed = [a.params != b.params for a, b in pairwise(walk.folds)]
    assert walk.point_changes == sum(changed)


def test_folds_without_an_acceptable_trial_stay_flat(candles: OHLCV) -> None:
    result = walk_forward(
        candles, "sma_cross", SPACE, WINDOWS, settings=FEES, filters=Filters(min_trades=10_000)
    )
    assert result.folds and all(f.params is None and f.out is None for f in result.folds)
    assert {f.error for f in result.folds} == {"no trial met the filters"}
    assert (result.stitched_equity == FEES.initial_cash).all()
    assert result.stability[0].values == ()


# -- progress and cancel -------------------------------------------------------------
def test_progress_tells_the_fold_and_its_trials(candles: OHLCV, walk: WalkForwardResult) -> None:
    seen: list[WalkForwardProgress] = []
    result = walk_forward(candles, "sma_cross", SPACE, WINDOWS, settings=FEES, progress=seen.append)
    folds = len(result.folds)
    assert {p.folds for p in seen} == {folds}
    assert sorted({p.fold for p in seen}) == list(range(1, folds + 1))
    grid = len(walk.folds[0].sweep.trials)
    for number in range(1, folds + 1):
        assert [p.sweep.done for p in seen if p.fold == number] == list(range(1, grid + 1))


def test_cancel_stops_the_walk_and_keeps_the_folds_done(candles: OHLCV) -> None:
    token = threading.Event()

    def progress(p: WalkForwardProgress) -> None:
        if p.fold == 2:
            token.set()

    result = walk_forward(
        candles, "sma_cross", SPACE, WINDOWS, settings=FEES, cancel=token, progress=progress
    )
    assert result.cancelled and len(result.folds) == 1 and result.planned == 4
    assert result.message == "cancelled after 1 of 4 folds"
    assert len(result.stitched_equity) == result.folds[0].fold.out_bars
