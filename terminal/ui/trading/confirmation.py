"""The confirmation before an order (or a cancel-all) goes: what will be sent,
each number exactly as it is sent (and as it was typed, when that differs),
its estimated cost and fees, how far its price is from the market, every
risk rule that would refuse it, and two buttons. Enter sends, Esc goes back.

Non-modal on purpose (``show()``, never ``exec()``): the market keeps
ticking behind it and the event loop is never nested. One question at a
time: a new one replaces a question still open (which counts as "no").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from terminal.trading.orders import OrderSide
from terminal.ui.theme import DARK, Theme
from terminal.ui.trading.order_words import confirmation_lines
from terminal.ui.trading.ticket_input import TicketCheck


class Confirmation(QDialog):
    def __init__(self, parent: QWidget, theme: Theme = DARK) -> None:
        super().__init__(parent)
        self.theme = theme
        self.setModal(False)
        self.setWindowTitle("Confirm")
        self.heading = QLabel(self)
        self.heading.setWordWrap(True)
        self.body = QLabel(self)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.confirm_button = QPushButton("Send", self)
        self.cancel_button = QPushButton("Back (Esc)", self)
        self.confirm_button.setDefault(True)
        self.confirm_button.setAutoDefault(True)
        self.cancel_button.setAutoDefault(True)  # Enter on "Back" goes back
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.confirm_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.body)
        layout.addLayout(buttons)
        self.setMinimumWidth(380)
        self._on_yes: Callable[[], object] | None = None
        self._on_no: Callable[[], object] | None = None
        self.confirm_button.clicked.connect(lambda _checked=False: self.answer(True))
        self.cancel_button.clicked.connect(lambda _checked=False: self.answer(False))

    @property
    def pending(self) -> bool:
        return self._on_yes is not None

    def ask(
        self,
        heading: str,
        lines: Sequence[str],
        confirm_text: str,
        on_yes: Callable[[], object],
        *,
        on_no: Callable[[], object] | None = None,
        color: str | None = None,
    ) -> None:
        if self.pending:
            self.answer(False)
        self._on_yes, self._on_no = on_yes, on_no
        self.heading.setText(f"<b>{heading}</b>")
        self.body.setText("\n".join(lines))
        self.confirm_button.setText(confirm_text)
        fill = color or self.theme.accent
        self.confirm_button.setStyleSheet(
            f"QPushButton {{ background: {fill}; color: #ffffff; font-weight: bold; padding: 5px 12px; "
            "border: none; border-radius: 3px; }"
        )
        parent = self.parentWidget()
        self.adjustSize()
        if parent is not None:
            centre = parent.mapToGlobal(parent.rect().center())
            self.move(centre.x() - self.width() // 2, centre.y() - self.height() // 2)
        self.show()
        self.raise_()
        self.activateWindow()
        self.confirm_button.setFocus()

    def ask_order(
        self,
        check: TicketCheck,
        account: str,
        on_yes: Callable[[], object],
        *,
        on_no: Callable[[], object] | None = None,
        extra: Sequence[str] = (),
    ) -> None:
        """Show the checked ticket's order as it will be sent, with its estimate
        and warnings, on ``account``."""
        order = check.order
        assert order is not None
        lines = [*confirmation_lines(check), *extra, f"Account: {account}"]
        side = "buy" if order.side is OrderSide.BUY else "sell"
        color = self.theme.up if order.side is OrderSide.BUY else self.theme.down
        self.ask("Send this order?", lines, f"Send {side} (Enter)", on_yes, on_no=on_no, color=color)

    def answer(self, yes: bool) -> None:
        on_yes, on_no = self._on_yes, self._on_no
        self._on_yes = self._on_no = None
        self.hide()
        if yes and on_yes is not None:
            on_yes()
        elif not yes and on_no is not None:
            on_no()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # QDialog's own Enter/Esc handling would accept()/reject() behind our callbacks' back.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.answer(True)
        elif event.key() == Qt.Key.Key_Escape:
            self.answer(False)
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.pending:
            self.answer(False)
        super().closeEvent(event)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
