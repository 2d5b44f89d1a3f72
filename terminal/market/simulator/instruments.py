"""The simulated exchange's listed instruments."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    symbol: str
    start_price: float  # price 30 days before the first start (history begins here)
    tick: float  # price step
    lot: float  # amount step
    annual_vol: float  # annualised volatility of the fair price
    typical_size: float  # median order size, in base units

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/")[1]

    @property
    def market_id(self) -> str:
        return self.symbol.replace("/", "")


INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("BTC/USDT", 64_000.0, 0.1, 0.00001, 0.55, 0.05),
    Instrument("ETH/USDT", 3_100.0, 0.01, 0.0001, 0.70, 0.8),
    Instrument("SOL/USDT", 145.0, 0.01, 0.001, 0.95, 15.0),
    Instrument("BNB/USDT", 580.0, 0.01, 0.001, 0.60, 3.0),
    Instrument("XRP/USDT", 0.52, 0.0001, 0.1, 0.85, 4_000.0),
)
