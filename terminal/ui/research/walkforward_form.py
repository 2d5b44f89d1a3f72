"""The Walk-forward group under the sweep form: ticked, Start runs a walk-forward
instead of one sweep (the same space, method, objectives, filters and budget
for every fold's in-sample sweep). The folds are cut by a count and an
in-sample to out-of-sample ratio, or by the two windows' lengths in bars;
rolling (the in-sample window slides) or anchored (it starts at the first bar
and grows). What the fields mean is ``terminal.research.walkforward.Windows``'s;
whether the candles are long enough is the analysis's to say, on the tab."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QWidget,
)

from terminal.research.walkforward import MIN_BARS, Windows

BY_RATIO, BY_LENGTHS = "ratio", "lengths"


class WalkForwardForm(QGroupBox):
    """A checkable group: ``isChecked()`` says whether Start walks forward."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Walk-forward", parent)
        self.setObjectName("research_walk_forward")
        self.setCheckable(True)
        self.setChecked(False)
        self.setToolTip(
            "Optimise on each in-sample window, trade the best trial on the out-of-sample window after "
            "it, and stitch those windows together (docs/research.md, Walk-forward)"
        )
        self.cut = QComboBox(self)
        self.cut.addItem("by fold count and ratio", BY_RATIO)
        self.cut.addItem("by window lengths", BY_LENGTHS)
        self.folds = QSpinBox(self)
        self.folds.setRange(1, 1000)
        self.folds.setValue(5)
        self.folds.setToolTip("Out-of-sample windows, one after another, ending at the last candle")
        self.ratio = QDoubleSpinBox(self)
        self.ratio.setRange(0.1, 100.0)
        self.ratio.setDecimals(1)
        self.ratio.setValue(4.0)
        self.ratio.setSuffix(" to 1")
        self.ratio.setToolTip("In-sample bars for each out-of-sample bar")
        self.in_bars = QSpinBox(self)
        self.out_bars = QSpinBox(self)
        for length, value in ((self.in_bars, 2000), (self.out_bars, 500)):
            length.setRange(MIN_BARS, 100_000_000)
            length.setValue(value)
            length.setSuffix(" bars")
            length.setGroupSeparatorShown(True)
        self.anchored = QComboBox(self)
        self.anchored.addItem("rolling", False)
        self.anchored.addItem("anchored", True)
        self.anchored.setToolTip(
            "Rolling: the in-sample window keeps its length and slides; anchored: it starts at the first "
            "bar and grows"
        )

        grid = QGridLayout(self)
        fields: tuple[tuple[str, QWidget], ...] = (
            ("Folds", self.folds), ("Cut", self.cut), ("In : out", self.ratio),
            ("In-sample", self.in_bars), ("Out-of-sample", self.out_bars), ("Windows", self.anchored),
        )  # fmt: skip
        self.labels: dict[QWidget, QLabel] = {}
        for row, (label, field) in enumerate(fields):
            self.labels[field] = QLabel(label, self)
            grid.addWidget(self.labels[field], row, 0)
            grid.addWidget(field, row, 1)
        grid.setColumnStretch(1, 1)

        self.toggled.connect(lambda _on: self.changed.emit())
        self.cut.currentIndexChanged.connect(self._cut_changed)
        self._cut_changed()

    def by_lengths(self) -> bool:
        return self.cut.currentData() == BY_LENGTHS

    def windows(self) -> Windows:
        """The folds as the analysis takes them. By lengths, the fold count takes the
        newest that many windows (the count at 0, "as many as fit", takes all)."""
        anchored = bool(self.anchored.currentData())
        if self.by_lengths():
            count = self.folds.value() or None
            return Windows(self.in_bars.value(), self.out_bars.value(), folds=count, anchored=anchored)
        return Windows(folds=self.folds.value(), ratio=self.ratio.value(), anchored=anchored)

    def _cut_changed(self) -> None:
        lengths = self.by_lengths()
        # by lengths a count is optional (0: as many windows as fit); by ratio it makes the windows
        self.folds.setMinimum(0 if lengths else 1)
        self.folds.setSpecialValueText("as many as fit" if lengths else "")
        for field, shown in ((self.ratio, not lengths), (self.in_bars, lengths), (self.out_bars, lengths)):
            field.setVisible(shown)
            self.labels[field].setVisible(shown)
        self.changed.emit()
