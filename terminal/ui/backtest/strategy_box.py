"""Choosing a strategy: the built-ins and the user's own (from ``.py`` files in
the strategies folder), what the chosen one does, its parameter form, and
the files that failed to load, each with its file and line.

The user's files are programs: nothing of them runs until the user asks
("Load yours"), and the box says so in plain words beside that
button. The panel then has them loaded in the strategies' own process
(``terminal.backtest.strategy_worker``) and hands in what it found with
``set_user``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from terminal.backtest.errors import StrategyLoadError
from terminal.backtest.strategies import BUILTIN, StrategyClass
from terminal.backtest.strategy import StrategyParams
from terminal.ui.backtest.param_form import ParamForm
from terminal.ui.theme import DARK, Theme


class StrategyBox(QWidget):
    changed = Signal()
    reload_requested = Signal()
    versions_requested = Signal(str)  # the chosen user strategy's name: its Versions… dialog

    def __init__(self, folder: Path, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        self.theme = theme
        self.user: dict[str, StrategyClass] = {}
        self.load_errors: list[StrategyLoadError] = []
        self.combo = QComboBox(self)
        self.combo.setObjectName("strategy")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(12)
        self.reload_button = QPushButton("Load yours", self)
        self.reload_button.setToolTip(
            f"Load your strategy files from {folder}: their code runs, in a process apart"
        )
        self.loaded = False  # the user's files have been loaded once (the button reads "Reload")
        self.versions_button = QPushButton("Versions…", self)
        self.versions_button.setToolTip(
            "The versions of this strategy that your runs and studies used: notes, diffs, restore"
        )
        self.versions_button.setEnabled(False)  # for a user strategy only
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.errors_label = QLabel(self)
        self.errors_label.setObjectName("strategy_load_errors")
        self.errors_label.setWordWrap(True)
        self.errors_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.errors_label.hide()
        # the folder's last parts only: a full path does not wrap in a narrow column
        self.folder_note = QLabel(
            f"Your own strategies: .py files in …/{'/'.join(folder.parts[-2:])}. A strategy is a "
            "program: loading it runs its code with your rights (your files, the network), in a "
            "separate process that holds no exchange keys. Load only files you wrote or trust.",
            self,
        )
        self.folder_note.setToolTip(str(folder))
        self.folder_note.setWordWrap(True)
        self.folder_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form: ParamForm | None = None
        self._form_of = ""  # the name of the strategy the form is for
        self._form_holder = QVBoxLayout()
        self._form_holder.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.combo, 1)
        row.addWidget(self.reload_button)
        row.addWidget(self.versions_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(row)
        column.addWidget(self.summary)
        column.addWidget(self.errors_label)
        column.addWidget(self.folder_note)
        column.addLayout(self._form_holder)
        self._fill()
        self.combo.currentIndexChanged.connect(self._chosen)
        self.reload_button.clicked.connect(lambda _checked=False: self.reload_requested.emit())
        self.versions_button.clicked.connect(lambda _checked=False: self._ask_versions())
        self.set_theme(theme)
        self._chosen()

    # -- the list -------------------------------------------------------------------------------
    def _fill(self) -> None:
        current = self.combo.currentData()
        self.combo.blockSignals(True)
        try:
            self.combo.clear()
            for name, cls in BUILTIN.items():
                self.combo.addItem(cls.title, name)
            if self.user:
                self.combo.insertSeparator(self.combo.count())
                for name, cls in sorted(self.user.items()):
                    self.combo.addItem(f"{cls.title} (yours)", name)
            index = self.combo.findData(current) if current is not None else -1
            self.combo.setCurrentIndex(max(index, 0))
        finally:
            self.combo.blockSignals(False)

    def set_user(self, strategies: Mapping[str, StrategyClass], errors: list[StrategyLoadError]) -> None:
        """The user's strategies and the files that failed to load."""
        before = self.strategy()
        self.user = dict(strategies)
        self.load_errors = list(errors)
        if not self.loaded:
            self.loaded = True
            self.reload_button.setText("Reload")
            self.reload_button.setToolTip(f"Load your strategy files again from {self.folder}")
        self._fill()
        self.folder_note.setVisible(not self.user)
        if errors:
            lines = [f"Not loaded: {error.user_message()}" for error in errors]
            self.errors_label.setText("\n".join(lines))
            self.errors_label.show()
        else:
            self.errors_label.clear()
            self.errors_label.hide()
        if self.strategy() is not before:  # a new class (the file changed): a new form
            self._chosen()

    def strategy(self) -> StrategyClass | None:
        name = self.combo.currentData()
        if name is None:
            return None
        return BUILTIN.get(name) or self.user.get(name)

    def is_user(self, name: str) -> bool:
        return name in self.user and name not in BUILTIN

    def select(self, name: str, params: Mapping[str, Any] | None = None) -> bool:
        """Choose strategy ``name`` (and fill its form with ``params``); False if unknown."""
        index = self.combo.findData(name)
        if index < 0:
            return False
        self.combo.setCurrentIndex(index)
        if params and self.form is not None:
            self.form.set_values(params)
        return True

    def params(self) -> StrategyParams | None:
        return None if self.form is None else self.form.params()

    def reset_params(self) -> None:
        """The chosen strategy's parameter form afresh, at its defaults."""
        self._form_of = ""
        self._chosen()

    def _ask_versions(self) -> None:
        cls = self.strategy()
        if cls is not None and self.is_user(cls.name):
            self.versions_requested.emit(cls.name)

    # -- the chosen one ---------------------------------------------------------------------------
    def _chosen(self, *_: object) -> None:
        cls = self.strategy()
        self.versions_button.setEnabled(cls is not None and self.is_user(cls.name))
        old = self.form
        # the same strategy reloaded (its file changed) keeps what the user typed, by name
        same = old is not None and cls is not None and self._form_of == cls.name
        values = old.values() if same and old is not None else None
        self._form_of = cls.name if cls is not None else ""
        if old is not None:
            self._form_holder.removeWidget(old)
            old.deleteLater()
        self.form = None
        if cls is not None:
            self.form = ParamForm(cls.Params, self.theme, self, values)
            self.form.changed.connect(self.changed)
            self._form_holder.addWidget(self.form)
            self.summary.setText(cls.summary or cls.title)
        else:
            self.summary.setText("")
        self.changed.emit()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.summary.setStyleSheet(f"color: {theme.muted};")
        self.folder_note.setStyleSheet(f"color: {theme.muted}; font-size: 8pt;")
        self.errors_label.setStyleSheet(f"color: {theme.down};")
        if self.form is not None:
            self.form.set_theme(theme)
