"""The data manager's tables: stored series with their coverage, and the gaps
of the series selected. Cells only; everything they show is computed off the
GUI thread (``terminal.store.series_report``) and handed in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor

from terminal.marketdata.timeframes import TIMEFRAMES
from terminal.store.candles import Coverage, SeriesKey
from terminal.store.gaps import Gap
from terminal.store.series_report import SeriesGaps, latest_record, sync_status
from terminal.store.sync_records import SyncRecord
from terminal.ui.table_model import HeaderedTableModel, ModelIndex
from terminal.ui.theme import DARK, Theme

PENDING = "…"  # a figure still being worked out
NONE = "–"

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


def utc_text(ms: int) -> str:
    """ "2024-01-31 13:45" for an epoch-ms time, in UTC (as candles are aligned)."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")


def size_text(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{n:,} bytes" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def series_title(key: SeriesKey) -> str:
    return f"{key.exchange} {key.symbol} {key.timeframe}"


@dataclass(frozen=True)
class SeriesRow:
    """One stored series as the table shows it. ``coverage`` is None for a
    series with a download on record but no candle yet; ``gaps`` is None until
    worked out; ``status`` is the sync column's text."""

    key: SeriesKey
    coverage: Coverage | None
    record: SyncRecord | None
    status: str
    gaps: SeriesGaps | None = None

    @property
    def candles(self) -> int:
        return 0 if self.coverage is None else self.coverage.candles

    @property
    def resumable(self) -> bool:
        """A download stopped part way, and nothing is running it now (a
        window's own sync may be: its row is then fresh, "downloading")."""
        return (
            self.record is not None and self.record.unfinished and not self.status.startswith("downloading")
        )


def series_rows(coverage: list[Coverage], records: list[SyncRecord], now_ms: int) -> list[SeriesRow]:
    """A row per stored series and per series with a download on record (one
    cancelled before its first page has no candle yet, but can be resumed);
    by exchange, symbol, then timeframe, shortest first (1m before 1h)."""
    by_key = {c.key: c for c in coverage}
    keys = sorted(
        {*by_key, *(r.key for r in records)},
        key=lambda k: (k.exchange, k.symbol, TIMEFRAMES.get(k.timeframe, 0)),
    )
    rows = []
    for key in keys:
        cov = by_key.get(key)
        record = latest_record([r for r in records if r.key == key])
        rows.append(SeriesRow(key, cov, record, sync_status(record, cov.first_ts if cov else None, now_ms)))
    return rows


def gaps_caption(row: SeriesRow | None) -> str:
    """The line above the gap list: what it lists, in a sentence."""
    if row is None:
        return "Select a series to list its gaps."
    title = series_title(row.key)
    if row.coverage is None:
        return f"{title}: no candle stored yet."
    gaps = row.gaps
    if gaps is None:
        return f"Looking for gaps in {title}…"
    if gaps.problem:
        return f"{title}: gaps cannot be counted: {gaps.problem}."
    stretches = "stretch" if len(gaps.no_trade) == 1 else "stretches"
    quiet = f"; {len(gaps.no_trade):,} {stretches} without trading" if gaps.no_trade else ""
    if not gaps.missing_gaps:
        return f"{title}: no gaps{quiet}."
    noun = "gap" if len(gaps.missing_gaps) == 1 else "gaps"
    return f"{title}: {len(gaps.missing_gaps):,} {noun}, {gaps.missing:,} candles missing{quiet}."


COVERAGE_HEADERS = (
    "Exchange",
    "Symbol",
    "Timeframe",
    "First (UTC)",
    "Last (UTC)",
    "Candles",
    "Gaps",
    "Missing",
    "Size",
    "Sync",
)
_NUMERIC = {5, 6, 7, 8}


class CoverageModel(HeaderedTableModel):
    headers = COVERAGE_HEADERS

    def __init__(self, theme: Theme = DARK, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.rows: list[SeriesRow] = []

    def row_total(self) -> int:
        return len(self.rows)

    def set_rows(self, rows: list[SeriesRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def row_of(self, key: SeriesKey) -> int:
        return next((i for i, row in enumerate(self.rows) if row.key == key), -1)

    def row_for(self, key: SeriesKey) -> SeriesRow | None:
        i = self.row_of(key)
        return self.rows[i] if i >= 0 else None

    def set_gaps(self, gaps: SeriesGaps) -> None:
        self._update(gaps.key, gaps=gaps)

    def set_status(self, key: SeriesKey, status: str) -> None:
        self._update(key, status=status)

    def _update(self, key: SeriesKey, **changes: Any) -> None:
        i = self.row_of(key)
        if i < 0:
            return
        self.rows[i] = replace(self.rows[i], **changes)
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.headers) - 1))

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column in _NUMERIC else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._color(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tip(row, column)
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None

    @staticmethod
    def cell(row: SeriesRow, column: int) -> str:
        key, cov, gaps = row.key, row.coverage, row.gaps
        if column < 3:
            return (key.exchange, key.symbol, key.timeframe)[column]
        if column == 9:
            return row.status
        if cov is None:
            return NONE if column != 5 else "0"
        if column == 3:
            return utc_text(cov.first_ts)
        if column == 4:
            return utc_text(cov.last_ts)
        if column == 5:
            return f"{cov.candles:,}"
        if column == 8:
            return size_text(cov.stored_bytes)
        if gaps is None:
            return PENDING
        if gaps.problem:
            return "?"
        return f"{len(gaps.missing_gaps):,}" if column == 6 else f"{gaps.missing:,}"

    def _color(self, row: SeriesRow, column: int) -> QColor | None:
        failed = column == 9 and row.status.startswith("failed")
        uncounted = column in (6, 7) and row.gaps is not None and bool(row.gaps.problem)
        if failed or uncounted:
            return QColor(self.theme.down)
        if column == 9 and row.resumable:
            return QColor(self.theme.accent)
        if column in (6, 7) and (row.gaps is None or not row.gaps.missing_gaps):
            return QColor(self.theme.muted)
        return None

    @staticmethod
    def _tip(row: SeriesRow, column: int) -> str | None:
        if column == 9 and row.record is not None:
            when = utc_text(row.record.updated_ms)
            return f"{row.record.direction} download, last heard of {when} UTC. {row.record.message}".strip()
        if column in (6, 7) and row.gaps is not None and row.gaps.problem:
            return f"Gaps cannot be counted: {row.gaps.problem}."
        if column in (6, 7) and row.gaps is not None and row.gaps.no_trade:
            quiet = sum(g.missing for g in row.gaps.no_trade)
            return (
                f"Not counted: {len(row.gaps.no_trade):,} stretches ({quiet:,} candles) "
                "the exchange confirmed had no trading."
            )
        return None


GAP_HEADERS = ("From (UTC)", "To (UTC)", "Candles", "What")


class GapsModel(HeaderedTableModel):
    """The holes of one series, oldest first: "From" is the open time of the
    first missing candle, "To" that of the last one."""

    headers = GAP_HEADERS

    def __init__(self, theme: Theme = DARK, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.rows: list[tuple[Gap, bool]] = []

    def row_total(self) -> int:
        return len(self.rows)

    def set_gaps(self, gaps: SeriesGaps | None) -> None:
        self.beginResetModel()
        self.rows = [] if gaps is None else gaps.listed()
        self.endResetModel()

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        gap, quiet = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return utc_text(gap.start_ms)
            if column == 1:
                return utc_text(gap.end_ms - gap.step_ms)
            if column == 2:
                return f"{gap.missing:,}"
            return "no trading" if quiet else "missing"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column == 2 else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole and quiet:
            return QColor(self.theme.muted)
        if role == Qt.ItemDataRole.ToolTipRole:
            if quiet:
                return "The exchange confirmed it has no candles here; it is not asked again."
            return "Not stored: Fill gaps downloads these candles."
        return None
