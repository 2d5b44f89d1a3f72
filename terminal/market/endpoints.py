"""Custom endpoints: point an exchange's REST and websocket APIs elsewhere
(a proxy, a regional mirror, the test suite's loopback server).

An override replaces the scheme and host of every API URL of its kind (REST:
http/https, websocket: ws/wss) and may add a path prefix, so
``ws://127.0.0.1:8765/stream`` turns ``wss://stream.binance.com:9443/ws`` into
``ws://127.0.0.1:8765/stream/ws``. Only the API URLs are touched (``api``,
and ``test``/``demo`` for sandboxes), never links such as ``www`` or ``doc``.
Every rewrite is reported, so the user sees exactly where requests go.

An address with a user name or password in it (``https://user:pass@proxy``)
is refused: the terminal would send and log those credentials with every
request, and keys belong in the keyring only (``terminal.addresses``, which
the configuration's checks share). Whatever says an address back (messages,
logs) masks that part (``mask_userinfo``). Where an account's keys
may go is ``key_destinations``' business.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from terminal.addresses import REST_SCHEMES, WS_SCHEMES, check_base

API_SECTIONS = ("api", "test", "demo")


@dataclass(frozen=True)
class Rewrite:
    where: str  # e.g. "api.public" or "api.ws.spot"
    old: str
    new: str


def rebase(url: str, base: str) -> str:
    """``url`` with ``base``'s scheme, host and port, ``base``'s path put in front of its own."""
    old, new = urlsplit(url), urlsplit(base)
    query = f"?{old.query}" if old.query else ""
    return f"{new.scheme}://{new.netloc}{new.path.rstrip('/')}{old.path}{query}"


def override_urls(urls: dict[str, Any], rest: str | None, ws: str | None) -> list[Rewrite]:
    """Rewrite, in place, the API URLs in ccxt's ``exchange.urls``; returns every change."""
    rest = check_base(rest, REST_SCHEMES, "REST") if rest else None
    ws = check_base(ws, WS_SCHEMES, "websocket") if ws else None
    rewrites: list[Rewrite] = []
    for section in API_SECTIONS:
        if section not in urls:
            continue
        for where, container, key, value in list(_strings(urls[section], section)):
            scheme = urlsplit(value).scheme
            base = rest if scheme in REST_SCHEMES else ws if scheme in WS_SCHEMES else None
            if base is None:
                continue
            new = rebase(value, base)
            container[key] = new
            rewrites.append(Rewrite(where, value, new))
    return rewrites


def api_urls(urls: dict[str, Any], sections: tuple[str, ...] = API_SECTIONS) -> list[tuple[str, str]]:
    """Every (where, url) under the API sections: what the user is shown."""
    found: list[tuple[str, str]] = []
    for section in sections:
        if section in urls:
            found.extend((where, value) for where, _, _, value in _strings(urls[section], section))
    return found


def _strings(node: Any, path: str) -> Iterator[tuple[str, Any, Any, str]]:
    """(dotted path, container, key, value) for each URL string in a nested dict/list."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        where = f"{path}.{key}"
        if isinstance(value, str) and "://" in value:
            yield where, node, key, value
        elif isinstance(value, dict | list):
            yield from _strings(value, where)
