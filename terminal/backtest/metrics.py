"""Performance metrics of a run. Each definition is written in docs/backtesting.md.

Returns are per bar: ``r[i] = equity[i] / equity[i - 1] - 1`` with the
starting cash before bar 0. Annualisation follows the data's bar spacing
(the median distance between open times) with 365-day years, because crypto
trades every day. Fractions are fractions (0.12 = 12%); drawdowns, VaR and
CVaR are negative returns. A metric that has no meaning for a run (a Sharpe
ratio without volatility, a win rate without trades) is NaN.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
from numpy.typing import NDArray

from terminal.backtest.drawdown import episodes
from terminal.backtest.trades import TradeTable

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

YEAR_MS = 365 * 24 * 3600 * 1000
VAR_LEVEL = 0.95
nan = float("nan")


@dataclass(frozen=True)
class Metrics:
    # -- equity --------------------------------------------------------------------
    initial_equity: float
    final_equity: float
    peak_equity: float
    total_return: float
    annualised_return: float
    cagr: float
    buy_hold_return: float
    volatility: float
    sharpe: float
    sortino: float
    calmar: float
    omega: float
    max_drawdown: float
    max_drawdown_bars: int
    max_drawdown_ms: int
    avg_drawdown: float
    avg_drawdown_ms: float
    var_95: float
    cvar_95: float
    exposure: float
    bar_ms: int
    periods_per_year: float
    # -- trades (closed ones; the open trade, if reported apart, is not counted) -----
    trades: int
    win_rate: float
    best_trade: float
    worst_trade: float
    avg_trade: float
    avg_trade_bars: float
    max_trade_bars: int
    avg_trade_ms: float
    max_trade_ms: int
    profit_factor: float
    expectancy: float
    sqn: float
    kelly: float
    avg_mae: float
    avg_mfe: float
    fees_paid: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def bar_spacing_ms(ts: IntArray) -> int:
    """The data's bar length: the median distance between consecutive open times."""
    if len(ts) < 2:
        return 0
    gaps = np.diff(ts)
    if (gaps == gaps[0]).all():  # the usual case, at a third of the median's cost
        return int(gaps[0])
    return int(np.median(gaps))


