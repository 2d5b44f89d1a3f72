"""The live account's keyed ccxt instance: a ``CcxtSource`` with the account's
keys, so it is built exactly as the market-data source is (sandbox, the
account's endpoint overrides, options, keepalive) and its errors go through
the same translation and rate-limit cool-down. On top it has the private
calls the live broker makes, and what those need beyond the public path:

- refusals of an order in plain words with the exchange's reason kept
  (``rejections``); ccxt's ``BadRequest`` from ``create_order``
  (Binance's -1013 NOTIONAL and MAX_NUM_ORDERS, refused parameters) counts as
  a refusal of the order, not as a generic failure;
- ``OrderNotFound`` as ``OrderNotFoundError`` (ccxt makes it an InvalidOrder);
- ``InvalidNonce`` as ``ClockSkewError`` (a message about the clock). Calls
  other than creating an order are retried once after ``load_time_difference``;
  a create is never retried here: the broker reconciles it by client order id;
- Binance's -2015 (unknown key), which ccxt raises as ``DDoSProtection`` once
  the instance has authenticated, as ``AuthenticationFailedError``;
- the API key is masked in error texts too, not only the secret.

Client order ids travel as Binance's ``newClientOrderId`` (found again and
cancelled by ``origClientOrderId``) or ccxt's generic ``clientOrderId``. OKX
(``okx``, ``myokx``, ``okxus``) takes letters and digits only, at most 32: the
"-" of the terminal's ids is dropped on the way out and put back on the way in
(``t-abc…`` is ``tabc…`` there); ccxt sends ``clientOrderId`` as OKX's
``clOrdId``, and OKX's order details and cancel take it too, so an order is
found and cancelled by it as on Binance.

What else OKX needs, through ccxt 4.5.90:

- stop orders are OKX *algo* orders (``trade/order-algo``, their own ids,
  channels and lists), which the broker does not follow: they are refused
  before anything is sent;
- the private websocket's login is stamped with the computer's clock, not
  the offset ``load_time_difference`` measured: it is made to use the
  measured offset, as signed REST requests do;
- ``watch_my_trades`` passes OKX's ``fillFee`` on unchanged, negative for a
  fee paid: its sign is turned to ccxt's (positive = paid), as
  ``fetch_my_trades`` has it;
- ccxt keeps OKX's resolved ``authenticated`` future on the private socket
  for good: only a login still waiting counts as "not connected yet".
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from terminal.config import AccountSettings
from terminal.credentials import ApiKey
from terminal.errors import (
    AuthenticationFailedError,
    ClockSkewError,
    InsufficientFundsError,
    NotSupportedError,
    OrderNotFoundError,
    OrderRejectedError,
    RateLimitedError,
    TerminalError,
)
from terminal.market import ccxt_errors
from terminal.market.ccxt_source import KEEPALIVE_MS, TIMEOUT_MS, CcxtSource
from terminal.trading.live.rejections import exchange_reason, explain

log = logging.getLogger(__name__)
T = TypeVar("T")

CLOCK_HINT = "Set this computer's clock to update itself automatically (network time), then try again."
_UNKNOWN_KEY = re.compile(r'"code"\s*:\s*-2015\b')
#: OKX and its regional siblings in ccxt: client ids of letters and digits only
#: (``clOrdId``, at most 32), found and cancelled by ccxt's ``clientOrderId`` param
_OKX_LIKE = frozenset({"okx", "myokx", "okxus"})
_NOT_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")
#: the terminal's own ids ("t-" and 20 of [a-z2-7]) with the "-" dropped
_TERMINAL_ID_WITHOUT_HYPHEN = re.compile(r"^t([a-z2-7]{20})$")


class PrivateExchange(CcxtSource):
    """One account's keyed ccxt instance (opens no connection until used)."""

    def __init__(
        self,
        account: AccountSettings,
        key: ApiKey,
        *,
        timeout_ms: int = TIMEOUT_MS,
        keepalive_ms: int = KEEPALIVE_MS,
    ) -> None:
        super().__init__(
            account.exchange,
            sandbox=account.sandbox,
            rest_url=account.rest_url,
            ws_url=account.ws_url,
            credentials=key,
            options=account.options,
            keepalive_ms=keepalive_ms,
            timeout_ms=timeout_ms,
        )
        import ccxt

        self._ccxt_module: Any = ccxt
        # Binance (in ccxt) refuses fetch_open_orders() without a symbol unless told
        # the caller knows it costs more weight; the broker asks once per refresh.
        options = self.exchange.options
        fetch_open = options.get("fetchOpenOrders")
        options["fetchOpenOrders"] = {**(fetch_open if isinstance(fetch_open, dict) else {}),
                                      "warnWithoutSymbol": False}  # fmt: skip
        #: Binance and its siblings: client ids as newClientOrderId / origClientOrderId
        self.binance_like = self.id.startswith("binance")
        #: OKX and its siblings: alphanumeric client ids as clientOrderId (OKX's clOrdId)
        self.okx_like = self.id in _OKX_LIKE
        #: an order can be fetched and cancelled by its client order id alone
        self.by_client_id = self.binance_like or self.okx_like
        if self.okx_like:
            self._stamp_logins_with_the_measured_offset()
        self._clock_lock = asyncio.Lock()

    # -- client order ids ----------------------------------------------------------
    def wire_client_id(self, client_order_id: str) -> str:
        """The id as this exchange takes it."""
        if self.okx_like:
            return _NOT_ALPHANUMERIC.sub("", client_order_id)[:32]
        return client_order_id

    def terminal_client_id(self, wire_id: str) -> str:
        """The terminal's id for an id the exchange reports (an order from an
        earlier session: ``tabc…`` on OKX is the terminal's ``t-abc…``)."""
        if self.okx_like:
            found = _TERMINAL_ID_WITHOUT_HYPHEN.match(wire_id)
            if found:
                return f"t-{found.group(1)}"
        return wire_id

    def client_id_params(self, wire_id: str) -> dict[str, Any]:
        return {"newClientOrderId": wire_id} if self.binance_like else {"clientOrderId": wire_id}

    def _lookup_params(self, wire_id: str) -> dict[str, Any]:
        """``fetch_order`` / ``cancel_order`` params naming an order by its client id."""
        return {"origClientOrderId": wire_id} if self.binance_like else {"clientOrderId": wire_id}

    # -- orders ------------------------------------------------------------------------
    async def create_order(
        self,
        symbol: str,
        type: str,
        side: str,
        amount: float,
        price: float | None,
        params: dict[str, Any],
    ) -> dict[str, Any]:
        """One order, sent once. Any failure is raised, never retried here."""
        ccxt = self._ccxt_module
        if self.okx_like and params.get("triggerPrice") is not None:
            # ccxt would place an algo order (trade/order-algo): other ids, other
            # lists and channels, which the broker does not follow.
            raise NotSupportedError(
                f"Stop orders on {self.name} are algo orders, which the terminal does not follow yet: "
                "the order was not sent.",
                hint=f"Use a limit or market order, or place the stop on {self.name}'s website.",
            )

        async def call() -> Any:
            try:
                return await self.exchange.create_order(symbol, type, side, amount, price, params)
            except ccxt.BadSymbol:
                raise
            except ccxt.BadRequest as exc:
                # The exchange read the order and refused it (Binance -1013 NOTIONAL,
                # MAX_NUM_ORDERS, bad parameters): an order refusal, said as one.
                raise ccxt.InvalidOrder(str(exc)) from None

        try:
            order = await self._rest(call)
        except RateLimitedError as exc:
            exc.hint = "The order was not sent. Wait a few seconds, then place it again."
            raise
        if not isinstance(order, dict) or not order.get("id"):
            # The order may be in: the broker reconciles it like a lost answer.
            raise self._malformed("an answer to the new order")
        return order

    async def find_order(self, symbol: str, wire_id: str, since: int | None = None) -> tuple[bool, Any]:
        """Look an order up by its client order id: ``(True, order)`` if found,
        ``(True, None)`` if the exchange says there is none, ``(False, None)``
        if this exchange cannot tell (no way to list its closed orders)."""
        if self.by_client_id:
            # Binance: GET order?origClientOrderId=; OKX: GET trade/order?clOrdId=
            # ("Order does not exist", 51603, for none).
            params = self._lookup_params(wire_id)
            try:
                found = await self._private(lambda: self.exchange.fetch_order(None, symbol, params))
            except OrderNotFoundError:
                return True, None
            if not isinstance(found, dict) or not found.get("id"):
                raise self._malformed("an order")
            return True, found
        for order in await self.fetch_open_orders(symbol):
            if order.get("clientOrderId") == wire_id:
                return True, order
        has = self.exchange.has
        if has.get("fetchOrders"):
            history = await self._private(lambda: self.exchange.fetch_orders(symbol, since))
        elif has.get("fetchClosedOrders"):
            history = await self._private(lambda: self.exchange.fetch_closed_orders(symbol, since))
        else:
            return False, None
        for order in history or []:
            if isinstance(order, dict) and order.get("clientOrderId") == wire_id:
                return True, order
        return True, None

    async def fetch_order(self, order_id: str, symbol: str) -> dict[str, Any]:
        order = await self._private(lambda: self.exchange.fetch_order(order_id, symbol))
        if not isinstance(order, dict):
            raise self._malformed("an order")
        return order

    async def fetch_open_orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        orders = await self._private(lambda: self.exchange.fetch_open_orders(symbol))
        if not isinstance(orders, list):
            raise self._malformed("the open orders")
        return [o for o in orders if isinstance(o, dict)]

    async def fetch_my_trades(
        self, symbol: str, since: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        trades = await self._private(lambda: self.exchange.fetch_my_trades(symbol, since, limit))
        if not isinstance(trades, list):
            raise self._malformed("the account's trades")
        return [t for t in trades if isinstance(t, dict)]

    async def cancel_order(self, order_id: str | None, symbol: str, wire_id: str | None = None) -> Any:
        """Cancel by the exchange's id, or (Binance, OKX) by client order id. OKX's
        answer carries the ids only, no state: the caller reads the order after."""
        params = self._lookup_params(wire_id) if not order_id and self.by_client_id and wire_id else {}
        return await self._private(lambda: self.exchange.cancel_order(order_id, symbol, params))

    async def cancel_all_orders(self, symbol: str) -> list[dict[str, Any]]:
        """Cancel every open order of ``symbol``; what was cancelled (Binance says
        "unknown order" when none was open: that is an empty list here)."""
        try:
            result = await self._private(lambda: self.exchange.cancel_all_orders(symbol))
        except OrderNotFoundError:
            return []
        return [o for o in result if isinstance(o, dict)] if isinstance(result, list) else []

    async def fetch_balance(self) -> dict[str, Any]:
        balance = await self._private(lambda: self.exchange.fetch_balance())
        if not isinstance(balance, dict):
            raise self._malformed("balances")
        return balance

    # -- user-data streams ---------------------------------------------------------------
    async def watch_orders(self) -> list[dict[str, Any]]:
        return list(await self._ws(lambda: self.exchange.watch_orders()))

    async def watch_my_trades(self) -> list[dict[str, Any]]:
        trades = list(await self._ws(lambda: self.exchange.watch_my_trades()))
        if self.okx_like:
            return [_okx_fee_as_paid(t) if isinstance(t, dict) else t for t in trades]
        return trades

    async def watch_balance(self) -> dict[str, Any]:
        balance = await self._ws(lambda: self.exchange.watch_balance())
        if not isinstance(balance, dict):
            raise self._malformed("balances")
        return balance

    def streams_connected(self) -> bool:
        """Every websocket of this instance is connected, none still subscribing
        (Binance's user-data subscription). ccxt tells no more: a watch that is
        waiting is either subscribed or waiting for its connection."""
        clients = list((getattr(self.exchange, "clients", None) or {}).values())
        if not clients:
            return False
        for client in clients:
            connected = getattr(client, "connected", None)
            if client.closed() or connected is None or not connected.done() or connected.cancelled():
                return False
            if connected.exception() is not None:
                return False
            futures = getattr(client, "futures", {})
            if any(str(h).startswith("authenticate") and not _settled(f) for h, f in futures.items()):
                return False  # still logging in (OKX keeps its settled login future)
        return True

    # -- the clock -----------------------------------------------------------------------
    async def sync_clock(self) -> None:
        """Measure the offset to the exchange's clock (ccxt's ``load_time_difference``);
        signed requests are stamped with it from now on."""
        async with self._clock_lock:
            try:
                offset = await self._rest(lambda: self.exchange.load_time_difference())
            except TerminalError as exc:
                raise ClockSkewError(
                    f"{self.name} refused the request's time stamp, and the terminal could not read "
                    f"{self.name}'s clock to correct for it.",
                    hint=CLOCK_HINT,
                    detail=exc.detail,
                ) from None
        log.warning(
            "%s: this computer's clock is %s ms off the exchange's; signed requests are corrected for it",
            self.name,
            offset,
        )

    def _stamp_logins_with_the_measured_offset(self) -> None:
        """ccxt's OKX stamps the private websocket's login with ``seconds()``, the
        computer's clock, while REST requests use ``nonce()``, corrected by the
        offset ``load_time_difference`` measured: after a clock correction the
        REST calls would work and every login fail (60006). ``seconds()`` is used
        for nothing else there; make it the corrected clock too."""
        exchange = self.exchange
        exchange.seconds = lambda: int(exchange.nonce() // 1000)

    async def _private(self, call: Callable[[], Awaitable[T]]) -> T:
        """A signed REST call; refused for its time stamp, retried once after
        measuring the clock offset (never used for creating an order)."""
        try:
            return await self._rest(call)
        except ClockSkewError:
            await self.sync_clock()
        return await self._rest(call)

    # -- errors ----------------------------------------------------------------------------
    def _translated(self, exc: Exception) -> Exception:
        ccxt = self._ccxt_module
        text = ccxt_errors.redact(str(exc))
        detail = f"{type(exc).__name__}: {text}"
        name = self.name
        if isinstance(exc, ccxt.OrderNotFound):
            return OrderNotFoundError(f"{name} has no such order.", detail=detail)
        if isinstance(exc, ccxt.InvalidNonce) and not isinstance(exc, ccxt.ChecksumError):
            return ClockSkewError(
                f"{name} refused the request's time stamp: this computer's clock is off by more than "
                f"{name} allows.",
                hint=CLOCK_HINT,
                detail=detail,
            )
        if isinstance(exc, ccxt.DDoSProtection) and self.binance_like and _UNKNOWN_KEY.search(text):
            return AuthenticationFailedError(
                f"{name} refused the API key.",
                hint="Check the key, its secret, its permissions and its IP restrictions.",
                detail=detail,
            )
        if isinstance(exc, ccxt.InsufficientFunds):
            message, hint = explain(name, exchange_reason(text, self.id))
            if "enough" not in message:
                message = f"{message.rstrip('.')}: the account does not hold enough for it."
            return InsufficientFundsError(
                message,
                hint=hint or "Lower the amount, or cancel an open order that holds the funds.",
                detail=detail,
            )
        if isinstance(exc, ccxt.InvalidOrder):
            message, hint = explain(name, exchange_reason(text, self.id))
            return OrderRejectedError(message, hint=hint, detail=detail)
        return super()._translated(exc)


def _settled(future: Any) -> bool:
    done = getattr(future, "done", None)
    return bool(done()) if callable(done) else False


def _okx_fee_as_paid(trade: dict[str, Any]) -> dict[str, Any]:
    """An OKX trade from ``watch_my_trades`` with its fee as ccxt's other methods
    give it: positive for a fee paid, negative for a rebate. ccxt 4.5.90 takes the
    pushed ``fillFee`` as is (OKX: negative = paid); once ccxt turns it itself,
    the cost no longer equals ``fillFee`` and is left alone."""
    info, fee = trade.get("info"), trade.get("fee")
    if not isinstance(info, dict) or not isinstance(fee, dict):
        return trade
    try:
        pushed = float(info.get("fillFee") or 0)
        cost = float(fee.get("cost") or 0)
    except (TypeError, ValueError):
        return trade
    if pushed == 0 or cost != pushed:
        return trade
    return {**trade, "fee": {**fee, "cost": -cost}}
