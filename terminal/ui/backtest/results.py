"""One run on screen: what ran on what, the metrics, equity and drawdown, and
the trades (sortable; choosing one asks for the price chart to centre on it).

The view only shows; the panel does the work its buttons ask for (exports,
the chart's marks) and says how it went.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from terminal.backtest.report import quote_currency, settings_facts
from terminal.backtest.run_store import SavedRun
from terminal.backtest.settings import BacktestSettings
from terminal.marketdata.orderbook import decimals_for
from terminal.marketdata.timeframes import timeframe_ms
from terminal.ui.backtest.equity_plot import EquityPlot
from terminal.ui.backtest.formats import params_text, range_text, utc_text
from terminal.ui.backtest.metrics_table import MetricsModel
from terminal.ui.backtest.trades_model import TradesModel
from terminal.ui.tables import fit_columns, table
from terminal.ui.theme import DARK, Theme


class ResultsView(QWidget):
    """``trade_chosen(index)``: a trade was picked in the table (index in the run's
    closed-then-open order)."""

    trade_chosen = Signal(int)

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.run: SavedRun | None = None
        self.title = QLabel("No run yet: choose the candles and a strategy, then Run (Ctrl+Enter).", self)
        font = QFont(self.title.font())
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.facts = QLabel(self)
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_html_button = QPushButton("Export HTML…", self)
        self.export_html_button.setToolTip("A self-contained report: metrics, curves and trades")
        self.export_csv_button = QPushButton("Export trades CSV…", self)
        self.reuse_button = QPushButton("Set up again", self)
        self.reuse_button.setToolTip("Put this run's strategy, parameters and settings in the form")
        self.marks_button = QPushButton("Clear chart marks", self)
        self.marks_button.setToolTip("Remove this run's entries and exits from the price chart")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.facts, 1)
        for button in (self.reuse_button, self.export_html_button, self.export_csv_button, self.marks_button):
            buttons.addWidget(button)

        self.metrics_model = MetricsModel(theme, self)
        self.metrics_view = table(self)
        self.metrics_view.setModel(self.metrics_model)
        self.metrics_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        # a long label is elided (its tooltip has it whole); the value always shows
        self.metrics_view.horizontalHeader().resizeSection(0, 165)
        self.metrics_view.setMinimumWidth(330)
        self.plot = EquityPlot(theme, self)
        self.trades_model = TradesModel(theme, self)
        self.trades_view = table(self)
        self.trades_view.setModel(self.trades_model)
        self.trades_view.setSortingEnabled(True)
        self.trades_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self._fit_trade_columns()
        self.trades_caption = QLabel(self)
        trades_box = QWidget(self)
        trades_column = QVBoxLayout(trades_box)
        trades_column.setContentsMargins(0, 0, 0, 0)
        trades_column.addWidget(self.trades_caption)
        trades_column.addWidget(self.trades_view, 1)

        self.split = QSplitter(Qt.Orientation.Horizontal, self)
        self.split.addWidget(self.metrics_view)
        self.split.addWidget(self.plot)
        self.split.addWidget(trades_box)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 4)
        self.split.setStretchFactor(2, 4)
        self.split.setSizes([330, 480, 560])

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.title)
        outer.addLayout(buttons)
        outer.addWidget(self.split, 1)
        self.trades_view.selectionModel().selectionChanged.connect(self._selected)
        self.trades_view.clicked.connect(lambda index: self._chosen(index.row()))
        self._enable()
        self.apply_theme(theme)

    def _fit_trade_columns(self) -> None:
        cells = ("99,999", "short", "2026-12-31 23:59", "2026-12-31 23:59", "123,456.78", "123,456.78",
                 "12.345678", "+12,345.67", "−12.34%", "99,999", "−12.34%", "+12.34%", "1,234.56",
                 "take-profit")  # fmt: skip
        fit_columns(self.trades_view, cells)

    def show_run(self, run: SavedRun, price_decimals: int | None = None) -> None:
        self.run = run
        s, result = run.summary, run.result
        self.title.setText(s.label)
        saved = f"run #{s.id}, {utc_text(s.created_ms)} UTC" if s.id else "not saved"
        bars = f"{s.bars:,} bars"
        span = range_text(s.start_ms, s.end_ms + timeframe_ms(s.timeframe)) if s.bars else "no bars"
        self.facts.setText(f"{s.exchange} {s.symbol} {s.timeframe} · {bars} · {span} · {saved}")
        settings = BacktestSettings.model_validate(s.settings)
        lines = [f"{what}: {how}" for what, how in settings_facts(settings, quote_currency(s.symbol))]
        self.facts.setToolTip("\n".join([f"Parameters: {params_text(s.params) or 'none'}", *lines]))
        self.metrics_model.set_metrics(s.metrics, quote_currency(s.symbol))
        self.plot.show_run(result.ts, result.equity, result.drawdown, settings.initial_cash)
        decimals = price_decimals if price_decimals is not None else _decimals(result)
        step = settings.sizing.amount_step
        amount_decimals = min(decimals_for(step), 8) if step > 0 else 6
        self.trades_model.set_trades(result.trades, result.open_trade, decimals, amount_decimals)
        self.trades_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        open_note = ", and the trade still open" if len(result.open_trade) else ""
        self.trades_caption.setText(f"{len(result.trades):,} closed trades{open_note}; click one to see it")
        self._enable()

    def clear(self) -> None:
        self.run = None
        self.title.setText("No run shown.")
        self.facts.clear()
        self.metrics_model.set_metrics({})
        self.plot.clear_run()
        self.trades_model.set_trades(self.trades_model.trades[:0], self.trades_model.trades[:0])
        self.trades_caption.clear()
        self._enable()

    def _enable(self) -> None:
        shown = self.run is not None
        for button in (self.reuse_button, self.export_html_button, self.export_csv_button, self.marks_button):
            button.setEnabled(shown)

    def _selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = {index.row() for index in selected.indexes()}
        if len(rows) == 1:
            self._chosen(rows.pop())

    def _chosen(self, row: int) -> None:
        if 0 <= row < self.trades_model.rowCount():
            trade = self.trades_model.trade_at(row)
            t = self.trades_model.trades[trade]
            self.plot.show_trade(int(t["entry_ts"]), int(t["exit_ts"]))
            self.trade_chosen.emit(trade)

    def select_trade(self, trade: int) -> None:
        """Select the row of ``trade`` (as if clicked)."""
        row = self.trades_model.row_of(trade)
        if row >= 0:
            self.trades_view.selectRow(row)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.metrics_model.theme = theme
        self.metrics_model.layoutChanged.emit()
        self.trades_model.refresh_theme(theme)
        self.plot.apply_theme(theme)
        self.facts.setStyleSheet(f"color: {theme.muted};")
        self.trades_caption.setStyleSheet(f"color: {theme.muted};")


def _decimals(result: object) -> int:
    """Price decimals that suit the trades' prices when the market's are not known."""
    trades = getattr(result, "trades", None)
    if trades is None or not len(trades):
        return 2
    price = float(abs(trades["entry_price"]).max())
    return 2 if price >= 100 else 4 if price >= 1 else 6
