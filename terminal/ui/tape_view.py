"""The trade tape: newest trade on top, price coloured by the taker's side."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from terminal.market.tape import BUY, TradeTape
from terminal.ui.theme import DARK, Theme


class TapeView(QWidget):
    def __init__(self, tape: TradeTape, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tape = tape
        self.theme = theme
        self.price_decimals = 2
        self.size_decimals = 4
        self.time_zone = "local"
        self.paints = 0
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSizeF(9.0)
        self.setFont(font)
        self.setMinimumWidth(190)
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

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        self.paints += 1
        theme = self.theme
        p = QPainter(self)
        p.fillRect(self.rect(), theme.color("background"))
        rh = self.row_height()
        w = self.width()
        left = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        right = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight
        p.setPen(theme.color("muted"))
        p.drawText(QRectF(6, 0, w, rh), left, "Time")
        p.drawText(QRectF(0, 0, w * 0.62, rh), right, "Price")
        p.drawText(QRectF(0, 0, w - 6, rh), right, "Size")
        for i, (when, price, size, side) in enumerate(self.visible_rows()):
            y = rh * (i + 1)
            p.setPen(theme.color("muted"))
            p.drawText(QRectF(6, y, w, rh), left, when)
            p.setPen(theme.color("up" if side == BUY else "down"))
            p.drawText(QRectF(0, y, w * 0.62, rh), right, price)
            p.setPen(theme.color("text"))
            p.drawText(QRectF(0, y, w - 6, rh), right, size)
        p.end()

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.update()
