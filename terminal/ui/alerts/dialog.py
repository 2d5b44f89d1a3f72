"""Make or edit one alert: its kind and the kind's fields, the market, when it fires,
when it expires, a note, and how it is delivered.

OK builds the ``Alert`` through pydantic, the one judge of what an alert may be; what
it refuses is shown under the field it names, in plain words, and the dialog stays
open. What pydantic cannot see is checked here too: a value that is not a number at
all, an indicator condition ``expressions.parse`` cannot read (checked as it is typed),
an expiry already past, a sound file that is not there.

A line's alert (made from the line's menu on the chart) keeps the line's points: they
move with the drawing, so only the direction of the crossing is edited here.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from terminal.alerts.rules import Alert, LineCross, Trigger
from terminal.marketdata.timeframes import TIMEFRAMES
from terminal.ui.alerts.entry import plain_message, plain_number
from terminal.ui.alerts.kinds import PAGES, KindPage, LinePage, PricePage, Problems
from terminal.ui.field_errors import FieldErrors
from terminal.ui.preferences.symbols import resolve
from terminal.ui.theme import DARK, Theme

TRIGGERS = (
    ("Once (then it is disabled)", Trigger.ONCE),
    ("Every time", Trigger.EVERY),
    ("Once per bar", Trigger.ONCE_PER_BAR),
)
SOUNDS = (("None", "none"), ("System default", "default"), ("A file…", "file"))
SOUND_FILES = "Sounds (*.wav *.ogg *.oga)"
TIME_FORMAT = "yyyy-MM-dd HH:mm"
#: The dialog's own fields (the kind's are its page's), and "form" for what names none.
FIELDS = ("symbol", "bar", "expires", "note", "sound", "webhooks", "form")
DAY_MS = 86_400_000


def _now_ms() -> int:
    return int(time.time() * 1000)


class AlertDialog(QDialog):
    def __init__(
        self,
        exchange: str,
        symbols: list[str],
        webhooks: list[str],
        alert: Alert | None = None,
        *,
        symbol: str = "",
        price: float | None = None,
        theme: Theme = DARK,
        parent: QWidget | None = None,
    ) -> None:
        """A new alert (on ``symbol``; at ``price``, a price level there) or, with
        ``alert``, that alert to edit. ``webhooks``: the names of those set up."""
        super().__init__(parent)
        self.setWindowTitle("Edit alert" if alert is not None else "New alert")
        self.exchange = exchange
        self.symbols = list(symbols)
        self.original = alert
        self.theme = theme
        self._built: Alert | None = None
        self.errors = FieldErrors(self, FIELDS, theme.down)

        # The kinds: the line's page only for a line's alert (its points come from the chart).
        line_alert = alert is not None and isinstance(alert.condition, LineCross)
        self.kind_box = QComboBox(self)
        self.stack = QStackedWidget(self)
        self.pages: dict[str, KindPage] = {}
        for page_type in PAGES:
            if page_type is LinePage and not line_alert:
                continue
            page = page_type(theme, self.stack)
            self.pages[page.kind] = page
            self.stack.addWidget(page)
            self.kind_box.addItem(page.title, page.kind)

        self.symbol_box = QComboBox(self)
        self.symbol_box.setEditable(True)
        self.symbol_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.symbol_box.addItems(self.symbols)
        completer = QCompleter(self.symbols, self.symbol_box)  # type to search, anywhere in the name
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.symbol_box.setCompleter(completer)
        edit = self.symbol_box.lineEdit()
        assert edit is not None  # editable
        self.symbol_edit: QLineEdit = edit
        self.exchange_label = QLabel(f"on {exchange}" if exchange else "", self)
        self.exchange_label.setStyleSheet(f"color: {theme.muted};")

        self.trigger_box = QComboBox(self)
        for text, trigger in TRIGGERS:
            self.trigger_box.addItem(text, trigger.value)
        self.bar_box = QComboBox(self)
        self.bar_box.addItems(list(TIMEFRAMES))
        self.bar_box.setToolTip("The bar in which the alert fires at most once")
        self.bar_label = QLabel("of", self)  # "Once per bar of 15m"

        self.expires = QCheckBox("Expires at", self)
        self.expiry = QDateTimeEdit(self)
        self.expiry.setDisplayFormat(TIME_FORMAT)
        self.expiry.setCalendarPopup(True)
        self.expiry.setDateTime(QDateTime.fromMSecsSinceEpoch(_now_ms() + DAY_MS))
        self.expiry.setEnabled(False)
        self.note = QLineEdit(self)
        self.note.setMaxLength(Alert.model_fields["note"].metadata[0].max_length)
        self.note.setPlaceholderText("optional: said with the alert when it fires")

        self.desktop = QCheckBox("Desktop notification", self)
        self.desktop.setChecked(True)
        self.sound_box = QComboBox(self)
        for text, kind in SOUNDS:
            self.sound_box.addItem(text, kind)
        self.sound_box.setCurrentIndex(self.sound_box.findData("default"))
        self.sound_path = QLineEdit(self)
        self.sound_path.setPlaceholderText("a .wav, .ogg or .oga file")
        self.choose_sound = QPushButton("Choose…", self)
        self.webhook_boxes: dict[str, QCheckBox] = {}
        self.no_webhooks = QLabel("No webhooks are set up.", self)
        self.no_webhooks.setStyleSheet(f"color: {theme.muted};")
        self._make_webhooks(webhooks, alert.delivery.webhooks if alert is not None else ())

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Save" if alert is not None else "Create")
        self._lay_out()

        self.kind_box.currentIndexChanged.connect(self._kind_changed)
        self.trigger_box.currentIndexChanged.connect(lambda _i: self._update_bar())
        self.expires.toggled.connect(self.expiry.setEnabled)
        self.sound_box.currentIndexChanged.connect(lambda _i: self._update_sound())
        self.choose_sound.clicked.connect(lambda _checked=False: self.pick_sound_file())
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        if alert is not None:
            self._fill(alert)
        else:
            self.symbol_box.setCurrentText(symbol or (self.symbols[0] if self.symbols else ""))
            page = self.pages["price"]
            assert isinstance(page, PricePage)
            if price is not None:
                page.level.setText(plain_number(float(f"{price:.8g}")))  # the crosshair's, to 8 digits
        self._kind_changed()
        self._update_sound()

    def _lay_out(self) -> None:
        market = QWidget(self)
        row = QHBoxLayout(market)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.symbol_box, 1)
        row.addWidget(self.exchange_label)
        when = QWidget(self)
        row = QHBoxLayout(when)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.trigger_box, 1)
        row.addWidget(self.bar_label)
        row.addWidget(self.bar_box)
        expiry = QWidget(self)
        row = QHBoxLayout(expiry)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.expires)
        row.addWidget(self.expiry, 1)
        sound = QWidget(self)
        row = QHBoxLayout(sound)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.sound_box)
        row.addWidget(self.sound_path, 1)
        row.addWidget(self.choose_sound)

        top = QFormLayout()
        top.addRow("Kind", self.kind_box)
        top.addRow("Market", self.errors.under(market, "symbol"))
        condition = QGroupBox("Condition", self)
        QVBoxLayout(condition).addWidget(self.stack)
        firing = QFormLayout()
        firing.addRow("Fires", self.errors.under(when, "bar"))
        firing.addRow("", self.errors.under(expiry, "expires"))
        firing.addRow("Note", self.errors.under(self.note, "note"))
        delivery = QGroupBox("Delivery", self)
        form = QFormLayout(delivery)
        form.addRow("", self.desktop)
        form.addRow("Sound", self.errors.under(sound, "sound"))
        hooks = QWidget(self)
        column = QVBoxLayout(hooks)
        column.setContentsMargins(0, 0, 0, 0)
        for box in self.webhook_boxes.values():
            column.addWidget(box)
        column.addWidget(self.no_webhooks)
        form.addRow("Webhooks", self.errors.under(hooks, "webhooks"))

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(condition)
        layout.addLayout(firing)
        layout.addWidget(delivery)
        layout.addWidget(self.errors.labels["form"])
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(480)

    def _make_webhooks(self, names: list[str], chosen: tuple[str, ...]) -> None:
        # A webhook the alert names but Preferences no longer has stays listed (and ticked)
        # so that saving the alert does not drop it unseen.
        for name in [*names, *(n for n in chosen if n not in names)]:
            box = QCheckBox(name if name in names else f"{name} (not set up)", self)
            box.setChecked(name in chosen)
            if name not in names:
                box.setToolTip("This webhook is not set up any more: nothing is sent to it.")
            self.webhook_boxes[name] = box
        self.no_webhooks.setVisible(not self.webhook_boxes)

    def _fill(self, alert: Alert) -> None:
        c = alert.condition
        self.kind_box.setCurrentIndex(self.kind_box.findData(c.kind))
        self.pages[c.kind].fill(c)
        self.symbol_box.setCurrentText(alert.symbol)
        self.trigger_box.setCurrentIndex(self.trigger_box.findData(alert.trigger.value))
        self.bar_box.setCurrentText(alert.timeframe)
        if alert.expires_ms is not None:
            self.expires.setChecked(True)
            self.expiry.setDateTime(QDateTime.fromMSecsSinceEpoch(alert.expires_ms))
        self.note.setText(alert.note)
        self.desktop.setChecked(alert.delivery.desktop)
        self.sound_box.setCurrentIndex(self.sound_box.findData(alert.delivery.sound.kind))
        self.sound_path.setText(alert.delivery.sound.path)

    # -- what the fields show -----------------------------------------------------------------
    def page(self) -> KindPage:
        """The page of the kind chosen."""
        return self.pages[str(self.kind_box.currentData())]

    def _kind_changed(self) -> None:
        page = self.page()
        self.stack.setCurrentWidget(page)
        self.symbol_box.setEnabled(page.symbol_use in ("needed", "optional"))
        self.symbol_edit.setPlaceholderText(
            {"needed": "e.g. BTC/USDT", "optional": "any symbol"}.get(page.symbol_use, "any symbol")
        )
        self.exchange_label.setText(
            "any market" if page.kind == "job" else (f"on {self.exchange}" if self.exchange else "")
        )
        self._update_bar()

    def _update_bar(self) -> None:
        # A condition on bars (indicator, volume) fires at most once in its own bar; the
        # others name the bar here.
        per_bar = self.trigger_box.currentData() == Trigger.ONCE_PER_BAR.value
        own = self.page().timeframe is not None
        self.bar_box.setVisible(per_bar and not own)
        self.bar_label.setVisible(per_bar and not own)

    def _update_sound(self) -> None:
        file = self.sound_box.currentData() == "file"
        self.sound_path.setVisible(file)
        self.choose_sound.setVisible(file)

    def pick_sound_file(self) -> None:
        current = self.sound_path.text().strip()
        start = str(Path(current).parent) if current else str(Path.home())
        path, _filter = QFileDialog.getOpenFileName(self, "Alert sound", start, SOUND_FILES)
        if path:
            self.sound_path.setText(path)

    # -- building the alert ---------------------------------------------------------------------
    def _symbol(self, problems: Problems) -> str:
        page = self.page()
        if page.symbol_use == "none":
            return ""
        if page.symbol_use == "fixed" and self.original is not None:
            return self.original.symbol  # a line's alert is on the chart the line is drawn on
        symbol = resolve(self.symbol_box.currentText(), dict.fromkeys(self.symbols))
        if any(ch.isspace() for ch in symbol):
            problems["symbol"] = f"“{symbol}” is not a symbol: symbols have no spaces (e.g. BTC/USDT)."
        return symbol

    def _expires_ms(self, problems: Problems) -> int | None:
        if not self.expires.isChecked():
            return None
        shown = self.expiry.dateTime().toMSecsSinceEpoch()
        shown -= shown % 60_000  # the field shows minutes
        kept = self.original.expires_ms if self.original is not None else None
        if kept is not None and kept - kept % 60_000 == shown:
            return kept  # untouched: the saved time to the millisecond
        if shown <= _now_ms():
            problems["expires"] = "That time has passed: pick a later one, or untick Expires."
        return shown

    def _sound(self, problems: Problems) -> dict[str, str]:
        kind = str(self.sound_box.currentData())
        path = self.sound_path.text().strip() if kind == "file" else ""
        if kind == "file" and not path:
            problems["sound"] = "Choose a sound file, or pick another sound."
        elif kind == "file" and not Path(path).is_file():
            problems["sound"] = f"There is no sound file at {path}: choose another."
        return {"kind": kind, "path": path}

    def _webhooks(self) -> list[str]:
        return [name for name, box in self.webhook_boxes.items() if box.isChecked()]

    def _place(self, error: ErrorDetails) -> tuple[FieldErrors, str]:
        """Where a complaint of pydantic's is shown: the page's field, or the dialog's."""
        loc = error["loc"]
        page = self.page()
        if loc and loc[0] == "condition":
            field = str(loc[2]) if len(loc) > 2 else page.whole
            return page.errors, field if field in page.errors.labels else page.whole
        head = str(loc[0]) if loc else ""
        field = {
            "symbol": "symbol",
            "exchange": "symbol",
            "timeframe": "bar",
            "expires_ms": "expires",
            "note": "note",
            "delivery": str(loc[1]) if len(loc) > 1 else "form",
        }.get(head, "form")
        if not loc and "symbol" in str(error["msg"]):
            field = "symbol"
        return self.errors, field if field in FIELDS else "form"

    def build(self) -> Alert | None:
        """The alert as the fields say, or None with what is wrong shown under the fields."""
        self.errors.clear()
        page = self.page()
        page.errors.clear()
        page_problems: Problems = {}
        problems: Problems = {}
        condition = page.read(page_problems)
        original = self.original
        data: dict[str, Any] = {
            "exchange": "" if page.kind == "job" else self.exchange,
            "symbol": self._symbol(problems),
            "condition": condition,
            "trigger": self.trigger_box.currentData(),
            "timeframe": page.timeframe or self.bar_box.currentText(),
            "expires_ms": self._expires_ms(problems),
            "enabled": original.enabled if original is not None else True,
            "note": self.note.text().strip(),
            "delivery": {
                "desktop": self.desktop.isChecked(),
                "sound": self._sound(problems),
                "webhooks": self._webhooks(),
            },
            "created_ms": original.created_ms if original is not None else _now_ms(),
        }
        if original is not None:
            data["id"] = original.id
        alert: Alert | None = None
        try:
            alert = Alert.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                where, field = self._place(error)
                found = page_problems if where is page.errors else problems
                found.setdefault(field, plain_message(error, field))  # what could not be read comes first
        for field, message in page_problems.items():
            page.errors.show(field, message)
        for field, message in problems.items():
            self.errors.show(field, message)
        return alert if not (page_problems or problems) else None

    def accept(self) -> None:
        """OK: the alert if it is whole; otherwise the dialog stays open, saying why."""
        built = self.build()
        if built is None:
            return
        self._built = built
        super().accept()

    def alert(self) -> Alert:
        """The alert built when OK was pressed."""
        if self._built is None:
            raise RuntimeError("The alert dialog was not accepted: there is no alert to take.")
        return self._built
