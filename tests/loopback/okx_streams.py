"""The loopback OKX server's websockets and what its market pump pushes (the
part of ``LoopbackOkx`` between the shared ``LoopbackServer`` and the REST
endpoints): connections on ``/ws/v5/public``, ``/private`` and ``/business``,
``login``, subscribe / unsubscribe with OKX's answers and error events, and the
pushes: ``books`` updates chained by ``prevSeqId`` / ``seqId`` with their
checksum, ``books5`` / ``bbo-tbt``, ``trades``, ``tickers``, ``candle<bar>``,
and the private ``orders`` / ``account`` channels. The sockets, the pump and
the book diffs themselves are ``server.py``'s."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from terminal.market.simulator.engine import Trade
from tests.loopback.okx_market import (
    BARS,
    SNAPSHOT_LEVELS,
    PublishedBook,
    aggregate,
    candle_row,
    ticker_json,
    trade_json,
)
from tests.loopback.okx_orders import OkxOrderApi
from tests.loopback.okx_wire import OkxError, check_login, dumps, ws_error
from tests.loopback.server import Channel, FrameHandler, LoopbackServer, Socket, SymbolState
from tests.loopback.wire import json_object

BOOK_CHANNELS = ("books", "books5", "bbo-tbt")
VIP_ONLY = {
    "books-l2-tbt": ("60029", "Only users who are VIP5 and above in trading fee tier are allowed to "
                     "subscribe to books-l2-tbt channel"),
    "books50-l2-tbt": ("60030", "Only users who are VIP4 and above in trading fee tier are allowed to "
                       "subscribe to books50-l2-tbt channel"),
}  # fmt: skip
PUBLIC_CHANNELS = (*BOOK_CHANNELS, "trades", "tickers")
PRIVATE_CHANNELS = ("orders", "account")


@dataclass(eq=False)
class OkxSocket(Socket):
    url: str  # "public" | "private" | "business"
    conn_id: str
    channels: set[Channel] = field(default_factory=set)
    key: str | None = None  # the API key it logged in with
    order_args: list[dict[str, Any]] = field(default_factory=list)  # its ``orders`` subscriptions

    def leave_all(self) -> set[Channel]:
        channels = set(self.channels)
        self.channels.clear()
        return channels


@dataclass(kw_only=True)
class OkxSymbolState(SymbolState):
    book: PublishedBook
    corrupt: int = 0  # updates left to send with a wrong checksum
    garbled: int = 0  # updates left to send with a wrong level (and the true book's checksum)
    sent_top: dict[str, str] = field(default_factory=dict)  # books5 / bbo-tbt -> what was last pushed

    def clear_faults(self) -> None:
        self.pending_gap = self.corrupt = self.garbled = 0


class OkxStreams(LoopbackServer[OkxSymbolState]):
    """The websocket half of ``LoopbackOkx``."""

    order_api: OkxOrderApi
    _keys: dict[str, tuple[str, str]]  # API key -> (secret, passphrase)

    # -- websocket ----------------------------------------------------------------------
    def _accept(self, ws: web.WebSocketResponse, request: web.Request) -> tuple[Socket, FrameHandler]:
        url = request.path.rsplit("/", 1)[-1]
        return OkxSocket(ws, request, url, f"{self._ids.getrandbits(32):08x}"), self._on_frame

    def _on_frame(self, sock: OkxSocket, text: str) -> None:
        if text == "ping":
            sock.send("pong")
            return
        frame = json_object(text)
        if frame is None:
            sock.send(ws_error("60012", f"Illegal request: {text}", sock.conn_id))
            return
        op, req_id = frame.get("op"), frame.get("id")
        if op == "login":
            try:
                sock.key = check_login(frame.get("args"), self._keys, self._server_time())
            except OkxError as e:
                sock.send(ws_error(e.code, e.msg, sock.conn_id, req_id))
                return
            sock.send(dumps({"event": "login", "code": "0", "msg": "", "connId": sock.conn_id}))
        elif op in ("subscribe", "unsubscribe"):
            args = frame.get("args")
            if not isinstance(args, list) or not args:
                sock.send(ws_error("60013", f"Invalid args: {text}", sock.conn_id, req_id))
                return
            for arg in args:
                self._subscription(sock, op, arg, req_id)
        else:
            sock.send(ws_error("60019", f"Invalid op: op:{op}", sock.conn_id, req_id))

    def _subscription(self, sock: OkxSocket, op: str, arg: Any, req_id: Any) -> None:
        if not isinstance(arg, dict) or not arg.get("channel"):
            sock.send(ws_error("60013", f"Invalid args: {json.dumps(arg)}", sock.conn_id, req_id))
            return
        try:
            if op == "subscribe" and self._refuses(arg):
                raise _no_channel(arg)
            channel = self._channel(sock, arg)
        except OkxError as e:
            sock.send(ws_error(e.code, e.msg, sock.conn_id, req_id))
            return
        ack: dict[str, Any] = {"event": op, "arg": arg, "connId": sock.conn_id}
        if req_id is not None:
            ack["id"] = req_id
        if op == "unsubscribe":
            if channel[0] == "orders":
                sock.order_args = [a for a in sock.order_args if a != arg]
            if channel[0] != "orders" or not sock.order_args:
                sock.channels.discard(channel)
                self._leave(sock, channel)
            sock.send(dumps(ack))
            return
        sock.channels.add(channel)
        self._join(sock, channel)
        if channel[0] == "orders" and arg not in sock.order_args:
            sock.order_args.append(arg)
        sock.send(dumps(ack))
        self._first_push(sock, channel, arg)

    def _channel(self, sock: OkxSocket, arg: dict[str, Any]) -> tuple[str, ...]:
        """The channel key an arg subscribes to on this socket, or OKX's error."""
        name = str(arg["channel"])
        if name in PRIVATE_CHANNELS and sock.url == "private":
            if sock.key is None:
                raise OkxError("60011", "Please log in")
            return (name, sock.key)
        if name in VIP_ONLY and sock.url == "public":
            raise OkxError(*VIP_ONLY[name])
        public = sock.url == "public" and name in PUBLIC_CHANNELS
        business = sock.url == "business" and name.startswith("candle") and name[len("candle") :] in BARS
        if not (public or business) or str(arg.get("instId")) not in self._symbols:
            raise _no_channel(arg)
        return (name, str(arg["instId"]))

    def _refuses(self, arg: dict[str, Any]) -> bool:
        inst = str(arg.get("instId") or "")
        return any(
            t in (arg.get("channel"), inst) or t.replace("/", "-").upper() == inst for t in self._refused
        )

    def _first_push(self, sock: OkxSocket, channel: Channel, arg: dict[str, Any]) -> None:
        """What OKX pushes right after a subscribe: the book snapshot, the ticker,
        the current candle, the account's balances."""
        if channel in self._muted:
            return
        name = channel[0]
        if name == "account":
            item = self.order_api.account_snapshot(channel[1])
            sock.send(dumps({"arg": {**arg, "uid": channel[1]}, "eventType": "snapshot", "data": [item]}))
            return
        if name == "orders":
            return
        state = self._symbols[channel[1]]
        if name == "books":
            sock.send(dumps(self._snapshot(state)))
        elif name in ("books5", "bbo-tbt"):
            sock.send(dumps(self._top_push(state, name)))
        elif name == "tickers":
            sock.send(dumps({"arg": arg, "data": [self._ticker(state)]}))
        elif name.startswith("candle"):
            bar = name[len("candle") :]
            if len(state.engine.candles):
                sock.send(dumps(self._candle_push(state, bar, self._candle_open(state, bar), closed=False)))

    def _snapshot(self, state: OkxSymbolState) -> dict[str, Any]:
        book = state.book
        return {
            "arg": {"channel": "books", "instId": state.market_id},
            "action": "snapshot",
            "data": [
                {
                    "asks": book.levels(False, SNAPSHOT_LEVELS),
                    "bids": book.levels(True, SNAPSHOT_LEVELS),
                    "ts": str(self.clock()),
                    "checksum": book.checksum(),
                    "prevSeqId": -1,
                    "seqId": state.update_id,
                }
            ],
        }

    def _top_push(self, state: OkxSymbolState, name: str) -> dict[str, Any]:
        depth = 5 if name == "books5" else 1
        item: dict[str, Any] = {
            "asks": state.book.levels(False, depth),
            "bids": state.book.levels(True, depth),
            "ts": str(self.clock()),
            "seqId": state.update_id,
        }
        if name == "books5":
            item["instId"] = state.market_id
        return {"arg": {"channel": name, "instId": state.market_id}, "data": [item]}

    def _publish_private(self, key: str, channel: str, instrument: str | None, item: dict[str, Any]) -> None:
        """A desk event to the private sockets of ``key`` subscribed to ``channel``."""
        for sock in list(self._channels.get((channel, key), ())):
            assert isinstance(sock, OkxSocket)
            if channel == "account":
                arg = {"channel": "account", "uid": key}
                sock.send(dumps({"arg": arg, "eventType": "event_update", "data": [item]}))
                continue
            match = next(
                (
                    a
                    for a in sock.order_args
                    if a.get("instType") in ("SPOT", "ANY") and a.get("instId") in (None, instrument)
                ),
                None,
            )
            if match is not None:
                sock.send(dumps({"arg": {**match, "uid": key}, "data": [item]}))

    # -- what the market pump pushes ----------------------------------------------------
    def _push_book(
        self, state: OkxSymbolState, bids: list[list[str]], asks: list[list[str]], prev: int
    ) -> None:
        channel = ("books", state.market_id)
        if self._subscribed(channel):
            checksum = state.book.checksum()
            if state.corrupt:
                state.corrupt -= 1
                checksum = checksum + 1 if checksum < (1 << 31) - 1 else checksum - 1
            if state.garbled and (bids or asks):
                # One level's size changed on the way: the update still chains
                # (seqIds right) but no longer adds up to the checksum.
                state.garbled -= 1
                side = bids if bids else asks
                price, size = side[0][0], side[0][1]
                side = [[price, str(float(size) + 1.0 if float(size) else 1.0)], *side[1:]]
                bids, asks = (side, asks) if bids else (bids, side)
            item = {
                "asks": asks,
                "bids": bids,
                "ts": str(self.clock()),
                "checksum": checksum,
                "prevSeqId": prev,
                "seqId": state.update_id,
            }
            arg = {"channel": "books", "instId": state.market_id}
            self._broadcast(channel, {"arg": arg, "action": "update", "data": [item]})
        for name in ("books5", "bbo-tbt"):
            top = (name, state.market_id)
            if self._subscribed(top):
                push = self._top_push(state, name)
                levels = dumps([push["data"][0]["asks"], push["data"][0]["bids"]])
                if state.sent_top.get(name) != levels:
                    state.sent_top[name] = levels
                    self._broadcast(top, push)

    def _publish_trades(self, state: OkxSymbolState, trades: list[Trade]) -> None:
        channel = ("trades", state.market_id)
        if self._subscribed(channel):
            arg = {"channel": "trades", "instId": state.market_id}
            for t in trades:
                self._broadcast(channel, {"arg": arg, "data": [trade_json(state.market_id, t)]})

    def _publish_tickers(self, state: OkxSymbolState) -> None:
        channel = ("tickers", state.market_id)
        if self._subscribed(channel):
            arg = {"channel": "tickers", "instId": state.market_id}
            self._broadcast(channel, {"arg": arg, "data": [self._ticker(state)]})

    def _candle_channel(self, state: OkxSymbolState, bar: str) -> Channel:
        return ("candle" + bar, state.market_id)

    def _candle_push(self, state: OkxSymbolState, bar: str, open_: int, closed: bool) -> dict[str, Any]:
        data = aggregate(state.engine, bar, open_, open_ + BARS[bar][0])
        rows = [candle_row(data, 0, closed)] if len(data) else []
        return {"arg": {"channel": "candle" + bar, "instId": state.market_id}, "data": rows}

    def _ticker(self, state: OkxSymbolState) -> dict[str, Any]:
        trades = [t for t in state.engine.trades[-50:] if t.id <= state.trade_cursor]
        return ticker_json(state.market_id, state.engine, state.book, trades, self.clock())


def _no_channel(arg: dict[str, Any]) -> OkxError:
    return OkxError(
        "60018",
        f"Wrong URL or channel:{arg.get('channel')},instId:{arg.get('instId')} doesn't exist. "
        "Please use the correct URL, channel and parameters referring to API document.",
    )
