"""The Risk limits tab: the rules of each account that trades (every market's paper
account, and each exchange account in the config), one form per account.

The forms hold text: the dialog hands it to the config as typed, so a limit is
checked by the same rules as in config.toml. Per-symbol overrides are left as
they are (config.toml only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from terminal.config import LiveTradingSettings, RiskSettings, Settings
from terminal.ui.field_errors import FieldErrors
from terminal.ui.preferences.form import Path, Setting, plain
from terminal.ui.theme import Theme

#: the rules a form shows, with their labels
RULES: tuple[tuple[str, str], ...] = (
    ("max_order_notional", "Largest order (quote)"),
    ("max_position_notional", "Largest position (quote, at the mid)"),
    ("max_position_base", "Largest position (base)"),
    ("price_band_pct", "Price band (% from the mid)"),
    ("max_open_orders", "Open orders at most"),
    ("daily_loss_limit", "Daily loss limit (quote, UTC day)"),
)
PAPER = "paper"


@dataclass(frozen=True)
class RiskAccount:
    key: str  # PAPER or the account's name
    title: str
    path: Path  # where its RiskSettings are

    def risk(self, settings: Settings) -> RiskSettings:
        if self.key == PAPER:
            return settings.trading.paper.risk
        return settings.trading.live.get(self.key, LiveTradingSettings()).risk


def risk_accounts(settings: Settings) -> list[RiskAccount]:
    """The paper accounts (they share one set of rules), then each exchange account."""
    accounts = [RiskAccount(PAPER, "Paper accounts (every market)", ("trading", "paper", "risk"))]
    for account in settings.accounts:
        title = f"{account.name} ({account.exchange}, live)"
        accounts.append(RiskAccount(account.name, title, ("trading", "live", account.name, "risk")))
    return accounts


class RiskPage(QWidget):
    def __init__(self, settings: Settings, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.accounts = risk_accounts(settings)
        self.account = QComboBox(self)
        self.stack = QStackedWidget(self)
        self.fields: dict[Path, QLineEdit] = {}
        self.errors: dict[str, FieldErrors] = {}
        for account in self.accounts:
            self.account.addItem(account.title, account.key)
            self.stack.addWidget(self._form(account, theme))
        self.account.currentIndexChanged.connect(self.stack.setCurrentIndex)
        note = QLabel(
            "0 turns a rule off. Amounts are in the order's quote currency (e.g. USDT). New limits "
            "apply to every open window from its next order. Per-symbol limits are set in config.toml.",
            self,
        )
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {theme.muted};")
        top = QFormLayout()
        top.addRow("Account", self.account)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.stack)
        layout.addWidget(note)
        layout.addStretch(1)

    def _form(self, account: RiskAccount, theme: Theme) -> QWidget:
        page = QWidget(self)
        errors = self.errors[account.key] = FieldErrors(page, [rule for rule, _ in RULES], theme.down)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        for rule, label in RULES:
            field = QLineEdit(page)
            field.setObjectName(f"risk.{account.key}.{rule}")
            field.setToolTip(RiskSettings.model_fields[rule].description or "")
            form.addRow(label, errors.under(field, rule))
            self.fields[(*account.path, rule)] = field
        return page

    def show_account(self, key: str) -> None:
        index = self.account.findData(key)
        if index >= 0:
            self.account.setCurrentIndex(index)

    def field(self, key: str, rule: str) -> QLineEdit:
        account = next(a for a in self.accounts if a.key == key)
        return self.fields[(*account.path, rule)]

    def settings(self, reveal: Callable[[], None]) -> list[Setting]:
        """Every rule of every account as a dialog field (``reveal`` shows this tab)."""
        return [self._setting(account, rule, reveal) for account in self.accounts for rule, _ in RULES]

    def _setting(self, account: RiskAccount, rule: str, reveal: Callable[[], None]) -> Setting:
        field = self.fields[(*account.path, rule)]

        def show(value: Decimal | int) -> None:
            field.setText(plain(value))

        def get(settings: Settings) -> Decimal | int:
            value: Decimal | int = getattr(account.risk(settings), rule)
            return value

        def show_field() -> None:
            reveal()
            self.show_account(account.key)

        return Setting(
            path=(*account.path, rule),
            read=lambda: field.text().strip(),
            show=show,
            get=get,
            say=partial(self.errors[account.key].show, rule),
            reveal=show_field,
        )
