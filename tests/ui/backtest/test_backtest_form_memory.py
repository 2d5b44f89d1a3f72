"""The backtest form comes back after a restart (strategy, parameters, costs,
sizing, direction, range), kept in the config folder beside the layout and
never in config.toml; what no longer fits falls back to its default with a
note, never an exception."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from terminal.backtest.settings import Direction, SizingMode
from terminal.backtest.strategies import RsiReversion, SmaCross
from terminal.marketdata.timeframes import MINUTE_MS
from terminal.paths import AppPaths
from terminal.store.history_file import HistoryFile
from terminal.ui.backtest.data_picker import CHART
from terminal.ui.backtest.form_memory import FILE_NAME
from terminal.ui.backtest.number_edit import NumberEdit
from terminal.ui.backtest.panel import BacktestPanel
from tests.backtest.backtest_scenarios import ABOVE_AVERAGE
from tests.ui.harness import Launch, Terminal


@pytest.fixture
def history_path(app_paths: AppPaths) -> Path:
    return app_paths.data_dir / "history.sqlite"


@asynccontextmanager
async def panel_in(launch: Launch, history_path: Path) -> AsyncIterator[tuple[Terminal, BacktestPanel]]:
    """A terminal with its backtest panel open; the history file closed after, as the app does."""
    history = HistoryFile(history_path)
    try:
        async with launch(history_file=history) as t:
            panel = t.window.open_backtest()
            await t.until(
                lambda: not panel.busy and panel.data.chart is not None, "the panel to read what there is"
            )
            yield t, panel
    finally:
        history.close()


def set_text(field: NumberEdit, text: str) -> None:
    field.lineEdit().selectAll()
    field.lineEdit().insert(text)  # as typed: the field's edit signal fires


def saved_form(app_paths: AppPaths, **parts: Any) -> Path:
    """A form file as an earlier start left it."""
    path = app_paths.config_dir / FILE_NAME
    path.write_text(json.dumps({"version": 1, **parts}), encoding="utf-8")
    return path


async def test_the_form_comes_back_after_a_restart(
    launch: Launch, history_path: Path, app_paths: AppPaths
) -> None:
    async with panel_in(launch, history_path) as (_, panel):
        assert panel.strategy.strategy() is SmaCross, "a first start: the defaults"
        market_step = panel.settings_form.numbers["amount_step"].value()
        assert panel.strategy.select("rsi_reversion")
        assert panel.strategy.form is not None
        period = panel.strategy.form.fields["period"]
        assert isinstance(period, NumberEdit)
        set_text(period, "21")
        form = panel.settings_form
        set_text(form.numbers["taker_fee"], "0.25")
        form.sizing.setCurrentIndex(form.sizing.findData(SizingMode.QUOTE.value))
        set_text(form.numbers["quote_amount"], "250")
        form.direction.setCurrentIndex(form.direction.findData(Direction.LONG.value))
        panel.data.whole.setChecked(False)
        start = panel.data.start.ms() + 30 * MINUTE_MS
        end = start + 90 * MINUTE_MS
        panel.data.start.set_ms(start)
        panel.data.end.set_ms(end)
        wanted = panel.request()
        assert wanted is not None, panel.message.text()

    kept = app_paths.config_dir / FILE_NAME
    assert kept.is_file() and stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    config = app_paths.config_file.read_text(encoding="utf-8") if app_paths.config_file.exists() else ""
    assert "rsi_reversion" not in config and "backtest" not in config, "never in config.toml"

    async with panel_in(launch, history_path) as (_, panel):
        assert panel.strategy.strategy() is RsiReversion
        assert panel.strategy.params() == wanted.params
        assert panel.strategy.form is not None and panel.strategy.form.values()["period"] == 21
        again = panel.request()
        assert again is not None, panel.message.text()
        assert again.settings == wanted.settings
        assert again.settings.costs.taker_fee == pytest.approx(0.0025)
        assert again.settings.sizing.mode is SizingMode.QUOTE and again.settings.sizing.quote_amount == 250
        assert again.settings.direction is Direction.LONG
        assert panel.settings_form.numbers["amount_step"].value() == market_step, "not chosen: the market's"
        assert panel.data.source.currentData() == CHART and not panel.data.whole.isChecked()
        assert (again.data.start_ms, again.data.end_ms) == (start, end)
        assert panel.message.text() == "", "nothing to say when everything came back"


async def test_what_no_longer_fits_starts_from_its_defaults_with_a_note(
    launch: Launch, history_path: Path, app_paths: AppPaths
) -> None:
    saved_form(
        app_paths,
        strategy={"name": "sma_cross", "title": "SMA cross", "params": {"fast": 50, "slow": 10}},
        settings={"sizing": {"mode": "risk"}},  # risk sizing without a stop-loss
        data={"source": {"exchange": "binance", "symbol": "ZZZ/USDT", "timeframe": "1m"}, "whole": True},
    )
    async with panel_in(launch, history_path) as (t, panel):
        await t.until(lambda: "not stored any more" in panel.message.text(), "the note on the candles")
        text = panel.message.text()
        assert "The last parameters of SMA cross no longer fit it; it starts from its defaults." in text
        assert "The last costs, sizing and stops no longer fit; they start from the defaults." in text
        assert "binance ZZZ/USDT 1m is not stored any more: the chart is chosen." in text
        assert panel.strategy.strategy() is SmaCross
        assert panel.strategy.form is not None and panel.strategy.form.values() == {"fast": 10, "slow": 20}
        assert panel.strategy.form.problem("fast") == "" and panel.request() is not None
        assert panel.settings_form.sizing.currentData() == SizingMode.FRACTION.value


async def test_a_corrupt_or_odd_file_is_no_exception(
    launch: Launch, history_path: Path, app_paths: AppPaths
) -> None:
    path = saved_form(
        app_paths, strategy={"name": "ema_cross", "params": {"fast": "many", "slow": [3]}}, data="everything"
    )
    async with panel_in(launch, history_path) as (_, panel):
        assert getattr(panel.strategy.strategy(), "name", None) == "ema_cross"
        assert "no longer fit" in panel.message.text()
        assert panel.request() is not None

    path.write_text('{"version": 1, "strategy": {"name": "rsi_rev', encoding="utf-8")  # cut off mid-write
    async with panel_in(launch, history_path) as (_, panel):
        assert panel.message.text().startswith("The backtest form's last set-up could not be read")
        assert panel.strategy.strategy() is SmaCross and panel.request() is not None
    assert json.loads(path.read_text(encoding="utf-8"))["strategy"]["name"] == "sma_cross", "whole again"


async def test_a_user_strategy_comes_back_once_loaded_and_a_deleted_one_is_said(
    launch: Launch, history_path: Path, app_paths: AppPaths
) -> None:
    folder = app_paths.config_dir / "strategies"
    folder.mkdir()
    mine = folder / "mine.py"
    mine.write_text(ABOVE_AVERAGE.format(period=30), encoding="utf-8")
    title = "Close above its SMA (yours)"
    saved_form(app_paths, strategy={"name": "above_average", "title": title, "params": {"period": 45}})
    async with panel_in(launch, history_path) as (t, panel):
        box = panel.strategy
        assert not box.user, "nothing of the folder runs before the user asks"
        assert (
            panel.message.text()
            == f"Your last strategy, {title}, comes back when you load yours (Load yours)."
        )
        box.reload_button.click()
        await t.until(lambda: getattr(box.strategy(), "name", None) == "above_average", "the load")
        assert box.form is not None and box.form.values() == {"period": 45}
        assert panel.message.text() == f"Your last strategy, {title}, is back with its parameters."

    mine.unlink()  # the file is gone by the next start
    async with panel_in(launch, history_path) as (t, panel):
        box = panel.strategy
        box.reload_button.click()
        await t.until(lambda: "not in your strategies folder" in panel.message.text(), "the note")
        gone = "Close above its SMA"  # the title as the first start saved it, from the strategy itself
        assert (
            panel.message.text() == f"Your last strategy, {gone}, is not in your strategies folder any more."
        )
        assert box.strategy() is SmaCross
