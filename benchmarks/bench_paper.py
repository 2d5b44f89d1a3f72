"""Paper account benchmark: a market order that walks 50 levels of the book.

    .venv/bin/python benchmarks/bench_paper.py [--runs 2000]

Target (issue 6): a paper fill of a market order walking 50 levels <= 1 ms.

Set-up: the simulator's BTC/USDT rules (tick 0.1, step 0.00001, fees 0.1%),
a book of 200 levels a side, 0.05 BTC each, and a market buy of 2.475 BTC,
which takes all of 49 levels and half of the 50th. Timed with
``perf_counter_ns``, one order per sample, after 200 warm-up orders:

* ours: ``PaperAccount.place`` of the validated order: the book walk in
  Decimal, 50 fills applied (balances, fee, position, day PnL), the order
  closed, and the events published to one listener (as the UI's bridge
  will be);
* the ticket before it: ``validate`` (which walks the book to price the
  order and check funds) plus ``risk.check``, what the order ticket runs as
  the user types;
* a resting limit buy filled by one trade through ``on_trades``;
* reference: the same 50-level walk in plain floats with no bookkeeping at
  all (VWAP and fee only): the floor any Python implementation starts from,
  and what using Decimal for money and keeping the ledger cost on top.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import _common
import numpy as np
from _common import print_table, verdict

from terminal.market.simulator.exchange import SimulatedExchange
from terminal.marketdata.orderbook import OrderBook
from terminal.trading import (
    AccountState,
    MarketState,
    OrderIntent,
    OrderSide,
    OrderType,
    RiskLimits,
    ValidatedOrder,
    check,
    new_client_order_id,
    validate,
)
from terminal.trading.events import AccountEvent
from terminal.trading.paper.account import PaperAccount
from terminal.trading.paper.settings import PaperSettings

TARGET_MS = 1.0
LEVELS = 200
LEVEL_SIZE = 0.05
WALKED = 50
AMOUNT = Decimal("2.475")  # 49 whole levels and half of the 50th
WARMUP = 200


def btc_market() -> dict[str, Any]:
    """The simulated exchange's own BTC/USDT market, as the session loads it."""
    markets = asyncio.run(SimulatedExchange(seed=1).load_markets())
    return markets["BTC/USDT"]


def deep_book() -> OrderBook:
    book = OrderBook("BTC/USDT")
    bids = [[round(63_999.9 - 0.1 * k, 1), LEVEL_SIZE] for k in range(LEVELS)]
    asks = [[round(64_000.1 + 0.1 * k, 1), LEVEL_SIZE] for k in range(LEVELS)]
    book.replace(bids, asks)
    return book


def timed(runs: int, prepare: Callable[[int], object], work: Callable[[object], object]) -> list[float]:
    """Seconds per call of ``work(prepare(i))``; only ``work`` is timed."""
    samples: list[float] = []
    for i in range(runs + WARMUP):
        arg = prepare(i)
        start = time.perf_counter_ns()
        work(arg)
        elapsed = time.perf_counter_ns() - start
        if i >= WARMUP:
            samples.append(elapsed / 1e9)
    return samples


def stats(samples: list[float]) -> str:
    median = statistics.median(samples) * 1e3
    p95 = float(np.percentile(samples, 95)) * 1e3
    return f"median {median:.3f} ms, p95 {p95:.3f} ms (n={len(samples):,})"


def float_walk(book: OrderBook, amount: float, fee_rate: float) -> tuple[float, float]:
    prices, sizes = book.ask_price.tolist(), book.ask_size.tolist()
    left, cost = amount, 0.0
    for price, size in zip(prices, sizes, strict=True):
        if left <= 0:
            break
        take = min(size, left)
        cost += price * take
        left -= take
    filled = amount - left
    return cost / filled, cost * fee_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2000, help="timed samples per case")
    args = parser.parse_args()
    print("Machine:", _common.machine())

    market, book = btc_market(), deep_book()
    account = PaperAccount(PaperSettings(start_balances={"USDT": Decimal(10) ** 12}))
    events: list[AccountEvent] = []
    account.subscribe(events.append)
    intent = OrderIntent("BTC/USDT", OrderSide.BUY, OrderType.MARKET, AMOUNT)
    order = validate(intent, market, book=book, balance=account.free_balances(), fees=account.fees)
    assert isinstance(order, ValidatedOrder), order

    # Check the scenario before timing it: one order, 50 fills, all filled.
    probe = account.place(replace(order, client_order_id=new_client_order_id()), book)
    assert len(probe.fills) == WALKED and probe.remaining == 0, probe
    print(f"Scenario: market buy {AMOUNT} BTC -> {len(probe.fills)} fills, VWAP {probe.average_price}")

    orders = [replace(order, client_order_id=new_client_order_id()) for _ in range(args.runs + WARMUP)]

    def place(vo: object) -> None:
        assert isinstance(vo, ValidatedOrder)
        account.place(vo, book)
        events.clear()

    ours = timed(args.runs, orders.__getitem__, place)

    limits, state, at_book = RiskLimits(), AccountState(), MarketState.of_book(book)

    def ticket(_: object) -> None:
        result = validate(intent, market, book=book, balance=account.free_balances(), fees=account.fees)
        assert isinstance(result, ValidatedOrder)
        check(result, state, at_book, limits)

    ticket_samples = timed(args.runs, lambda i: None, ticket)

    resting_intent = OrderIntent(
        "BTC/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal("0.1"), price=Decimal(63_000)
    )
    resting = validate(resting_intent, market, book=book, fees=account.fees)
    assert isinstance(resting, ValidatedOrder)
    clock = [1_700_000_000_000]

    def rest_one(i: int) -> list[dict[str, object]]:
        clock[0] += 10
        account.place(replace(resting, client_order_id=new_client_order_id()), book, clock[0])
        return [{"id": str(i), "timestamp": clock[0] + 1, "price": 62_999.0, "amount": 0.1}]

    def trade_through(prints: object) -> None:
        assert isinstance(prints, list)
        fills = account.on_trades("BTC/USDT", prints)
        assert len(fills) == 1
        events.clear()

    trade_samples = timed(args.runs, rest_one, trade_through)
    reference = timed(args.runs, lambda i: None, lambda _: float_walk(book, float(AMOUNT), 0.001))

    median_ms = statistics.median(ours) * 1e3
    print_table(
        "8. Paper fills: market buy walking 50 levels (BTC/USDT, 200 levels a side)",
        [
            [
                "PaperAccount.place, market buy, 50 levels",
                stats(ours),
                f"float walk, no ledger: {stats(reference)}",
                f"<= {TARGET_MS:.0f} ms",
                verdict(median_ms <= TARGET_MS),
            ],
            ["ticket: validate + risk.check, same order", stats(ticket_samples), "-", "-", "n/a"],
            ["resting limit filled by one trade (on_trades)", stats(trade_samples), "-", "-", "n/a"],
        ],
    )


if __name__ == "__main__":
    main()
