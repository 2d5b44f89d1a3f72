"""What the terminal writes is its owner's alone: folders 0700, files 0600 on
POSIX, under the usual 0022 umask that would otherwise give 0755 and 0644;
an export over a file of the user's keeps that file's mode; a file of ours
found readable by others is narrowed, and the log says so. Real files, real
SQLite, the real log handler and writers."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from terminal.config import ConfigStore
from terminal.logs import PrivateRotatingFileHandler, setup_logging
from terminal.marketdata.candles import OHLCV
from terminal.paths import resolve_paths
from terminal.store import CandleStore, csv_io, move_aside
from terminal.trading.journal import TradingJournal

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX's (Windows: profile ACLs)")


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def candles(n: int = 100) -> OHLCV:
    ts = 1_700_006_400_000 + 60_000 * np.arange(n, dtype=np.int64)
    return OHLCV(ts, *(np.linspace(1.0, 2.0, n) for _ in range(5)))


# -- folders ---------------------------------------------------------------------------------------
def test_the_config_data_and_log_folders_are_made_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    paths = resolve_paths(home / ".config" / "terminal", home / ".local" / "share" / "terminal")
    assert paths.ensure() == []
    for folder in (paths.config_dir, paths.data_dir, paths.log_dir):
        assert mode(folder) == 0o700, folder
    assert mode(home) == 0o755, "a folder that was there is not ours to change"
    assert mode(home / ".local" / "share") == 0o755, "shared parents made on the way get the usual rights"


def test_folders_and_config_left_open_by_an_older_version_are_narrowed_and_said(tmp_path: Path) -> None:
    paths = resolve_paths(tmp_path / "config", tmp_path / "data")
    for folder in (paths.config_dir, paths.data_dir, paths.log_dir):
        folder.mkdir(parents=True, mode=0o755)
    paths.config_file.write_text("", encoding="utf-8")
    paths.config_file.chmod(0o644)

    said = paths.ensure()

    assert [mode(f) for f in (paths.config_dir, paths.data_dir, paths.log_dir)] == [0o700] * 3
    assert mode(paths.config_file) == 0o600
    assert len(said) == 4
    assert any(str(paths.config_file) in line and "0644" in line and "0600" in line for line in said)


# -- the config --------------------------------------------------------------------------------------
def test_the_config_file_is_private_when_made_and_when_saved(tmp_path: Path) -> None:
    config = ConfigStore(tmp_path / "config" / "config.toml")  # makes the file with the defaults
    assert mode(config.path) == 0o600
    assert mode(config.path.parent) == 0o700
    config.path.chmod(0o644)  # as an older version left it
    config.settings.theme = "light"
    assert config.save()
    assert mode(config.path) == 0o600
    assert 'theme = "light"' in config.path.read_text(encoding="utf-8")


def test_a_symlink_planted_at_the_old_temporary_name_does_not_redirect_the_save(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    config = ConfigStore(folder / "config.toml")
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's other file\n", encoding="utf-8")
    (folder / "config.toml.tmp").symlink_to(victim)

    config.settings.theme = "light"
    assert config.save()

    assert victim.read_text(encoding="utf-8") == "the user's other file\n"
    assert (folder / "config.toml.tmp").is_symlink()
    assert not config.path.is_symlink()
    assert 'theme = "light"' in config.path.read_text(encoding="utf-8")
    assert mode(config.path) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["config.toml", "config.toml.tmp"], "no temporary left"


def test_a_symlink_planted_at_the_config_itself_is_replaced_not_written_through(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    config = ConfigStore(folder / "config.toml")
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's other file\n", encoding="utf-8")
    config.path.unlink()
    config.path.symlink_to(victim)

    assert config.save()

    assert victim.read_text(encoding="utf-8") == "the user's other file\n"
    assert not config.path.is_symlink()
    assert mode(config.path) == 0o600


# -- the history file --------------------------------------------------------------------------------
def test_the_history_file_and_its_wal_and_shm_are_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "history.sqlite"
    with CandleStore(path) as store:
        store.write("x", "A/B", "1m", candles())
        sides = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
        assert all(p.exists() for p in sides), "the WAL files exist while the file is open"
        assert [mode(p) for p in (path, *sides)] == [0o600] * 3
    assert mode(path.parent) == 0o700, "a folder made for the file is private too"


def test_a_history_file_left_open_to_others_becomes_private_on_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.sqlite"
    CandleStore(path).close()
    path.chmod(0o644)

    with caplog.at_level(logging.INFO, logger="terminal.store"), CandleStore(path) as store:
        store.write("x", "A/B", "1m", candles())
        assert mode(path) == 0o600
        assert mode(path.with_name(path.name + "-wal")) == 0o600
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(str(path) in line and "0644" in line for line in said), said


def test_a_file_moved_aside_is_private(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"not a database, left by an older version" * 100)
    path.chmod(0o644)
    moved = move_aside(path)
    assert mode(moved) == 0o600


# -- the log -----------------------------------------------------------------------------------------
@pytest.mark.usefixtures("restore_logging")
def test_the_log_and_its_rotated_files_are_private(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o755)
    (logs / "terminal.log.2").write_text("an old rotated log\n", encoding="utf-8")  # 0644, an older version's

    setup_logging(logs, "INFO")
    logging.getLogger("terminal.test").info("hello")
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, PrivateRotatingFileHandler))
    handler.doRollover()
    logging.getLogger("terminal.test").info("after the rotation")

    assert mode(logs) == 0o700
    for name in ("terminal.log", "terminal.log.1", "terminal.log.3"):  # .2 moved on to .3
        assert mode(logs / name) == 0o600, name
    logged = (logs / "terminal.log.1").read_text(encoding="utf-8")
    assert "terminal.log.2 private to its owner" in logged, "the narrowing is logged"


# -- exports -----------------------------------------------------------------------------------------
def test_a_new_export_is_private(tmp_path: Path) -> None:
    csv_io.write(tmp_path / "candles.csv", candles())
    TradingJournal(None).export_csv(tmp_path / "journal.csv")
    assert mode(tmp_path / "candles.csv") == 0o600
    assert mode(tmp_path / "journal.csv") == 0o600


def test_an_export_over_a_users_file_keeps_its_mode(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir(mode=0o755)
    target = exports / "candles.csv"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)  # shared with the user's group on purpose
    csv_io.write(target, candles())
    assert mode(target) == 0o640
    assert target.read_text(encoding="utf-8").startswith("time_utc,")
    assert mode(exports) == 0o755, "the user's export folder is left as it is"
