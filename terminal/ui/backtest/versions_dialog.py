"""The versions of one of the user's strategies (the backtest form's "Versions…"):
each version a saved run or a study used, newest first, with when it was first seen,
the user's note (edited in place) and its count of runs and studies; what changed
between two versions (a unified diff); the saved runs of two versions side by side;
and an old version restored as a new file.

The versions' texts are data here (``terminal.backtest.strategy_versions``): shown
and written to a file, never run. Everything is read and written in worker threads
through the task group the panel hands in; the dialog is not modal (``show()``,
never ``exec()``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from terminal.backtest.metric_format import Kind, format_metric
from terminal.backtest.run_store import RunSummary
from terminal.backtest.strategy_versions import (
    NAME,
    Restored,
    StrategyVersion,
    StrategyVersions,
    restore,
    unified_diff,
)
from terminal.errors import TerminalError
from terminal.tasks import TaskGroup
from terminal.ui.backtest.formats import metric_value, params_text, utc_text
from terminal.ui.theme import DARK, Theme

VERSION_COLUMNS = ("Version", "First seen (UTC)", "Runs", "Studies", "Note", "File")
NOTE = VERSION_COLUMNS.index("Note")
#: a run's headline metrics, as the side-by-side tables show them
HEADLINE = (("total_return", "Return", Kind.PERCENT), ("sharpe", "Sharpe", Kind.RATIO),
            ("max_drawdown", "Max DD", Kind.PERCENT), ("trades", "Trades", Kind.COUNT))  # fmt: skip
RUN_COLUMNS = ("Run", "Parameters", *(title for _, title, _ in HEADLINE), "Market")

#: called in a worker thread: the versions store, the saved runs
OpenVersions = Callable[[], StrategyVersions]
ListRuns = Callable[[], list[RunSummary]]


class VersionsDialog(QDialog):
    #: a version was restored as this new file (the panel loads the folder again)
    restored = Signal(Path)

    def __init__(
        self,
        strategy: str,
        title: str,
        folder: Path,
        *,
        versions: OpenVersions,
        runs: ListRuns,
        tasks: TaskGroup,
        theme: Theme = DARK,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.strategy, self.folder = strategy, folder
        self._theme = theme
        self._versions, self._runs, self._tasks = versions, runs, tasks
        self.listed: list[StrategyVersion] = []
        self.runs_of: dict[str, list[RunSummary]] = {}  # by source hash
        self._filling = False  # the table is being filled: its edits are not the user's
        self.setWindowTitle(f"Versions of {title}")
        self.setObjectName("strategy_versions")
        self.resize(980, 720)

        intro = QLabel(
            f"Every version of {title} ({strategy}) that a saved run or a study used, newest first. "
            "Double-click a note to write one. Select two versions to compare them (one: with the "
            "version before it).",
            self,
        )
        intro.setWordWrap(True)
        self.table = QTableWidget(0, len(VERSION_COLUMNS), self)
        self.table.setHorizontalHeaderLabels(VERSION_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(NOTE, QHeaderView.ResizeMode.Stretch)
        self.diff_button = QPushButton("Diff", self)
        self.diff_button.setToolTip("What changed between the two selected versions")
        self.new_name = QLineEdit(self)
        self.new_name.setObjectName("restore_name")
        self.new_name.setPlaceholderText("the restored strategy's name")
        self.restore_button = QPushButton("Restore as new file…", self)
        self.restore_button.setToolTip(f"Write the selected version to <name>.py in {folder}")
        clash = QLabel(
            'A restored file gets the name typed here, as its file name and in its name = "…" line, '
            "so it loads beside the current one: two files with the same strategy name clash, and the "
            "second is not loaded. Where that line cannot be rewritten, rename the strategy in the file.",
            self,
        )
        clash.setWordWrap(True)
        self.clash_note = clash
        self.status = QLabel(self)
        self.status.setObjectName("versions_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.diff_view = QPlainTextEdit(self)
        self.diff_view.setObjectName("versions_diff")
        self.diff_view.setReadOnly(True)
        self.diff_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.diff_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.diff_view.setPlaceholderText("Select two versions and press Diff.")
        self.run_titles = (QLabel(self), QLabel(self))
        self.run_tables = (_runs_table(self), _runs_table(self))
        sides = QWidget(self)
        side_by_side = QHBoxLayout(sides)
        side_by_side.setContentsMargins(0, 0, 0, 0)
        for label, runs_table in zip(self.run_titles, self.run_tables, strict=True):
            column = QVBoxLayout()
            column.addWidget(label)
            column.addWidget(runs_table)
            side_by_side.addLayout(column)

        actions = QHBoxLayout()
        actions.addWidget(self.diff_button)
        actions.addStretch(1)
        actions.addWidget(QLabel("New name:", self))
        actions.addWidget(self.new_name)
        actions.addWidget(self.restore_button)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(self.diff_view)
        split.addWidget(sides)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(actions)
        layout.addWidget(clash)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)

        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemChanged.connect(self._item_changed)
        self.diff_button.clicked.connect(lambda _checked=False: self.diff())
        self.restore_button.clicked.connect(lambda _checked=False: self.restore())
        self.set_theme(theme)
        self._selection_changed()

    # -- tasks ---------------------------------------------------------------------------------------
    def _spawn[T](self, work: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        return self._tasks.spawn(work, name=f"strategy versions: {name}")

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setProperty("error", error)
        self.status.setStyleSheet(f"color: {self._theme.down if error else self._theme.muted};")

    # -- the list ------------------------------------------------------------------------------------
    def refresh(self) -> asyncio.Task[None]:
        """Read the versions and the saved runs again."""
        return self._spawn(self._refresh(), "list")

    async def _refresh(self) -> None:
        def read() -> tuple[list[StrategyVersion], list[RunSummary]]:
            return self._versions().list(self.strategy), self._runs()

        try:
            versions, runs = await asyncio.to_thread(read)
        except TerminalError as exc:
            self._say(f"The versions cannot be read: {exc.user_message()}", error=True)
            return
        chosen = {v.source_hash for v in self.selected()}
        self.listed = versions
        self.runs_of = {}
        for run in runs:
            if run.strategy == self.strategy and run.source_hash:
                self.runs_of.setdefault(run.source_hash, []).append(run)
        self._filling = True
        try:
            self.table.setRowCount(len(versions))
            for row, version in enumerate(versions):
                cells = (version.short, utc_text(version.first_seen_ms), str(version.runs),
                         str(version.studies), version.note, Path(version.path).name)  # fmt: skip
                for column, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    if column != NOTE:
                        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                    if column == VERSION_COLUMNS.index("File"):
                        item.setToolTip(version.path)
                    if column == 0:
                        item.setToolTip(version.source_hash)
                    self.table.setItem(row, column, item)
            for row, version in enumerate(versions):
                if version.source_hash in chosen:
                    self.table.selectRow(row)
        finally:
            self._filling = False
        if not versions:
            self._say(
                "No version is kept yet: one is kept each time a run of this strategy is saved "
                "or a study of it starts."
            )
        else:
            self._say(f"{len(versions)} version{'s' if len(versions) > 1 else ''}.")
        self._selection_changed()

    def select(self, source_hashes: Sequence[str]) -> None:
        """Select the versions with these hashes (as the user does with Ctrl+click)."""
        self.table.clearSelection()
        model, selection = self.table.model(), self.table.selectionModel()
        flags = selection.SelectionFlag.Select | selection.SelectionFlag.Rows
        for row, version in enumerate(self.listed):
            if version.source_hash in source_hashes:
                selection.select(model.index(row, 0), flags)

    def selected(self) -> list[StrategyVersion]:
        """The selected versions, oldest first."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()}, reverse=True)
        return [self.listed[row] for row in rows if row < len(self.listed)]

    def _selection_changed(self) -> None:
        chosen = self.selected()
        self.diff_button.setEnabled(len(chosen) in (1, 2))
        self.restore_button.setEnabled(len(chosen) == 1)
        if len(chosen) == 1:
            self.new_name.setText(f"{self.strategy}_{chosen[0].short}")
        shown = chosen[-2:] if chosen else self.listed[:1]
        for i, (label, runs_table) in enumerate(zip(self.run_titles, self.run_tables, strict=True)):
            version = shown[i] if i < len(shown) else None
            runs_table.setVisible(version is not None)
            label.setVisible(version is not None)
            if version is not None:
                label.setText(_version_title(version))
                _fill_runs(runs_table, self.runs_of.get(version.source_hash, []))

    # -- notes ---------------------------------------------------------------------------------------
    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != NOTE or item.row() >= len(self.listed):
            return
        version = self.listed[item.row()]
        self._spawn(self._save_note(version, item.text()), "note")

    async def _save_note(self, version: StrategyVersion, note: str) -> None:
        try:
            await asyncio.to_thread(self._versions().set_note, self.strategy, version.source_hash, note)
        except TerminalError as exc:
            self._say(f"The note was not kept: {exc.user_message()}", error=True)
            return
        self._say(f"Note kept for version {version.short}.")

    # -- diff ----------------------------------------------------------------------------------------
    def diff(self) -> asyncio.Task[str] | None:
        """What changed between the selected versions (one selected: since the version
        before it), in the diff view; the task's result is the diff."""
        chosen = self.selected()
        if len(chosen) == 1:
            index = self.listed.index(chosen[0])
            if index + 1 >= len(self.listed):
                self._say(f"Version {chosen[0].short} is the first kept: there is nothing before it.")
                return None
            chosen = [self.listed[index + 1], chosen[0]]
        if len(chosen) != 2:
            self._say("Select two versions to compare.", error=True)
            return None
        return self._spawn(self._diff(chosen[0], chosen[1]), "diff")

    async def _diff(self, old: StrategyVersion, new: StrategyVersion) -> str:
        def read() -> tuple[str, str]:
            versions = self._versions()
            texts = (versions.source(self.strategy, v.source_hash) for v in (old, new))
            return next(texts), next(texts)

        try:
            old_text, new_text = await asyncio.to_thread(read)
        except TerminalError as exc:
            self._say(f"The versions cannot be read: {exc.user_message()}", error=True)
            return ""
        names = (f"{v.short} ({utc_text(v.first_seen_ms)})" for v in (old, new))
        text = unified_diff(old_text, new_text, *names)
        self.diff_view.setPlainText(text or "The two versions' texts are the same.")
        self._say(f"Changes from {old.short} to {new.short}.")
        return text

    # -- restore -------------------------------------------------------------------------------------
    def restore(self) -> asyncio.Task[Restored | None] | None:
        """Write the selected version to a new file named as the name field says."""
        chosen = self.selected()
        name = self.new_name.text().strip()
        if len(chosen) != 1:
            self._say("Select the one version to restore.", error=True)
            return None
        if not NAME.fullmatch(name) or name == self.strategy:
            self._say(
                f"Type a new name for the restored strategy: letters, digits and _, not {self.strategy!r} "
                "(two strategies of one name clash).",
                error=True,
            )
            return None
        return self._spawn(self._restore(chosen[0], name), "restore")

    async def _restore(self, version: StrategyVersion, name: str) -> Restored | None:
        def write() -> Restored:
            text = self._versions().source(self.strategy, version.source_hash)
            return restore(text, self.folder, self.strategy, name)

        try:
            done = await asyncio.to_thread(write)
        except TerminalError as exc:
            self._say(f"Not restored: {exc.user_message()}", error=True)
            return None
        if done.renamed:
            self._say(f"Version {version.short} is now {done.path}, as the strategy {name!r}.")
        else:
            self._say(
                f"Version {version.short} is now {done.path}, but its strategy is still named "
                f"{self.strategy!r} (the name could not be rewritten for certain): rename it in the "
                "file, or it clashes with the current one.",
                error=True,
            )
        self.restored.emit(done.path)
        return done

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.clash_note.setStyleSheet(f"color: {theme.muted};")
        self.status.setStyleSheet(f"color: {theme.muted};")


def _version_title(version: StrategyVersion) -> str:
    note = f": {version.note}" if version.note else ""
    return f"Runs of {version.short} ({utc_text(version.first_seen_ms)}){note}"


def _runs_table(parent: QWidget) -> QTableWidget:
    view = QTableWidget(0, len(RUN_COLUMNS), parent)
    view.setHorizontalHeaderLabels(RUN_COLUMNS)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.verticalHeader().hide()
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return view


def _fill_runs(view: QTableWidget, runs: Sequence[RunSummary]) -> None:
    view.setRowCount(len(runs))
    for row, run in enumerate(runs):
        metrics = [format_metric(kind, metric_value(run.metrics, name)) for name, _, kind in HEADLINE]
        market = f"{run.exchange} {run.symbol} {run.timeframe}"
        for column, text in enumerate((f"#{run.id}", params_text(run.params), *metrics, market)):
            item = QTableWidgetItem(text)
            if 1 < column < len(RUN_COLUMNS) - 1:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            view.setItem(row, column, item)
