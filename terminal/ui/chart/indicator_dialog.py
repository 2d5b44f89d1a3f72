"""An indicator's settings: its parameters, a colour per line, the width and style.

Opened from the legend's ⚙ (or a double-click on it) and from the Indicators menu.
The fields hold only what the catalogue accepts (whole numbers where a period is
meant, each within its range), so OK always gives a valid config.
"""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QPushButton,
    QSpinBox,
    QWidget,
)

from terminal.analysis.setup import STYLES, IndicatorConfig


class ColorButton(QPushButton):
    """A swatch that opens a colour chooser."""

    def __init__(self, color: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedWidth(64)
        self.clicked.connect(self._choose)
        self.set_color(color)

    def set_color(self, color: str) -> None:
        self.color = QColor(color).name()
        self.setStyleSheet(f"background: {self.color}; border: 1px solid #888; min-height: 18px;")
        self.setToolTip(self.color)

    def _choose(self) -> None:
        chosen = QColorDialog.getColor(QColor(self.color), self, "Line colour")
        if chosen.isValid():
            self.set_color(chosen.name())


class IndicatorDialog(QDialog):
    def __init__(self, config: IndicatorConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        spec = config.spec
        self.setWindowTitle(f"{spec.title} ({spec.key})")
        self.config = config
        form = QFormLayout(self)
        self.fields: dict[str, QSpinBox | QDoubleSpinBox] = {}
        for param in spec.params:
            field: QSpinBox | QDoubleSpinBox
            if param.integer:
                field = QSpinBox(self)
                field.setRange(int(param.minimum), int(param.maximum))
                field.setValue(int(config.params[param.name]))
            else:
                field = QDoubleSpinBox(self)
                field.setDecimals(3)
                field.setSingleStep(0.1 if param.maximum > 2 else 0.01)
                field.setRange(param.minimum, param.maximum)
                field.setValue(float(config.params[param.name]))
            self.fields[param.name] = field
            form.addRow(param.label, field)
        self.colors = [ColorButton(color, self) for color in config.colors]
        for line, button in zip(spec.lines, self.colors, strict=True):
            form.addRow(f"Colour: {line.name.replace('_', ' ')}", button)
        self.width_box = QDoubleSpinBox(self)
        self.width_box.setRange(0.5, 8.0)
        self.width_box.setSingleStep(0.5)
        self.width_box.setValue(config.width)
        form.addRow("Line width", self.width_box)
        self.style_box = QComboBox(self)
        self.style_box.addItems(STYLES)
        self.style_box.setCurrentText(config.style)
        form.addRow("Line style", self.style_box)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def result_config(self) -> IndicatorConfig:
        """The config as the fields say (valid by construction of the fields)."""
        params = {name: field.value() for name, field in self.fields.items()}
        return IndicatorConfig(
            self.config.key,
            self.config.spec.checked(params),
            tuple(button.color for button in self.colors),
            float(self.width_box.value()),
            self.style_box.currentText(),
        )