def bar_returns(equity: FloatArray, initial: float) -> FloatArray:
    prev = np.empty_like(equity)
    if len(equity):
        prev[0] = initial
        prev[1:] = equity[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return equity / prev - 1.0


def _ratio(a: float, b: float) -> float:
    """``a / b``; +-inf when only ``b`` is 0 (profits and no losses), NaN when both are."""
    if math.isnan(a) or math.isnan(b):
        return nan
    if b == 0.0:
        return nan if a == 0.0 else math.copysign(math.inf, a)
    return a / b


def _growth(final: float, initial: float, exponent: float) -> float:
    """Compound growth rate of ``final / initial`` over a year of ``exponent`` periods."""
    if not math.isfinite(exponent):
        return nan
    if final <= 0.0:
        return -1.0
    try:
        return float((final / initial) ** exponent - 1.0)
    except OverflowError:
        return math.inf


def _tail(returns: FloatArray) -> tuple[float, float]:
    """Historical VaR and CVaR at 95%: the k-th smallest return with k = ceil(5% of n),
    and the mean of the k smallest."""
    r = returns[np.isfinite(returns)]
    n = len(r)
    if not n:
        return nan, nan
    k = max(1, math.ceil((1.0 - VAR_LEVEL) * n - 1e-9))
    # select among the losses only where possible: numpy's introselect slows down 20x
    # on the mass of exact zeros that the bars without a position give
    losses = r[r < 0.0]
    if len(losses) >= k:
        smallest = np.partition(losses, k - 1)[:k]
    else:
        zeros = min(int(np.count_nonzero(r == 0.0)), k - len(losses))
        gains = r[r > 0.0]
        rest = k - len(losses) - zeros
        smallest = np.concatenate(
            [losses, np.zeros(zeros), np.partition(gains, rest - 1)[:rest] if rest else []]
        )
    return float(smallest.max()), float(smallest.mean())


def equity_metrics(
    equity: FloatArray, dd: FloatArray, position: FloatArray, close: FloatArray, ts: IntArray, initial: float
) -> dict[str, float | int]:
    n = len(equity)
    bar_ms = bar_spacing_ms(ts)
    ppy = YEAR_MS / bar_ms if bar_ms > 0 else nan
    final = float(equity[-1]) if n else initial
    r = bar_returns(equity, initial)
    mean = float(r.mean()) if n else nan
    std = float(r.std(ddof=1)) if n > 1 else nan
    downside = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2))) if n else nan
    gains = float(r[r > 0].sum())
    losses = float(-r[r < 0].sum())
    elapsed = float(ts[-1] - ts[0] + bar_ms) if n else 0.0
    cagr = _growth(final, initial, YEAR_MS / elapsed) if elapsed > 0 else nan
    eps = episodes(dd)
    durations = ts[eps.end_bar] - ts[eps.start_bar] if len(eps) else np.zeros(0, dtype=np.int64)
    max_dd = float(dd.min()) if n else 0.0
    var, cvar = _tail(r)
    sqrt_ppy = math.sqrt(ppy) if math.isfinite(ppy) else nan
    return {
        "initial_equity": initial,
        "final_equity": final,
        "peak_equity": max(initial, float(equity.max())) if n else initial,
        "total_return": final / initial - 1.0,
        "annualised_return": _growth(final, initial, ppy / n) if n else nan,
        "cagr": cagr,
        "buy_hold_return": float(close[-1] / close[0] - 1.0) if n else nan,
        "volatility": std * sqrt_ppy,
        "sharpe": _ratio(mean, std) * sqrt_ppy,
        "sortino": _ratio(mean, downside) * sqrt_ppy,
        "calmar": _ratio(cagr, -max_dd) if max_dd < 0.0 else nan,
        "omega": _ratio(gains, losses) if n else nan,
        "max_drawdown": max_dd,
        "max_drawdown_bars": int((eps.end_bar - eps.start_bar).max()) if len(eps) else 0,
        "max_drawdown_ms": int(durations.max()) if len(eps) else 0,
        "avg_drawdown": float(eps.depth.mean()) if len(eps) else 0.0,
        "avg_drawdown_ms": float(durations.mean()) if len(eps) else 0.0,
        "var_95": var,
        "cvar_95": cvar,
        "exposure": float(np.count_nonzero(position) / n) if n else nan,
        "bar_ms": bar_ms,
        "periods_per_year": ppy,
    }


def trade_metrics(trades: TradeTable, fees_paid: float) -> dict[str, float | int]:
    n = len(trades)
    pnl = trades["pnl"]
    ret = trades["return_pct"]
    bars = trades["bars"]
    ms = trades["exit_ts"] - trades["entry_ts"]
    wins = pnl[pnl > 0]
    losses = pnl[pnl < 0]
    win_rate = len(wins) / n if n else nan
    avg_win = float(wins.mean()) if len(wins) else nan
    avg_loss = float(-losses.mean()) if len(losses) else nan
    std = float(pnl.std(ddof=1)) if n > 1 else nan
    return {
        "trades": n,
        "win_rate": win_rate,
        "best_trade": float(ret.max()) if n else nan,
        "worst_trade": float(ret.min()) if n else nan,
        "avg_trade": float(ret.mean()) if n else nan,
        "avg_trade_bars": float(bars.mean()) if n else nan,
        "max_trade_bars": int(bars.max()) if n else 0,
        "avg_trade_ms": float(ms.mean()) if n else nan,
        "max_trade_ms": int(ms.max()) if n else 0,
        "profit_factor": _ratio(float(wins.sum()), float(-losses.sum())) if n else nan,
        "expectancy": float(pnl.mean()) if n else nan,
        "sqn": math.sqrt(n) * _ratio(float(pnl.mean()), std) if n > 1 else nan,
        "kelly": win_rate - (1.0 - win_rate) / (avg_win / avg_loss) if len(wins) and len(losses) else nan,
        "avg_mae": float(trades["mae"].mean()) if n else nan,
        "avg_mfe": float(trades["mfe"].mean()) if n else nan,
        "fees_paid": fees_paid,
    }


def compute_metrics(
    *,
    equity: FloatArray,
    drawdown: FloatArray,
    position: FloatArray,
    close: FloatArray,
    ts: IntArray,
    initial: float,
    trades: TradeTable,
    fees_paid: float,
) -> Metrics:
    values = equity_metrics(equity, drawdown, position, close, ts, initial)
    values.update(trade_metrics(trades, fees_paid))
    return Metrics(**values)  # type: ignore[arg-type]
