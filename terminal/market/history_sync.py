"""Downloading candle history from an exchange into the local store: only
what is missing, in the exchange's pages, validated, written page by page.

    sync = HistorySync(source, store, "binance")
    result = await sync.download("BTC/USDT", "1m", start_ms, end_ms, progress=show)
    result = await sync.fill_gaps("BTC/USDT", "1m")

What to fetch is worked out from the store itself: the gaps among the
candles expected in the range, minus the stretches the exchange already
confirmed it has nothing for. Each page is written in its own transaction as
it arrives and the download's row in ``sync_state`` moves its cursor on, so a
download that stops (cancel, crash, lost network) keeps every page it got and
the next run fetches only the rest.

When the exchange answers a request with candles that begin later than asked,
nothing traded in between (or the market did not exist yet): that stretch is
remembered in ``no_trade_gap`` and never asked for again, and a stretch before
the first candle the exchange has marks where the instrument's history starts
(so scrolling back stops there).

Transient failures (network, rate limit, timeout) are retried with back-off
a few times; then the download stops with status ``failed`` and the reason in
plain words, to be resumed later. Cancelling the task that runs it stops it
between pages, with status ``cancelled``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from terminal.errors import describe
from terminal.market.source import ExchangeSource
from terminal.marketdata.candles import OHLCV
from terminal.marketdata.timeframes import timeframe_ms
from terminal.retry import Backoff, retrying, transient
from terminal.store.candles import CandleStore, SeriesKey
from terminal.store.gaps import Gap, Range, find_gaps, subtract, total_missing
from terminal.store.sync_records import CANCELLED, DONE, FAILED, RUNNING, SyncRecords
from terminal.store.validation import validate

log = logging.getLogger(__name__)

OHLCV_PAGE = 1000  # candles per request (Binance's and most exchanges' maximum)
RETRIES = 5  # transient failures in a row before a download gives up


@dataclass(frozen=True)
class SyncProgress:
    """How far a download is: ``done`` of ``total`` missing candles dealt with
    (fetched, or found to have no trading)."""

    symbol: str
    timeframe: str
    done: int
    total: int
    message: str = ""

    @property
    def fraction(self) -> float:
        return 1.0 if self.total <= 0 else min(1.0, self.done / self.total)


@dataclass
class SyncResult:
    """What a download did."""

    requests: int = 0
    written: int = 0  # candles validated and written
    rejected: int = 0  # candles the validation refused (reasons in the log)
    missing_before: int = 0  # candles missing in the range when it started
    no_trade: list[Range] = field(default_factory=list)  # stretches confirmed empty

    def add(self, other: SyncResult) -> None:
        self.requests += other.requests
        self.written += other.written
        self.rejected += other.rejected
        self.missing_before += other.missing_before
        self.no_trade += other.no_trade


Progress = Callable[[SyncProgress], None]
PageWritten = Callable[[OHLCV], None]


class HistorySync:
    """Fills ``store`` with ``source``'s candles; ``store_name`` names the
    exchange in the store (several accounts of one exchange share its history)."""

    def __init__(
        self,
        source: ExchangeSource,
        store: CandleStore,
        store_name: str = "",
        *,
        page: int = OHLCV_PAGE,
        retries: int = RETRIES,
    ) -> None:
        self.source = source
        self.store = store
        self.store_name = store_name or source.id
        self.records = SyncRecords(store)
        self.page = page
        self.retries = retries

    def key(self, symbol: str, timeframe: str) -> SeriesKey:
        return SeriesKey(self.store_name, symbol, timeframe)

    def closed_end(self, timeframe: str) -> int:
        """Open time of the candle still forming: downloads stop before it
        (the live feed owns it until it closes)."""
        step = timeframe_ms(timeframe)
        now = self.source.milliseconds()
        return now - now % step

    # -- what is missing ------------------------------------------------------------
    def missing(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> list[Gap]:
        """The runs of candles in [start_ms, end_ms) that are neither stored nor
        known to have had no trading. Blocks: call from a worker thread."""
        key = self.key(symbol, timeframe)
        stored = self.store.read(self.store_name, symbol, timeframe, start_ms, end_ms)
        gaps = find_gaps(stored.ts, timeframe, start_ms, end_ms)
        return subtract(gaps, self.records.no_trade(key))

    # -- downloads ------------------------------------------------------------------
    async def download(
        self,
        symbol: str,
        timeframe: str,
        start_ms: int,
        end_ms: int | None = None,
        *,
        direction: str = "range",
        newest_first: bool = False,
        progress: Progress | None = None,
        on_page: PageWritten | None = None,
    ) -> SyncResult:
        """Fetch the missing candles with open times in [start_ms, end_ms)
        (``end_ms`` None: up to the candle still forming). ``on_page`` gets each
        page as written (validated, in the range); ``progress`` the count.
        ``newest_first`` fetches the most recent pages first (a chart wants the
        candles next to what it shows before older ones)."""
        end = self.closed_end(timeframe) if end_ms is None else min(end_ms, self.closed_end(timeframe))
        gaps = await asyncio.to_thread(self.missing, symbol, timeframe, start_ms, end)
        return await self._fetch_gaps(
            symbol, timeframe, gaps, end_ms, direction, newest_first, progress, on_page
        )

    async def fill_gaps(self, symbol: str, timeframe: str, *, progress: Progress | None = None) -> SyncResult:
        """Fetch the candles missing between the first and the last stored one."""
        stored = await asyncio.to_thread(self.store.coverage, self.store_name, symbol, timeframe)
        if not stored:
            return SyncResult()
        first, last = stored[0].first_ts, stored[0].last_ts
        return await self.download(symbol, timeframe, first, last, direction="gaps", progress=progress)

    async def resume(self, symbol: str, timeframe: str, direction: str, **kwargs: object) -> SyncResult:
        """Run an unfinished download again from its cursor (nothing if it finished)."""
        record = await asyncio.to_thread(self.records.get, self.key(symbol, timeframe), direction)
        if record is None or not record.unfinished:
            return SyncResult()
        return await self.download(
            symbol,
            timeframe,
            record.cursor_ms,
            record.target_ms,
            direction=direction,
            **kwargs,  # type: ignore[arg-type]
        )

    async def _fetch_gaps(
        self,
        symbol: str,
        timeframe: str,
        gaps: list[Gap],
        target_ms: int | None,
        direction: str,
        newest_first: bool,
        progress: Progress | None,
        on_page: PageWritten | None,
    ) -> SyncResult:
        result = SyncResult(missing_before=total_missing(gaps))
        if not gaps:
            return result
        key = self.key(symbol, timeframe)
        step = timeframe_ms(timeframe)
        done = 0

        def report(message: str = "") -> None:
            if progress is not None:
                progress(SyncProgress(symbol, timeframe, done, result.missing_before, message))

        async def mark(cursor: int, status: str, message: str = "") -> None:
            await asyncio.to_thread(
                self.records.save, key, direction,
                cursor_ms=cursor, target_ms=target_ms, status=status, message=message,
                done=done, total=result.missing_before,
            )  # fmt: skip

        # Newest first, the range is fetched in page-sized windows from its end
        # back (a chart then grows contiguously from what it shows); the row
        # keeps the range's start as its cursor, since what lies before the
        # current window is not stored yet. Oldest first, the cursor moves on.
        windows = [w for gap in gaps for w in _windows(gap, self.page * step)]
        if newest_first:
            windows.reverse()
        cursor = windows[0][0]
        resume_from = min(w[0] for w in windows)
        await mark(resume_from, RUNNING)
        report()
        try:
            for window_start, window_end in windows:
                cursor = window_start
                while cursor < window_end:
                    limit = max(1, min(self.page, -(-(window_end - cursor) // step)))
                    page = await self._page(symbol, timeframe, cursor, limit, result)
                    new_cursor = await self._store_page(
                        key, page, cursor, window_end, limit, step, result, on_page
                    )
                    done += (new_cursor - cursor) // step
                    cursor = new_cursor
                    if not newest_first:
                        resume_from = cursor
                    await mark(resume_from, RUNNING)
                    report()
        except asyncio.CancelledError:
            await asyncio.shield(mark(resume_from, CANCELLED, "Cancelled."))
            raise
        except Exception as exc:
            await mark(resume_from, FAILED, describe(exc))
            raise
        await mark(resume_from, DONE)
        report("done")
        log.info(
            "%s %s from %s: %d candles written in %d requests; %d rejected; %d confirmed without trading",
            symbol, timeframe, self.source.name, result.written, result.requests, result.rejected,
            sum((b - a) // step for a, b in result.no_trade),
        )  # fmt: skip
        return result

    async def _page(self, symbol: str, timeframe: str, cursor: int, limit: int, result: SyncResult) -> OHLCV:
        """``limit`` candles from ``cursor`` on (retrying transient failures)."""

        async def fetch() -> OHLCV:
            result.requests += 1
            return OHLCV.from_rows(
                await self.source.fetch_ohlcv(symbol, timeframe, since=cursor, limit=limit)
            )

        def report(exc: Exception, delay: float) -> None:
            log.warning("%s %s history: %s Retrying in %.1f s.", symbol, timeframe, describe(exc), delay)

        return await retrying(
            fetch, Backoff(jitter=True), retry_on=transient, attempts=self.retries + 1, on_retry=report
        )

    async def _store_page(
        self,
        key: SeriesKey,
        page: OHLCV,
        cursor: int,
        end: int,
        limit: int,
        step: int,
        result: SyncResult,
        on_page: PageWritten | None,
    ) -> int:
        """Validate and write the part of ``page`` in [cursor, end); remember
        what the exchange skipped. Returns the next cursor."""
        checked = validate(page, key.timeframe)
        if checked.rejected_count:
            result.rejected += checked.rejected_count
            log.warning("%s %s from %s: %s", key.symbol, key.timeframe, self.source.name, checked.summary())
        good = checked.good
        ts = good.ts
        lo = int(ts.searchsorted(cursor))
        hi = int(ts.searchsorted(end))
        if lo >= len(ts):
            # Nothing at or after the cursor: the window asked for is empty on the
            # exchange (it is in the past: downloads end before the forming
            # candle). Some exchanges answer only for that window, so the rest
            # of the range is still asked for.
            next_cursor = min(end, cursor + limit * step)
            skipped: list[Range] = [(cursor, next_cursor)]
            first_here = None
        else:
            first_here = int(ts[lo])
            skipped = [(cursor, min(first_here, end))] if first_here > cursor else []
            inside = good.slice(lo, hi)
            # holes between the candles it sent: the exchange has nothing there
            skipped += [g.range for g in find_gaps(inside.ts, key.timeframe)]
            if len(inside):
                await asyncio.to_thread(self.store.write, *_parts(key), inside)
                result.written += len(inside)
                if on_page is not None:
                    on_page(inside)
                next_cursor = int(inside.ts[-1]) + step
            else:
                next_cursor = end  # the next candle the exchange has is past the range
            if len(page) and next_cursor <= cursor:
                next_cursor = cursor + step  # never stall on a page that did not move on
        if skipped:
            # Keep the exchange's own holes on record, and the listing start when
            # nothing is stored before the first candle it has.
            result.no_trade += skipped
            await asyncio.to_thread(self.records.remember_no_trade, key, skipped)
            if first_here is not None:
                stored = await asyncio.to_thread(self.store.coverage, *_parts(key))
                if not stored or stored[0].first_ts >= cursor:
                    await asyncio.to_thread(self.records.set_listed_since, key, first_here)
        return next_cursor


def _windows(gap: Gap, span_ms: int) -> list[Range]:
    """``gap`` cut into windows of at most ``span_ms``, oldest first."""
    return [(t, min(t + span_ms, gap.end_ms)) for t in range(gap.start_ms, gap.end_ms, span_ms)]


def _parts(key: SeriesKey) -> tuple[str, str, str]:
    return key.exchange, key.symbol, key.timeframe
