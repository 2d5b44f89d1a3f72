"""Monte Carlo of a run's closed trades: how lucky was the order, the sample, the timing?

A backtest gives one path through its trades. These simulations give many
(docs/research.md, "Monte Carlo"):

* ``reshuffle``: the same trades in random orders. The total is the same on
  every path; what changes is the drawdown met on the way.
* ``resample``: trades drawn with replacement (Efron's bootstrap), for the
  spread of the total return; ``block_resample`` draws runs of consecutive
  trades instead (stationary or moving blocks), for trades whose results
  cluster.
* ``random_entry_baseline``: as many trades with the run's sides and holding
  times, entered at random bars of the same candles: would random timing
  have done as well?

Paths are equity after each closed trade, not per bar, so a drawdown inside
a trade is not seen (the run's own ``max_drawdown`` is per bar and can be
deeper). Everything is numpy, seeded by a ``numpy.random.Generator``, and
computed in chunks of paths that stay in the CPU cache; no path matrix is
kept, only what the statistics need.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from terminal.backtest.trades import TradeTable
from terminal.errors import TerminalError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
#: how a trade's result moves equity: "compound" applies its return on the equity
#: before it (fraction-of-equity sizing, the engine's default); "fixed" adds its P&L
#: in quote currency (the same stake every time: quote sizing)
Model = Literal["compound", "fixed"]
BlockKind = Literal["stationary", "moving"]
Seed = np.random.Generator | int | None

PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)
FAN_POINTS = 201  # trade counts at which the fan is kept: more than a chart's width needs
# rows of a chunk are chosen to make ~2 MB of float64: measured fastest here (the
# cumulative sums and running peaks then run in the CPU cache)
_CHUNK_ELEMENTS = 1 << 18


class InsufficientDataError(TerminalError):
    """Too little data for the statistic asked for (no trades, too few days, ...)."""


def generator(seed: Seed) -> np.random.Generator:
    """The generator itself, or a new one seeded with ``seed`` (None: from the OS)."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def default_block_length(n: int) -> int:
    """``round(n ** (1/3))``, at least 1: the order of block length that balances a
    block bootstrap's bias and variance (Hall, Horowitz & Jing, 1995)."""
    return max(1, round(n ** (1.0 / 3.0)))


# -- the trades -------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class TradeSteps:
    """What each closed trade did to equity, in exit order.

    The engine holds one position at a time and is flat between trades, so the
    equity before a trade is the starting cash plus the P&L of the trades before
    it, and ``growth`` (P&L over that equity) is the trade's return on the account."""

    initial: float
    pnl: FloatArray  # quote currency, both fees deducted
    growth: FloatArray  # pnl / equity before the trade

    @classmethod
    def of(cls, trades: TradeTable, initial: float) -> TradeSteps:
        """From a result's closed trades (``result.trades``) and its starting cash."""
        return cls.from_pnl(np.asarray(trades["pnl"], dtype=np.float64), initial)

    @classmethod
    def from_pnl(cls, pnl: FloatArray | Sequence[float], initial: float) -> TradeSteps:
        values = np.ascontiguousarray(pnl, dtype=np.float64)
        if not (math.isfinite(initial) and initial > 0.0):
            raise ValueError(f"the starting equity must be positive, not {initial}")
        if values.ndim != 1 or not np.isfinite(values).all():
            raise ValueError("trade P&L must be a flat array of finite numbers")
        before = initial + np.concatenate(([0.0], np.cumsum(values)[:-1]))
        if (before <= 0.0).any():
            raise ValueError("equity reached zero before a trade: no run can trade on from there")
        return cls(float(initial), values, values / before)

    def __len__(self) -> int:
        return len(self.pnl)


# -- the paths ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Fan:
    """Percentiles of equity across paths after 0, ..., n trades (a subset of counts)."""

    trades: IntArray  # (K,) number of trades closed; 0 is the start
    percentiles: tuple[float, ...]
    equity: FloatArray  # (len(percentiles), K)


