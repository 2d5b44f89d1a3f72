"""A loopback HTTP server for the webhook tests: it answers each request with the next
scripted ``Reply`` (the last one repeats) and keeps what it received.

``HttpSink`` runs the standard library's ``ThreadingHTTPServer`` on 127.0.0.1, on a
port the system picks, in a thread of its own; a ``Reply`` with ``hold`` set answers
only once that event is set (a slow or silent service). ``refused_url`` gives an
address on which nothing listens: a port bound and never listened on, so the
connection is refused at once and no other program can take the port meanwhile.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b'{"ok":true}'
    hold: threading.Event | None = None  # answer only once this is set (or the sink stops)


@dataclass(frozen=True)
class Received:
    method: str
    target: str  # the path and query as the client sent them
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float  # time.monotonic() when it arrived

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that gave up on a held request leaves a broken pipe, which is the point."""


class HttpSink:
    """``with HttpSink([Reply(503), Reply(200)]) as sink: ... sink.url("/hook")``."""

    def __init__(self, replies: Sequence[Reply] = (Reply(),)) -> None:
        if not replies:
            raise ValueError("give at least one reply")
        self._replies = list(replies)
        self._arrived = threading.Condition()
        self.received: list[Received] = []
        self._stopping = threading.Event()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                sink._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-sink", daemon=True)

    def url(self, target: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{target}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        headers = {name.lower(): value for name, value in handler.headers.items()}
        with self._arrived:
            self.received.append(Received(handler.command, handler.path, headers, body, time.monotonic()))
            reply = self._replies[min(len(self.received), len(self._replies)) - 1]
            self._arrived.notify_all()
        if reply.hold is not None:
            while not reply.hold.is_set() and not self._stopping.is_set():
                reply.hold.wait(0.05)
        handler.send_response(reply.status)
        for name, value in reply.headers:
            handler.send_header(name, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` requests, once that many arrived; fails after ``timeout`` seconds."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(
                    f"{len(self.received)} requests arrived within {timeout:g} s, not {count}"
                )
            return self.received[:count]

    def __enter__(self) -> HttpSink:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()  # held requests answer now, so that their threads end
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@contextmanager
def refused_url(target: str = "/") -> Iterator[str]:
    """An address on 127.0.0.1 whose connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}{target}"
