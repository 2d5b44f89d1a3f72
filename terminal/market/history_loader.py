"""Loading a chart's history: the local store first (when there is one),
then only what is missing from the exchange, in its pages; higher timeframes
the exchange lacks are built from the finer ones it has."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from terminal.market.candles import OHLCV, CandleSeries
from terminal.market.resample import resample
from terminal.market.source import ExchangeSource
from terminal.market.timeframes import source_timeframe, timeframe_ms

log = logging.getLogger(__name__)

OHLCV_PAGE = 1000
MAX_FINE_CANDLES = 500_000  # cap when building a timeframe from a finer one

#: chart candles, the finer series they are built from (or None), and its timeframe
LoadedCandles = tuple[CandleSeries, CandleSeries | None, str]


class HistoryStore(Protocol):
    """What the session needs of the local history (terminal.store.CandleStore)."""

    def read(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> OHLCV: ...

    def write(self, exchange: str, symbol: str, timeframe: str, candles: OHLCV) -> int: ...

    def close(self) -> None: ...


async def load_history(
    source: ExchangeSource,
    symbol: str,
    timeframe: str,
    max_history: int,
    store: HistoryStore | None = None,
    store_name: str = "",
) -> LoadedCandles:
    """The chart's candles, and the finer series they are built from when
    the exchange lacks ``timeframe`` (else None)."""
    fetch_tf = source_timeframe(timeframe, source.timeframes)
    fetch_ms = timeframe_ms(fetch_tf)
    target_ms = timeframe_ms(timeframe)
    wanted = min(max_history * (target_ms // fetch_ms), MAX_FINE_CANDLES)
    now = source.milliseconds()
    window_start = now - wanted * fetch_ms
    since = window_start
    local = OHLCV.empty()
    if store is not None:
        # What is on disk comes first; only what is missing since is fetched
        # (from the last stored candle on, which may have closed since).
        local = await asyncio.to_thread(store.read, store_name, symbol, fetch_tf, window_start)
        if len(local):
            since = int(local.ts[-1])
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
    data = OHLCV.from_rows(rows[-wanted:])
    if store is not None:
        from terminal.store.validation import validate  # only with a store: keeps start-up light

        checked = validate(data, fetch_tf)
        if checked.rejected_count:
            log.warning("%s %s from %s: %s", symbol, fetch_tf, source.name, checked.summary())
        await asyncio.to_thread(store.write, store_name, symbol, fetch_tf, checked.good)
        data = await asyncio.to_thread(store.read, store_name, symbol, fetch_tf, window_start)
        log.info(
            "%s %s: %d candles on disk, %d fetched from %s",
            symbol, fetch_tf, len(local), len(checked.good), source.name,
        )  # fmt: skip
    fine: CandleSeries | None = None
    if fetch_tf != timeframe:
        fine = CandleSeries(fetch_ms)
        fine.replace(data)
        data = resample(data, target_ms)
    candles = CandleSeries(target_ms)
    candles.replace(data)
    return candles, fine, fetch_tf
