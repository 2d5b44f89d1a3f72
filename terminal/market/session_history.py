"""A session's history downloads: filling the chart's window from the
exchange into the local store when a symbol opens, older candles when the
chart scrolls to its oldest one, progress for the status bar and cancel.

A mixin of ``MarketSession`` (``terminal.market.session``): it uses the
session's series, store and task bookkeeping, declared below for the type
checker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any

from terminal.errors import describe
from terminal.market.history_loader import HistoryStore, history_window, merge_closed
from terminal.market.source import ExchangeSource
from terminal.market.topics import Topic
from terminal.marketdata.candles import OHLCV, CandleSeries
from terminal.tasks import TaskGroup

if TYPE_CHECKING:
    from terminal.market.history_sync import HistorySync, SyncProgress

log = logging.getLogger(__name__)

HISTORY = "history"  # the session's task slot of the download
OLDER_CANDLES = 5_000  # chart candles added per scroll back past the oldest one


class HistoryDownloads:
    """At most one download at a time per session; a switch of symbol stops it."""

    # the session's, used here
    source: ExchangeSource
    store: HistoryStore | None
    store_name: str
    symbol: str
    timeframe: str
    max_history: int
    candles: CandleSeries
    _fine: CandleSeries | None
    _fine_tf: str
    _tasks: TaskGroup  # the download runs in its HISTORY slot, which a switch of symbol stops
    # this part's own (set in the session's __init__)
    sync_progress: SyncProgress | None
    history_start_reached: bool

    if TYPE_CHECKING:

        def _notify(self, topic: Topic) -> None: ...

    @property
    def fetch_timeframe(self) -> str:
        """The timeframe fetched and stored for the chart (finer when built from it)."""
        return self._fine_tf if self._fine is not None else self.timeframe

    @property
    def history_download(self) -> asyncio.Task[None] | None:
        """The history download running for the chart, if any."""
        task = self._tasks.running(HISTORY)
        return task if task is not None and not task.done() else None

    def history_sync(self) -> HistorySync | None:
        if self.store is None:
            return None
        from terminal.market.history_sync import HistorySync

        return HistorySync(self.source, self.store, self.store_name)

    def request_older(self) -> asyncio.Task[None] | None:
        """Extend the chart into the past (the user scrolled to its oldest
        candle): from disk first, then from the exchange. None when there is
        nothing older, no store, or a download is already running."""
        if self.store is None or not len(self.candles) or self.history_start_reached:
            return None
        return self._start_history(self._load_older(), "loading older history")

    def cancel_sync(self) -> bool:
        """Stop the running history download; what it stored stays, and the
        next open (or scroll back) fetches only the rest."""
        task = self.history_download
        if task is None:
            return False
        task.cancel()  # it keeps its slot until it has let go: a new download waits for that
        log.info("History download of %s cancelled; it resumes where it stopped next time.", self.symbol)
        return True

    def _start_history(self, work: Coroutine[Any, Any, None], what: str) -> asyncio.Task[None] | None:
        if self.history_download is not None:
            work.close()
            return None
        return self._tasks.spawn(self._history_job(work, what), name=what, key=HISTORY)

    async def _history_job(self, work: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            self.sync_progress = None
            self._notify(Topic.SYNC)
            raise
        except Exception as exc:  # noqa: BLE001 - background work: report on screen and in the log
            log.warning("%s %s failed: %s", what, self.symbol, describe(exc, detailed=True))
            p = self.sync_progress
            done, total = (p.done, p.total) if p is not None else (0, 0)
            from terminal.market.history_sync import SyncProgress

            self.sync_progress = SyncProgress(
                self.symbol, self.fetch_timeframe, done, total, f"stopped: {describe(exc)}"
            )
        else:
            self.sync_progress = None
        self._notify(Topic.SYNC)

    def _on_sync_progress(self, progress: SyncProgress) -> None:
        self.sync_progress = progress
        self._notify(Topic.SYNC)

    def _merge_page(self, series: CandleSeries, page: OHLCV) -> None:
        """Closed candles downloaded or read from disk join the chart's series
        (if it is still the one on screen)."""
        if series is not self.candles or not len(page):
            return
        merge_closed(self.candles, self._fine, page)
        self._notify(Topic.CANDLES_CORRECTED)

    async def _fill_window(self) -> None:
        """Download what the chart's window lacks, the newest first."""
        sync = self.history_sync()
        assert sync is not None
        fetch_tf, window_start = history_window(self.source, self.timeframe, self.max_history)
        await sync.download(
            self.symbol, fetch_tf, window_start, None,
            direction="forward", newest_first=True,
            progress=self._on_sync_progress, on_page=partial(self._merge_page, self.candles),
        )  # fmt: skip

    async def _load_older(self) -> None:
        sync = self.history_sync()
        assert sync is not None
        series, fetch_tf = self._fine or self.candles, self.fetch_timeframe
        step = series.timeframe_ms
        first = int(series.ts[0])
        count = OLDER_CANDLES * (self.candles.timeframe_ms // step)
        listed = await asyncio.to_thread(sync.records.listed_since, self.store_name, self.symbol)
        if listed is not None and first <= listed:
            self.history_start_reached = True
            self._notify(Topic.SYNC)
            return
        start = max(first - count * step, listed or first - count * step)
        merge = partial(self._merge_page, self.candles)
        assert self.store is not None
        merge(await asyncio.to_thread(self.store.read, self.store_name, self.symbol, fetch_tf, start, first))
        await sync.download(
            self.symbol, fetch_tf, start, first, direction="backward", newest_first=True,
            progress=self._on_sync_progress, on_page=merge,
        )  # fmt: skip
        listed = await asyncio.to_thread(sync.records.listed_since, self.store_name, self.symbol)
        now_first = int((self._fine or self.candles).ts[0])
        if now_first >= first or (listed is not None and now_first <= listed):
            # nothing older came (the exchange has none, or none it will give)
            self.history_start_reached = True
