"""Webhooks: a fired alert posted as JSON to the addresses the user set up.

A webhook is a name the config keeps (``"telegram"``, ``"desk-chat"``) and an
address only the OS keyring keeps: a Telegram bot's
``https://api.telegram.org/bot<TOKEN>/sendMessage?chat_id=…``, or a Slack,
Discord or Mattermost incoming webhook, holds its token in the address itself,
so the address is a secret (DESIGN.md, principle 8). ``WebhookVault`` keeps it
under ``webhook:<name>`` (``CredentialStore.save_secret``); nothing here puts
it in a log line, an exception text or a ``DeliveryResult``. Where a window
shows a webhook, ``shown_url`` gives ``https://host/…``. Every address this
process reads or stores is also handed to ``terminal.redaction.remember``
(with its token-like parts), so the log filter masks it should it ever slip
into a text.

``WebhookSender`` posts off the GUI thread, on a worker thread of its own
(urllib from the standard library: one small POST per alert needs no event
loop). Each message is tried until a 2xx answer, with back-off between tries
(``terminal.retry.Backoff``): a 429, a 5xx, a timeout or a connection error is
tried again (a ``Retry-After`` is honoured, up to a cap); any other answer
(404: a wrong or revoked address) fails at once. Messages to one webhook go
out in order; a webhook that is down waits without holding back the others.
"""

from __future__ import annotations

import copy
import email.utils
import heapq
import http
import http.client
import itertools
import json
import logging
import math
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from terminal.credentials import CredentialStore
from terminal.errors import TerminalError
from terminal.redaction import redact, remember
from terminal.retry import Backoff

__all__ = [
    "DeliveryResult",
    "WebhookError",
    "WebhookMessage",
    "WebhookSender",
    "WebhookVault",
    "check_url",
    "payload",
    "shown_url",
]

logger = logging.getLogger(__name__)

#: the keyring entry of webhook ``name`` is ``SECRET_PREFIX + name`` (``CredentialStore.save_secret``)
SECRET_PREFIX = "webhook:"
#: hosts that may take a webhook over plain http: this computer only (a local relay, the tests)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_URL_LENGTH = 2048
MAX_NAME_LENGTH = 64
#: Discord's limit on a message's ``content``, the smallest of the services': longer text is cut
MAX_TEXT_LENGTH = 2000
#: messages a webhook may have waiting; beyond it a new one is refused at once (a webhook
#: that is down for hours must not hoard every alert of the session)
MAX_PENDING = 100
#: how much of an answer is read (and thrown away): webhooks answer "ok" or a small JSON
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "terminal-alerts/1"


class WebhookError(TerminalError):
    """A webhook's name or address cannot be used. Its text never quotes the address."""


# -- addresses ---------------------------------------------------------------------------------------


def check_url(url: str) -> None:
    """Raise ``WebhookError`` if ``url`` is not an address the terminal will post to: https with a host
    (http only to this computer), one line without spaces, plain ASCII, no user name or password."""
    problem = _url_problem(url)
    if problem is not None:
        message, hint = problem
        raise WebhookError(message, hint=hint)


_PASTE_AGAIN = "Copy it again from the service's page (e.g. the bot's or the chat's webhook settings)."


def _url_problem(url: object) -> tuple[str, str] | None:
    """What is wrong with ``url``, in words that never quote it; ``None`` when it is usable."""
    if not isinstance(url, str) or not url:
        return "The webhook address is empty.", "Paste the address the service gave you."
    if any(ch.isspace() for ch in url):
        return (
            "The webhook address contains a space or a line break.",
            f"Paste it as one line. {_PASTE_AGAIN}",
        )
    if not url.isascii() or not url.isprintable():
        return (
            "The webhook address contains characters an address cannot hold as they are.",
            f"Use its percent-encoded form. {_PASTE_AGAIN}",
        )
    if len(url) > MAX_URL_LENGTH:
        return f"The webhook address is longer than {MAX_URL_LENGTH} characters.", _PASTE_AGAIN
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # parsed on access; raises on a port that is not a number in range
    except ValueError:
        # The library's words quote the address: they are not kept.
        return "The webhook address is not a valid address (check the host and port).", _PASTE_AGAIN
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in ("https", "http"):
        return "The webhook address must start with https://.", _PASTE_AGAIN
    if not host:
        return "The webhook address has no host name after its https://.", _PASTE_AGAIN
    if parts.username is not None or parts.password is not None:
        return (
            "The webhook address has a user name or password before its host, which the terminal "
            "does not send.",
            "Use the address with the token in its path or query, as the service gives it.",
        )
    if scheme == "http" and host not in LOCAL_HOSTS:
        return (
            "The webhook address must start with https://, so that its token is not sent in the clear "
            "(http:// is allowed only to this computer: 127.0.0.1 or localhost).",
            _PASTE_AGAIN,
        )
    if port == 0:
        return "The webhook address has port 0, which nothing listens on.", _PASTE_AGAIN
    return None