@dataclass(frozen=True, eq=False)
class Simulation:
    """Many equity paths through a run's trades, kept as the statistics need them."""

    method: str  # "reshuffle", "resample", "stationary blocks of 7", ...
    model: Model
    initial: float
    final_equity: FloatArray  # (paths,)
    max_drawdown: FloatArray  # (paths,) lowest equity / running peak - 1, per trade (<= 0)
    min_equity: FloatArray  # (paths,) lowest equity on the path, the start included
    fan_trades: IntArray  # (K,) trade counts at which equity was kept
    fan_equity: FloatArray  # (paths, K)

    @property
    def paths(self) -> int:
        return len(self.final_equity)

    def total_return(self) -> FloatArray:
        return self.final_equity / self.initial - 1.0

    def fan(self, percentiles: Sequence[float] = PERCENTILES) -> Fan:
        """The percentile fan of equity (e.g. 5/25/50/75/95) at each kept trade count."""
        levels = tuple(float(p) for p in percentiles)
        return Fan(self.fan_trades, levels, np.percentile(self.fan_equity, levels, axis=0))

    def prob_drawdown_beyond(self, depth: float) -> float:
        """Share of paths whose drawdown reaches ``depth`` (0.2: 20% below a peak) or deeper."""
        return float(np.mean(self.max_drawdown <= -abs(depth)))

    def prob_ruin(self, level: float) -> float:
        """Share of paths on which equity falls to ``level`` (quote currency) or below."""
        return float(np.mean(self.min_equity <= level))

    def prob_loss(self) -> float:
        """Share of paths that end below the starting equity."""
        return float(np.mean(self.final_equity < self.initial))


Draw = Callable[[FloatArray, int], FloatArray]  # (per-trade values, rows) -> (rows, n) fresh array


