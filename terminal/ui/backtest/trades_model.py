"""The trades of a run as a sortable table, straight from the trade array.

Rows are the closed trades in the order they closed, then the trade left
open (if the run kept it apart). Sorting orders an index array by the
column's field (numpy, stable), so it costs one argsort whatever the size,
and ``trade_at(row)`` always finds the trade behind a row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor

from terminal.backtest.trades import ExitReason, TradeTable
from terminal.ui.backtest.formats import utc_text
from terminal.ui.table_model import HeaderedTableModel, ModelIndex
from terminal.ui.theme import DARK, Theme

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter

REASON_TEXT = {
    ExitReason.SIGNAL: "signal",
    ExitReason.STOP_LOSS: "stop-loss",
    ExitReason.TAKE_PROFIT: "take-profit",
    ExitReason.END: "end of data",
    ExitReason.OPEN: "still open",
}

# (title, the field it shows and sorts by; "" for the trade number, "fees" for both fees)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("#", ""),
    ("Side", "side"),
    ("Entry (UTC)", "entry_ts"),
    ("Exit (UTC)", "exit_ts"),
    ("Entry price", "entry_price"),
    ("Exit price", "exit_price"),
    ("Amount", "amount"),
    ("P&L", "pnl"),
    ("Return", "return_pct"),
    ("Bars", "bars"),
    ("MAE", "mae"),
    ("MFE", "mfe"),
    ("Fees", "fees"),
    ("Exit", "exit_reason"),
)


def all_trades(trades: TradeTable, open_trade: TradeTable) -> TradeTable:
    """Closed trades, then the open one."""
    return np.concatenate([trades, open_trade]) if len(open_trade) else trades


class TradesModel(HeaderedTableModel):
    headers = tuple(title for title, _ in COLUMNS)

    def __init__(self, theme: Theme = DARK, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.trades: TradeTable = np.zeros(0, dtype=[("pnl", np.float64)])
        self.closed = 0  # trades before this index are closed; the rest is the open one
        self.order: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.price_decimals = 2
        self.amount_decimals = 4

    def set_trades(
        self, trades: TradeTable, open_trade: TradeTable, price_decimals: int = 2, amount_decimals: int = 4
    ) -> None:
        self.beginResetModel()
        self.trades = all_trades(trades, open_trade)
        self.closed = len(trades)
        self.order = np.arange(len(self.trades), dtype=np.int64)
        self.price_decimals, self.amount_decimals = price_decimals, amount_decimals
        self.endResetModel()

    def row_total(self) -> int:
        return len(self.order)

    def trade_at(self, row: int) -> int:
        """The index (in closed-then-open order) of the trade shown in ``row``."""
        return int(self.order[row])

    def row_of(self, trade: int) -> int:
        found = np.flatnonzero(self.order == trade)
        return int(found[0]) if len(found) else -1

    # -- cells ---------------------------------------------------------------------------
    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        i = self.trade_at(index.row())
        field = COLUMNS[index.column()][1]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(i, field)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT if field in ("side", "entry_ts", "exit_ts", "exit_reason") else _RIGHT
        if role == Qt.ItemDataRole.ForegroundRole:
            t = self.trades[i]
            if field in ("pnl", "return_pct"):
                return QColor(
                    self.theme.up if t["pnl"] > 0 else self.theme.down if t["pnl"] < 0 else self.theme.text
                )
            if field == "side":
                return QColor(self.theme.up if t["side"] > 0 else self.theme.down)
            if i >= self.closed:
                return QColor(self.theme.muted)
        if role == Qt.ItemDataRole.ToolTipRole and i >= self.closed:
            return "Still open at the end: marked at the last close, not counted in the trade metrics"
        return None

    def _text(self, i: int, field: str) -> str:
        t = self.trades[i]
        d = self.price_decimals
        if field == "":
            return f"{i + 1:,}"
        if field == "side":
            return "long" if t["side"] > 0 else "short"
        if field in ("entry_ts", "exit_ts"):
            return utc_text(int(t[field]))
        if field in ("entry_price", "exit_price"):
            return f"{t[field]:,.{d}f}"
        if field == "amount":
            return f"{t['amount']:,.{self.amount_decimals}f}"
        if field == "pnl":
            return f"{t['pnl']:+,.2f}".replace("-", "−")
        if field in ("return_pct", "mae", "mfe"):
            return f"{t[field] * 100:+.2f}%".replace("-", "−")
        if field == "bars":
            return f"{int(t['bars']):,}"
        if field == "fees":
            return f"{t['entry_fee'] + t['exit_fee']:,.2f}"
        if field == "exit_reason":
            return REASON_TEXT.get(ExitReason(int(t["exit_reason"])), "?")
        return ""

    # -- sorting -------------------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        field = COLUMNS[column][1]
        n = len(self.trades)
        if field == "":
            keys = np.arange(n)
        elif field == "fees":
            keys = self.trades["entry_fee"] + self.trades["exit_fee"]
        else:
            keys = self.trades[field]
        self.layoutAboutToBeChanged.emit()
        ordered = np.argsort(keys, kind="stable")
        if order == Qt.SortOrder.DescendingOrder:
            ordered = ordered[::-1]
        self.order = ordered.astype(np.int64)
        self.layoutChanged.emit()

    def refresh_theme(self, theme: Theme) -> None:
        self.theme = theme
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, len(COLUMNS) - 1))