def shown_url(url: str) -> str:
    """What a window or a log may show of ``url``: ``scheme://host[:port]/…``, the path and query
    (where the token is) hidden; ``"…"`` when it is not an http(s) address at all."""
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "…"
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host or not host.isascii() or not host.isprintable():
        return "…"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    hidden = "/…" if parts.path not in ("", "/") or parts.query or parts.fragment else ""
    return f"{scheme}://{netloc}{hidden}"


def _token_like(text: str) -> bool:
    """A path segment or query value that may be (or hold) a token: has a digit, or is long.
    ("sendMessage", "services", "hooks" are left alone: masking them would shred log lines.)"""
    return len(text) >= 6 and (any(ch.isdigit() for ch in text) or len(text) >= 16)


def _remember_url(url: str) -> None:
    """Mask ``url`` and the parts of it that hold its token in every text from now on."""
    values = [url, url.partition("://")[2]]
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        remember(*values)
        return
    for piece in (parts.path, parts.query, f"{parts.path}?{parts.query}"):
        if _token_like(piece):
            values.append(piece)
    for segment in parts.path.split("/"):
        if _token_like(segment):
            values += [segment, urllib.parse.unquote(segment)]
            telegram = re.fullmatch(r"bot(\d+:.+)", segment)  # Telegram's /bot<TOKEN>/
            if telegram:
                values.append(telegram.group(1))
    for _, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if _token_like(value):
            values.append(value)
    remember(*values)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or name != name.strip() or len(name) > MAX_NAME_LENGTH:
        raise WebhookError(
            f"A webhook's name must be 1 to {MAX_NAME_LENGTH} characters without leading or trailing spaces."
        )
    if not name.isprintable():
        raise WebhookError("A webhook's name must not contain control characters.")


class WebhookVault:
    """The webhooks' addresses in the OS keyring, one entry per webhook (``webhook:<name>``).

    Calls block (a D-Bus round trip, maybe an unlock prompt): make them from a worker thread
    (``asyncio.to_thread``), never from the GUI thread. A keyring that cannot be used raises
    ``terminal.credentials.KeyringUnavailableError``; there is no other place the address goes.
    """

    def __init__(self, store: CredentialStore) -> None:
        self._store = store

    def save(self, name: str, url: str) -> None:
        """Keep ``url`` as webhook ``name``'s address, replacing the one there; ``WebhookError`` if it is
        not usable (``check_url``). Spaces and line breaks around it (a paste's) are dropped."""
        _check_name(name)
        url = url.strip() if isinstance(url, str) else url
        check_url(url)
        _remember_url(url)
        self._store.save_secret(SECRET_PREFIX + name, url)

    def url(self, name: str) -> str | None:
        """Webhook ``name``'s address, read from the keyring now; ``None`` if none is stored."""
        _check_name(name)
        url = self._store.load_secret(SECRET_PREFIX + name)
        if url is not None:
            _remember_url(url)
        return url

    def delete(self, name: str) -> bool:
        """Forget webhook ``name``'s address; ``False`` if none was stored."""
        _check_name(name)
        return self._store.delete_secret(SECRET_PREFIX + name)


# -- what is sent ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookMessage:
    """One fired alert, as a webhook receives it."""

    text: str  # the sentence a person reads: "BTC/USDT crossed 65,000 (last 65,012.5)"
    alert: str  # the alert's name or description
    symbol: str
    value: float | None  # the value that fired it (price, RSI, PnL...), if there is one
    fired_at_ms: int  # epoch milliseconds


