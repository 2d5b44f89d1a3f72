"""Versions of user strategies (terminal.backtest.strategy_versions): each version's
text kept by the hash its runs keep, counted with its runs, compared, noted across a
restart, and restored as a new file that loads beside the current one."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from terminal.backtest.run_store import RunStore
from terminal.backtest.runner import run_backtest
from terminal.backtest.strategy_versions import (
    StrategyVersions,
    VersionError,
    rename_strategy,
    restore,
    unified_diff,
)
from terminal.backtest.user_strategies import UserStrategies
from terminal.store import CandleStore
from tests.backtest.backtest_scenarios import ABOVE_AVERAGE, random_candles

NAME = "above_average"


def run_and_keep(store: CandleStore, user: UserStrategies) -> str:
    """What the panel does for a run of a user strategy: save it with its file's hash and
    keep the version that made it. Returns the hash."""
    user.refresh()
    cls = user.strategies[NAME]
    digest = user.source_hash(NAME)
    result = run_backtest(random_candles(np.random.default_rng(5), 400), cls)
    RunStore(store).save(result, exchange="x", symbol="A/B", timeframe="1m", source_hash=digest)
    StrategyVersions(store).record(NAME, digest, user.source_of(NAME), str(user.path_of(NAME)))
    return digest


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "strategies"
    path.mkdir(mode=0o700)
    return path


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def test_each_edit_that_runs_is_a_version_with_its_runs_and_its_exact_text(
    tmp_path: Path, folder: Path
) -> None:
    path = folder / "mine.py"
    first = ABOVE_AVERAGE.format(period=30)
    write(path, first)
    user = UserStrategies(folder)
    with CandleStore(tmp_path / "history.sqlite") as store:
        versions = StrategyVersions(store)
        assert versions.list(NAME) == []
        old = run_and_keep(store, user)
        run_and_keep(store, user)  # the same file again: the same version, a second run
        assert old == hashlib.sha256(first.encode()).hexdigest()
        [only] = versions.list(NAME)
        assert (only.source_hash, only.runs, only.studies, only.path) == (old, 2, 0, str(path))

        second = first.replace("candles.close > indicators", "candles.close >= indicators")
        write(path, second)
        os.utime(path, ns=(1, 1))  # a new stamp, whatever the clock's resolution
        new = run_and_keep(store, user)
        listed = versions.list(NAME)
        assert [(v.source_hash, v.runs) for v in listed] == [(new, 1), (old, 2)]  # newest first
        assert listed[0].first_seen_ms >= listed[1].first_seen_ms
        assert versions.source(NAME, old) == first and versions.source(NAME, new) == second
        assert not versions.record(NAME, old, "other text", "elsewhere.py"), "a version is kept once"
        assert versions.source(NAME, old) == first
        assert versions.list("another") == []

        diff = unified_diff(versions.source(NAME, old), versions.source(NAME, new), old[:8], new[:8])
    assert diff.splitlines()[:2] == [f"--- {old[:8]}", f"+++ {new[:8]}"]
    assert "-        above = candles.close > indicators.sma(candles.close, self.params.period)" in diff
    assert "+        above = candles.close >= indicators.sma(candles.close, self.params.period)" in diff
    assert sum(1 for line in diff.splitlines() if line.startswith(("-", "+"))) == 4  # headers + 2
    assert unified_diff(first, first) == ""


def test_a_note_is_kept_across_a_restart(tmp_path: Path, folder: Path) -> None:
    write(folder / "mine.py", ABOVE_AVERAGE.format(period=30))
    with CandleStore(tmp_path / "history.sqlite") as store:
        digest = run_and_keep(store, UserStrategies(folder))
        StrategyVersions(store).set_note(NAME, digest, "  the first that made money  ")
        with pytest.raises(VersionError, match="No version"):
            StrategyVersions(store).set_note(NAME, "0" * 64, "nothing")
    with CandleStore(tmp_path / "history.sqlite") as store:
        [version] = StrategyVersions(store).list(NAME)
        assert version.note == "the first that made money"
        # seen again after the restart: still the first time, path and note
        assert not StrategyVersions(store).record(NAME, digest, "x", "y")
        assert StrategyVersions(store).list(NAME) == [version]


def test_an_old_version_restored_as_a_new_file_loads_beside_the_current_one(
    tmp_path: Path, folder: Path
) -> None:
    old_text = ABOVE_AVERAGE.format(period=30)
    write(folder / "mine.py", ABOVE_AVERAGE.format(period=50))
    restored = restore(old_text, folder, NAME, "above_average_v1")
    assert restored.renamed and restored.path == folder / "above_average_v1.py"
    if os.name == "posix":  # the loader refuses files others may change
        assert stat.S_IMODE(restored.path.stat().st_mode) == 0o600
    written = restored.path.read_text(encoding="utf-8")
    assert written == old_text.replace('name = "above_average"', 'name = "above_average_v1"')

    user = UserStrategies(folder)
    user.refresh()
    assert user.errors == []
    assert set(user.strategies) == {NAME, "above_average_v1"}
    assert user.strategies["above_average_v1"].Params().model_dump() == {"period": 30}
    assert user.strategies[NAME].Params().model_dump() == {"period": 50}

    # never over a file that is there, whatever it holds
    with pytest.raises(VersionError, match="already"):
        restore(old_text, folder, NAME, "mine")
    assert (folder / "mine.py").read_text(encoding="utf-8") == ABOVE_AVERAGE.format(period=50)
    with pytest.raises(VersionError, match="cannot be a strategy's name"):
        restore(old_text, folder, NAME, "2nd version")


def test_a_name_that_cannot_be_rewritten_for_certain_leaves_the_text_as_it_was(folder: Path) -> None:
    computed = ABOVE_AVERAGE.format(period=30).replace(
        'name = "above_average"', 'name = "above_" + "average"'
    )
    assert rename_strategy(computed, NAME, "other") is None
    twice = ABOVE_AVERAGE.format(period=30) + ABOVE_AVERAGE.format(period=30).split("\n\n\n")[-1]
    assert rename_strategy(twice, NAME, "other") is None
    restored = restore(computed, folder, NAME, "copy")
    assert not restored.renamed and restored.path.read_text(encoding="utf-8") == computed
    # annotated, after non-ASCII text on its line (ast counts bytes): only the literal changes
    text = 'class S:\n    é = 1; name: str = "above_average"  # é\n    title = "é"\n'
    assert rename_strategy(text, NAME, "b") == 'class S:\n    é = 1; name: str = "b"  # é\n    title = "é"\n'
