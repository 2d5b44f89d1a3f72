"""Who hears an account's user-data events on the loopback server, and the
WebSocket API requests that subscribe.

Two ways in, as on Binance spot:

- the WebSocket API (``/ws-api/v3``; what ccxt 4.5.90 uses for spot
  ``watch_orders`` / ``watch_my_trades`` / ``watch_balance``): a request
  ``{"id", "method": "userDataStream.subscribe.signature", "params": {apiKey,
  timestamp, signature}}`` is answered ``{"id", "status": 200, "result":
  {"subscriptionId": N}}``, then every event of that account comes as
  ``{"subscriptionId": N, "event": {...}}``;
- a listen key (``POST /api/v3/userDataStream``), then a websocket on
  ``<stream base>/<listenKey>`` that gets the raw events.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from typing import Any, Protocol

from tests.loopback.wire import ApiError, json_object


class Sink(Protocol):
    def send(self, text: Any) -> None: ...


class UserStreams:
    def __init__(
        self, verify: Callable[[dict[str, Any]], str], clock: Callable[[], int], rng: random.Random
    ) -> None:
        """``verify(params)`` checks a WebSocket API request's ``apiKey``,
        ``signature`` and ``timestamp`` and returns the key, or raises ApiError."""
        self._verify = verify
        self._clock = clock
        self._rng = rng
        self._listen_keys: dict[str, str] = {}  # listen key -> api key
        self._raw: dict[Sink, str] = {}  # listen-key socket -> api key
        self._subscriptions: dict[Sink, dict[int, str]] = {}  # WS API socket -> subscription id -> api key
        self._next_id: dict[Sink, int] = {}

    # -- listen keys (REST) ------------------------------------------------------
    def listen_key(self, api_key: str) -> str:
        """The account's listen key: the active one, else a new one (as Binance)."""
        for listen_key, owner in self._listen_keys.items():
            if owner == api_key:
                return listen_key
        listen_key = "".join(self._rng.choice(string.ascii_letters + string.digits) for _ in range(60))
        self._listen_keys[listen_key] = api_key
        return listen_key

    def keepalive(self, api_key: str, listen_key: str) -> None:
        if self._listen_keys.get(listen_key) != api_key:
            raise ApiError(400, -1125, "This listenKey does not exist.")

    def close(self, api_key: str, listen_key: str) -> None:
        self.keepalive(api_key, listen_key)
        del self._listen_keys[listen_key]
        for sink in [s for s, k in self._raw.items() if k == api_key]:
            del self._raw[sink]

    def attach(self, sink: Sink, listen_key: str) -> bool:
        """Make ``sink`` (a socket opened on ``.../<listen_key>``) a raw event stream."""
        api_key = self._listen_keys.get(listen_key)
        if api_key is None:
            return False
        self._raw[sink] = api_key
        return True

    # -- the WebSocket API -------------------------------------------------------------
    def on_frame(self, sink: Sink, text: str) -> None:
        frame = json_object(text)
        if frame is None:
            sink.send(_error(None, ApiError(400, -1000, "Malformed request.")))
            return
        req_id, method, params = frame.get("id"), frame.get("method"), frame.get("params") or {}
        try:
            result = self._call(sink, str(method), params)
        except ApiError as e:
            sink.send(_error(req_id, e))
            return
        sink.send(json.dumps({"id": req_id, "status": 200, "result": result, "rateLimits": []}))

    def _call(self, sink: Sink, method: str, params: dict[str, Any]) -> Any:
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": self._clock()}
        if method == "userDataStream.subscribe.signature":
            api_key = self._verify(params)
            subscription = self._next_id.get(sink, 0)
            self._next_id[sink] = subscription + 1
            self._subscriptions.setdefault(sink, {})[subscription] = api_key
            return {"subscriptionId": subscription}
        if method == "userDataStream.unsubscribe":
            subs = self._subscriptions.get(sink, {})
            if "subscriptionId" in params:
                if subs.pop(int(params["subscriptionId"]), None) is None:
                    raise ApiError(400, -2, "Not subscribed.")
            else:
                subs.clear()
            return {}
        if method == "session.subscriptions":
            return [{"subscriptionId": i} for i in sorted(self._subscriptions.get(sink, {}))]
        raise ApiError(400, -1000, f"The loopback WebSocket API does not serve '{method}'.")

    # -- events -------------------------------------------------------------------------
    def publish(self, api_key: str, event: dict[str, Any]) -> None:
        raw = None
        for sink, owner in self._raw.items():
            if owner == api_key:
                raw = raw or json.dumps(event, separators=(",", ":"))
                sink.send(raw)
        for sink, subs in self._subscriptions.items():
            for subscription, owner in subs.items():
                if owner == api_key:
                    sink.send(
                        json.dumps({"subscriptionId": subscription, "event": event}, separators=(",", ":"))
                    )

    def drop(self, sink: Sink) -> None:
        self._raw.pop(sink, None)
        self._subscriptions.pop(sink, None)
        self._next_id.pop(sink, None)

    def subscribers(self, api_key: str) -> int:
        """Sockets that hear ``api_key``'s events now."""
        raw = sum(1 for k in self._raw.values() if k == api_key)
        return raw + sum(1 for subs in self._subscriptions.values() if api_key in subs.values())


def _error(req_id: Any, e: ApiError) -> str:
    return json.dumps({"id": req_id, "status": e.status, "error": {"code": e.code, "msg": e.msg}})
