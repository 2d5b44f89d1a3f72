"""What the data manager's buttons do, as jobs for its ``JobRunner``: each is
a coroutine that returns the sentence shown when it succeeds and raises a
``TerminalError`` (shown in plain words) when it cannot.

Network work (downloads) awaits on the event loop; store and file work runs
in worker threads through the runner, which can stop them between steps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from terminal.errors import CsvExportError
from terminal.market.history_sources import HistorySources
from terminal.market.history_sync import HistorySync, SyncProgress, SyncResult
from terminal.marketdata.timeframes import timeframe_ms
from terminal.store import csv_io
from terminal.store.candles import CandleStore, SeriesKey
from terminal.store.sync_records import SyncRecords
from terminal.store.timeframe_builder import build_timeframe
from terminal.ui.data.download_dialog import DownloadRequest
from terminal.ui.data.long_job import JobRunner
from terminal.ui.data.model import series_title
from terminal.ui.data.series_dialogs import BuildRequest, DeleteRequest, ExportRequest

#: told of each download step: the series and its sync column's text
StatusSink = Callable[[SeriesKey, str], None]


def _candles(n: int) -> str:
    return f"{n:,} candle" if n == 1 else f"{n:,} candles"


def sync_message(what: str, key: SeriesKey, result: SyncResult) -> str:
    """One sentence about a finished download."""
    title = series_title(key)
    if not result.missing_before:
        return f"{title}: nothing was missing, nothing to download."
    requests = "request" if result.requests == 1 else "requests"
    parts = [f"{what} {_candles(result.written)} of {title} in {result.requests:,} {requests}"]
    if result.no_trade:
        step = timeframe_ms(key.timeframe)
        quiet = sum((end - start) // step for start, end in result.no_trade)
        parts.append(f"{_candles(quiet)} confirmed without trading")
    if result.rejected:
        parts.append(f"{_candles(result.rejected)} refused by the checks (reasons in the log)")
    return "; ".join(parts) + "."


class DataJobs:
    def __init__(
        self, store: CandleStore, sources: HistorySources, runner: JobRunner, status: StatusSink
    ) -> None:
        self.store = store
        self.sources = sources
        self.runner = runner
        self.status = status

    # -- downloads ----------------------------------------------------------------------------
    def _progress(self, key: SeriesKey) -> Callable[[SyncProgress], None]:
        title = series_title(key)

        def report(p: SyncProgress) -> None:
            self.runner.progress(p.fraction, f"Downloading {title}: {p.done:,} of {_candles(p.total)}")
            self.status(key, f"downloading {round(p.fraction * 100)}%")

        return report

    def _resumable(self, key: SeriesKey) -> None:
        self.runner.cancel_note = (
            f"Download of {series_title(key)} cancelled. The candles it stored stay; Resume continues it."
        )

    async def download(self, request: DownloadRequest) -> str:
        key = request.key
        self._resumable(key)
        async with self.sources.source(key.exchange) as source:
            sync = HistorySync(source, self.store, key.exchange)
            result = await sync.download(
                key.symbol, key.timeframe, request.start_ms, request.end_ms, progress=self._progress(key)
            )
        return sync_message("Downloaded", key, result)

    async def fill_gaps(self, key: SeriesKey) -> str:
        self._resumable(key)
        async with self.sources.source(key.exchange) as source:
            sync = HistorySync(source, self.store, key.exchange)
            result = await sync.fill_gaps(key.symbol, key.timeframe, progress=self._progress(key))
        return sync_message("Filled gaps with", key, result)

    async def resume(self, key: SeriesKey) -> str:
        self._resumable(key)
        records = await asyncio.to_thread(SyncRecords(self.store).all)
        unfinished = [r for r in records if r.key == key and r.unfinished]
        if not unfinished:
            return f"{series_title(key)}: no download to resume."
        total = SyncResult()
        async with self.sources.source(key.exchange) as source:
            sync = HistorySync(source, self.store, key.exchange)
            for record in sorted(unfinished, key=lambda r: r.updated_ms):
                part = await sync.resume(
                    key.symbol, key.timeframe, record.direction, progress=self._progress(key)
                )
                total.add(part)
        return sync_message("Resumed: downloaded", key, total)

    # -- the store ---------------------------------------------------------------------------
    async def count(self, key: SeriesKey, start_ms: int, end_ms: int) -> int:
        """Candles of ``key`` opening in [start_ms, end_ms) (for the delete confirmation)."""
        candles = await asyncio.to_thread(self.store.read, *_parts(key), start_ms, end_ms)
        return len(candles)

    async def delete(self, request: DeleteRequest) -> str:
        key = request.key
        with self.runner.uncancellable(f"Deleting {_candles(request.candles)} of {series_title(key)}…"):
            removed = await self.runner.in_worker(
                self.store.delete, *_parts(key), request.start_ms, request.end_ms
            )
        return f"Deleted {_candles(removed)} of {series_title(key)}."

    async def build(self, request: BuildRequest) -> str:
        key = SeriesKey(request.exchange, request.symbol, request.to_tf)
        progress = self.runner.thread_progress(f"Building {series_title(key)} from {request.from_tf}…")
        self.runner.cancel_note = (
            f"Building {series_title(key)} cancelled. The candles built so far are stored and correct."
        )
        written = await self.runner.in_worker(
            build_timeframe, self.store, request.exchange, request.symbol, request.from_tf, request.to_tf,
            request.start_ms, request.end_ms, progress=progress,
        )  # fmt: skip
        if not written:
            return (
                f"No {request.to_tf} candle could be built: no {request.from_tf} period of "
                f"{request.exchange} {request.symbol} has ended in that range."
            )
        return f"Built {_candles(written)} of {series_title(key)} from {request.from_tf} candles."

    async def export(self, request: ExportRequest) -> str:
        key, path = request.key, request.path
        self.runner.cancel_note = f"Export cancelled. {path.name} was not written."
        self.runner.progress(None, f"Reading {series_title(key)}…")
        candles = await self.runner.in_worker(self.store.read, *_parts(key), request.start_ms, request.end_ms)
        if not len(candles):
            raise CsvExportError(
                f"There are no candles of {series_title(key)} in that range.",
                hint="No file was written.",
                path=str(path),
            )
        progress = self.runner.thread_progress(f"Writing {path.name}…")
        await self.runner.in_worker(csv_io.write, path, candles, progress=progress)
        return f"Exported {_candles(len(candles))} of {series_title(key)} to {path}."


def _parts(key: SeriesKey) -> tuple[str, str, str]:
    return key.exchange, key.symbol, key.timeframe