def payload(message: WebhookMessage) -> bytes:
    """The JSON body posted for ``message``. The text goes as ``"text"`` (Slack, Telegram's
    sendMessage, Mattermost) and as ``"content"`` (Discord); the services ignore the fields they
    do not know, and a relay of the user's own gets the alert, symbol, value and time as data."""
    text = message.text
    if len(text) > MAX_TEXT_LENGTH:
        text = text[: MAX_TEXT_LENGTH - 1] + "…"
    value = message.value
    if value is not None and not math.isfinite(value):
        value = None  # JSON has no NaN or infinity
    fired_at = datetime.fromtimestamp(message.fired_at_ms / 1000, UTC)
    body: dict[str, Any] = {
        "text": text,
        "content": text,
        "alert": message.alert,
        "symbol": message.symbol,
        "value": value,
        "fired_at_ms": message.fired_at_ms,
        "fired_at": fired_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    return json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")


@dataclass(frozen=True)
class DeliveryResult:
    """How one message to one webhook ended. ``problem`` is a plain sentence ("" when ``ok``)
    that names the webhook and never holds its address or token; ``attempts`` counts the POSTs."""

    webhook: str
    ok: bool
    attempts: int
    problem: str = ""


# -- one POST ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    retry: bool = False
    problem: str = ""  # a fragment: "the server answered HTTP 503 (Service Unavailable)"
    refused: bool = False  # the service answered and said no: the address is wrong
    retry_after_s: float | None = None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is refused, not followed: urllib would turn the POST into a GET
    without its body, and the address the user gave is the only one the alert should go to."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


def _tls_context() -> ssl.SSLContext:
    """The system's certificate authorities, and certifi's where it is installed (it comes with
    ccxt): a bundled terminal on a system whose store Python cannot read still verifies."""
    context = ssl.create_default_context()
    try:
        import certifi
    except ImportError:
        return context
    context.load_verify_locations(certifi.where())
    return context


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_NoRedirects(), urllib.request.HTTPSHandler(context=_tls_context()))


