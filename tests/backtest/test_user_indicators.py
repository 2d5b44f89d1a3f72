"""A user's indicators from the strategies folder: loaded with the strategies' rules,
computed in the strategies' process, the same code a strategy in the folder calls."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from terminal.backtest.errors import BacktestError
from terminal.backtest.strategy_worker import StrategyWorker
from terminal.backtest.user_strategies import UserStrategies
from terminal.marketdata.candles import OHLCV

MOMENTUM = textwrap.dedent(
    """
    import numpy as np
    from pydantic import Field
    from terminal.backtest.strategy import Strategy, StrategyParams
    from terminal.backtest.signals import from_crossings
    from terminal.backtest.user_indicator import Indicator

    class MomentumParams(StrategyParams):
        period: int = Field(default=10, ge=1, le=1000)

    class Momentum(Indicator):
        name = "MOM"
        title = "Momentum"
        lines = ("momentum",)
        levels = (0.0,)
        lookback = "period"
        Params = MomentumParams

        def compute(self, candles):
            close = candles.close
            n = self.params.period
            out = np.full(len(close), np.nan)
            out[n:] = close[n:] - close[:-n]
            return out

    class MomentumFlip(Strategy[MomentumParams]):
        name = "momentum_flip"
        title = "Momentum flip"
        Params = MomentumParams
        chart_indicators = ("MOM {period}",)

        def signals(self, candles):
            (mom,) = Momentum.create(self.params).outputs(candles)
            with np.errstate(invalid="ignore"):
                return from_crossings(mom > 0, mom < 0)
    """
)


def candles(n: int = 500) -> OHLCV:
    rng = np.random.default_rng(4)
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    ts = np.arange(n, dtype=np.int64) * 60_000
    return OHLCV(ts, close, close + 1, close - 1, close, np.ones(n))


def folder_with(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "strategies"
    folder.mkdir(mode=0o700)
    for name, text in files.items():
        (folder / f"{name}.py").write_text(text, encoding="utf-8")
    return folder


def test_an_indicator_loads_beside_a_strategy_that_calls_it(tmp_path: Path) -> None:
    user = UserStrategies(folder_with(tmp_path, momentum=MOMENTUM))
    user.refresh()
    assert user.errors == []
    assert list(user.indicators) == ["MOM"] and list(user.strategies) == ["momentum_flip"]
    c = candles()
    (mom,) = user.indicators["MOM"].create({"period": 5}).outputs(c)
    np.testing.assert_array_equal(mom[5:], c.close[5:] - c.close[:-5])
    assert np.isnan(mom[:5]).all()


def test_the_worker_computes_it_and_describes_it(tmp_path: Path) -> None:
    worker = StrategyWorker(folder_with(tmp_path, momentum=MOMENTUM))
    try:
        scan = worker.scan()
        (info,) = scan.indicators
        assert (info.name, info.title, info.lines, info.pane, info.levels, info.lookback) == (
            "MOM", "Momentum", ("momentum",), True, (0.0,), "period",
        )  # fmt: skip
        assert [(p.name, p.kind, p.default, p.minimum, p.maximum) for p in info.specs] == [
            ("period", int, 10, 1, 1000)
        ]
        c = candles()
        (mom,) = worker.indicator("MOM", {"period": 7}, c)
        np.testing.assert_array_equal(mom[7:], c.close[7:] - c.close[:-7])
        with pytest.raises(BacktestError, match="no user indicator 'NOPE'"):
            worker.indicator("NOPE", {}, c)
    finally:
        worker.close()


COMPUTE = "def compute(self, c): return c.close"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (['title = "x"', 'lines = ("a",)', "Params = P", COMPUTE], "needs a name"),
        (
            ['name = "X"', 'title = "x"', 'lines = "a"', "Params = P", COMPUTE],
            "lines must name its 1 to 8 lines",
        ),
        (
            ['name = "X"', 'title = "x"', "Params = P", 'lookback = "nope"', COMPUTE],
            "lookback must be a number of bars or the name of one of its parameters",
        ),
        (['name = "X"', 'title = "x"', "Params = P"], "defines no compute(self, candles) method"),
    ],
)
def test_a_broken_indicator_says_what_and_where(tmp_path: Path, body: list[str], says: str) -> None:
    text = (
        "from terminal.backtest.strategy import StrategyParams\n"
        "from terminal.backtest.user_indicator import Indicator\n"
        "class P(StrategyParams):\n    pass\n"
        "class Broken(Indicator):\n" + "".join(f"    {line}\n" for line in body)
    )
    user = UserStrategies(folder_with(tmp_path, broken=text))
    user.refresh()
    (error,) = user.errors
    assert says in str(error) and error.line == 5 and error.path.endswith("broken.py")
    assert user.indicators == {}


def test_a_slow_indicator_is_stopped_and_the_next_call_works(tmp_path: Path) -> None:
    sleep = "        import time; time.sleep(30)\n"
    slow = MOMENTUM.replace("        close = candles.close\n", sleep + "        close = candles.close\n")
    worker = StrategyWorker(folder_with(tmp_path, slow=slow))
    try:
        with pytest.raises(BacktestError, match="MOM took longer than 1 s and was stopped"):
            worker.indicator("MOM", {"period": 3}, candles(), timeout_s=1.0)
        assert worker.scan().indicators[0].name == "MOM"  # a fresh process answers
    finally:
        worker.close()


def test_a_wrong_shape_is_refused_with_its_reason(tmp_path: Path) -> None:
    wrong = MOMENTUM.replace("        return out\n", "        return out[:-1]\n", 1)
    user = UserStrategies(folder_with(tmp_path, wrong=wrong))
    user.refresh()
    with pytest.raises(
        BacktestError, match="MOM's momentum has shape \\(499,\\); one value per candle \\(500\\)"
    ):
        user.indicators["MOM"].create({}).outputs(candles())