def _simulate(
    steps: TradeSteps, paths: int, model: Model, draw: Draw, method: str, fan_points: int
) -> Simulation:
    n = len(steps)
    if n == 0:
        raise InsufficientDataError("The run has no closed trades to simulate.")
    if paths < 1:
        raise ValueError("at least one path is needed")
    initial = steps.initial
    fixed = model == "fixed"
    # compound: sum log growth (no overflow, and the drawdown is a difference of logs)
    values = steps.pnl if fixed else np.log1p(np.maximum(steps.growth, -1.0))
    fan_at = np.unique(np.linspace(0, n, max(2, min(fan_points, n + 1))).round().astype(np.int64))
    columns = fan_at[1:] - 1  # the running sum after that many trades
    final = np.empty(paths)
    deepest = np.empty(paths)
    lowest = np.empty(paths)
    fan = np.empty((paths, len(fan_at)))
    fan[:, 0] = initial
    rows = max(1, _CHUNK_ELEMENTS // n)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for start in range(0, paths, rows):
            m = min(rows, paths - start)
            part = slice(start, start + m)
            x = draw(values, m)
            np.cumsum(x, axis=1, out=x)  # P&L so far (fixed) or log of equity / initial
            peak = np.maximum.accumulate(x, axis=1)
            np.maximum(peak, 0.0, out=peak)  # the starting equity is the first peak
            low = np.minimum(x.min(axis=1), 0.0)
            if fixed:
                under = (x - peak) / (initial + peak)
                deepest[part] = under.min(axis=1)
                final[part] = initial + x[:, -1]
                lowest[part] = initial + low
                fan[part, 1:] = initial + x[:, columns]
            else:
                deepest[part] = np.expm1((x - peak).min(axis=1))
                final[part] = initial * np.exp(x[:, -1])
                lowest[part] = initial * np.exp(low)
                fan[part, 1:] = initial * np.exp(x[:, columns])
    return Simulation(method, model, initial, final, deepest, lowest, fan_at, fan)


def reshuffle(
    steps: TradeSteps,
    paths: int = 10_000,
    *,
    model: Model = "compound",
    seed: Seed = None,
    fan_points: int = FAN_POINTS,
) -> Simulation:
    """The run's trades in ``paths`` random orders (each a uniform permutation).

    Every path ends at the run's final equity (the sum of P&L, or the product of
    growth, does not depend on the order); the drawdown distribution is the point."""
    rng = generator(seed)

    def permuted(values: FloatArray, rows: int) -> FloatArray:
        x = np.tile(values, (rows, 1))
        return rng.permuted(x, axis=1, out=x)

    return _simulate(steps, paths, model, permuted, "reshuffle", fan_points)


def resample(
    steps: TradeSteps,
    paths: int = 10_000,
    *,
    model: Model = "compound",
    seed: Seed = None,
    fan_points: int = FAN_POINTS,
) -> Simulation:
    """``paths`` samples of as many trades drawn with replacement (Efron, 1979):
    the spread of the total return if each trade were an independent draw."""
    rng = generator(seed)

    def drawn(values: FloatArray, rows: int) -> FloatArray:
        return values[rng.integers(0, len(values), size=(rows, len(values)))]

    return _simulate(steps, paths, model, drawn, "resample", fan_points)


def block_resample(
    steps: TradeSteps,
    paths: int = 10_000,
    *,
    block_length: int | None = None,
    kind: BlockKind = "stationary",
    model: Model = "compound",
    seed: Seed = None,
    fan_points: int = FAN_POINTS,
) -> Simulation:
    """Like ``resample``, but drawing runs of consecutive trades, so that streaks
    (trades whose results depend on their neighbours') survive into the paths.

    ``stationary``: runs of random length, geometric with mean ``block_length``,
    wrapping from the last trade to the first (Politis & Romano, 1994);
    ``moving``: runs of exactly ``block_length`` starting anywhere (Künsch, 1989).
    The default length is ``default_block_length(trades)``."""
    rng = generator(seed)
    n = len(steps)
    block = block_length or default_block_length(n)
    if block < 1:
        raise ValueError("the block length must be at least 1")
    indices = stationary_indices if kind == "stationary" else moving_block_indices

    def drawn(values: FloatArray, rows: int) -> FloatArray:
        return values[indices(rng, rows, len(values), block)]

    return _simulate(steps, paths, model, drawn, f"{kind} blocks of {block}", fan_points)


def stationary_indices(rng: np.random.Generator, rows: int, n: int, block_length: float) -> IntArray:
    """``rows`` index sequences of length ``n`` for the stationary bootstrap: each
    position starts a new block at a uniform index with probability 1 / block_length,
    and otherwise continues the previous one (wrapping past the end)."""
    position = np.arange(n, dtype=np.int64)
    starts = rng.integers(0, n, size=(rows, n))
    begins = rng.random((rows, n)) < 1.0 / block_length
    begins[:, 0] = True
    last = np.where(begins, position, 0)
    np.maximum.accumulate(last, axis=1, out=last)  # where the current block began
    index = np.take_along_axis(starts, last, axis=1)
    index += position - last
    index %= n
    return index


def moving_block_indices(rng: np.random.Generator, rows: int, n: int, block_length: int) -> IntArray:
    """``rows`` index sequences of length ``n`` made of blocks of ``block_length``
    consecutive indices, each starting at a uniform index that fits (no wrapping)."""
    block = min(block_length, n)
    count = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(rows, count, 1))
    index = (starts + np.arange(block, dtype=np.int64)).reshape(rows, count * block)
    return np.ascontiguousarray(index[:, :n])


