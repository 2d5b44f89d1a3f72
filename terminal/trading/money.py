"""Money as ``Decimal``: conversion at the float boundary, steps and plain formatting.

Order amounts, prices, costs, fees and balances are ``Decimal`` everywhere in
``terminal.trading``; floats (the order book's numpy arrays, ccxt's market
numbers, trade prints) are converted here, through their shortest ``repr``,
so 0.1 becomes Decimal("0.1") and not 0.1000000000000000055511151231257827.
"""

from __future__ import annotations

import functools
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal, InvalidOperation

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)

#: Step arithmetic needs exact quotients: with the default 28 digits, 1e10 /
#: 1e-20 would be rounded before the floor and land off the step.
_EXACT = Context(prec=80)


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """A float's shortest decimal form (what the exchange sent), or an exact int/str/Decimal."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(value)


def optional_decimal(value: object) -> Decimal | None:
    """``value`` as a Decimal, or None for None, non-numbers, NaN and infinities."""
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, float | int | str | Decimal):
        return None
    try:
        result = to_decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def floor_to_step(value: Decimal, step: Decimal | None) -> Decimal:
    """The largest multiple of ``step`` not above ``value`` (``value`` itself without a step)."""
    if step is None:
        return value
    if _is_power_of_ten(step):
        # One C call instead of three: the usual steps (0.00001, 0.01, 1) are powers of ten.
        return value.quantize(step, rounding=ROUND_FLOOR, context=_EXACT)
    units = _EXACT.divide(value, step).to_integral_value(rounding=ROUND_FLOOR, context=_EXACT)
    return _EXACT.multiply(units, step)


@functools.cache
def _is_power_of_ten(step: Decimal) -> bool:
    return step > 0 and step.as_tuple().digits == (1,)


def ceil_to_step(value: Decimal, step: Decimal | None) -> Decimal:
    """The smallest multiple of ``step`` not below ``value``."""
    if step is None:
        return value
    units = _EXACT.divide(value, step).to_integral_value(rounding=ROUND_CEILING, context=_EXACT)
    return _EXACT.multiply(units, step)


def on_step(value: Decimal, step: Decimal | None) -> bool:
    return step is None or _EXACT.remainder(value, step) == 0


def fmt(value: Decimal) -> str:
    """Plain, exact and readable: 64000.10 -> "64,000.1", 1E-5 -> "0.00001"."""
    if value == 0:
        return "0"
    return f"{value.normalize():,f}"


def fmt_price(value: Decimal, tick: Decimal | None) -> str:
    """A price as the market quotes it: to the tick, with one digit more for a
    value between ticks (a mid of 73,363.9 and 73,364.0 is 73,363.95), never the
    float noise of a computed price (73,363.95000000001)."""
    if tick is None or tick <= 0:
        return fmt(value)
    exponent = tick.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return fmt(value.quantize(Decimal(1).scaleb(exponent - 1), context=_EXACT))


def fmt_money(value: Decimal) -> str:
    """An amount of money worked out (a worth, a cost): cents from 1 up
    ("1,234.57"), up to 8 decimals below (0.00012345 BTC stays readable)."""
    places = Decimal("0.01") if abs(value) >= 1 else Decimal("0.00000001")
    return fmt(value.quantize(places, context=_EXACT))
