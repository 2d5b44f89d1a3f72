"""Where the Research tab's jobs run: this machine's worker processes, a local
Dask cluster, or a Dask scheduler at an address; and, while a job runs on a
cluster, its workers, their load, the trials per second each ran, and the address
of the cluster's dashboard.

The choice is the ``[research]`` section of the settings (``ResearchSettings``):
the box shows it and hands a changed one to ``save``. The certificates of a
``tls://`` scheduler are set in the settings file (docs/research.md, "On a
cluster"); the private key goes to the keyring, never there."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QLineEdit, QWidget

from terminal.config import ResearchSettings
from terminal.research.cluster.connect import WorkerState

CHOICES = (
    ("This machine (worker processes)", "local"),
    ("A local Dask cluster", "dask-local"),
    ("A Dask scheduler at an address", "dask"),
)


class ComputeBox(QWidget):
    changed = Signal()

    def __init__(
        self,
        settings: ResearchSettings | None = None,
        save: Callable[[ResearchSettings], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        settings = settings or ResearchSettings()
        super().__init__(parent)
        self.settings = settings
        self.on_save = save  # told of a changed choice (the window saves it in the settings)
        self.where = QComboBox(self)
        self.where.setObjectName("research_compute")
        for label, kind in CHOICES:
            self.where.addItem(label, kind)
        self.where.setToolTip("Where sweeps and walk-forwards run; the results are the same on each")
        self.address = QLineEdit(self)
        self.address.setPlaceholderText("tcp://host:8786 or tls://host:8786")
        self.address.setToolTip(
            "The scheduler's address (Enter to use it). tls:// takes the certificates set in the settings "
            "file; plain tcp:// is refused off this machine unless allowed there (research.allow_plaintext)."
        )
        self.state = QLabel("", self)
        self.state.setObjectName("research_cluster")
        self.state.setWordWrap(True)
        self.state.setTextFormat(Qt.TextFormat.RichText)
        self.state.setOpenExternalLinks(True)  # the dashboard opens in the browser
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Run on", self), 0, 0)
        grid.addWidget(self.where, 0, 1)
        grid.addWidget(self.address, 1, 1)
        grid.addWidget(self.state, 2, 0, 1, 2)
        grid.setColumnStretch(1, 1)
        self.show_settings(settings)
        self.where.currentIndexChanged.connect(self._chosen)
        self.address.returnPressed.connect(self._chosen)
        self.address.editingFinished.connect(self._chosen)

    def show_settings(self, settings: ResearchSettings) -> None:
        self.settings = settings
        self.where.blockSignals(True)
        self.where.setCurrentIndex(max(0, self.where.findData(settings.compute)))
        self.where.blockSignals(False)
        self.address.setText(settings.dask_address)
        self.address.setVisible(settings.compute == "dask")
        self.state.setText(_idle(settings))

    def _chosen(self) -> None:
        kind = str(self.where.currentData())
        self.address.setVisible(kind == "dask")
        address = self.address.text().strip()
        if kind == "dask" and not address:
            self.state.setText("Enter the scheduler's address, then Enter.")
            self.address.setFocus()
            return
        try:
            chosen = self.settings.model_copy(update={"compute": kind, "dask_address": address})
            chosen = ResearchSettings.model_validate(chosen.model_dump())
        except ValidationError as exc:
            self.state.setText(escape(str(exc.errors()[0]["msg"])))
            return
        if chosen.model_dump() == self.settings.model_dump():
            return
        self.settings = chosen
        self.state.setText(_idle(chosen))
        if self.on_save is not None:
            self.on_save(chosen)
        self.changed.emit()

    def show_cluster(self, description: str, dashboard: str | None, workers: Sequence[WorkerState]) -> None:
        """What the cluster does now: its workers, their load, the trials/s each ran."""
        parts = [f"On {escape(description)}: {len(workers)} worker{'s' if len(workers) != 1 else ''}"]
        if dashboard:
            parts.append(f'dashboard <a href="{escape(dashboard)}">{escape(dashboard)}</a>')
        lines = [" · ".join(parts)]
        for w in workers:  # a trial scored over folds is one run a fold: runs, then
            rate = f"{w.trials:,} runs, {w.trials_per_s:,.0f}/s" if w.trials else "no run yet"
            lines.append(f"{escape(w.address)}: {w.running}/{w.threads} busy, {rate}, {w.memory_mb:,.0f} MB")
        self.state.setText("<br>".join(lines))


def _idle(settings: ResearchSettings) -> str:
    if settings.compute == "local":
        return "Jobs run in worker processes on this machine."
    if settings.compute == "dask-local":
        return "Jobs run on a Dask cluster started on this machine with the first job."
    return f"Jobs run on the Dask cluster at {escape(settings.dask_address)} (connected with the first job)."
