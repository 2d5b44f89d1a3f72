"""Starting a new simulated market on purpose, and what becomes of the paper account.

The simulated market continues across restarts (``terminal.market.simulator.market``);
a new one starts only when the user asks (this dialog, or a different ``--seed`` /
config seed at start). Either way the paper account traded the old market: its
positions would be priced in the new one, so the user chooses to keep it or reset it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from terminal.market.simulator.market import MarketStart

MAX_SEED = 2**63 - 1
KEEP_TEXT = "Keep the paper account (its positions are priced in the new market)"
RESET_TEXT = "Reset the paper account to its start balances"


def ask_about_paper_account(
    parent: QWidget, start: MarketStart, choose: Callable[[bool], None]
) -> QMessageBox:
    """Ask (without blocking) whether the paper account is kept or reset for the new
    market ``start``; ``choose(True)`` resets it."""
    box = QMessageBox(parent)
    box.setObjectName("new-market-question")
    box.setWindowTitle("A new simulated market")
    box.setIcon(QMessageBox.Icon.Question)
    box.setText(
        f"A new simulated market began (seed {start.seed}). It replaces the one kept in the history "
        f"file (seed {start.replaced_seed}), which your paper account traded in."
    )
    box.setInformativeText(
        "Keep the paper account, with its positions priced in the new market, or reset it to its "
        "start balances?"
    )
    keep = box.addButton("Keep", QMessageBox.ButtonRole.AcceptRole)
    reset = box.addButton("Reset", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(keep)
    reset.setObjectName("reset-paper")
    keep.setObjectName("keep-paper")
    box.buttonClicked.connect(lambda button: choose(button is reset))
    box.open()
    return box


class NewMarketDialog(QDialog):
    """Seed (empty: a random one) and keep or reset the paper account."""

    def __init__(self, start: Callable[[int | None, bool], object], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("new-market-dialog")
        self.setWindowTitle("New simulated market")
        self._start = start
        layout = QVBoxLayout(self)
        intro = QLabel(
            "The simulated market continues across restarts. A new one drops it (its kept candles "
            "too) and begins afresh: the same seed makes the same market."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(QLabel("Seed (empty: a random one)"))
        self.seed = QLineEdit()
        self.seed.setObjectName("seed")
        self.seed.setPlaceholderText("random")
        layout.addWidget(self.seed)
        self.keep = QRadioButton(KEEP_TEXT)
        self.reset = QRadioButton(RESET_TEXT)
        self.keep.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.keep)
        group.addButton(self.reset)
        layout.addWidget(self.keep)
        layout.addWidget(self.reset)
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        begin = buttons.addButton("Start the new market", QDialogButtonBox.ButtonRole.AcceptRole)
        begin.setObjectName("start")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def chosen_seed(self) -> int | None:
        """The seed typed, None when empty; raises ValueError with a message when it is not one."""
        text = self.seed.text().strip()  # digits only: a separator is never guessed
        if not text:
            return None
        if not text.isdigit() or int(text) > MAX_SEED:
            raise ValueError(f"A seed is a whole number from 0 to {MAX_SEED:,}; “{text}” is not one.")
        return int(text)

    def accept(self) -> None:
        try:
            seed = self.chosen_seed()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self._start(seed, self.reset.isChecked())
        super().accept()
