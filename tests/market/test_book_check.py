"""Which order books are whole enough to draw and trade on."""

from __future__ import annotations

import pytest

from terminal.market.book_check import book_problem

BIDS = [[100.0, 1.0], [99.5, 2.0], [99.0, 0.5]]
ASKS = [[100.5, 1.0], [101.0, 3.0]]


def test_a_whole_book_passes() -> None:
    assert book_problem(BIDS, ASKS) == ""
    assert book_problem(BIDS, ASKS, nonce=42, needs_nonce=True) == ""


@pytest.mark.parametrize(
    ("bids", "asks", "words"),
    [
        ([], [], "empty"),
        (BIDS, [], "one side"),
        ([], ASKS, "one side"),
        ([[100.0, 1.0], [100.5, 1.0]], ASKS, "bids are out of order"),
        (BIDS, [[101.0, 1.0], [100.5, 1.0]], "asks are out of order"),
        ([[100.0, 1.0], [100.0, 2.0]], ASKS, "out of order"),  # a price twice
        ([[101.0, 1.0]], ASKS, "crossed"),
        ([[100.5, 1.0]], ASKS, "crossed"),  # touching counts as crossed
        ([[100.0, 0.0]], ASKS, "not positive"),
        ([[None, 1.0]], ASKS, "not a number"),
        ([[float("nan"), 1.0]], ASKS, "not positive"),
    ],
)
def test_a_broken_book_is_refused_with_the_reason(bids: list, asks: list, words: str) -> None:
    assert words in book_problem(bids, asks)


def test_a_numbered_protocol_needs_its_sequence_number() -> None:
    assert "sequence number" in book_problem(BIDS, ASKS, nonce=None, needs_nonce=True)
    assert book_problem(BIDS, ASKS, nonce=None, needs_nonce=False) == ""
