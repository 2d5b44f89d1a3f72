"""Which trade prints are new to an account, per symbol.

Like the tape (``terminal.marketdata.tape``), an account only moves forward: a
print older than the newest it took, or one it already took (same id at the
same time), is dropped. A stream that replays its cache, or a fetched batch
that overlaps the stream, therefore never fills a resting order twice. The
state is kept with the account, so this holds across a restart too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from terminal.trading.money import optional_decimal


@dataclass(frozen=True)
class Print:
    timestamp: int
    price: Decimal
    amount: Decimal


class SeenTrades:
    def __init__(self) -> None:
        self._newest: dict[str, tuple[int, set[str]]] = {}  # symbol -> (newest ts, ids at it)

    def fresh(self, symbol: str, trades: Iterable[Mapping[str, Any]]) -> list[Print]:
        """The prints of ``symbol`` (ccxt trade dicts) not seen before, oldest
        first; malformed ones (no time, price or amount) are skipped."""
        last_ts, ids = self._newest.get(symbol, (-1, set()))
        fresh: list[Print] = []
        rows = [t for t in trades if t.get("timestamp") is not None and t.get("symbol") in (None, symbol)]
        for t in sorted(rows, key=lambda t: int(t["timestamp"])):
            ts = int(t["timestamp"])
            price, amount = optional_decimal(t.get("price")), optional_decimal(t.get("amount"))
            if price is None or amount is None or price <= 0 or amount <= 0:
                continue
            trade_id = str(t.get("id") or "")
            if ts < last_ts or (trade_id and ts == last_ts and trade_id in ids):
                continue
            if ts > last_ts:
                last_ts, ids = ts, set()
            if trade_id:
                ids.add(trade_id)
            fresh.append(Print(ts, price, amount))
        self._newest[symbol] = (last_ts, ids)
        return fresh

    def to_dict(self) -> dict[str, list[Any]]:
        return {s: [ts, sorted(ids)] for s, (ts, ids) in sorted(self._newest.items())}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SeenTrades:
        seen = cls()
        seen._newest = {s: (int(v[0]), set(v[1])) for s, v in data.items()}
        return seen
