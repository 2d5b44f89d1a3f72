"""The chart's axes work their drawing out with less Python (terminal.ui.chart.axis_specs):
what they draw must be exactly what pyqtgraph's own method says, for every axis of a chart
with indicator panes, through pans, zooms, a log scale and resizes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage, QPainter
from pytestqt.qtbot import QtBot

from terminal.ui.chart.chart_widget import ChartWidget
from tests.ui.chart.test_still_layer import chart_with_indicators


def plain(spec: Any) -> Any:
    """A spec as comparable values: points as (x, y), pens as their colour and width."""
    if spec is None:
        return None
    axis, ticks, texts = spec

    def line(pen: Any, a: Any, b: Any) -> tuple[Any, ...]:
        return (pen.color().rgba(), pen.widthF(), (a.x(), a.y()), (b.x(), b.y()))

    return (
        line(*axis),
        [line(*t) for t in ticks],
        [((r.x(), r.y(), r.width(), r.height()), int(f), s) for r, f, s in texts],
    )


def pyqtgraphs_own(axis: pg.AxisItem, p: QPainter) -> Any:
    own = pg.DateAxisItem.generateDrawSpecs if isinstance(axis, pg.DateAxisItem) else None
    if own is not None:  # its font metrics, then pyqtgraph's AxisItem method
        if axis.style["tickFont"] is not None:
            p.setFont(axis.style["tickFont"])
        axis.fontMetrics = p.fontMetrics()
    return pg.AxisItem.generateDrawSpecs(axis, p)


def axes(chart: ChartWidget) -> list[pg.AxisItem]:
    return [
        chart.price_axis,
        chart.time_axis,
        chart.volume_plot.getAxis("right"),
        *(pane.plot.getAxis("right") for pane in chart.studies.panes),
    ]


@pytest.mark.parametrize("log", [False, True], ids=["linear", "log"])
def test_every_axis_draws_what_pyqtgraph_would(qtbot: QtBot, log: bool) -> None:
    chart = chart_with_indicators(qtbot)
    chart.set_log_scale(log)
    image = QImage(1200, 900, QImage.Format.Format_RGB32)
    rng = np.random.default_rng(9)
    compared = 0
    for step in range(40):
        move = rng.choice(["pan", "zoom", "resize"])
        if move == "pan":
            chart.pan(float(rng.uniform(-40, 40)))
        elif move == "zoom":
            chart.zoom(float(rng.uniform(0.5, 1.8)))
        else:
            chart.resize(int(rng.integers(500, 1100)), int(rng.integers(400, 800)))
        chart.grab()  # laid out and painted, as the user would see it
        p = QPainter(image)
        try:
            for axis in axes(chart):
                ours, theirs = plain(axis.generateDrawSpecs(p)), plain(pyqtgraphs_own(axis, p))
                assert ours == theirs, f"step {step}, {axis.orientation} axis"
                compared += len(ours[2]) if ours else 0
        finally:
            p.end()
    assert compared > 500  # labels were compared, not only empty axes
