"""Order book state: snapshots, level updates, and the ladder's grouped view."""

from __future__ import annotations

import numpy as np
import pytest

from terminal.marketdata.orderbook import OrderBook, Side, decimals_for


def book_of(bids: list[list[float]], asks: list[list[float]]) -> OrderBook:
    book = OrderBook("BTC/USDT")
    book.replace(bids, asks, timestamp=1_000)
    return book


def sides(book: OrderBook) -> tuple[list[list[float]], list[list[float]]]:
    bids = [[float(p), float(s)] for p, s in zip(book.bid_price, book.bid_size, strict=True)]
    asks = [[float(p), float(s)] for p, s in zip(book.ask_price, book.ask_size, strict=True)]
    return bids, asks


def test_snapshot_replaces_both_sides_and_respects_depth() -> None:
    book = book_of([[100, 1], [99, 2]], [[101, 3]])
    version = book.version

    book.replace([[98, 1], [97, 2], [96, 3]], [[102, 4], [103, 5], [104, 6]], timestamp=2_000, depth=2)

    assert sides(book) == ([[98, 1], [97, 2]], [[102, 4], [103, 5]])
    assert book.timestamp == 2_000
    assert book.version > version


def test_clear_empties_the_book() -> None:
    book = book_of([[100, 1]], [[101, 1]])
    book.clear()
    assert sides(book) == ([], [])
    assert book.best_bid is None and book.best_ask is None


@pytest.mark.parametrize("price", [102.0, 99.5, 95.0])
def test_new_bid_level_is_inserted_in_descending_order(price: float) -> None:
    book = book_of([[101, 1], [100, 1], [99, 1], [98, 1]], [[103, 1]])

    book.update("bids", price, 7)

    bids, _ = sides(book)
    prices = [p for p, _ in bids]
    assert prices == sorted([101, 100, 99, 98, price], reverse=True)
    assert [price, 7] in bids


@pytest.mark.parametrize("price", [100.0, 102.5, 110.0])
def test_new_ask_level_is_inserted_in_ascending_order(price: float) -> None:
    book = book_of([[99, 1]], [[101, 1], [102, 1], [103, 1]])

    book.update("asks", price, 7)

    _, asks = sides(book)
    assert [p for p, _ in asks] == sorted([101, 102, 103, price])
    assert [price, 7] in asks


def test_update_of_an_existing_level_changes_its_size() -> None:
    book = book_of([[100, 1], [99, 2]], [[101, 3], [102, 4]])
    version = book.version

    book.update("bids", 99, 5)
    book.update("asks", 101, 0.5)

    assert sides(book) == ([[100, 1], [99, 5]], [[101, 0.5], [102, 4]])
    assert book.version == version + 2


def test_zero_size_removes_the_level() -> None:
    book = book_of([[100, 1], [99, 2], [98, 3]], [[101, 3], [102, 4]])

    book.update("bids", 99, 0)
    book.update("asks", 101, 0)

    assert sides(book) == ([[100, 1], [98, 3]], [[102, 4]])
    assert book.best_ask == 102


def test_removing_a_level_that_is_not_there_changes_nothing() -> None:
    book = book_of([[100, 1]], [[101, 1]])
    book.update("bids", 99.5, 0)
    book.update("asks", 100.5, 0)
    assert sides(book) == ([[100, 1]], [[101, 1]])


def test_many_updates_keep_both_sides_sorted_and_free_of_empty_levels() -> None:
    rng = np.random.default_rng(0)
    book = OrderBook()
    expected: dict[str, dict[float, float]] = {"bids": {}, "asks": {}}
    for _ in range(2000):
        side: Side = "bids" if rng.random() < 0.5 else "asks"
        base = 100.0 if side == "bids" else 100.5
        price = round(base - rng.integers(50) * 0.1 if side == "bids" else base + rng.integers(50) * 0.1, 1)
        size = 0.0 if rng.random() < 0.3 else float(rng.integers(1, 10))
        book.update(side, price, size)
        if size:
            expected[side][price] = size
        else:
            expected[side].pop(price, None)

    bids, asks = sides(book)
    assert bids == [[p, s] for p, s in sorted(expected["bids"].items(), reverse=True)]
    assert asks == [[p, s] for p, s in sorted(expected["asks"].items())]
    assert not book.is_crossed()


def test_spread_and_mid() -> None:
    book = book_of([[100.0, 1], [99.5, 1]], [[100.5, 1], [101.0, 1]])
    assert book.best_bid == 100.0
    assert book.best_ask == 100.5
    assert book.spread == pytest.approx(0.5)
    assert book.mid == pytest.approx(100.25)


def test_one_sided_book_has_no_spread_or_mid() -> None:
    book = book_of([[100.0, 1]], [])
    assert book.spread is None
    assert book.mid is None
    assert not book.is_crossed()


@pytest.mark.parametrize(
    ("bid", "ask", "crossed"),
    [(100.0, 100.5, False), (100.5, 100.5, True), (101.0, 100.5, True)],
)
def test_crossed_book_is_detected(bid: float, ask: float, crossed: bool) -> None:
    assert book_of([[bid, 1]], [[ask, 1]]).is_crossed() is crossed


def test_levels_have_cumulative_sizes_best_first() -> None:
    book = book_of([[100, 1], [99, 2], [98, 3]], [[101, 0.5], [102, 1.5], [103, 4]])

    bids = book.levels("bids")
    asks = book.levels("asks", depth=2)

    assert bids.price.tolist() == [100, 99, 98]
    assert bids.cumulative.tolist() == [1, 3, 6]
    assert asks.price.tolist() == [101, 102]
    assert asks.cumulative.tolist() == [0.5, 2.0]
    assert len(asks) == 2


def test_grouping_rounds_bids_down_and_asks_up_and_sums_sizes() -> None:
    book = book_of(
        [[100.07, 1], [100.03, 2], [100.0, 4], [99.98, 8], [99.91, 16]],
        [[100.11, 1], [100.15, 2], [100.2, 4], [100.21, 8]],
    )

    bids = book.levels("bids", step=0.1)
    asks = book.levels("asks", step=0.1)

    # A level exactly on a step stays there (100.0 is not pushed to 99.9).
    assert bids.price == pytest.approx([100.0, 99.9])
    assert bids.size.tolist() == [1 + 2 + 4, 8 + 16]
    assert bids.cumulative.tolist() == [7, 31]
    # 100.2 stays at 100.2; 100.21 goes up to 100.3.
    assert asks.price == pytest.approx([100.2, 100.3])
    assert asks.size.tolist() == [1 + 2 + 4, 8]
    # A group never looks better than the orders in it.
    assert bids.price[0] <= book.best_bid and asks.price[0] >= book.best_ask


def test_grouping_limits_to_depth_groups() -> None:
    book = book_of([[100 - i * 0.01, 1] for i in range(1000)], [])
    bids = book.levels("bids", step=1.0, depth=3)
    assert bids.price.tolist() == [100, 99, 98]
    assert bids.size.tolist() == [1, 100, 100]


def test_grouping_an_empty_side_gives_no_levels() -> None:
    assert len(OrderBook().levels("asks", step=0.5)) == 0


@pytest.mark.parametrize(("step", "decimals"), [(1, 0), (10, 0), (0.1, 1), (0.01, 2), (0.0001, 4), (0.5, 1)])
def test_price_step_decides_the_decimals_shown(step: float, decimals: int) -> None:
    assert decimals_for(step) == decimals
