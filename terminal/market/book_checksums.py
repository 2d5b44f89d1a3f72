"""Order book checksums that an exchange sends and ccxt does not check.

OKX puts a CRC32 of the top 25 levels in every ``books`` message; ccxt 4.5.90
reads the sequence numbers (``prevSeqId``/``seqId``) but never the checksum,
so an update that arrives whole but wrong (a level dropped or garbled on the
way, an exchange-side glitch) would be drawn and traded on as live. The
terminal checks it after ccxt applies each message, and on a mismatch does
what ccxt does on a sequence gap: the watch fails with ``ChecksumError``, the
book is forgotten, and the next watch resubscribes for a fresh snapshot.

Each checked exchange is one entry of ``CHECKSUMS``: the ccxt id, and a
function of (message, book, number formatter) returning whether they agree.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

OKX_LEVELS = 25


def okx_checksum(bids: list[list[float]], asks: list[list[float]], text: Callable[[Any], str]) -> int:
    """OKX's checksum: CRC32 of ``bid1px:bid1sz:ask1px:ask1sz:...`` over the best 25
    levels of each side (a shorter side just ends), as a signed 32-bit integer.
    ``text`` writes a number as the exchange does (ccxt's ``number_to_string``)."""
    parts: list[str] = []
    for i in range(OKX_LEVELS):
        for side in (bids, asks):
            if i < len(side):
                parts += (text(side[i][0]), text(side[i][1]))
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def _okx_agrees(message: dict[str, Any], book: Any, text: Callable[[Any], str]) -> bool:
    sent = message.get("checksum")
    if sent is None:
        return True  # a channel without checksums (books5, bbo-tbt)
    return okx_checksum(book["bids"], book["asks"], text) == int(sent)


CHECKSUMS: dict[str, Callable[[dict[str, Any], Any, Callable[[Any], str]], bool]] = {"okx": _okx_agrees}


def install_checksums(exchange: Any, ccxt: Any) -> bool:
    """Check ``exchange``'s book checksums after ccxt applies each message, if
    the terminal knows them for it; whether it does."""
    agrees = CHECKSUMS.get(str(exchange.id))
    if agrees is None:
        return False
    apply = exchange.handle_order_book_message

    def checked(client: Any, message: Any, book: Any, message_hash: str, market: Any = None) -> Any:
        result = apply(client, message, book, message_hash, market)
        if message_hash not in client.subscriptions or agrees(message, book, exchange.number_to_string):
            return result  # already refused by ccxt (a sequence gap), or whole
        symbol = book.get("symbol") or exchange.safe_symbol(message.get("instId"), market)
        log.warning("%s: the %s book failed its checksum; resyncing it", exchange.name, symbol)
        del client.subscriptions[message_hash]
        exchange.orderbooks.pop(symbol, None)
        client.reject(
            ccxt.ChecksumError(f"{exchange.id} {symbol} order book checksum mismatch"), message_hash
        )
        return result

    exchange.handle_order_book_message = checked
    return True
