"""A drawing's context menu: an alert on the line (only while something takes it),
a note's text, its colour, and Delete; each change goes through the layer, so it
can be undone like a mouse edit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QMenu

from terminal.ui.chart.drawings.model import ALERTABLE, PALETTE, Drawing, Kind

if TYPE_CHECKING:
    from terminal.ui.chart.drawings.layer import DrawingLayer

ALERT = "Add alert on this line…"


def drawing_menu(layer: DrawingLayer, drawing: Drawing) -> QMenu:
    menu = QMenu(layer.chart)
    drawing_id = drawing.id  # the actions act on the drawing as it is then, not as it was now
    if drawing.kind in ALERTABLE and layer.alerts_wanted:
        alert = menu.addAction(ALERT)
        alert.triggered.connect(lambda _checked=False: layer.request_alert(drawing_id))
    if drawing.kind is Kind.NOTE:
        edit = menu.addAction("Edit text…")
        edit.triggered.connect(lambda _checked=False: layer.edit_note(drawing_id))
    colours = menu.addMenu("Colour")
    for name, color in PALETTE:
        swatch = QPixmap(12, 12)
        swatch.fill(QColor(color))
        action = colours.addAction(QIcon(swatch), name)
        action.setCheckable(True)
        action.setChecked(color.lower() == drawing.color.lower())
        action.triggered.connect(lambda _checked=False, c=color: layer.set_color(drawing_id, c))
    menu.addSeparator()
    delete = menu.addAction("Delete")
    delete.triggered.connect(lambda _checked=False: layer.delete(drawing_id))
    return menu