def _retry_after_s(value: str | None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date; ``None`` if absent or garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _status_words(status: int) -> str:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
    return f"HTTP {status} ({phrase})"


def _answer_outcome(status: int, retry_after: str | None) -> _Outcome:
    if status == 429:
        return _Outcome(
            False,
            retry=True,
            problem="the service asked to slow down (HTTP 429)",
            retry_after_s=_retry_after_s(retry_after),
        )
    if status in (408, 425) or 500 <= status <= 599:
        return _Outcome(
            False,
            retry=True,
            problem=f"the server answered {_status_words(status)}",
            retry_after_s=_retry_after_s(retry_after),
        )
    if 300 <= status <= 399:
        return _Outcome(False, refused=True, problem=f"it answered with a redirect, {_status_words(status)}")
    return _Outcome(False, refused=True, problem=f"it answered {_status_words(status)}")


def _network_outcome(reason: object, timeout_s: float) -> _Outcome:
    """A connection-level failure in the terminal's words: the library's own may quote the address."""
    if isinstance(reason, ssl.SSLCertVerificationError):
        # Not retried: a certificate that does not verify will not start to verify in a minute.
        return _Outcome(False, problem="the server's TLS certificate could not be verified")
    if isinstance(reason, ssl.SSLError):
        return _Outcome(False, retry=True, problem="the TLS connection failed")
    if isinstance(reason, TimeoutError):
        return _Outcome(False, retry=True, problem=f"no answer within {timeout_s:g} s")
    if isinstance(reason, socket.gaierror):
        return _Outcome(False, retry=True, problem="the host name could not be found (is the network up?)")
    if isinstance(reason, ConnectionRefusedError):
        return _Outcome(
            False, retry=True, problem="the connection was refused (nothing answers at that address)"
        )
    if isinstance(reason, ConnectionError | http.client.HTTPException):
        return _Outcome(False, retry=True, problem="the connection broke before the server answered")
    name = type(reason).__name__ if isinstance(reason, BaseException) else "unknown"
    return _Outcome(False, retry=True, problem=f"a network error ({name})")


# -- the sender --------------------------------------------------------------------------------------


@dataclass
class _Job:
    webhook: str
    body: bytes
    backoff: Backoff
    url: str | None = None
    attempts: int = 0
    seq: int = 0
    last_problem: str = ""  # what the last try met, while it waits for the next


class WebhookSender:
    """Posts alerts to webhooks off the GUI thread (a worker thread of its own), each message retried
    with back-off.

    ``vault`` gives a webhook's address by name (a ``WebhookVault``, or any function that does); it
    is asked on the worker thread, once per message. ``on_result`` hears how each message ended,
    exactly once per ``send``: it is called on the worker thread (or, for a message refused at
    once, on the thread that called ``send``), so the caller marshals it to its own thread
    (``loop.call_soon_threadsafe``, a queued Qt signal). It must not block for long: other
    messages wait meanwhile.

    ``attempts`` bounds the POSTs per message; ``backoff`` is copied for each message (default:
    1 s doubling to 60 s, with jitter); a ``Retry-After`` longer than the back-off is waited,
    up to ``retry_after_cap_s``; ``timeout_s`` bounds each POST.
    """

    def __init__(
        self,
        vault: WebhookVault | Callable[[str], str | None],
        on_result: Callable[[DeliveryResult], None],
        backoff: Backoff | None = None,
        attempts: int = 5,
        timeout_s: float = 10.0,
        *,
        retry_after_cap_s: float = 300.0,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        if not timeout_s > 0 or not retry_after_cap_s >= 0:
            raise ValueError("timeout_s must be positive and retry_after_cap_s not negative")
        self._lookup = vault.url if isinstance(vault, WebhookVault) else vault
        self._on_result = on_result
        self._backoff = backoff if backoff is not None else Backoff(first=1.0, cap=60.0, jitter=True)
        self._attempts = attempts
        self._timeout_s = timeout_s
        self._retry_after_cap_s = retry_after_cap_s
        self._opener = _opener()
        self._ready = threading.Condition()
        self._queues: dict[str, deque[_Job]] = {}  # per webhook, in order; the head is the one being tried
        self._due: list[tuple[float, int, str]] = []  # (monotonic time, tie-break, webhook): heads to try
        self._count = itertools.count()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    # -- the caller's side

    def send(self, webhook: str, message: WebhookMessage) -> None:
        """Queue ``message`` for webhook ``webhook`` (its name) and return at once."""
        body = payload(message)
        refused = ""
        with self._ready:
            queue = self._queues.get(webhook)
            if self._closed:
                refused = f"The alert was not sent to webhook '{webhook}': the terminal is closing."
            elif queue is not None and len(queue) >= MAX_PENDING:
                refused = (
                    f"The alert was not sent to webhook '{webhook}': {MAX_PENDING} alerts are already "
                    "waiting for it. Check that the service is up and its address is right."
                )
            else:
                job = _Job(webhook, body, copy.copy(self._backoff), seq=next(self._count))
                job.backoff.reset()
                if queue is None:
                    self._queues[webhook] = deque([job])
                    heapq.heappush(self._due, (time.monotonic(), job.seq, webhook))
                    self._ready.notify()
                else:
                    queue.append(job)
        if refused:
            logger.warning("%s", refused)
            self._report(DeliveryResult(webhook, False, 0, refused))

    def close(self, wait_s: float = 5.0) -> None:
        """Stop: a message waiting (or between tries) is dropped and reported as not sent. A POST under
        way is let finish for up to ``wait_s`` seconds; if it takes longer, this returns and the worker
        reports it, and what is left, when it ends (at most ``timeout_s`` later)."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        self._thread.join(wait_s)
        if self._thread.is_alive():
            logger.info("A webhook's POST is still under way as the sender closes; it ends on its own.")

    # -- the worker's side

    def _run(self) -> None:
        while (job := self._next_job()) is not None:
            try:
                outcome = self._attempt(job)
            except Exception:  # a bug here must not stop every later alert's delivery
                logger.exception("Posting an alert to webhook '%s' failed unexpectedly.", job.webhook)
                outcome = _Outcome(False, problem="an unexpected error in the terminal (see the log)")
            self._settle(job, outcome)
        self._drop_waiting()

    def _next_job(self) -> _Job | None:
        with self._ready:
            while not self._closed:
                if not self._due:
                    self._ready.wait()
                    continue
                when, _, webhook = self._due[0]
                delay = when - time.monotonic()
                if delay > 0:
                    self._ready.wait(delay)
                    continue
                heapq.heappop(self._due)
                return self._queues[webhook][0]
            return None

    def _attempt(self, job: _Job) -> _Outcome:
        if job.url is None:
            found = self._address(job.webhook)
            if isinstance(found, _Outcome):
                return found
            job.url = found
        job.attempts += 1
        return self._post(job.url, job.body)

    def _address(self, webhook: str) -> str | _Outcome:
        """The webhook's address from the vault, or why there is none (as a final outcome)."""
        problem = ""
        try:
            url = self._lookup(webhook)
        except TerminalError as exc:  # the keyring's (CredentialError) or the name's (WebhookError)
            problem = f"its address could not be read: {redact(exc.user_message())}"
        except Exception as exc:  # noqa: BLE001 - any lookup function; its words may quote the address
            problem = f"its address could not be read ({type(exc).__name__})"
        if problem:
            return _Outcome(False, problem=problem)
        if url is None:
            return _Outcome(
                False, problem="no address is stored for it in the keyring (set the webhook up again)"
            )
        _remember_url(url)
        if (wrong := _url_problem(url)) is not None:
            return _Outcome(False, problem=f"its stored address is not usable: {wrong[0]}")
        return url

    def _post(self, url: str, body: bytes) -> _Outcome:
        """One POST. Every failure becomes the terminal's own words: urllib's errors (and their
        ``filename``/``url``) carry the address, so none of them is kept, raised or logged."""
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
        )
        try:
            with self._opener.open(request, timeout=self._timeout_s) as answer:
                answer.read(MAX_ANSWER_BYTES)
            return _Outcome(True)
        except urllib.error.HTTPError as exc:  # an answer other than 2xx
            status, retry_after = exc.code, exc.headers.get("Retry-After") if exc.headers else None
            exc.close()
            return _answer_outcome(status, retry_after)
        except urllib.error.URLError as exc:
            return _network_outcome(exc.reason, self._timeout_s)
        except (OSError, http.client.HTTPException) as exc:  # while reading the answer: timeout, reset
            return _network_outcome(exc, self._timeout_s)
        except ValueError:  # an address urllib cannot use (check_url lets none through)
            return _Outcome(False, problem="the address is not one the terminal can post to")

    def _settle(self, job: _Job, outcome: _Outcome) -> None:
        webhook = job.webhook
        if not outcome.ok and outcome.retry and job.attempts < self._attempts:
            job.last_problem = outcome.problem
            delay = job.backoff.next()
            if outcome.retry_after_s is not None:
                delay = max(delay, min(outcome.retry_after_s, self._retry_after_cap_s))
            with self._ready:
                if self._closed:
                    return  # it stays at its queue's head: _drop_waiting reports it with the others
                heapq.heappush(self._due, (time.monotonic() + delay, job.seq, webhook))
                self._ready.notify()
            logger.info(
                "Webhook '%s': %s; trying again in %.1f s (attempt %d of %d).",
                webhook,
                outcome.problem,
                delay,
                job.attempts,
                self._attempts,
            )
            return
        with self._ready:
            queue = self._queues[webhook]
            queue.popleft()
            if queue and not self._closed:
                nxt = queue[0]
                heapq.heappush(self._due, (time.monotonic(), nxt.seq, webhook))
            elif not queue:
                del self._queues[webhook]
        self._report(self._result(job, outcome))

    def _result(self, job: _Job, outcome: _Outcome) -> DeliveryResult:
        webhook, attempts = job.webhook, job.attempts
        if outcome.ok:
            logger.debug("Webhook '%s' took the alert (attempt %d).", webhook, attempts)
            return DeliveryResult(webhook, True, attempts)
        if outcome.refused:
            problem = (
                f"Webhook '{webhook}' refused the alert: {outcome.problem}. Check its address in the "
                "alert settings (a wrong or revoked token gives this)."
            )
        elif attempts == 0:
            problem = f"The alert was not sent to webhook '{webhook}': {outcome.problem.rstrip('.')}."
        else:
            tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
            problem = (
                f"The alert could not be sent to webhook '{webhook}' ({tries}): {outcome.problem}. "
                "Check the network and the service."
            )
        logger.warning("%s", problem)
        return DeliveryResult(webhook, False, attempts, problem)

    def _drop_waiting(self) -> None:
        with self._ready:
            dropped = [job for queue in self._queues.values() for job in queue]
            self._queues.clear()
            self._due.clear()
        for job in dropped:
            problem = f"The alert was not sent to webhook '{job.webhook}': the terminal closed first"
            problem += f" (the last try: {job.last_problem})." if job.last_problem else "."
            logger.info("%s", problem)
            self._report(DeliveryResult(job.webhook, False, job.attempts, problem))

    def _report(self, result: DeliveryResult) -> None:
        try:
            self._on_result(result)
        except Exception:  # the caller's handler failing must not stop the deliveries
            logger.exception("The handler of a webhook's delivery result failed.")
