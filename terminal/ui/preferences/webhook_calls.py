"""What the Alerts tab asks of the keyring and of a webhook, off the GUI thread: each
webhook's address as a list may show it (``read_addresses``, blocking: run it in a
worker thread), and a test message posted through a ``WebhookSender`` (``post_test``).

Only ``shown_url`` of an address leaves here; the address itself stays in the
keyring and in the sender's thread. Qt-free.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

from terminal.alerts.delivery.webhooks import (
    DeliveryResult,
    WebhookMessage,
    WebhookSender,
    WebhookVault,
    shown_url,
)
from terminal.credentials import KeyringUnavailableError
from terminal.errors import TerminalError

NOT_IN_KEYRING = "not in the keyring"
#: the Test is one POST, not the alerts' retries with back-off: the user is waiting for the answer
TEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Address:
    """What the list shows of one webhook's address: ``shown_url``, or why there is none."""

    text: str
    problem: str = ""  # the whole message, when the keyring could not be read

    @property
    def ok(self) -> bool:
        return not self.problem and self.text != NOT_IN_KEYRING


def _unreadable(exc: KeyringUnavailableError) -> Address:
    words = "keyring locked" if exc.reason == "locked" else "keyring not usable"
    return Address(f"{words}: {exc}", exc.user_message())


def read_addresses(vault: WebhookVault, names: Sequence[str]) -> dict[str, Address]:
    """Each webhook's shown address, read from the keyring now. Blocks: call it in a worker thread.
    Only ``shown_url`` of an address leaves this function."""
    found: dict[str, Address] = {}
    for index, name in enumerate(names):
        try:
            url = vault.url(name)
        except KeyringUnavailableError as exc:
            # One keyring for all: the others would meet the same (and prompt to unlock once each).
            unreadable = _unreadable(exc)
            found.update(dict.fromkeys(names[index:], unreadable))
            break
        except TerminalError as exc:  # a name no keyring entry can have (config.toml edited by hand)
            found[name] = Address(f"cannot be read: {exc}", exc.user_message())
            continue
        found[name] = Address(NOT_IN_KEYRING) if url is None else Address(shown_url(url))
    return found


def trial_message(name: str) -> WebhookMessage:
    """What Test posts: a message a person reading the chat understands."""
    return WebhookMessage(
        text=f"Test from the trading terminal: webhook '{name}' works.",
        alert="test",
        symbol="",
        value=None,
        fired_at_ms=time.time_ns() // 1_000_000,
    )


async def post_test(vault: WebhookVault, name: str) -> DeliveryResult:
    """Post a test message to webhook ``name`` through a ``WebhookSender`` (one attempt) and wait
    for how it ended."""
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[DeliveryResult] = loop.create_future()

    def settle(result: DeliveryResult) -> None:
        if not outcome.done():
            outcome.set_result(result)

    def heard(result: DeliveryResult) -> None:  # on the sender's thread
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits for the answer
            loop.call_soon_threadsafe(settle, result)

    # Made in a thread: it loads the certificate authorities (certifi's bundle), which takes a while.
    sender = await asyncio.to_thread(WebhookSender, vault, heard, attempts=1, timeout_s=TEST_TIMEOUT_S)
    try:
        sender.send(name, trial_message(name))
        result = await outcome
    except asyncio.CancelledError:
        sender.close(wait_s=0)  # a POST under way ends on its own, within its timeout
        raise
    await asyncio.to_thread(sender.close)
    return result
