"""Binance's wire format, shared by the loopback Binance server's modules:
decimal strings, error answers and the HMAC-SHA256 signature of SIGNED
requests; and what both servers read alike (``opt_int``, ``json_object``; the
order desk's 8-place decimals, ``dec`` / ``norm_qty``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from aiohttp import web

#: What Binance accepts for a decimal parameter (quantity, price, ...).
DECIMAL_PATTERN = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
EIGHT = Decimal("0.00000001")


def fmt(x: float | Decimal) -> str:
    """Binance's decimal strings: 8 places."""
    return f"{x:.8f}"


def norm_qty(q: float) -> float:
    """A size as it travels on the wire (8 places), so both ends hold the same float."""
    return float(f"{q:.8f}")


def dec(x: float | str) -> Decimal:
    """A float or wire string as an exact Decimal with Binance's 8 places."""
    return Decimal(fmt(x)) if isinstance(x, float) else Decimal(x)


class ApiError(Exception):
    """A Binance error answer: HTTP ``status`` and body ``{"code": code, "msg": msg}``."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg

    def response(self) -> web.Response:
        return web.json_response({"code": self.code, "msg": self.msg}, status=self.status)


def mandatory(name: str) -> ApiError:
    return ApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def illegal(name: str, legal: str | None = None) -> ApiError:
    tail = f"; legal range is '{legal}'." if legal else "."
    return ApiError(400, -1100, f"Illegal characters found in parameter '{name}'{tail}")


def sign(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of ``payload`` with ``secret``: Binance's SIGNED signature."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def check_signature(secret: str, payload: str, signature: str) -> None:
    if not hmac.compare_digest(sign(secret, payload), signature.lower()):
        raise ApiError(401, -1022, "Signature for this request is not valid.")


def check_timestamp(params: dict[str, str], now: int) -> None:
    """Binance's recvWindow rule: ``timestamp`` at most 1 s ahead of the server
    and at most ``recvWindow`` ms (default 5000, max 60000) behind it."""
    if "timestamp" not in params:
        raise mandatory("timestamp")
    try:
        timestamp = int(params["timestamp"])
        recv_window = int(params.get("recvWindow", 5000))
    except ValueError:
        raise ApiError(400, -1100, "Illegal characters found in a parameter.") from None
    if recv_window > 60_000:
        raise ApiError(400, -1131, "recvWindow must be less than 60000")
    if timestamp >= now + 1000:
        raise ApiError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if now - timestamp > recv_window:
        raise ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")


def opt_int(params: Mapping[str, Any], name: str, error: Callable[[str], Exception]) -> int | None:
    """An optional integer parameter (None when absent or empty); ``error(name)``
    is raised for anything else that is no integer."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise error(name) from None


def json_object(text: str) -> dict[str, Any] | None:
    """A websocket frame's JSON object, or None if it is none."""
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None
