"""Which candles a run uses: a series stored in the history file, or the
candles the chart holds, and a range of it.

The chart's candles are always offered: on the built-in simulated market they
are the only candles there are (its history is new each start and never
stored). Stored series come from ``CandleStore.coverage()``, read by the
panel off the GUI thread and handed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QWidget

from terminal.marketdata.timeframes import timeframe_ms
from terminal.store.candles import Coverage, SeriesKey
from terminal.ui.backtest.formats import range_text
from terminal.ui.backtest.request import DataChoice
from terminal.ui.data.utc_time_edit import UtcTimeEdit
from terminal.ui.field_errors import FieldErrors
from terminal.ui.theme import DARK, Theme

CHART = "chart"


def item_id(key: SeriesKey) -> str:
    """A stored series' id in the list (combo boxes compare strings, not Python objects)."""
    return f"{key.exchange}\x1f{key.symbol}\x1f{key.timeframe}"


@dataclass(frozen=True)
class ChartCandles:
    """What the chart holds now (closed candles only)."""

    exchange: str
    symbol: str
    timeframe: str
    candles: int
    first_ms: int
    last_ms: int

    @property
    def key(self) -> SeriesKey:
        return SeriesKey(self.exchange, self.symbol, self.timeframe)


class DataPicker(QWidget):
    changed = Signal()

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.chart: ChartCandles | None = None
        self.stored: dict[SeriesKey, Coverage] = {}
        self.source = QComboBox(self)
        self.source.setObjectName("data_source")
        self.source.setToolTip("The chart's candles, or a series stored in the market history file")
        self.whole = QCheckBox("All of it", self)
        self.whole.setChecked(True)
        self.start = UtcTimeEdit(0, self)
        self.end = UtcTimeEdit(0, self)
        self.start.setToolTip("The first candle's open time (UTC)")
        self.end.setToolTip("Candles opening before this time (UTC)")
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        self.errors = FieldErrors(self, ("source", "range"), theme.down)
        # a long series name must not widen the form past its column
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(16)
        times = QWidget(self)
        row = QHBoxLayout(times)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.start, 1)
        row.addWidget(QLabel("to", times))
        row.addWidget(self.end, 1)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Candles", self.errors.under(self.source, "source"))
        form.addRow("Range", self.whole)
        form.addRow("", self.errors.under(times, "range"))
        form.addRow("", self.info)
        self.source.currentIndexChanged.connect(self._source_changed)
        self.whole.toggled.connect(self._whole_toggled)
        self.start.dateTimeChanged.connect(lambda _t: self._edited())
        self.end.dateTimeChanged.connect(lambda _t: self._edited())
        self._whole_toggled(True)
        self.set_theme(theme)

    # -- what there is ----------------------------------------------------------------------
    def set_chart(self, chart: ChartCandles | None) -> None:
        """The chart's market and candles now; the first item of the list."""
        old, self.chart = self.chart, chart
        index = self.source.findData(CHART)
        if chart is not None and old is not None and old.key == chart.key and index >= 0:
            # the same market with more candles: relabel, do not rebuild the list under the user
            self.source.setItemText(index, self._chart_text(chart))
            if self.source.currentIndex() == index and self.whole.isChecked():
                self._source_changed()
            return
        self._fill()

    @staticmethod
    def _chart_text(chart: ChartCandles) -> str:
        return f"Chart: {chart.exchange} {chart.symbol} {chart.timeframe} ({chart.candles:,} candles)"

    def set_coverage(self, coverage: list[Coverage]) -> None:
        self.stored = {c.key: c for c in coverage if c.candles}
        self._fill()

    def _fill(self) -> None:
        current = self.source.currentData()
        self.source.blockSignals(True)
        try:
            self.source.clear()
            chart = self.chart
            if chart is not None:
                self.source.addItem(self._chart_text(chart), CHART)
            for key, cov in sorted(self.stored.items(), key=lambda kv: (kv[0].exchange, kv[0].symbol)):
                self.source.addItem(
                    f"{key.exchange} {key.symbol} {key.timeframe} ({cov.candles:,} stored)", item_id(key)
                )
            index = self.source.findData(current) if current is not None else -1
            if index < 0 and chart is not None:
                # a stored series of the chart's market has more history than the chart
                index = max(self.source.findData(item_id(chart.key)), 0)
            self.source.setCurrentIndex(max(index, 0))
        finally:
            self.source.blockSignals(False)
        if self.source.currentData() != current:
            self._source_changed()
        else:
            self._describe()

    # -- choosing -------------------------------------------------------------------------------
    def select(self, key: SeriesKey | str) -> bool:
        """Pick the chart (``CHART``) or a stored series."""
        index = self.source.findData(key if isinstance(key, str) else item_id(key))
        if index >= 0:
            self.source.setCurrentIndex(index)
        return index >= 0

    def set_range(self, start_ms: int, end_ms: int) -> None:
        """Candles opening from ``start_ms`` until before ``end_ms`` (not "all of it")."""
        self.whole.blockSignals(True)
        self.whole.setChecked(False)
        self.whole.blockSignals(False)
        for edit, ms in ((self.start, start_ms), (self.end, end_ms)):
            edit.setEnabled(True)
            edit.blockSignals(True)
            edit.set_ms(ms)
            edit.blockSignals(False)
        self._edited()

    def key(self) -> SeriesKey | None:
        """The stored series chosen (None for the chart's candles)."""
        data = self.source.currentData()
        return next((k for k in self.stored if item_id(k) == data), None)

    def span(self) -> tuple[int, int] | None:
        """First open time and the end (after the last candle) of the source."""
        data = self.source.currentData()
        if data == CHART and self.chart is not None:
            return self.chart.first_ms, self.chart.last_ms + timeframe_ms(self.chart.timeframe)
        key = self.key()
        cov = self.stored.get(key) if key is not None else None
        if cov is None:
            return None
        return cov.first_ts, cov.last_ts + timeframe_ms(cov.key.timeframe)

    def _source_changed(self, *_: object) -> None:
        span = self.span()
        if span is not None:
            for edit, ms in ((self.start, span[0]), (self.end, span[1])):
                edit.blockSignals(True)
                edit.set_ms(ms)
                edit.blockSignals(False)
        self._edited()

    def _whole_toggled(self, on: bool) -> None:
        self.start.setEnabled(not on)
        self.end.setEnabled(not on)
        if on:
            self._source_changed()
        else:
            self._edited()

    def _edited(self) -> None:
        self._describe()
        self.choice()
        self.changed.emit()

    def _describe(self) -> None:
        span = self.span()
        data = self.source.currentData()
        if span is None:
            self.info.setText("No candles: open a chart, or download history in Market data (Ctrl+Shift+D).")
            return
        where = "the chart's closed candles" if data == CHART else "stored in the history file"
        self.info.setText(f"{range_text(*span)}, {where}.")

    def choice(self) -> DataChoice | None:
        """The data asked for, or None with the problem under its field."""
        self.errors.clear()
        data = self.source.currentData()
        if data is None or self.span() is None:
            self.errors.show("source", "There are no candles to test on.")
            return None
        start, end = (None, None) if self.whole.isChecked() else (self.start.ms(), self.end.ms())
        if start is not None and end is not None and end <= start:
            self.errors.show("range", "The end must come after the start.")
            return None
        if data == CHART:
            assert self.chart is not None
            c = self.chart
            return DataChoice(c.exchange, c.symbol, c.timeframe, True, start, end)
        key = self.key()
        assert key is not None  # span() found it
        return DataChoice(key.exchange, key.symbol, key.timeframe, False, start, end)

    def problem(self, name: str) -> str:
        return self.errors.text(name)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.errors.set_color(theme.down)
        self.info.setStyleSheet(f"color: {theme.muted};")
