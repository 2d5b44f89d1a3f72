"""Dark and light themes: one palette for Qt widgets, the chart and the ladder."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    panel: str
    text: str
    muted: str
    grid: str
    accent: str
    up: str
    down: str
    up_fill: str  # translucent, for depth bars
    down_fill: str
    crosshair: str

    def color(self, name: str, alpha: int | None = None) -> QColor:
        color = QColor(getattr(self, name))
        if alpha is not None:
            color.setAlpha(alpha)
        return color


DARK = Theme(
    name="dark",
    background="#131722",
    panel="#1b2030",
    text="#d1d4dc",
    muted="#787b86",
    grid="#2a2e39",
    accent="#2962ff",
    up="#26a69a",
    down="#ef5350",
    up_fill="#1d4a45",
    down_fill="#5a2a2c",
    crosshair="#9598a1",
)

LIGHT = Theme(
    name="light",
    background="#ffffff",
    panel="#f4f5f8",
    text="#131722",
    muted="#6a6d78",
    grid="#e0e3eb",
    accent="#2962ff",
    up="#089981",
    down="#f23645",
    up_fill="#c9ece6",
    down_fill="#fbd0d4",
    crosshair="#6a6d78",
)

THEMES = {"dark": DARK, "light": LIGHT}


def monospace_font(point_size: float = 9.0) -> QFont:
    """The font of the numeric panels (ladder, tape): digits line up in columns."""
    font = QFont("DejaVu Sans Mono")
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPointSizeF(point_size)
    return font


def apply_theme(app: QApplication, theme: Theme) -> None:
    """Fusion style with the theme's palette, for every standard widget."""
    app.setStyle("Fusion")
    palette = QPalette()
    bg, panel, text = QColor(theme.background), QColor(theme.panel), QColor(theme.text)
    role = QPalette.ColorRole
    palette.setColor(role.Window, panel)
    palette.setColor(role.WindowText, text)
    palette.setColor(role.Base, bg)
    palette.setColor(role.AlternateBase, panel)
    palette.setColor(role.Text, text)
    palette.setColor(role.Button, panel)
    palette.setColor(role.ButtonText, text)
    palette.setColor(role.ToolTipBase, panel)
    palette.setColor(role.ToolTipText, text)
    palette.setColor(role.Highlight, QColor(theme.accent))
    palette.setColor(role.HighlightedText, QColor("#ffffff"))
    palette.setColor(role.PlaceholderText, QColor(theme.muted))
    palette.setColor(QPalette.ColorGroup.Disabled, role.Text, QColor(theme.muted))
    palette.setColor(QPalette.ColorGroup.Disabled, role.ButtonText, QColor(theme.muted))
    app.setPalette(palette)
    app.setStyleSheet(
        f"QMainWindow::separator {{ background: {theme.grid}; width: 3px; height: 3px; }}"
        f"QDockWidget::title {{ background: {theme.panel}; padding: 4px; color: {theme.muted}; }}"
        f"QToolBar {{ border: none; background: {theme.panel}; spacing: 2px; }}"
        f"QStatusBar {{ background: {theme.panel}; color: {theme.muted}; }}"
        f"QTableView {{ gridline-color: {theme.grid}; border: none; }}"
        f"QHeaderView::section {{ background: {theme.panel}; color: {theme.muted};"
        " border: none; padding: 3px; }"
    )
