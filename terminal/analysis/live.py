"""An indicator's values over a live candle series, kept current at the cost of its
last bars.

``compute`` works over the whole history once (adding the indicator, a new symbol,
older history loaded). ``update`` follows the live end: the forming candle changed
or new candles opened. It recomputes only the bars from the last one it holds on,
over a tail of the history long enough for each kind of indicator
(``catalogue.Streaming``):

* WINDOW: a bar's value depends on the last ``lookback`` bars only: exactly the
  batch value.
* DECAY: exponential smoothing. Started ``64 x lookback`` bars back, the start's
  weight has decayed below 1e-13 of the value (Wilder's (1 - 1/n)^(64n) < e^-64).
* SESSION (VWAP): from the first bar of the day: exact.
* CUMULATIVE (OBV): the last closed total plus the new bars' signed volumes.
* STATE: SAR through TA-Lib's streaming handle (its ``peek`` equals its batch
  value), SuperTrend continued from the last closed bar's bands and trend.

So an update costs the same at 10,000 and 1,000,000 candles. The columns grow
like the candle series (amortised O(1) per new candle).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from terminal.analysis.catalogue import IndicatorSpec, Streaming
from terminal.backtest import indicators as ind
from terminal.backtest.ta_indicators import SarStream, sar_stream
from terminal.marketdata.candles import OHLCV, CandleSeries

FloatArray = NDArray[np.float64]
DAY_MS = 86_400_000
DECAY_TAIL = 64  # lookbacks of history behind a DECAY indicator's recomputed bars
SAR_LEAST = 3  # candles TA-Lib's SAR handle needs (two closed, one forming)


def view(series: CandleSeries, start: int = 0, stop: int | None = None) -> OHLCV:
    """Candles [start, stop) of ``series`` as views, not copies."""
    stop = len(series) if stop is None else stop
    return OHLCV(
        series.ts[start:stop],
        series.open[start:stop],
        series.high[start:stop],
        series.low[start:stop],
        series.close[start:stop],
        series.volume[start:stop],
    )


class LiveIndicator:
    """One indicator (its spec and checked parameters) over one candle series."""

    def __init__(self, spec: IndicatorSpec, params: dict[str, float | int]) -> None:
        self.spec = spec
        self.params = spec.checked(params)
        self.lookback = max(1, spec.lookback(self.params))
        self._rows = len(spec.lines) + spec.hidden
        self._buf = np.empty((self._rows, 0))
        self._n = 0
        self._sar: SarStream | None = None

    def __len__(self) -> int:
        return self._n

    def line(self, i: int) -> FloatArray:
        """Drawn output ``i`` (the spec's ``lines[i]``), one value per candle."""
        return self._buf[i, : self._n]

    def values_at(self, index: int) -> tuple[float, ...]:
        return tuple(float(self._buf[i, index]) for i in range(len(self.spec.lines)))

    # -- computing -------------------------------------------------------------------
    def compute(self, series: CandleSeries) -> None:
        """Every bar afresh."""
        n = len(series)
        self._reserve(n, exact=True)
        if self.spec.key == "SAR" and n < SAR_LEAST:  # too few for TA-Lib's handle: nothing yet
            self._sar = None
            self._buf[:, :n] = np.nan
        elif self.spec.key == "SAR":
            self._sar, closed = sar_stream(series.high[:-1], series.low[:-1], *self._sar_args())
            self._buf[0, : n - 1] = closed
            self._buf[0, n - 1] = self._sar.peek(float(series.high[-1]), float(series.low[-1]))
        elif n:
            for i, out in enumerate(self.spec.compute(view(series), self.params)):
                self._buf[i, :n] = out
        self._n = n

    def update(self, series: CandleSeries) -> None:
        """The live end changed: the last bar held and any bars after it, from a tail."""
        n = len(series)
        if self._n == 0 or n < self._n:
            self.compute(series)
            return
        start = self._n - 1  # the bar that was forming: it may have changed or closed
        self._reserve(n)
        kind = self.spec.streaming
        if kind is Streaming.STATE:
            self._continue(series, start, n)
        elif kind is Streaming.CUMULATIVE and start > 0:
            base = self._buf[:, start - 1].copy()
            outs = self.spec.compute(view(series, start - 1, n), self.params)
            for i, out in enumerate(outs):
                self._buf[i, start:n] = base[i] + (out[1:] - out[0])
        else:
            begin = self._tail_start(series, start)
            outs = self.spec.compute(view(series, begin, n), self.params)
            for i, out in enumerate(outs):
                self._buf[i, start:n] = out[start - begin :]
        self._n = n

    def _tail_start(self, series: CandleSeries, start: int) -> int:
        kind = self.spec.streaming
        if kind is Streaming.SESSION:
            day = int(series.ts[start]) // DAY_MS * DAY_MS
            return int(np.searchsorted(series.ts, day, side="left"))
        span = self.lookback * 2 + 8 if kind is Streaming.WINDOW else self.lookback * DECAY_TAIL + 64
        return max(0, start - span)

    def _continue(self, series: CandleSeries, start: int, n: int) -> None:
        """SAR and SuperTrend: on from the last closed bar's state."""
        h, lo = series.high, series.low
        if self.spec.key == "SAR":
            if self._sar is None:  # a young market: afresh until there are enough candles
                self.compute(series)
                return
            for i in range(start, n - 1):  # bars that closed since
                self._buf[0, i] = self._sar.close(float(h[i]), float(lo[i]))
            self._buf[0, n - 1] = self._sar.peek(float(h[n - 1]), float(lo[n - 1]))
            return
        period, k = int(self.params["period"]), float(self.params["k"])
        begin = max(0, start - period * DECAY_TAIL - 64)
        atr = ind.atr(h[begin:n], lo[begin:n], series.close[begin:n], period)[start - begin :]
        state = None
        if start > 0:
            lower, upper, trend = (float(self._buf[r, start - 1]) for r in (1, 2, 3))
            state = (lower, upper, trend, float(series.close[start - 1]))
        rows = ind.supertrend_rows(h[start:n], lo[start:n], series.close[start:n], atr, k, state)
        self._buf[0, start:n] = rows[3]
        self._buf[1:4, start:n] = rows[0:3]

    def _sar_args(self) -> tuple[float, float]:
        return float(self.params["step"]), float(self.params["max"])

    def _reserve(self, n: int, exact: bool = False) -> None:
        if self._buf.shape[1] >= n and not (exact and self._buf.shape[1] > 2 * n + 1024):
            return
        # empty, not NaN-filled: only [:n] is ever read, and the spare columns are then never
        # touched (a million candles' NaN fill cost a new pane 1-4 ms, its memory faulted in)
        grown = np.empty((self._rows, max(1024, int(n * 1.25) + 16)))
        keep = min(self._n, n)
        grown[:, :keep] = self._buf[:, :keep]
        self._buf = grown
