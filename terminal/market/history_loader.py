"""Loading a chart's history: the local store first (when there is one),
then only what is missing from the exchange, in its pages; higher timeframes
the exchange lacks are built from the finer ones it has."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from terminal.market.source import ExchangeSource
from terminal.marketdata.candles import OHLCV, CandleSeries
from terminal.marketdata.resample import resample
from terminal.marketdata.timeframes import source_timeframe, timeframe_ms

if TYPE_CHECKING:
    from terminal.store.candles import CandleStore

log = logging.getLogger(__name__)

OHLCV_PAGE = 1000
MAX_FINE_CANDLES = 500_000  # cap when building a timeframe from a finer one
DISK_CANDLES = 1_000_000  # the most candles a chart reads from the local history on open

#: chart candles, the finer series they are built from (or None), and its timeframe
LoadedCandles = tuple[CandleSeries, CandleSeries | None, str]


#: the local history the session reads and fills
type HistoryStore = CandleStore  # evaluated lazily: the store loads only when used


def history_window(source: ExchangeSource, timeframe: str, max_history: int) -> tuple[str, int]:
    """The timeframe to fetch for a chart of ``timeframe`` (itself, or the
    finer one it is built from) and the open time the chart's history starts at."""
    fetch_tf = source_timeframe(timeframe, source.timeframes)
    fetch_ms = timeframe_ms(fetch_tf)
    wanted = min(max_history * (timeframe_ms(timeframe) // fetch_ms), MAX_FINE_CANDLES)
    now = source.milliseconds()
    return fetch_tf, now - now % fetch_ms - wanted * fetch_ms


async def load_history(
    source: ExchangeSource,
    symbol: str,
    timeframe: str,
    max_history: int,
    store: HistoryStore | None = None,
    store_name: str = "",
) -> LoadedCandles:
    """The chart's candles, and the finer series they are built from when
    the exchange lacks ``timeframe`` (else None).

    With a store, this returns as soon as there is something to show: the
    candles on disk, or (with none) the newest page from the exchange; the
    session then fills the rest in the background (``terminal.market.history_sync``).
    Without one, the whole window is fetched first."""
    fetch_tf, window_start = history_window(source, timeframe, max_history)
    if store is None:
        data = await _fetch_window(source, symbol, fetch_tf, window_start)
    else:
        name = store_name or source.id
        # Disk is cheap (a million candles read in ~20 ms): the chart shows all
        # it has up to DISK_CANDLES, however little the exchange is asked for.
        step = timeframe_ms(fetch_tf)
        disk_start = min(window_start, window_start - (DISK_CANDLES - max_history) * step)
        data = await asyncio.to_thread(store.read, name, symbol, fetch_tf, disk_start)
        if not len(data):
            from terminal.market.history_sync import HistorySync  # with a store only: keeps start-up light

            sync = HistorySync(source, store, name)
            newest = max(window_start, sync.closed_end(fetch_tf) - sync.page * step)
            await sync.download(symbol, fetch_tf, newest, direction="forward")
            data = await asyncio.to_thread(store.read, name, symbol, fetch_tf, window_start)
        log.info("%s %s: %d candles from disk", symbol, fetch_tf, len(data))
    return build(data, timeframe, fetch_tf)


def build(data: OHLCV, timeframe: str, fetch_tf: str) -> LoadedCandles:
    """Chart candles of ``timeframe`` from ``data`` of ``fetch_tf``."""
    fine: CandleSeries | None = None
    if fetch_tf != timeframe:
        fine = CandleSeries(timeframe_ms(fetch_tf))
        fine.replace(data)
        data = resample(data, timeframe_ms(timeframe))
    candles = CandleSeries(timeframe_ms(timeframe))
    candles.replace(data)
    return candles, fine, fetch_tf


def merge_closed(candles: CandleSeries, fine: CandleSeries | None, data: OHLCV) -> None:
    """Merge closed candles of the fetched timeframe (a downloaded page,
    older history) into the chart's series, rebuilding the chart's candles
    when they are made from finer ones."""
    if fine is None:
        candles.merge(data)
        return
    fine.merge(data)
    # the chart candles the new ones fall in, rebuilt from all their finer candles
    step = candles.timeframe_ms
    lo = int(fine.ts.searchsorted(int(data.ts[0]) - int(data.ts[0]) % step))
    last = int(data.ts[-1])
    hi = int(fine.ts.searchsorted(last - last % step + step))
    candles.merge(resample(fine.copy(lo, hi), step))


async def _fetch_window(source: ExchangeSource, symbol: str, fetch_tf: str, window_start: int) -> OHLCV:
    """Every candle from ``window_start`` to now, in the exchange's pages."""
    fetch_ms = timeframe_ms(fetch_tf)
    now = source.milliseconds()
    wanted = max(1, (now - window_start) // fetch_ms)
    since = window_start
    rows: list[list[float]] = []
    for _ in range(wanted // OHLCV_PAGE + 10):  # bounded, whatever the exchange answers
        page = await source.fetch_ohlcv(symbol, fetch_tf, since=since, limit=OHLCV_PAGE)
        if rows:
            page = [r for r in page if r[0] > rows[-1][0]]
        if not page:
            break  # nothing newer: we have everything there is
        rows.extend(page)
        since = int(page[-1][0]) + fetch_ms
        if page[-1][0] >= now - fetch_ms:
            break  # the page reached the live candle
    return OHLCV.from_rows(rows[-wanted:])