# -- random entries ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Baseline:
    """The run's trades against random entries with the same sides and holding times.

    Both are the compounded return of the trades at full stake,
    ``prod(1 + trade return) - 1``: the account's return with all equity in every
    trade, whatever the run's sizing was, so that timing alone is compared."""

    run_return: float
    returns: FloatArray  # (paths,) the same statistic for each set of random entries
    trades: int

    @property
    def p_value(self) -> float:
        """How often random entries did at least as well: ``(1 + k) / (paths + 1)``,
        never 0 for a finite number of tries (Phipson & Smyth, 2010)."""
        beat = int(np.count_nonzero(self.returns >= self.run_return))
        return (1 + beat) / (len(self.returns) + 1)

    def sentence(self) -> str:
        share = float(np.mean(self.returns >= self.run_return))
        return (
            f"Random entries with the same {self.trades:,} sides and holding times did as well as "
            f"this run ({self.run_return:+.1%}) in {share:.1%} of {len(self.returns):,} tries "
            f"(p = {self.p_value:.3g}); their median was {float(np.median(self.returns)):+.1%}."
        )


def _compounded(trade_returns: FloatArray, axis: int | None = None) -> FloatArray:
    """``prod(1 + r) - 1`` through logs; a trade losing 100% or more ends at -1."""
    return np.asarray(np.expm1(np.log1p(np.maximum(trade_returns, -1.0)).sum(axis=axis)), dtype=np.float64)


def random_entry_baseline(
    trades: TradeTable,
    open_prices: FloatArray,
    *,
    fee_rate: float,
    slippage_bps: float = 0.0,
    paths: int = 10_000,
    seed: Seed = None,
) -> Baseline:
    """The distribution of the run's statistic under random timing.

    Each path keeps the run's closed trades' sides and holding times (``bars``) and
    gives each an entry bar drawn uniformly among those that leave room for its
    exit, on the same candles. It fills as a signal trade does: entry at the entry
    bar's open, exit at the exit bar's open, ``slippage_bps`` against the trader on
    both, the taker ``fee_rate`` on both fills (as the run's settings had them).
    The random trades may overlap in time; each is judged alone."""
    opens = np.ascontiguousarray(open_prices, dtype=np.float64)
    k = len(trades)
    if k == 0:
        raise InsufficientDataError("The run has no closed trades to compare with random entries.")
    if paths < 1:
        raise ValueError("at least one path is needed")
    held = np.asarray(trades["bars"], dtype=np.int64)
    side = np.asarray(trades["side"], dtype=np.float64)
    room = len(opens) - held  # entry bars that leave the exit bar inside the candles
    if (room < 1).any():
        raise InsufficientDataError("A trade was held longer than the candles given are long.")
    run = float(_compounded(np.asarray(trades["return_pct"], dtype=np.float64)))
    out = np.empty(paths)
    rows = max(1, _CHUNK_ELEMENTS // k)
    rng = generator(seed)
    for start in range(0, paths, rows):
        m = min(rows, paths - start)
        entry_bar = (rng.random((m, k)) * room).astype(np.int64)
        trade_return = signal_trade_returns(
            opens, entry_bar, held, side, fee_rate=fee_rate, slippage_bps=slippage_bps
        )
        out[start : start + m] = _compounded(trade_return, axis=1)
    return Baseline(run, out, k)


def signal_trade_returns(
    open_prices: FloatArray,
    entry_bar: IntArray,
    bars: IntArray,
    side: FloatArray,
    *,
    fee_rate: float,
    slippage_bps: float = 0.0,
) -> FloatArray:
    """The return (P&L over the entry's value) of trades filled as the engine fills a
    signal trade: in at ``entry_bar``'s open, out at the open ``bars`` later, each
    fill ``slippage_bps`` against the trader and charged ``fee_rate`` on its value
    (docs/backtesting.md): ``side * (exit / entry - 1) - fee * (1 + exit / entry)``."""
    slip = slippage_bps / 10_000.0
    ratio = open_prices[entry_bar + bars] / open_prices[entry_bar]
    ratio *= (1.0 - side * slip) / (1.0 + side * slip)  # the exit and entry fill prices' ratio
    return np.asarray(side * (ratio - 1.0) - fee_rate * (1.0 + ratio), dtype=np.float64)
