"""Strategies from the user's own files: real files in a temporary folder."""

from __future__ import annotations

import hashlib
import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

from terminal.backtest.errors import StrategyFailedError
from terminal.backtest.runner import run_backtest
from terminal.backtest.user_strategies import UserStrategies
from tests.backtest.backtest_scenarios import ABOVE_AVERAGE, random_candles


def write(path: Path, text: str, *, bump: int = 0) -> Path:
    path.write_text(textwrap.dedent(text))
    if bump:  # a later modification time, as an editor's save gives
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))
    return path


def test_a_strategy_file_is_loaded_and_runs(tmp_path: Path) -> None:
    path = write(tmp_path / "above.py", ABOVE_AVERAGE.format(period=20))
    user = UserStrategies(tmp_path)
    assert user.refresh() is True
    assert user.errors == []
    cls = user.strategies["above_average"]
    assert user.source_hash("above_average") == hashlib.sha256(path.read_bytes()).hexdigest()
    assert user.path_of("above_average") == path
    result = run_backtest(random_candles(np.random.default_rng(1), 300), cls, {"period": 10})
    assert result.strategy == "above_average" and result.params == {"period": 10}
    assert len(result.trades) > 0


def test_unchanged_files_are_not_reloaded(tmp_path: Path) -> None:
    path = write(tmp_path / "above.py", ABOVE_AVERAGE.format(period=20))
    user = UserStrategies(tmp_path)
    user.refresh()
    first = user.strategies["above_average"]
    assert user.refresh() is False
    write(path, ABOVE_AVERAGE.format(period=20), bump=5)  # saved again, same content
    assert user.refresh() is False
    assert user.strategies["above_average"] is first


def test_a_changed_file_is_reloaded(tmp_path: Path) -> None:
    path = write(tmp_path / "above.py", ABOVE_AVERAGE.format(period=20))
    user = UserStrategies(tmp_path)
    user.refresh()
    first = user.strategies["above_average"]
    write(path, ABOVE_AVERAGE.format(period=30), bump=5)
    assert user.refresh() is True
    again = user.strategies["above_average"]
    assert again is not first
    assert again.Params().period == 30  # type: ignore[attr-defined]


def test_a_removed_file_takes_its_strategies_along(tmp_path: Path) -> None:
    path = write(tmp_path / "above.py", ABOVE_AVERAGE.format(period=20))
    user = UserStrategies(tmp_path)
    user.refresh()
    path.unlink()
    assert user.refresh() is True
    assert "above_average" not in user.strategies


def test_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "good.py", ABOVE_AVERAGE.format(period=20))
    bad = write(tmp_path / "broken.py", "x = 1\n\ndef f(:\n    pass\n")
    user = UserStrategies(tmp_path)
    user.refresh()
    (error,) = user.errors
    assert error.path == str(bad) and error.line == 3
    assert str(error).startswith(f"{bad}, line 3: syntax error")
    assert "above_average" in user.strategies  # the other file still loads


def test_an_exception_while_loading_names_the_line_that_raised(tmp_path: Path) -> None:
    bad = write(tmp_path / "raises.py", "import math\n\nVALUE = math.sqrt(-1)\n")
    user = UserStrategies(tmp_path)
    user.refresh()
    (error,) = user.errors
    assert error.line == 3
    assert "ValueError" in str(error) and str(bad) in str(error)


def test_a_strategy_without_a_name_is_reported_at_its_class(tmp_path: Path) -> None:
    text = ABOVE_AVERAGE.format(period=20).replace('    name = "above_average"\n', "")
    bad = write(tmp_path / "nameless.py", text)
    user = UserStrategies(tmp_path)
    user.refresh()
    (error,) = user.errors
    assert error.path == str(bad)
    assert error.line == text.splitlines().index("class AboveAverage(Strategy[Params]):") + 1
    assert "needs a name" in str(error)


def test_a_strategy_without_signals_is_reported(tmp_path: Path) -> None:
    text = ABOVE_AVERAGE.format(period=20).split("    def signals")[0]
    write(tmp_path / "nosignals.py", text)
    user = UserStrategies(tmp_path)
    user.refresh()
    (error,) = user.errors
    assert "defines no signals" in str(error)


def test_a_name_taken_by_a_builtin_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "clash.py", ABOVE_AVERAGE.format(period=20).replace('"above_average"', '"sma_cross"'))
    user = UserStrategies(tmp_path)
    user.refresh()
    (error,) = user.errors
    assert "already taken" in str(error)
    assert "sma_cross" not in user.strategies


def test_a_file_without_strategies_says_so(tmp_path: Path) -> None:
    write(tmp_path / "helpers.py", "X = 1\n")
    user = UserStrategies(tmp_path)
    user.refresh()
    (error,) = user.errors
    assert "defines no Strategy (or Indicator) subclass" in str(error) and error.line is None


def test_private_files_and_a_missing_folder_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "_private.py", "raise RuntimeError('never run')\n")
    assert UserStrategies(tmp_path).refresh() is False
    missing = UserStrategies(tmp_path / "nope")
    assert missing.refresh() is False and not missing.strategies


def test_a_strategy_that_raises_in_signals_names_its_line(tmp_path: Path) -> None:
    text = ABOVE_AVERAGE.format(period=20).replace(
        "        above = candles.close", "        raise KeyError('oops')\n        above = candles.close"
    )
    path = write(tmp_path / "fails.py", text)
    user = UserStrategies(tmp_path)
    user.refresh()
    with pytest.raises(StrategyFailedError) as info:
        run_backtest(random_candles(np.random.default_rng(1), 50), user.strategies["above_average"])
    line = text.splitlines().index("        raise KeyError('oops')") + 1
    assert info.value.path == str(path) and info.value.line == line
    assert f"line {line}" in str(info.value) and "KeyError" in str(info.value)
