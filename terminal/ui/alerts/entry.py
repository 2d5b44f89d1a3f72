"""What the alert dialog reads from its fields, and what it says back about them.

A number is typed, not spun: a price level may be 65,012.5 or 0.000123, which no spin
box holds well. ``read_number`` takes what a trader writes (thousands commas, a decimal
comma, spaces) and refuses the rest with a sentence; pydantic's complaints about the
values it reads are put in plain words by ``plain_message`` (its own text, "Input
should be greater than 1", is not for the user).
"""

from __future__ import annotations

import re
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic_core import ErrorDetails

_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")  # 65,012.5: commas group thousands
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")  # 0,5: a comma for the decimal point

#: How a field is named in a sentence, where pydantic's message does not name it.
FIELD_NAMES = {
    "level": "The price level",
    "percent": "The move in percent",
    "minutes": "The number of minutes",
    "factor": "The volume factor",
    "bars": "The number of bars",
    "above": "The PnL to rise above",
    "below": "The PnL to fall below",
    "seconds": "The number of seconds",
    "timeframe": "The timeframe",
    "expression": "The condition",
    "note": "The note",
}


def read_number(text: str, what: str, example: str = "65000 or 0.00123") -> float | None:
    """The number in ``text`` (None if it is empty); ValueError with a plain sentence
    naming ``what`` if it is not a number."""
    text = text.strip().replace(" ", "").replace("_", "").replace("\u2212", "-")  # − as the panels write it
    if not text:
        return None
    if _GROUPED.match(text):
        text = text.replace(",", "")
    elif _DECIMAL_COMMA.match(text):
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number, like {example}.") from None


def plain_number(value: float) -> str:
    """A float as the user would type it back: 65012.5, 0.000123, 1e-08 (no ".0")."""
    text = repr(float(value))
    return text.removesuffix(".0")


def _limit(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def plain_message(error: ErrorDetails, field: str) -> str:
    """One of pydantic's complaints about ``field``, as a sentence for the user."""
    name = FIELD_NAMES.get(field, field.replace("_", " ").capitalize() or "This")
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "greater_than_equal":
        return f"{name} must be at least {_limit(ctx['ge'])}."
    if kind == "greater_than":
        return f"{name} must be more than {_limit(ctx['gt'])}."
    if kind == "less_than_equal":
        return f"{name} must be at most {_limit(ctx['le'])}."
    if kind == "less_than":
        return f"{name} must be less than {_limit(ctx['lt'])}."
    if kind == "string_too_long":
        return f"{name} may be at most {ctx['max_length']} characters long."
    if kind == "missing":
        return f"{name} is missing: fill it in."
    if kind in ("int_parsing", "float_parsing", "int_from_float", "finite_number"):
        return f"{name} must be a number."
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "?", "!")) else message + "."


def int_bounds(
    model: type[BaseModel], field: str, default: tuple[int, int] = (0, 1_000_000)
) -> tuple[int, int]:
    """The whole-number range the model accepts for ``field``, for a spin box: the model
    says it once, the field follows."""
    low, high = default
    for rule in model.model_fields[field].metadata:
        if isinstance(rule, Ge):
            low = int(rule.ge)  # type: ignore[call-overload]
        elif isinstance(rule, Gt):
            low = int(rule.gt) + 1  # type: ignore[call-overload]
        elif isinstance(rule, Le):
            high = int(rule.le)  # type: ignore[call-overload]
        elif isinstance(rule, Lt):
            high = int(rule.lt) - 1  # type: ignore[call-overload]
    return low, high
