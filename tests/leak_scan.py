"""What the secret-leak tests look for, and where.

- ``Secrets``: an account's credentials in every form a text may carry them
  (as they are, percent-encoded, and base64 of ``key:secret``, HTTP Basic
  auth's form), plus every signature a loopback server received.
- ``recording_server``: a loopback server (tests/loopback) that also keeps the
  signatures of what it receives: query and form parameters, headers and
  websocket frames (OKX signs its websocket login, Binance its WebSocket API
  requests). ``server.requests`` holds only the REST paths and queries.
- ``echoing_server``: a server that refuses signed requests with HTTP 401 and
  echoes back everything it received, as a debugging proxy or an unhelpful
  exchange may: the worst an error text can hold.
- ``leaks_in_files`` / ``leaks_in_texts``: where any of them shows up;
  ``error_texts``: every text of an error that a window or the log shows.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from terminal.errors import TerminalError, describe

#: where a signed request carries its signature (lower case), on the two loopback protocols
#: and on the exchanges the unit tests use: query and form parameters, JSON fields, headers
SIGNATURE_NAMES = frozenset({"signature", "sign", "ok-access-sign", "api-sign", "kc-api-sign"})


@dataclass
class Secrets:
    """The values no file, log line or on-screen text may hold."""

    api_key: str
    secrets: tuple[str, ...]  # the secret, and any wrong secret the test also used
    password: str | None = None
    signatures: set[str] = field(default_factory=set)

    def values(self) -> dict[str, str]:
        """Name → value, every form included."""
        found = {"the API key": self.api_key}
        for n, secret in enumerate(self.secrets):
            found[f"secret {n}"] = secret
            basic = base64.b64encode(f"{self.api_key}:{secret}".encode()).decode()
            found[f"base64 of key:secret {n}"] = basic
        if self.password:
            found["the password"] = self.password
        for n, signature in enumerate(sorted(self.signatures)):
            found[f"signature {n} ({signature[:6]}…)"] = signature
        for name, value in list(found.items()):
            quoted = urllib.parse.quote(value, safe="")
            if quoted != value:
                found[f"{name}, percent-encoded"] = quoted
        return found


def error_texts(exc: BaseException) -> list[str]:
    """Every text of an error a window can show (message, hint, the tooltip's detail) or log."""
    texts = [str(exc), repr(exc), describe(exc, detailed=True)]
    if isinstance(exc, TerminalError):
        texts += [exc.user_message(), exc.hint, exc.detail]
    return texts


def leaks_in_texts(texts: Iterable[str], secrets: Secrets) -> list[str]:
    """Which secret is in which text (empty: none anywhere)."""
    values = secrets.values()
    return [f"{name} in {text[:200]!r}" for text in texts for name, value in values.items() if value in text]


def leaks_in_files(root: Path, secrets: Secrets) -> list[str]:
    """Which secret is in which file under ``root`` (every file, whatever it is)."""
    values = {name: value.encode() for name, value in secrets.values().items()}
    return [
        f"{name} in {path}"
        for path in sorted(p for p in root.rglob("*") if p.is_file())
        for name, value in values.items()
        if value in path.read_bytes()
    ]


# -- what a loopback server received -----------------------------------------------------------------
def _signatures_in_pairs(pairs: Iterable[tuple[str, str]]) -> set[str]:
    return {value for name, value in pairs if name.lower() in SIGNATURE_NAMES and value}


def _signatures_in_json(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for name, item in value.items():
            if str(name).lower() in SIGNATURE_NAMES and isinstance(item, str) and item:
                found.add(item)
            found |= _signatures_in_json(item)
    elif isinstance(value, list):
        for item in value:
            found |= _signatures_in_json(item)
    return found


def _signatures_in_text(text: str) -> set[str]:
    try:
        return _signatures_in_json(json.loads(text))
    except ValueError:
        return _signatures_in_pairs(urllib.parse.parse_qsl(text, keep_blank_values=True))


async def signatures_in_request(request: web.Request) -> set[str]:
    """The signatures in a REST request: query, body, headers; raw and decoded."""
    raw_query = request.raw_path.partition("?")[2]
    found = _signatures_in_pairs(p.partition("=")[::2] for p in raw_query.split("&") if p)  # as sent
    found |= _signatures_in_pairs(request.query.items())  # decoded
    found |= _signatures_in_pairs(request.headers.items())
    if request.body_exists:
        found |= _signatures_in_text(await request.text())
    return found


def recording_server(server_class: type[Any], **kwargs: Any) -> Any:
    """An instance of the loopback ``server_class`` that keeps, in ``.signatures``,
    every signature it receives over REST and its websockets."""

    class Recording(server_class):  # type: ignore[misc, valid-type]
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.signatures: set[str] = set()

        @web.middleware
        async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
            try:
                return await super()._middleware(request, handler)
            finally:  # after the handler, which has read the body (aiohttp keeps it for a second read)
                self.signatures |= await signatures_in_request(request)

        def _accept(self, ws: web.WebSocketResponse, request: web.Request) -> tuple[Any, Any]:
            sock, on_frame = super()._accept(ws, request)

            def recorded(socket: Any, text: str) -> None:
                self.signatures |= _signatures_in_text(text)
                on_frame(socket, text)

            return sock, recorded

    Recording.__name__ = f"Recording{server_class.__name__}"
    return Recording(**kwargs)


#: headers that carry a key on the exchanges the tests use (lower case)
_KEY_HEADERS = frozenset({"authorization", "x-mbx-apikey", "ok-access-key", "apca-api-key-id", "api-key"})


@asynccontextmanager
async def echoing_server(public: object = None) -> AsyncIterator[tuple[str, set[str]]]:
    """A server on 127.0.0.1 that refuses requests with HTTP 401 and echoes back what
    it got (path and query, headers, body); with ``public``, requests that carry no
    key are answered that (so that ccxt gets as far as a signed request). Yields its
    address and the set it fills with the signatures it received."""
    signatures: set[str] = set()

    async def answer(request: web.Request) -> web.Response:
        body = await request.text()
        keyed = (
            not _KEY_HEADERS.isdisjoint(h.lower() for h in request.headers) or "ignature=" in request.path_qs
        )
        if public is not None and not keyed:
            return web.json_response(public)
        signatures.update(await signatures_in_request(request))
        echo = {"url": request.path_qs, "headers": dict(request.headers), "body": body}
        return web.json_response({"error": "unauthorized", "echo": echo}, status=401)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", signatures
    finally:
        await runner.cleanup()
