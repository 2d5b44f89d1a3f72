"""A user's own indicator from the strategies folder, on the chart as the built-in ones are."""

from __future__ import annotations

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from terminal.errors import TerminalError
from terminal.paths import AppPaths
from tests.backtest.test_user_indicators import MOMENTUM
from tests.ui.chart.test_indicators_on_chart import columns_near, type_in_palette
from tests.ui.harness import Launch, Terminal


def momentum(close: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(close), np.nan)
    out[n:] = close[n:] - close[:-n]
    return out


async def mom_loaded(t: Terminal) -> None:
    await t.until(
        lambda: "MOM" in t.window.user_indicators.names, "the user's MOM indicator loaded", timeout=20
    )


async def test_a_users_indicator_from_the_palette_is_drawn_live_and_kept(
    launch: Launch, app_paths: AppPaths, qtbot: QtBot
) -> None:
    folder = app_paths.config_dir / "strategies"
    folder.mkdir(mode=0o700)
    (folder / "momentum.py").write_text(MOMENTUM, encoding="utf-8")
    async with launch() as t:
        await mom_loaded(t)
        await t.activate()
        await type_in_palette(t, qtbot, "MOM 5")
        (study,) = t.chart.studies.studies
        assert study.config.label == "MOM 5" and study.pane is not None
        assert "Momentum (yours)" in study.config.spec.title
        close = t.chart.series.close
        np.testing.assert_allclose(study.live.line(0), momentum(close, 5), equal_nan=True)
        assert columns_near(t.chart, study.pane.plot.getViewBox(), study.config.colors[0]) > 200
        version = t.chart.series.version
        await t.until(lambda: t.chart.series.version > version + 3, "the live candle to move", timeout=30)
        t.chart.live_update()  # as the next frame would
        np.testing.assert_allclose(study.live.line(0), momentum(t.chart.series.close, 5), equal_nan=True)

    async with launch() as t:  # saved with the chart; drawn once its file has loaded
        await mom_loaded(t)
        await t.until(lambda: [s.config.label for s in t.chart.studies.studies] == ["MOM 5"], "MOM 5 back")


async def test_a_broken_file_says_where_and_a_failing_indicator_says_why(
    launch: Launch, app_paths: AppPaths, qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    folder = app_paths.config_dir / "strategies"
    folder.mkdir(mode=0o700)
    (folder / "broken.py").write_text("def oops(:\n", encoding="utf-8")
    failing = MOMENTUM.replace(
        "        return out\n", "        raise RuntimeError('no data for this one')\n", 1
    )
    (folder / "failing.py").write_text(failing, encoding="utf-8")
    async with launch() as t:
        await mom_loaded(t)
        await t.until(lambda: "did not load" in caplog.text and "broken.py" in caplog.text, "the file named")
        assert "line 1" in caplog.text or "broken.py:1" in caplog.text
        await t.activate()
        await type_in_palette(t, qtbot, "MOM 5")
        assert t.chart.studies.studies == []  # nothing drawn from an indicator that failed
        assert "Cannot add MOM 5: RuntimeError: no data for this one" in caplog.text


async def test_settings_that_make_a_users_indicator_fail_leave_it_as_it_was(
    launch: Launch, app_paths: AppPaths
) -> None:
    folder = app_paths.config_dir / "strategies"
    folder.mkdir(mode=0o700)
    picky = MOMENTUM.replace(
        "        close = candles.close\n",
        "        if self.params.period > 50:\n            raise ValueError('too long a period')\n"
        "        close = candles.close\n",
    )
    (folder / "picky.py").write_text(picky, encoding="utf-8")
    async with launch() as t:
        await mom_loaded(t)
        controls = t.window.indicators
        assert controls.add_text("MOM 5")
        (study,) = t.chart.studies.studies
        with pytest.raises(TerminalError, match="ValueError: too long a period"):
            t.chart.studies.replace(study.id, study.config.with_params({"period": 60}))
        assert [s.config.label for s in t.chart.studies.studies] == ["MOM 5"]  # still drawn
        assert t.chart.studies.studies[0] is study and study.pane is not None
