"""The live account by REST: what the refresh loop asks when a stream is
missing, failing or just reconnected, and every ``resync_interval`` anyway.

One refresh, in order: balances (all of them: a currency missing from the
answer is now zero); the open orders of every symbol of interest, and the
final state of each order that left that list; the account's trades on
each symbol with recent activity (since the last trade seen, or the start of
the session); the orders of trades that arrived before their order; and
each order whose create answer was lost, looked up by client order id again
(found: adopted; "no such order" at two refreshes: rejected, never resent).
"""

from __future__ import annotations

import logging
from typing import Any

from terminal.errors import OrderNotFoundError
from terminal.trading.live.exchange import PrivateExchange
from terminal.trading.live.state import LiveState
from terminal.trading.orders import Order, now_ms

log = logging.getLogger(__name__)

ORPHANS_PER_REFRESH = 20  # order lookups for stray trades, per refresh
LOOK_BACK_MS = 60_000  # trades and orders this long before a mark are asked for too
NEVER_ARRIVED = "It never reached the exchange (checked twice); it was not sent again."


class AccountRefresh:
    def __init__(self, exchange: PrivateExchange, state: LiveState, started_ms: int) -> None:
        self._exchange = exchange
        self._state = state
        self._started_ms = started_ms
        self._last_ms = started_ms
        self._trades_since: dict[str, int] = {}
        self._absent: dict[str, int] = {}  # unknown order -> "no such order" answers so far

    async def run(self) -> None:
        exchange, state = self._exchange, self._state
        since_ms, self._last_ms = self._last_ms, now_ms()
        has = exchange.has
        state.apply_balance(await exchange.fetch_balance(), complete=True)
        symbols = sorted({o.symbol for o in state.open_orders()} | state.symbols)
        for symbol in symbols if has.get("fetchOpenOrders") else []:
            listed: set[str] = set()
            for raw in await exchange.fetch_open_orders(symbol):
                placed = state.apply_order(raw)
                if placed is not None:
                    listed.add(placed.order_id)
            for order in [o for o in state.open_orders() if o.symbol == symbol and o.order_id]:
                if order.order_id not in listed:
                    await self.settle(order)
        busy = {
            o.symbol for o in state.orders.values() if o.is_open or o.updated_ms >= since_ms - LOOK_BACK_MS
        }
        busy |= {symbol for symbol, _ in state.orphan_orders()}
        for symbol in sorted(busy) if has.get("fetchMyTrades") else []:
            start = self._trades_since.get(symbol, self._started_ms - LOOK_BACK_MS)
            trades = await exchange.fetch_my_trades(symbol, since=start)
            state.apply_trades(trades)
            stamps = [t["timestamp"] for t in trades if isinstance(t.get("timestamp"), int)]
            if stamps:
                self._trades_since[symbol] = max(stamps) - 1_000  # the same ms again: merged once
        for symbol, order_id in state.orphan_orders()[:ORPHANS_PER_REFRESH]:
            try:
                state.apply_order(await exchange.fetch_order(order_id, symbol))
            except OrderNotFoundError:
                state.drop_orphans((symbol, order_id))
        for cid in sorted(state.unknown):
            await self._recheck_unknown(cid)

    async def settle(self, order: Order) -> None:
        """Ask the exchange for one order's state now (it left the open orders,
        or a cancel found it gone)."""
        exchange, state = self._exchange, self._state
        raw: Any
        try:
            if order.order_id:
                raw = await exchange.fetch_order(order.order_id, order.symbol)
            else:
                wire = exchange.wire_client_id(order.client_order_id)
                certain, raw = await exchange.find_order(order.symbol, wire, order.created_ms - LOOK_BACK_MS)
                if certain and raw is None and order.client_order_id in state.unknown:
                    state.reject(order.client_order_id, NEVER_ARRIVED)
                    return
        except OrderNotFoundError:
            return
        if isinstance(raw, dict):
            state.apply_order(raw, order.client_order_id)

    async def _recheck_unknown(self, cid: str) -> None:
        exchange, state = self._exchange, self._state
        order = state.orders[cid]
        wire = exchange.wire_client_id(cid)
        certain, raw = await exchange.find_order(order.symbol, wire, order.created_ms - LOOK_BACK_MS)
        if raw is not None:
            state.apply_order(raw, cid)
            self._absent.pop(cid, None)
            log.info("order %s, unknown until now, is on %s: adopted", cid, exchange.name)
        elif certain:
            self._absent[cid] = self._absent.get(cid, 0) + 1
            if self._absent[cid] >= 2:
                state.reject(cid, NEVER_ARRIVED)
                log.info("order %s, unknown until now, never reached %s", cid, exchange.name)
