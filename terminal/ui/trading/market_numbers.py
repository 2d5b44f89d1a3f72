"""How the trading panels write numbers: prices to the market's tick, amounts
to its step, money to the cent (four significant digits below 1), never a raw float or the
long tail a fee leaves ("9,265.000735").

Amounts keep the step's decimals ("0.01000" BTC on a 0.00001 step) so that a
column of them lines up on the point; a currency's balance takes the step of
a market that trades it as its base, and is money otherwise (USDT).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any

from terminal.errors import NotSupportedError
from terminal.trading.market_rules import MarketRules
from terminal.trading.money import fmt, fmt_price

MINUS = "−"  # a real minus sign: as wide as a plus, and not a hyphen
CENT = Decimal("0.01")


class MarketNumbers:
    """The number formats of one exchange's markets (its ccxt market dicts)."""

    def __init__(self, markets: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._markets: Mapping[str, Mapping[str, Any]] = markets or {}
        self._size = len(self._markets)
        self._rules: dict[str, MarketRules | None] = {}
        self._base_steps: dict[str, Decimal] | None = None

    def use(self, markets: Mapping[str, Mapping[str, Any]]) -> None:
        """Format with ``markets`` from now on (the same ones again cost nothing; a
        dict filled in place, as markets load, counts as new ones)."""
        if markets is not self._markets or len(markets) != self._size:
            self._markets, self._rules, self._base_steps = markets, {}, None
            self._size = len(markets)

    def rules(self, symbol: str) -> MarketRules | None:
        if symbol not in self._rules:
            market = self._markets.get(symbol)
            try:
                self._rules[symbol] = MarketRules.from_ccxt(market) if market else None
            except NotSupportedError:  # precision in significant digits: formatted plainly
                self._rules[symbol] = None
        return self._rules[symbol]

    def tick(self, symbol: str) -> Decimal | None:
        rules = self.rules(symbol)
        return rules.price_tick if rules is not None else None

    def step(self, symbol: str) -> Decimal | None:
        rules = self.rules(symbol)
        return rules.amount_step if rules is not None else None

    def price(self, symbol: str, value: Decimal | None) -> str:
        return "–" if value is None else signless(fmt_price(value, self.tick(symbol)))

    def amount(self, symbol: str, value: Decimal) -> str:
        return on_step(value, self.step(symbol))

    def balance(self, currency: str, value: Decimal) -> str:
        """A currency's balance: to the step of a market that trades it, else as money."""
        step = self._base_step(currency)
        return on_step(value, step) if step is not None else cash(value)

    def _base_step(self, currency: str) -> Decimal | None:
        if self._base_steps is None:
            steps: dict[str, Decimal] = {}
            for symbol, market in self._markets.items():
                base = str(market.get("base") or symbol.split("/")[0])
                step = self.step(symbol)
                if step is not None:
                    steps[base] = min(step, steps.get(base, step))  # the finest: nothing hides
            self._base_steps = steps
        return self._base_steps.get(currency)


def on_step(value: Decimal, step: Decimal | None) -> str:
    """An amount with its step's decimals (rounded down: never more than is there)."""
    if step is None or step <= 0:
        return signless(fmt(value))
    if value == 0:
        return "0"
    exponent = step.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    places = max(0, -exponent)
    return signless(f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):,.{places}f}")


def cash(value: Decimal) -> str:
    """Money: to the cent from 1 up, always with two decimals so a column lines
    up; below 1, four significant digits (0.6076 USDT of fees, 0.01235 BTC),
    at most eight decimals, so a small figure is neither lost nor a long tail."""
    if abs(value) >= 1:
        return signless(f"{value.quantize(CENT):,.2f}")
    places = min(max(2, 3 - value.adjusted()), 8) if value else 2
    small = value.quantize(Decimal(1).scaleb(-places))
    if not small:
        return "0.00"
    whole, _, decimals = fmt(small).partition(".")
    return signless(f"{whole}.{decimals.ljust(2, '0')}")


def signed_cash(value: Decimal) -> str:
    """Profit or loss: always with its sign ("+12.30", "−4.05")."""
    text = cash(value)
    return text if text.startswith(MINUS) or not text.strip("0.") else f"+{text}"


def percent(value: Decimal) -> str:
    """A change in percent, to the hundredth, with its sign ("+0.12%")."""
    rounded = value.quantize(Decimal("0.01"))
    return signless(f"{rounded:+,.2f}%" if rounded else "0.00%")


def signless(text: str) -> str:
    return text.replace("-", MINUS)
