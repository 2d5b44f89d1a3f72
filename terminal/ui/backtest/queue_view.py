"""The runs waiting and running: one line each, with a progress bar and a
Cancel button. A line goes away when its run has ended (the panel says how)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from terminal.backtest.queue import BacktestJob, JobState, Stage

_STEPS = 1000  # progress bar resolution


class QueueRow(QWidget):
    def __init__(self, job: BacktestJob, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.label = QLabel(self)
        self.label.setMinimumWidth(80)
        self.bar = QProgressBar(self)
        self.bar.setMaximumWidth(160)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop this run (a queued one never starts)")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.bar)
        row.addWidget(self.cancel_button)
        self.show_job()

    def show_job(self) -> None:
        job = self.job
        if job.stage is Stage.CANCELLING:
            state = "cancelling…"
        elif job.state is JobState.QUEUED:
            state = "waiting"
        elif job.stage is Stage.READING:
            state = "reading candles…"
        else:
            state = "running"
        self.label.setText(f"{job.title}: {state}")
        self.label.setToolTip(job.title)
        if job.progress is None:
            self.bar.setRange(0, 0)  # busy: how long a read takes is not known
        else:
            self.bar.setRange(0, _STEPS)
            self.bar.setValue(round(job.progress * _STEPS))
        self.cancel_button.setEnabled(job.stage is not Stage.CANCELLING)


class QueueView(QWidget):
    """``cancel_requested(job)`` when a line's Cancel is pressed."""

    cancel_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: dict[int, QueueRow] = {}
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(0, 0, 0, 0)
        self.column.setSpacing(2)
        self.hide()

    def show_job(self, job: BacktestJob) -> None:
        """Add, refresh or (once it has ended) remove the line of ``job``."""
        row = self.rows.get(job.id)
        if job.finished:
            if row is not None:
                del self.rows[job.id]
                self.column.removeWidget(row)
                row.deleteLater()
        elif row is None:
            row = QueueRow(job, self)
            row.cancel_button.clicked.connect(lambda _checked=False, j=job: self.cancel_requested.emit(j))
            self.rows[job.id] = row
            self.column.addWidget(row)
        else:
            row.show_job()
        self.setVisible(bool(self.rows))
