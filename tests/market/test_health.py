"""Feed health as the status bar reports it."""

from __future__ import annotations

from terminal.market.health import FeedHealth, FeedState


def test_a_failing_stream_is_not_hidden_by_healthy_ones() -> None:
    health = FeedHealth()
    health.message("trades")
    health.set("order book", FeedState.RECONNECTING, "NetworkError: connection reset")
    for _ in range(100):
        health.message("trades")  # trades keep flowing

    assert health.state is FeedState.RECONNECTING
    assert health.reason == "order book: NetworkError: connection reset"

    health.message("order book")
    assert health.state is FeedState.LIVE
    assert health.reason == ""


def test_failed_outranks_reconnecting_and_stopped_outranks_all() -> None:
    health = FeedHealth()
    health.set("book", FeedState.RECONNECTING, "timeout")
    health.set("open", FeedState.FAILED, "XYZ/USDT is not listed")
    assert health.state is FeedState.FAILED
    assert "XYZ/USDT" in health.reason
    health.set("session", FeedState.STOPPED)
    assert health.state is FeedState.STOPPED


def test_a_stream_ended_on_purpose_no_longer_counts() -> None:
    health = FeedHealth()
    health.message("trades")
    health.set("1m candles", FeedState.RECONNECTING, "timeout")
    health.forget("1m candles")  # the user switched timeframe
    assert health.state is FeedState.LIVE


def test_live_feed_without_messages_for_a_while_reads_stale() -> None:
    health = FeedHealth(stale_after=10.0)
    health.message("trades")
    assert health.state is FeedState.LIVE
    assert health.last_message is not None
    health.last_message -= 11.0  # eleven seconds of silence
    assert health.state is FeedState.STALE
    assert health.age() is not None and health.age() > 10.0  # type: ignore[operator]


def test_a_refused_stream_is_listed_apart_and_does_not_hold_the_feed() -> None:
    health = FeedHealth()
    health.message("order book")
    health.message("trades")
    health.set("ticker LUNA/USDT", FeedState.REFUSED, "Binance refused this stream.")
    assert health.state is FeedState.LIVE
    assert health.reason == ""
    assert health.refusals() == {"ticker LUNA/USDT": "Binance refused this stream."}
    health.set("order book", FeedState.RECONNECTING, "timeout")
    assert health.state is FeedState.RECONNECTING  # a real fault still shows
    health.forget("ticker LUNA/USDT")
    assert health.refusals() == {}
