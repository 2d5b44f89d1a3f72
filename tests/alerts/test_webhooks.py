"""Webhooks for fired alerts against a real loopback HTTP server (tests/alerts/http_sink.py),
and their addresses through the real keyring.

The address in these tests is a Telegram bot's, token and all; none of the terminal's log
records, results or error texts may hold it (or the token), whatever the server does.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.backends.SecretService
import pytest

from terminal.alerts.delivery.webhooks import (
    MAX_TEXT_LENGTH,
    SECRET_PREFIX,
    DeliveryResult,
    WebhookError,
    WebhookMessage,
    WebhookSender,
    WebhookVault,
    check_url,
    payload,
    shown_url,
)
from terminal.credentials import CredentialStore
from terminal.errors import describe
from terminal.logs import LOG_FILE, setup_logging
from terminal.paths import AppPaths
from terminal.redaction import redact
from terminal.retry import Backoff
from tests.alerts.http_sink import HttpSink, Reply, refused_url
from tests.keyring_helpers import needs_keyring

TOKEN = "123456:SECRET-AAHfiqksKZ8WmR2zSjiQ7v4TMAKdiHm9T0"
TELEGRAM = f"/bot{TOKEN}/sendMessage?chat_id=123"
FAST = Backoff(first=0.05, cap=0.2)
MESSAGE = WebhookMessage(
    text="BTC/USDT crossed 65,000 (last 65,012.5)",
    alert="BTC above 65k",
    symbol="BTC/USDT",
    value=65012.5,
    fired_at_ms=1_700_000_000_123,
)


def message(text: str) -> WebhookMessage:
    return WebhookMessage(text, "test alert", "ETH/USDT", 1.0, 1_700_000_000_000)


def assert_keeps_secrets(*texts: str, url: str = "") -> None:
    for text in texts:
        assert "123456:SECRET" not in text
        assert urllib.parse.quote(TOKEN, safe="") not in text
        if url:
            assert url not in text


def error_texts(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), describe(error, detailed=True)]
    if isinstance(error, WebhookError):
        texts += [error.user_message(), error.hint, error.detail]
    return texts


class Results:
    """What ``on_result`` heard, and on which thread, in order."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[DeliveryResult, str]] = queue.Queue()

    def __call__(self, result: DeliveryResult) -> None:
        self._queue.put((result, threading.current_thread().name))

    def next(self, timeout: float = 10.0) -> DeliveryResult:
        return self.next_with_thread(timeout)[0]

    def next_with_thread(self, timeout: float = 10.0) -> tuple[DeliveryResult, str]:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no delivery result within {timeout:g} s") from None

    def none_left(self) -> bool:
        return self._queue.empty()


