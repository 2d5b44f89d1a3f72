"""A history file that cannot be opened: the terminal still starts, says why
above the chart, and offers the ways out as buttons; none deletes the file."""

from __future__ import annotations

from pathlib import Path

from harness import Launch

from terminal.store.history_file import HistoryFile

GARBAGE = b"not a database, but someone's only copy of it" * 200


async def test_a_damaged_history_file_is_explained_and_moved_aside_on_request(
    launch: Launch, tmp_path: Path
) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(GARBAGE)
    held = HistoryFile(path)
    held.get()  # as a real exchange's window does on start
    async with launch(history_file=held) as t:
        notice = t.window.notice
        assert notice.isVisible()
        assert "damaged" in notice.label.text() and str(path) in notice.label.text()
        labels = [b.text() for b in notice.buttons]
        assert labels == ["Open read-only", "Move it aside and start a new one"]
        assert path.read_bytes() == GARBAGE, "nothing touched the file by itself"

        notice.buttons[1].click()
        await t.until(lambda: held.store is not None, "a new history file")
        await t.until(lambda: "moved to" in notice.label.text(), "the notice to say where the file went")
        assert held.moved_to is not None and held.moved_to.read_bytes() == GARBAGE
        assert str(held.moved_to) in notice.label.text()
        assert notice.buttons == []
        panel = t.window.open_data_manager()
        assert panel is not None, "the market data panel opens on the new file"


async def test_a_damaged_file_opened_read_only_serves_the_data_panel(launch: Launch, tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(GARBAGE)
    held = HistoryFile(path)
    async with launch(history_file=held) as t:
        assert t.window.open_data_manager() is None, "no panel on a file that cannot be opened"
        notice = t.window.notice
        assert notice.isVisible() and "damaged" in notice.label.text()
        notice.buttons[0].click()  # read-only: this garbage cannot be read even so
        await t.until(lambda: held.error is not None and notice.buttons, "the answer on screen")
        assert held.store is None and path.read_bytes() == GARBAGE
        assert notice.isVisible() and notice.buttons, "the problem and its ways out are still shown"
