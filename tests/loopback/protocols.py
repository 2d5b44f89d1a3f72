"""The exchange protocols the loopback servers speak, as the feed tests need
them: how the terminal's CcxtSource is pointed at each server, and what
differs between them (where a book snapshot comes from, which channel carries
the book). Feed tests are parametrised over ``PROTOCOLS``; so are the live
broker's (tests/trading/live/test_live_broker.py), with the trading fields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.loopback.binance import LoopbackBinance
from tests.loopback.okx import LoopbackOkx


@dataclass(frozen=True)
class Protocol:
    name: str
    exchange_id: str
    server: Callable[..., Any]
    #: CcxtSource's rest_url / ws_url for a running server
    urls: Callable[[Any], dict[str, str]]
    #: ccxt options that keep load_markets to the spot markets, in one request where possible
    options: dict[str, Any] = field(default_factory=dict)
    #: the REST paths of the order book and of candles
    book_path: str = ""
    candles_path: str = ""
    #: whether the websocket book starts from a REST snapshot (Binance) or from
    #: a snapshot on the websocket itself (OKX)
    rest_book_snapshot: bool = True
    #: the server's name for the book channel (for ``mute``)
    book_channel: str = "depth"
    # -- trading (the live broker's tests) ----------------------------------------------
    #: a trading key has a passphrase (ccxt's ``password``) besides key and secret
    passphrase: bool = False
    #: the REST paths that place an order (as ccxt calls it), read the balances, tell the time
    order_path: str = ""
    balance_path: str = ""
    time_path: str = ""
    #: the server's ``OrderView.status`` for an order "open" (resting), "filled", "canceled"
    order_states: dict[str, str] = field(default_factory=dict)
    #: how far (ms) a signed request's time stamp may be off before the server refuses it
    clock_window_ms: int = 0

    def add_key(
        self, server: Any, key: str, secret: str, passphrase: str, balances: dict[str, float] | None = None
    ) -> None:
        """A fresh trading account on ``server`` (the passphrase only where the protocol has one)."""
        if self.passphrase:
            server.add_key(key, secret, passphrase, balances)
        else:
            server.add_key(key, secret, balances)

    def wire_client_id(self, client_order_id: str) -> str:
        """A client order id as the server keeps it (OKX: letters and digits only)."""
        return client_order_id.replace("-", "") if self.exchange_id == "okx" else client_order_id


BINANCE = Protocol(
    name="binance",
    exchange_id="binance",
    server=LoopbackBinance,
    urls=lambda s: {"rest_url": f"http://127.0.0.1:{s.port}", "ws_url": f"ws://127.0.0.1:{s.port}/stream"},
    options={"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False},
    book_path="/api/v3/depth",
    candles_path="/api/v3/klines",
    order_path="/api/v3/order",
    balance_path="/api/v3/account",
    time_path="/api/v3/time",
    order_states={"open": "NEW", "filled": "FILLED", "canceled": "CANCELED"},
    clock_window_ms=10_000,  # ccxt's recvWindow
)

OKX = Protocol(
    name="okx",
    exchange_id="okx",
    server=LoopbackOkx,
    urls=lambda s: {"rest_url": f"http://127.0.0.1:{s.port}", "ws_url": f"ws://127.0.0.1:{s.port}"},
    options={"fetchMarkets": {"types": ["spot"]}},
    book_path="/api/v5/market/books",
    candles_path="/api/v5/market/candles",
    rest_book_snapshot=False,
    book_channel="books",
    passphrase=True,
    order_path="/api/v5/trade/batch-orders",  # ccxt's create_order posts a batch of one
    balance_path="/api/v5/account/balance",
    time_path="/api/v5/public/time",
    order_states={"open": "live", "filled": "filled", "canceled": "canceled"},
    clock_window_ms=30_000,
)

PROTOCOLS: list[Protocol] = [BINANCE, OKX]