@pytest.fixture(autouse=True)
def terminal_log_keeps_secrets(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every record the terminal logs, at every level, is free of the address and the token.
    (caplog's handler has no redaction filter: this sees what the code itself wrote.)"""
    caplog.set_level(logging.DEBUG, logger="terminal")
    yield
    own = [r for r in caplog.records if r.name.startswith("terminal")]
    assert_keeps_secrets(*(r.getMessage() for r in own))
    assert_keeps_secrets(*(r.exc_text or "" for r in own))


@pytest.fixture
def senders() -> Iterator[Callable[..., WebhookSender]]:
    """Makes senders (``senders(lookup, results, ...)``) and closes them after the test."""
    made: list[WebhookSender] = []

    def make(
        lookup: WebhookVault | Callable[[str], str | None],
        results: Results,
        *,
        backoff: Backoff = FAST,
        attempts: int = 5,
        timeout_s: float = 10.0,
        retry_after_cap_s: float = 300.0,
    ) -> WebhookSender:
        sender = WebhookSender(
            lookup, results, backoff, attempts, timeout_s, retry_after_cap_s=retry_after_cap_s
        )
        made.append(sender)
        return sender

    yield make
    for sender in made:
        sender.close()


# -- delivery ------------------------------------------------------------------------------------------


def test_a_server_that_fails_twice_then_accepts_gets_the_message_once(
    senders: Callable[..., WebhookSender],
) -> None:
    results = Results()
    with HttpSink([Reply(503), Reply(503), Reply(200)]) as sink:
        url = sink.url(TELEGRAM)
        sender = senders({"telegram": url}.get, results)
        sender.send("telegram", MESSAGE)
        result, thread = results.next_with_thread()
        sender.close()  # the worker has ended: no request can come after this
        received = list(sink.received)

    assert result == DeliveryResult("telegram", ok=True, attempts=3, problem="")
    assert thread == "webhooks"  # off the caller's thread: the caller marshals it
    assert len(received) == 3  # two refused, one taken, none after
    for request in received:
        assert request.method == "POST"
        assert request.target == TELEGRAM
        assert request.headers["content-type"].startswith("application/json")
    assert received[0].body == received[2].body
    assert received[2].json() == {
        "text": MESSAGE.text,
        "content": MESSAGE.text,
        "alert": "BTC above 65k",
        "symbol": "BTC/USDT",
        "value": 65012.5,
        "fired_at_ms": 1_700_000_000_123,
        "fired_at": "2023-11-14T22:13:20.123Z",
    }
    assert_keeps_secrets(repr(result), url=url)


def test_retry_after_is_waited_even_when_the_back_off_is_shorter(
    senders: Callable[..., WebhookSender],
) -> None:
    results = Results()
    with HttpSink([Reply(429, (("Retry-After", "1"),)), Reply(200)]) as sink:
        senders({"chat": sink.url("/hook")}.get, results).send("chat", MESSAGE)
        result = results.next()
        first, second = sink.wait_for(2)

    assert result.ok and result.attempts == 2
    assert second.at - first.at >= 0.95  # the back-off alone would have come back after 0.05 s


def test_a_long_retry_after_is_capped(senders: Callable[..., WebhookSender]) -> None:
    results = Results()
    with HttpSink([Reply(503, (("Retry-After", "3600"),)), Reply(200)]) as sink:
        sender = senders({"chat": sink.url("/hook")}.get, results, retry_after_cap_s=0.3)
        sender.send("chat", MESSAGE)
        result = results.next()
        first, second = sink.wait_for(2)

    assert result.ok and result.attempts == 2
    assert 0.25 <= second.at - first.at < 5


def test_a_404_fails_at_once_and_says_the_webhook_refused_it(senders: Callable[..., WebhookSender]) -> None:
    results = Results()
    with HttpSink([Reply(404, body=b'{"ok":false,"description":"Not Found"}')]) as sink:
        url = sink.url(TELEGRAM)
        sender = senders({"telegram": url}.get, results, attempts=5)
        sender.send("telegram", MESSAGE)
        result = results.next()
        sender.close()
        assert len(sink.received) == 1

    assert not result.ok and result.attempts == 1
    assert "Webhook 'telegram' refused the alert" in result.problem
    assert "HTTP 404 (Not Found)" in result.problem
    assert "address" in result.problem  # what to check
    assert_keeps_secrets(result.problem, url=url)


def test_a_redirect_is_not_followed(senders: Callable[..., WebhookSender]) -> None:
    results = Results()
    with HttpSink([Reply(302, (("Location", "/elsewhere"),)), Reply(200)]) as sink:
        sender = senders({"chat": sink.url("/hook")}.get, results)
        sender.send("chat", MESSAGE)
        result = results.next()
        sender.close()
        assert [r.target for r in sink.received] == ["/hook"]

    assert not result.ok and result.attempts == 1
    assert "redirect, HTTP 302 (Found)" in result.problem


def test_a_dead_port_is_tried_again_then_reported(senders: Callable[..., WebhookSender]) -> None:
    results = Results()
    with refused_url(TELEGRAM) as url:
        senders({"telegram": url}.get, results, attempts=3).send("telegram", MESSAGE)
        result = results.next()

    assert not result.ok and result.attempts == 3
    assert "could not be sent to webhook 'telegram' (3 attempts)" in result.problem
    assert "connection was refused" in result.problem
    assert_keeps_secrets(result.problem, url=url)


def test_a_server_that_never_answers_times_out_and_is_tried_again(
    senders: Callable[..., WebhookSender],
) -> None:
    results = Results()
    with HttpSink([Reply(hold=threading.Event())]) as sink:  # held until the sink stops
        url = sink.url(TELEGRAM)
        senders({"telegram": url}.get, results, attempts=2, timeout_s=0.3).send("telegram", MESSAGE)
        result = results.next()
        assert len(sink.wait_for(2)) == 2

    assert not result.ok and result.attempts == 2
    assert "no answer within 0.3 s" in result.problem
    assert_keeps_secrets(result.problem, url=url)


def test_send_returns_at_once_while_the_server_holds_the_request(
    senders: Callable[..., WebhookSender],
) -> None:
    results = Results()
    release = threading.Event()
    with HttpSink([Reply(hold=release)]) as sink:
        sender = senders({"chat": sink.url("/hook")}.get, results)
        started = time.perf_counter()
        sender.send("chat", message("first"))
        sender.send("chat", message("second"))
        took = time.perf_counter() - started
        sink.wait_for(1)  # the first is on the wire, held
        assert results.none_left()
        release.set()
        first, second = results.next(), results.next()
        assert [r.json()["text"] for r in sink.wait_for(2)] == ["first", "second"]

    assert took < 0.05
    assert first.ok and second.ok


def test_one_webhook_s_messages_go_in_order_and_a_down_one_holds_back_no_other(
    senders: Callable[..., WebhookSender],
) -> None:
    results = Results()
    with HttpSink([Reply(503)]) as down, HttpSink([Reply(503), Reply(200)]) as flaky:
        addresses = {"down": down.url("/down"), "flaky": flaky.url("/flaky")}
        sender = senders(addresses.get, results, backoff=Backoff(first=0.5, cap=0.5), attempts=3)
        sender.send("down", message("lost"))
        for text in ("one", "two", "three"):
            sender.send("flaky", message(text))
        heard = [results.next() for _ in range(4)]
        texts = [r.json()["text"] for r in flaky.wait_for(4)]

    # "one" is refused once and tried again; "two" and "three" wait their turn behind it.
    assert texts == ["one", "one", "two", "three"]
    # The flaky webhook's three are through while the one that is down still waits to try again.
    assert [(r.webhook, r.ok) for r in heard] == [("flaky", True)] * 3 + [("down", False)]
    assert heard[3].attempts == 3 and "HTTP 503 (Service Unavailable)" in heard[3].problem


def test_close_drops_what_waits_and_says_so(senders: Callable[..., WebhookSender]) -> None:
    results = Results()
    with HttpSink([Reply(503)]) as sink:
        sender = senders({"chat": sink.url("/hook")}.get, results, backoff=Backoff(first=30.0))
        sender.send("chat", message("first"))
        sink.wait_for(1)  # refused; the next try is 30 s away
        sender.send("chat", message("second"))
        started = time.perf_counter()
        sender.close()
        closing = time.perf_counter() - started
        first, second = results.next(), results.next()
        sender.send("chat", message("third"))
        (third, thread) = results.next_with_thread()

    assert closing < 2  # the back-off's wait ends with the close
    assert (first.ok, first.attempts, second.ok, second.attempts) == (False, 1, False, 0)
    assert "the terminal closed first (the last try: the server answered HTTP 503" in first.problem
    assert second.problem == "The alert was not sent to webhook 'chat': the terminal closed first."
    assert not third.ok and "closing" in third.problem
    assert thread == threading.current_thread().name  # refused at once, on the caller's thread
    assert len(sink.received) == 1


def test_no_address_or_an_unusable_one_is_reported_without_a_request(
    senders: Callable[..., WebhookSender],
) -> None:
    leaked = f"http://example.com{TELEGRAM}"

    def lookup(name: str) -> str | None:
        if name == "broken":
            raise RuntimeError(f"cannot read {leaked}")  # a lookup whose error quotes the address
        return {"plain-http": leaked}.get(name)

    results = Results()
    sender = senders(lookup, results)
    for name in ("missing", "broken", "plain-http"):
        sender.send(name, MESSAGE)
    missing, broken, plain = results.next(), results.next(), results.next()

    assert (missing.ok, missing.attempts) == (False, 0)
    assert "no address is stored for it in the keyring" in missing.problem
    assert "could not be read (RuntimeError)" in broken.problem
    assert "not usable" in plain.problem and "https://" in plain.problem
    assert not plain.problem.endswith("..")
    assert_keeps_secrets(broken.problem, plain.problem, url=leaked)


def test_an_address_used_once_is_masked_in_any_text_afterwards(senders: Callable[..., WebhookSender]) -> None:
    token = "987654:OTHERSECRET-x9Qm2LkP0aZb7YcD4eF6gH8"
    results = Results()
    with HttpSink() as sink:
        url = sink.url(f"/bot{token}/sendMessage?chat_id=42")
        slip = f"POST {url} failed; sent to bot{token}/sendMessage; {urllib.parse.quote(token, safe='')}"
        assert token in redact(slip)  # nobody knew it yet
        senders({"telegram": url}.get, results).send("telegram", MESSAGE)
        assert results.next().ok

    masked = redact(slip)
    assert token not in masked and url not in masked
    assert urllib.parse.quote(token, safe="") not in masked
    assert "sent to [redacted]/sendMessage" in masked  # the words around it are left alone


# -- addresses -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "empty"),
        (f"https://api.telegram.org{TELEGRAM} ", "space or a line break"),
        (f"https://api.telegram.org/bot{TOKEN}/send\nMessage", "space or a line break"),
        (f"https://api.telegram.org/bot{TOKEN}/sendMessage?x=é", "percent-encoded"),
        (f"http://api.telegram.org{TELEGRAM}", "must start with https://"),
        (f"ftp://api.telegram.org{TELEGRAM}", "must start with https://"),
        (f"api.telegram.org{TELEGRAM}", "must start with https://"),
        (f"https:///bot{TOKEN}/sendMessage", "no host name"),
        (f"https://me:{TOKEN}@api.telegram.org/sendMessage", "user name or password"),
        (f"https://api.telegram.org:99999{TELEGRAM}", "not a valid address"),
        (f"https://api.telegram.org:{TOKEN}/sendMessage", "not a valid address"),
        ("https://hooks.example.com/" + "x" * 2100, "longer than 2048"),
    ],
)
def test_an_address_that_cannot_be_used_is_refused_in_words_that_do_not_quote_it(
    url: str, words: str
) -> None:
    with pytest.raises(WebhookError) as caught:
        check_url(url)
    assert words in caught.value.user_message()
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert_keeps_secrets(*error_texts(caught.value), url=url or "\0")


