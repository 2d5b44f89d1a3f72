"""The Research tab as its tests open it: Ctrl+Shift+B in a real window."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from terminal.ui.backtest.panel import BacktestPanel
from tests.ui.harness import Terminal


async def open_research(t: Terminal, qtbot: Any) -> BacktestPanel:
    """Ctrl+Shift+B, then the panel once it has read what there is, its Research tab raised."""
    await t.activate()
    shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(t.focus(), Qt.Key.Key_B, shift_ctrl)
    panel = t.window.backtest
    assert panel is not None
    await t.until(lambda: not panel.busy and panel.data.chart is not None, "the panel to read what there is")
    assert panel.tabs.currentWidget() is panel.research
    return panel
