"""Indicators on the chart, as the user adds, edits, removes and keeps them."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from terminal.analysis.catalogue import parse
from terminal.analysis.live import LiveIndicator
from terminal.analysis.setup import IndicatorConfig
from terminal.paths import AppPaths
from terminal.ui.chart.chart_widget import ChartWidget
from terminal.ui.chart.indicator_dialog import IndicatorDialog
from terminal.ui.chart.studies import Study
from terminal.ui.window.palette import CommandPalette
from tests.ui.harness import Launch, image_array, scene_rect_in


def near(pixels: np.ndarray, color: str, tolerance: int = 40) -> np.ndarray:
    """Pixels within ``tolerance`` of ``color`` in every channel (antialiased lines blend their edges)."""
    want = int(color.lstrip("#"), 16)
    channels = [(pixels >> shift) & 0xFF for shift in (16, 8, 0)]
    wanted = [(want >> shift) & 0xFF for shift in (16, 8, 0)]
    close = np.ones(pixels.shape, dtype=bool)
    for got, w in zip(channels, wanted, strict=True):
        close &= np.abs(got.astype(int) - w) <= tolerance
    return close


def columns_near(chart: ChartWidget, plot_vb: object, color: str) -> int:
    """Pixel columns of a plot's area that hold ``color`` (a line across it fills most of them)."""
    pixels = image_array(chart.grab().toImage())
    rect = scene_rect_in(chart, plot_vb)
    area = pixels[rect.top() : rect.bottom() + 1, rect.left() : rect.right() + 1]
    return int(near(area, color).any(axis=0).sum())


def click_legend_button(qtbot: QtBot, chart: ChartWidget, study: Study, button: str) -> None:
    """A left click on a study's legend button ("edit": ⚙, "remove": ✕) where it is drawn."""
    rect = chart.studies.legend(study).button_rect(study.id, button)
    assert rect is not None
    qtbot.mouseClick(
        chart.glw.viewport(), Qt.MouseButton.LeftButton, pos=chart.glw.mapFromScene(rect.center())
    )


async def type_in_palette(t: object, qtbot: QtBot, text: str) -> None:
    window = t.window  # type: ignore[attr-defined]
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Slash)
    await t.until(  # type: ignore[attr-defined]
        lambda: isinstance(QApplication.activeModalWidget(), CommandPalette), "the indicator palette to open"
    )
    palette = QApplication.activeModalWidget()
    assert isinstance(palette, CommandPalette)
    qtbot.keyClicks(palette.query, text)
    qtbot.keyClick(palette.query, Qt.Key.Key_Return)
    assert not palette.isVisible()


async def test_rsi_and_bollinger_from_the_palette_draw_a_pane_and_bands(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        await t.activate()
        chart = t.chart
        rows_before = len(chart.glw.ci.items)
        await type_in_palette(t, qtbot, "RSI 21")
        await type_in_palette(t, qtbot, "BB 20 2")
        labels = [s.config.label for s in chart.studies.studies]
        assert labels == ["RSI 21", "BB 20 2"]
        assert (
            len(chart.glw.ci.items) == rows_before + 1
        )  # one pane, for the RSI; the bands go over the price
        rsi, bands = chart.studies.studies
        assert rsi.pane is not None and bands.pane is None
        await t.until(lambda: chart.studies.legend_text(rsi).startswith("RSI 21  "), "the RSI's legend")
        # the RSI's line crosses its pane; the bands' colours cross the price pane
        assert columns_near(chart, rsi.pane.plot.getViewBox(), rsi.config.colors[0]) > 200
        assert columns_near(chart, chart.price_plot.getViewBox(), bands.config.colors[1]) > 200
        # the values are the indicator's over the chart's candles (and the forming one)
        full = LiveIndicator(rsi.config.spec, dict(rsi.config.params))
        full.compute(chart.series)
        np.testing.assert_allclose(rsi.live.line(0)[: len(full)], full.line(0), rtol=1e-9)

        # the legend's ✕ removes it, and its pane goes
        click_legend_button(qtbot, chart, rsi, "remove")
        assert [s.config.label for s in chart.studies.studies] == ["BB 20 2"]
        assert len(chart.glw.ci.items) == rows_before


async def test_the_live_candle_moves_the_indicators_as_a_full_recompute_would(launch: Launch) -> None:
    async with launch() as t:
        chart = t.chart
        for text in ("EMA 9", "SAR", "MACD"):
            request = parse(text)
            chart.studies.add(IndicatorConfig.new(request.spec, request.params))
        version = chart.series.version
        await t.until(lambda: chart.series.version > version + 5, "five live changes", timeout=30)
        # the frame bridge calls this on its next frame; called here, the series cannot move in between
        chart.live_update()
        for study in chart.studies.studies:
            full = LiveIndicator(study.config.spec, dict(study.config.params))
            full.compute(chart.series)
            assert len(study.live) == len(full)
            for k in range(len(study.items)):
                np.testing.assert_allclose(study.live.line(k), full.line(k), rtol=1e-9, atol=1e-9)


async def test_a_typo_in_the_palette_says_what_is_wrong_and_adds_nothing(
    launch: Launch, qtbot: QtBot
) -> None:
    async with launch() as t:
        await t.activate()
        await type_in_palette(t, qtbot, "RSI 0")
        assert t.chart.studies.studies == []
        await t.until(
            lambda: "Period must be between 1 and 5000, not 0" in t.window.statusBar().currentMessage(),
            "the status bar to say why",
        )


async def test_settings_change_the_period_colour_and_style_in_place(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        chart = t.chart
        chart.studies.add(IndicatorConfig.new(parse("SMA").spec, {"period": 20}))
        chart.studies.add(IndicatorConfig.new(parse("RSI").spec))
        sma = chart.studies.studies[0]
        dialog = IndicatorDialog(sma.config, t.window)
        dialog.fields["period"].setValue(50)
        dialog.colors[0].set_color("#ff00ff")
        dialog.style_box.setCurrentText("dash")
        dialog.width_box.setValue(2.0)
        chart.studies.replace(sma.id, dialog.result_config())
        dialog.deleteLater()
        assert [s.config.label for s in chart.studies.studies] == [
            "SMA 50",
            "RSI 14",
        ]  # same place in the list
        new = chart.studies.studies[0]
        assert new.config.colors == ("#ff00ff",) and (new.config.style, new.config.width) == ("dash", 2.0)
        assert np.isnan(new.live.line(0)[48]) and not np.isnan(new.live.line(0)[49])  # a 50-bar warm-up
        await t.until(
            lambda: columns_near(chart, chart.price_plot.getViewBox(), "#ff00ff") > 150,
            "the magenta dashed SMA",
        )


async def test_indicators_and_templates_come_back_after_a_restart(
    launch: Launch, app_paths: AppPaths
) -> None:
    async with launch() as t:
        controls = t.window.indicators
        assert controls.add_text("RSI 21") and controls.add_text("BB 20 2.5") and controls.add_text("EMA 9")
        controls.save_template("Swing")
        controls.studies.remove(controls.studies.studies[-1].id)  # EMA off again; the template keeps it

    async with launch() as t:
        controls = t.window.indicators
        assert [s.config.label for s in t.chart.studies.studies] == ["RSI 21", "BB 20 2.5"]
        assert t.chart.studies.studies[0].pane is not None  # drawn, in its pane
        controls.studies.set_configs([])
        controls.apply_template("Swing")
        assert [s.config.label for s in t.chart.studies.studies] == ["RSI 21", "BB 20 2.5", "EMA 9"]
    assert (app_paths.config_dir / "indicator_templates.json").exists()
