"""A window's message channel (terminal.messages): what is posted reaches every
listener in order, is kept as the newest, and goes to the log at the level
its outcome deserves."""

from __future__ import annotations

import logging

import pytest

from terminal.messages import Message, Messages


def test_a_posted_message_reaches_every_listener_and_the_log(caplog: pytest.LogCaptureFixture) -> None:
    messages = Messages()
    seen: list[Message] = []
    shown: list[str] = []
    messages.subscribe(seen.append)
    messages.subscribe(lambda m: shown.append(m.text))
    with caplog.at_level(logging.INFO, logger="terminal.messages"):
        messages.post("Bought 0.01 BTC at 64,000.")
        messages.post("Nothing to flatten.", bad=True)
    assert seen == [Message("Bought 0.01 BTC at 64,000."), Message("Nothing to flatten.", bad=True)]
    assert shown == ["Bought 0.01 BTC at 64,000.", "Nothing to flatten."]
    assert messages.last == Message("Nothing to flatten.", bad=True)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "Bought 0.01 BTC at 64,000."),
        ("WARNING", "Nothing to flatten."),
    ]
