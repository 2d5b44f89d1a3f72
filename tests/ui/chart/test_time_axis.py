"""The time axis keeps what a pan would work out again (terminal.ui.chart.grid): its
ticks and labels must be pyqtgraph's own, at every zoom, for every view."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from pytestqt.qtbot import QtBot

from terminal.ui.chart.grid import TimeAxis

T0 = 1_700_000_000.0  # seconds
WIDTHS_S = (90.0, 3_600.0, 86_400.0, 30 * 86_400.0, 400 * 86_400.0, 9 * 365 * 86_400.0)


def laid_out(qtbot: QtBot, axis: pg.AxisItem) -> pg.PlotWidget:
    plot = pg.PlotWidget(axisItems={"bottom": axis})
    qtbot.addWidget(plot)
    plot.resize(900, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.grab()  # the axes' fonts are known after a first paint
    return plot


@pytest.mark.parametrize("width", WIDTHS_S)
@pytest.mark.parametrize("utc_offset", [None, 0, -3_600 * 5])
def test_ticks_and_labels_as_pyqtgraphs_own_through_a_pan(
    qtbot: QtBot, width: float, utc_offset: int | None
) -> None:
    ours, theirs = (
        TimeAxis(orientation="bottom", utcOffset=utc_offset),
        pg.DateAxisItem(orientation="bottom", utcOffset=utc_offset),
    )
    for axis in (ours, theirs):
        laid_out(qtbot, axis)
    theirs.fontMetrics = ours.fontMetrics  # the same font, measured alike
    rng = np.random.default_rng(int(width))
    start = T0
    for _ in range(60):  # a pan, with jumps: within the kept ticks and past them
        start += float(rng.choice([0.02, -0.03, 0.4, 2.5])) * width
        lo, hi = start, start + width
        mine, pg_own = ours.tickValues(lo, hi, 820.0), theirs.tickValues(lo, hi, 820.0)
        # pyqtgraph may add a tick just outside the view, which it does not draw (nor the grid)
        assert [(s, list(v)) for s, v in mine] == [(s, [x for x in v if lo <= x <= hi]) for s, v in pg_own]
        assert sum(len(v) for _s, v in mine) >= 2
        for spacing, values in mine:
            assert ours.tickStrings(values, 1.0, spacing) == theirs.tickStrings(values, 1.0, spacing)
