"""The Research tab on a Dask cluster, as a user drives it: Run on "A local Dask
cluster", a grid sweep started from the window runs there (real worker processes
on loopback) with the same trials as on this machine, the panel shows the
workers, their load and trials per second, and the choice is kept in the
settings file for the next start. A scheduler address that cannot be used is
said plainly and nothing runs."""

from __future__ import annotations

import os
import signal
import tomllib
from pathlib import Path
from typing import Any

from terminal.paths import AppPaths
from terminal.research.sweep import run_sweep
from terminal.store.history_file import HistoryFile
from tests.research.dask_processes import start_cluster
from tests.ui.backtest.research_helpers import open_research
from tests.ui.harness import Launch


async def test_a_sweep_runs_on_a_local_dask_cluster_chosen_in_the_panel(
    launch: Launch, history: HistoryFile, qtbot: Any, app_paths: AppPaths
) -> None:
    async with launch(history_file=history) as t:
        panel = await open_research(t, qtbot)
        view = panel.research
        box = view.compute
        assert box.where.currentData() == "local" and not box.address.isVisible()
        box.where.setCurrentIndex(box.where.findData("dask-local"))
        saved = tomllib.loads(app_paths.config_file.read_text(encoding="utf-8"))
        assert saved["research"]["compute"] == "dask-local"  # kept for the next start

        view.form.ranges.set_range("fast", "4", "8")
        view.form.ranges.set_range("slow", "6", "12")
        await t.until(lambda: "points in the grid" in view.form.grid_note.text(), "the grid's size")
        view.start_button.click()
        await t.until(lambda: panel.sweeps.result is not None, "the sweep on the cluster", timeout=120)
        result = panel.sweeps.result
        assert result is not None and result.path == "cluster"
        assert "every point was tried" in view.status.text()
        # the same trials as this machine gives, on the same candles
        loaded = panel.sweeps.base
        assert loaded is not None
        cluster = panel.sweeps.compute.cluster
        assert cluster is not None and cluster.worker_count() >= 1
        # the workers on screen: their load and the trials each ran
        await t.until(lambda: "runs, " in box.state.text(), "the workers' rates", timeout=10)
        assert "a local Dask cluster" in box.state.text() and "busy" in box.state.text()
        ran = sum(w.trials for w in cluster.workers())
        assert ran == view.model.row_total() == result.count

        candles = panel.sweeps._candles_for(panel.sweeps.data)  # type: ignore[arg-type]
        assert candles is not None
        data = candles() if callable(candles) else candles
        here = run_sweep(data, loaded[0], view.form.space(), settings=loaded[1], fast=False)
        assert [(tr.params, tr.values) for tr in here.trials] == [
            (tr.params, tr.values) for tr in view.model.trials
        ]


async def test_a_scheduler_that_cannot_be_used_is_said_and_nothing_runs(
    launch: Launch, history: HistoryFile, qtbot: Any
) -> None:
    async with launch(history_file=history) as t:
        panel = await open_research(t, qtbot)
        view = panel.research
        box = view.compute
        box.where.setCurrentIndex(box.where.findData("dask"))
        assert box.address.isVisible() and "Enter the scheduler's address" in box.state.text()
        box.address.setText("tcp://10.20.30.40:8786")  # off this machine, in the clear
        box.address.returnPressed.emit()
        assert box.settings.compute == "dask"
        view.form.ranges.set_range("fast", "4", "5")
        view.form.ranges.set_range("slow", "8", "8")
        view.start_button.click()
        await t.until(lambda: "off this machine" in view.status.text(), "the refusal", timeout=30)
        assert "would not be encrypted" in view.status.text() and "allow_plaintext" in view.status.text()
        assert view.model.row_total() == 0 and view.start_button.isEnabled()


async def test_a_sweep_from_the_window_on_a_cluster_started_as_the_docs_say_survives_a_killed_worker(
    launch: Launch, history: HistoryFile, qtbot: Any, tmp_path: Path
) -> None:
    cli = start_cluster(tmp_path / "cluster", 2)  # dask scheduler + 2 dask worker commands, on loopback
    try:
        async with launch(history_file=history) as t:
            panel = await open_research(t, qtbot)
            view, box = panel.research, panel.research.compute
            box.where.setCurrentIndex(box.where.findData("dask"))
            box.address.setText(cli.address)
            box.address.returnPressed.emit()
            assert (box.settings.compute, box.settings.dask_address) == ("dask", cli.address)
            view.form.ranges.set_range("fast", "2", "40")
            view.form.ranges.set_range("slow", "10", "120", "2")
            await t.until(lambda: "points in the grid" in view.form.grid_note.text(), "the grid's size")
            size = view.form.space().grid_size()
            view.start_button.click()
            await t.until(
                lambda: view.model.row_total() > 20, "the first trials from the cluster", timeout=60
            )
            cluster = panel.sweeps.compute.cluster
            assert cluster is not None and cluster.address == cli.address
            pids: dict[str, int] = cluster.client.run(os.getpid)
            busy = [w for w, keys in cluster.client.processing().items() if keys and w in pids]
            victim = (busy or sorted(pids))[0]
            assert panel.sweeps.running and view.model.row_total() < size  # mid-sweep
            os.kill(pids[victim], signal.SIGKILL)  # its nanny starts a new worker process
            await t.until(lambda: panel.sweeps.result is not None, "the sweep to end", timeout=120)
            result = panel.sweeps.result
            assert result is not None and result.path == "cluster" and result.count == size
            assert "every point was tried" in view.status.text()
            numbers = [tr.number for tr in view.model.trials]
            assert numbers == list(range(size))  # none lost, none twice
            loaded = panel.sweeps.base
            candles = panel.sweeps._candles_for(panel.sweeps.data)  # type: ignore[arg-type]
            assert loaded is not None and candles is not None
            data = candles() if callable(candles) else candles
            here = run_sweep(data, loaded[0], view.form.space(), settings=loaded[1], fast=False)
            assert [(tr.params, tr.values) for tr in here.trials] == [
                (tr.params, tr.values) for tr in view.model.trials
            ]
    finally:
        cli.stop()