@pytest.mark.parametrize(
    "url",
    [
        f"https://api.telegram.org{TELEGRAM}",
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "https://discord.com/api/webhooks/123456789012345678/abcDEF-ghi_jkl",
        "https://chat.example.org:8065/hooks/xxxgeneratedkeyxxx",
        "http://127.0.0.1:8080/relay",
        "http://localhost/relay",
        "http://[::1]:9000/relay",
    ],
)
def test_usable_addresses_pass(url: str) -> None:
    check_url(url)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"https://api.telegram.org{TELEGRAM}", "https://api.telegram.org/…"),
        ("https://Hooks.Slack.com/services/T0/B0/XXXX", "https://hooks.slack.com/…"),
        ("https://chat.example.org:8065/hooks/key", "https://chat.example.org:8065/…"),
        (f"https://me:{TOKEN}@example.com/x", "https://example.com/…"),
        ("http://[::1]:9000/relay?token=abc", "http://[::1]:9000/…"),
        ("https://example.com", "https://example.com"),
        (f"bot{TOKEN}", "…"),
        (f"https://example.com:{TOKEN}/x", "…"),
    ],
)
def test_what_may_be_shown_of_an_address(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def test_the_payload_is_json_any_of_the_services_reads() -> None:
    body = payload(WebhookMessage("x" * 5000, "RSI above 70", "ETH/USDT", math.nan, 0))
    decoded = json.loads(body)
    assert len(decoded["text"]) == MAX_TEXT_LENGTH and decoded["text"].endswith("…")
    assert decoded["content"] == decoded["text"]
    assert decoded["value"] is None  # not NaN: JSON has none
    assert decoded["fired_at"] == "1970-01-01T00:00:00.000Z"
    assert json.loads(payload(WebhookMessage("Ünïcode ✓", "a", "B/C", None, 0)))["text"] == "Ünïcode ✓"


# -- the keyring ---------------------------------------------------------------------------------------


@pytest.mark.keyring
@pytest.mark.usefixtures("restore_logging")
def test_the_address_lives_in_the_keyring_and_in_no_file(
    tmp_path: Path, senders: Callable[..., WebhookSender]
) -> None:
    needs_keyring()
    assert type(keyring.get_keyring()) is keyring.backends.SecretService.Keyring
    paths = AppPaths(tmp_path / "config", tmp_path / "data")
    paths.ensure()
    setup_logging(paths.log_dir, "DEBUG")
    store = CredentialStore(f"terminal-test-{uuid.uuid4().hex[:8]}")
    vault = WebhookVault(store)
    results = Results()
    try:
        with HttpSink() as sink:
            url = sink.url(TELEGRAM)
            assert vault.url("telegram") is None
            vault.save("telegram", url + "\n")  # a paste's line break is dropped
            # In the real Secret Service, under the secrets' service, as the webhook's entry.
            assert keyring.get_password(f"{store.service}:secret", f"{SECRET_PREFIX}telegram") == url
            assert vault.url("telegram") == url

            with pytest.raises(WebhookError) as refused:
                vault.save("telegram", url.replace("127.0.0.1", "example.com"))
            assert_keeps_secrets(*error_texts(refused.value), url=url)
            assert vault.url("telegram") == url  # the refused one did not replace it

            senders(vault, results).send("telegram", MESSAGE)
            assert results.next() == DeliveryResult("telegram", True, 1)
            assert sink.wait_for(1)[0].target == TELEGRAM

            # Should the address ever slip into a log line, the log file masks it.
            logging.getLogger("tests.alerts.slip").warning("posting to %s with %s", url, TOKEN)

            assert vault.delete("telegram") is True
            assert vault.url("telegram") is None
            assert vault.delete("telegram") is False
    finally:
        if keyring.get_password(f"{store.service}:secret", f"{SECRET_PREFIX}telegram") is not None:
            keyring.delete_password(f"{store.service}:secret", f"{SECRET_PREFIX}telegram")

    log = (paths.log_dir / LOG_FILE).read_text(encoding="utf-8")
    assert "Webhook 'telegram' took the alert" in log  # the log was written, and is scanned
    assert "posting to [redacted]" in log
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    for path in files:
        content = path.read_bytes()
        for value in (url, TOKEN, urllib.parse.quote(TOKEN, safe=""), "123456:SECRET"):
            assert value.encode() not in content, f"the webhook's address is in {path}"
