"""OKX v5's wire format, for the loopback OKX server's modules: number strings,
the order-book checksum, error answers and the two HMAC-SHA256 signatures
(REST headers, websocket login)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

#: How far a signed request's timestamp may be from the server's clock (OKX: 30 s).
MAX_SKEW_MS = 30_000
#: Levels per side the checksum covers.
CHECKSUM_LEVELS = 25
RATE_LIMIT = ("50011", "Too Many Requests")


def num(x: float | Decimal | int) -> str:
    """OKX's decimal strings: no exponent, no trailing zeros, at most 8 places ("0" for zero)."""
    text = f"{x:.8f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def price_text(key: int, tick: Decimal) -> str:
    """The price of ``key`` ticks as OKX writes it (``"64000.1"``, ``"0.5213"``)."""
    text = format(tick * key, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def checksum(bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]]) -> int:
    """OKX's book checksum: CRC32 of ``bid1px:bid1sz:ask1px:ask1sz:bid2px:...`` over
    the best ``CHECKSUM_LEVELS`` levels of each side (a shorter side just ends),
    with the strings exactly as sent, as a signed 32-bit integer."""
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts.extend(bids[i])
        if i < len(asks):
            parts.extend(asks[i])
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


class OkxError(Exception):
    """An OKX error answer: HTTP ``status``, body ``{"code", "msg", "data"}``."""

    def __init__(self, code: str, msg: str, status: int = 200, data: list[Any] | None = None) -> None:
        super().__init__(f"{code} {msg}")
        self.code, self.msg, self.status, self.data = code, msg, status, data or []

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg, "data": self.data}

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status)


def bad_param(name: str) -> OkxError:
    return OkxError("51000", f"Parameter {name} error", 400)


def empty_param(name: str) -> OkxError:
    return OkxError("50014", f"Parameter {name} can not be empty.", 400)


def no_instrument() -> OkxError:
    return OkxError("51001", "Instrument ID does not exist.", 400)


def ok(data: list[Any]) -> web.Response:
    return web.json_response({"code": "0", "msg": "", "data": data})


def sign(secret: str, payload: str) -> str:
    """base64 of HMAC-SHA256(``payload``, ``secret``): OKX's OK-ACCESS-SIGN and login sign."""
    return base64.b64encode(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()).decode()


def iso_ms(text: str) -> int:
    """``2024-05-01T12:00:00.123Z`` -> ms since the epoch (ValueError if malformed)."""
    if not text.endswith("Z"):
        raise ValueError(text)
    return int(datetime.fromisoformat(text[:-1] + "+00:00").timestamp() * 1000)


def check_rest_signature(
    headers: Mapping[str, str],
    method: str,
    path_qs: str,
    body: str,
    keys: Mapping[str, tuple[str, str]],
    now_ms: int,
) -> str:
    """OKX's REST authentication; returns the API key or raises OkxError (HTTP 401).
    The signed text is OK-ACCESS-TIMESTAMP + method + request path with its query
    string + body; ``keys`` maps an API key to (secret, passphrase)."""
    for name, code in (("KEY", "50103"), ("PASSPHRASE", "50104"), ("TIMESTAMP", "50107"), ("SIGN", "50106")):
        if not headers.get(f"OK-ACCESS-{name}"):
            raise OkxError(code, f'Request header "OK-ACCESS-{name}" can not be empty.', 401)
    key, passphrase = headers["OK-ACCESS-KEY"], headers["OK-ACCESS-PASSPHRASE"]
    timestamp, signature = headers["OK-ACCESS-TIMESTAMP"], headers["OK-ACCESS-SIGN"]
    if key not in keys:
        raise OkxError("50111", "Invalid OK-ACCESS-KEY.", 401)
    try:
        sent = iso_ms(timestamp)
    except ValueError:
        raise OkxError("50112", "Invalid OK-ACCESS-TIMESTAMP.", 401) from None
    if abs(now_ms - sent) > MAX_SKEW_MS:
        raise OkxError("50102", "Timestamp request expired.", 401)
    secret, expected_passphrase = keys[key]
    if not hmac.compare_digest(passphrase, expected_passphrase):
        raise OkxError("50105", "Invalid OK-ACCESS-PASSPHRASE.", 401)
    if not hmac.compare_digest(sign(secret, timestamp + method + path_qs + body), signature):
        raise OkxError("50113", "Invalid Sign.", 401)
    return key


def check_login(args: Any, keys: Mapping[str, tuple[str, str]], now_ms: int) -> str:
    """A websocket ``login`` op's first arg (apiKey, passphrase, timestamp in
    seconds, sign = base64 HMAC of timestamp + "GET" + "/users/self/verify");
    returns the key or raises OkxError with the websocket's 600xx code."""
    arg = args[0] if isinstance(args, list) and args and isinstance(args[0], dict) else None
    if arg is None:
        raise OkxError("60013", "Invalid args")
    key, passphrase = str(arg.get("apiKey") or ""), str(arg.get("passphrase") or "")
    timestamp, signature = str(arg.get("timestamp") or ""), str(arg.get("sign") or "")
    if not key:
        raise OkxError("60001", "OK-ACCESS-KEY can not be empty")
    if not signature:
        raise OkxError("60002", "OK-ACCESS-SIGN can not be empty")
    if not passphrase:
        raise OkxError("60003", "OK-ACCESS-PASSPHRASE can not be empty")
    if key not in keys:
        raise OkxError("60005", "Invalid OK-ACCESS-KEY")
    try:
        sent = int(float(timestamp) * 1000)
    except ValueError:
        raise OkxError("60004", "Invalid timestamp") from None
    if abs(now_ms - sent) > MAX_SKEW_MS:
        raise OkxError("60006", "Timestamp request expired")
    secret, expected_passphrase = keys[key]
    if not hmac.compare_digest(passphrase, expected_passphrase):
        raise OkxError("60024", "Wrong passphrase")
    if not hmac.compare_digest(sign(secret, timestamp + "GET" + "/users/self/verify"), signature):
        raise OkxError("60007", "Invalid sign")
    return key


def ws_error(code: str, msg: str, conn_id: str, req_id: Any = None) -> str:
    """A websocket error event (``{"event": "error", "code", "msg", "connId"}``)."""
    event: dict[str, Any] = {"event": "error", "code": code, "msg": msg, "connId": conn_id}
    if req_id is not None:
        event["id"] = req_id
    return dumps(event)


def dumps(message: Any) -> str:
    return json.dumps(message, separators=(",", ":"))
