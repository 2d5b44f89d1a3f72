"""The one async interface every market source implements (simulator, ccxt).

It is the subset of ``ccxt.pro`` exchange methods the terminal uses, in
ccxt's data shapes, so a ccxt exchange object satisfies it as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ExchangeSource(Protocol):
    id: str
    name: str

    @property
    def timeframes(self) -> Mapping[str, str]: ...

    @property
    def has(self) -> Mapping[str, Any]: ...

    @property
    def markets(self) -> Mapping[str, dict[str, Any]]: ...

    async def load_markets(self, reload: bool = False) -> dict[str, dict[str, Any]]: ...

    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[list[float]]: ...

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]: ...

    async def fetch_tickers(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, dict[str, Any]]: ...

    async def fetch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]: ...

    async def watch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]: ...

    async def watch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]: ...

    async def watch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[list[float]]: ...

    async def watch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> dict[str, Any]: ...

    def milliseconds(self) -> int: ...

    async def close(self) -> None: ...
