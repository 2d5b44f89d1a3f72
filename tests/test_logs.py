"""What reaches the log panel and the log file: the terminal's own records at
the configured level in both; other libraries' (alembic, numba, asyncio, ccxt,
...) in the panel only from WARNING up, in the file at the configured level,
all of them at DEBUG."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from terminal.logs import LogBuffer, setup_logging
from terminal.store.candles import CandleStore

REPO = Path(__file__).resolve().parents[1]

# A fresh process, as the app starts: logging set up, then the history file
# created (alembic imported and run for the first time, its chatter included).
FIRST_START = """
import json, logging, sys
from pathlib import Path
from terminal.logs import setup_logging
folder = Path(sys.argv[1])
buffer = setup_logging(folder / "logs", "INFO")
assert "alembic" not in sys.modules
from terminal.store.candles import CandleStore
CandleStore(folder / "history.sqlite").close()
logging.getLogger("terminal.test").warning("own warning")
logging.getLogger("alembic.runtime.migration").warning("alembic warning")
print(json.dumps([line.text for line in buffer.since(0)]))
"""


def file_text(log_dir: Path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return (log_dir / "terminal.log").read_text(encoding="utf-8")


def panel_text(buffer: LogBuffer) -> str:
    return "\n".join(line.text for line in buffer.since(0))


def test_a_first_start_puts_no_alembic_line_in_the_panel_or_the_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FIRST_START, str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    panel = json.loads(done.stdout)
    assert any("Created the market history database" in line for line in panel), panel
    assert not [line for line in panel if "INFO" in line and "market history database" not in line], panel
    assert any("own warning" in line for line in panel) and any("alembic warning" in line for line in panel)
    text = (tmp_path / "logs" / "terminal.log").read_text(encoding="utf-8")
    assert "Created the market history database" in text
    assert "setup plugin" not in text and "Context impl" not in text and "non-transactional" not in text
    assert "alembic.runtime.migration" in text and "alembic warning" in text  # its warnings, still


@pytest.mark.usefixtures("restore_logging")
def test_at_info_the_panel_shows_other_libraries_only_from_warning_up(tmp_path: Path) -> None:
    buffer = setup_logging(tmp_path / "logs", "INFO")
    with CandleStore(tmp_path / "history.sqlite"):  # the store's own upgrade path: alembic runs
        pass
    for name in ("numba.core", "asyncio", "ccxt.base.exchange", "aiohttp.client", "qasync", "root"):
        logging.getLogger(name).info("chatter from %s", name)
    logging.getLogger("terminal.tests").info("own news")
    logging.getLogger("terminal.tests").warning("own warning")
    logging.getLogger("asyncio").warning("a third-party warning")
    logging.getLogger("numba").error("a third-party error")
    logging.getLogger("terminalish").info("not ours either")

    panel = panel_text(buffer)
    assert "Created the market history database" in panel and "own news" in panel
    assert "own warning" in panel and "a third-party warning" in panel and "a third-party error" in panel
    assert "chatter" not in panel and "alembic" not in panel and "not ours either" not in panel
    text = file_text(tmp_path / "logs")
    assert "chatter from numba.core" in text and "chatter from asyncio" in text, "INFO is INFO in the file"
    assert "chatter from qasync" not in text  # qasync's per-start line is held back at INFO
    assert "alembic" not in text and "sqlalchemy" not in text


@pytest.mark.usefixtures("restore_logging")
def test_at_debug_the_file_gets_other_libraries_debug_lines_and_the_panel_does_not(tmp_path: Path) -> None:
    buffer = setup_logging(tmp_path / "logs", "DEBUG")
    with CandleStore(tmp_path / "history.sqlite"):  # alembic and SQLAlchemy at work
        pass
    asyncio.run(asyncio.sleep(0))  # asyncio says which selector it uses, at DEBUG
    logging.getLogger("numba.core.byteflow").debug("bytecode of a kernel")
    logging.getLogger("ccxt.base.exchange").debug("GET /api/v3/depth")
    logging.getLogger("terminal.tests").debug("own detail")

    text = file_text(tmp_path / "logs")
    for name in ("alembic.runtime.migration", "sqlalchemy.engine", "asyncio", "numba.core.byteflow", "ccxt"):
        assert f"DEBUG   {name}" in text, f"no DEBUG line of {name} in the file"
    assert "Context impl SQLiteImpl" in text and "bytecode of a kernel" in text
    panel = panel_text(buffer)
    assert "own detail" in panel, "the terminal's own DEBUG lines show when DEBUG is asked for"
    assert "Context impl" not in panel and "bytecode" not in panel and "selector" not in panel
    assert "Created the market history database" in panel


@pytest.mark.usefixtures("restore_logging")
def test_a_second_setup_at_info_quiets_what_debug_let_through(tmp_path: Path) -> None:
    setup_logging(tmp_path / "debug", "DEBUG")
    setup_logging(tmp_path / "info", "INFO")
    assert logging.getLogger("alembic").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("ccxt").getEffectiveLevel() == logging.INFO
    assert logging.getLogger("sqlalchemy.engine").getEffectiveLevel() == logging.WARNING


@pytest.mark.usefixtures("restore_logging")
def test_at_debug_a_secret_handed_to_a_worker_thread_stays_out_of_the_log(
    tmp_path: Path, qapp: object
) -> None:
    """qasync's executor logs each call's arguments and result at DEBUG: kept quiet even then."""
    import qasync

    setup_logging(tmp_path / "logs", "DEBUG")
    loop = qasync.QEventLoop(qapp)
    secret = "https://api.telegram.org/bot123456:SECRET/sendMessage"
    asyncio.set_event_loop(loop)

    async def hand_over() -> str:
        return await asyncio.to_thread(lambda url: url, secret)

    try:
        got = loop.run_until_complete(hand_over())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    assert got == secret
    assert secret not in file_text(tmp_path / "logs") and "123456:SECRET" not in file_text(tmp_path / "logs")
