"""The trade tape: newest trade on top, price coloured by the taker's side."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from terminal.marketdata.tape import BUY, TradeTape
from terminal.ui.theme import DARK, Theme, monospace_font


class TapeView(QWidget):
    def __init__(self, tape: TradeTape, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tape = tape
        self.theme = theme
        self.price_decimals = 2
        self.size_decimals = 4
        self.time_zone = "local"
        self.paints = 0
        self.setFont(monospace_font())
        self.setMinimumWidth(150)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def row_height(self) -> int:
        return QFontMetrics(self.font()).height() + 2

    def visible_rows(self) -> list[tuple[str, str, str, int]]:
        """(time, price, size, side) for the rows that fit, newest first."""
        n = max(0, self.height() // self.row_height() - 1)
        rows = self.tape.latest(n)
        tz = dt.UTC if self.time_zone == "utc" else None
        pd, sd = self.price_decimals, self.size_decimals
        return [
            (
                dt.datetime.fromtimestamp(int(rows.ts[i]) / 1000, tz).strftime("%H:%M:%S"),
                f"{float(rows.price[i]):,.{pd}f}",
                f"{float(rows.amount[i]):,.{sd}f}",
                int(rows.side[i]),
            )
            for i in range(len(rows))
        ]

    def paintEvent(self, event: QPaintEvent) -> None:
        self.paints += 1
        theme = self.theme
        p = QPainter(self)
        p.fillRect(self.rect(), theme.color("background"))
        rows = self.visible_rows()
        fm = QFontMetrics(self.font())
        rh = self.row_height()
        w = self.width()
        left = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        right = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight
        # Columns from the font's metrics, so they never collide whatever the font.
        time_w = fm.horizontalAdvance("00:00:00")
        price_w = max([fm.horizontalAdvance(r[1]) for r in rows] + [fm.horizontalAdvance("Price")])
        price_right = min(6 + time_w + 12 + price_w, w - 6 - fm.horizontalAdvance("0.0000"))
        p.setPen(theme.color("muted"))
        p.drawText(QRectF(6, 0, w, rh), left, "Time")
        p.drawText(QRectF(0, 0, price_right, rh), right, "Price")
        p.drawText(QRectF(0, 0, w - 6, rh), right, "Size")
        for i, (when, price, size, side) in enumerate(rows):
            y = rh * (i + 1)
            p.setPen(theme.color("muted"))
            p.drawText(QRectF(6, y, w, rh), left, when)
            p.setPen(theme.color("up" if side == BUY else "down"))
            p.drawText(QRectF(0, y, price_right, rh), right, price)
            p.setPen(theme.color("text"))
            p.drawText(QRectF(price_right, y, w - 6 - price_right, rh), right, size)
        p.end()

    def sizeHint(self) -> QSize:
        fm = QFontMetrics(self.font())
        return QSize(fm.horizontalAdvance("00:00:00  000,000.00  000.00000") + 16, 400)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.update()
