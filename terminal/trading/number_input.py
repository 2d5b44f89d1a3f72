"""Reading a number typed into an order field (amount, quote amount, limit
price, stop price), and writing one back as plain digits.

Why a module of its own: an order must be what the user meant, and the old
reading (drop every comma, then read) turned ``1,5`` into fifteen. One
reader serves every order field, with these rules:

- a point is the decimal point: ``0.01``, ``64000.5``, ``.5``;
- a comma is a decimal point too when it can only be one: ``1,5``, ``0,5``,
  ``12,75``, ``0,500``, ``1234,567``. When it could also be a thousands
  separator (``1,500``: one and a half, or fifteen hundred?) the field says
  it cannot tell and offers both readings;
- a thousands separator is never guessed: ``1.500,25``, ``1,500.25``,
  ``1.500.000``, ``1 500``, ``1'500``, ``1_500`` are refused with a message;
- digits of any script are read as the digits they are (Arabic-Indic
  ``١٫٥``, Persian ``۱٫۵``, full-width ``１．５``, Devanagari...), the Arabic
  decimal separator ``٫`` is a decimal point, the full-width point and comma
  behave as the ASCII ones, the Arabic thousands separator ``٬`` is refused
  like any other;
- a sign, an exponent (``1e-3``), NaN, infinity and empty text are refused
  with a message.

The value is a ``Decimal`` with the digits as typed (``1,50`` ->
``Decimal("1.50")``), never a float. No Qt here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

#: read as a decimal point wherever they stand: ASCII and full-width full stops, the Arabic decimal separator
POINTS = frozenset(".\uff0e\u066b")
#: a decimal point when nothing else can be meant: ASCII and full-width commas
COMMAS = frozenset(",\uff0c")
#: only ever thousands separators (besides spaces): apostrophes, underscore, the Arabic thousands separator
GROUPING = {
    "'": "apostrophe",
    "\u2019": "apostrophe",
    "\u02bc": "apostrophe",
    "_": "underscore",
    "\u066c": "separator",
}
#: plus and minus signs, hyphens and dashes that a keyboard or a paste can bring
SIGNS = frozenset("+-\u2212\u2010\u2011\u2012\u2013\u2014\ufe62\ufe63\uff0b\uff0d")
#: more digits than any exchange takes; also keeps step arithmetic exact (it works to 80 digits)
MAX_DIGITS = 24
#: the longest typed text quoted back in a message
ECHO = 32

_EXPONENT = re.compile(r"\d*[.,]?\d*[eE][+\-\u2212]?\d+")
_EXAMPLE = "e.g. 1234.5"


@dataclass(frozen=True)
class Unreadable:
    """Typed text that is not read as a number: why, in plain words."""

    message: str


def read_number(text: str) -> Decimal | Unreadable:
    """``text`` as typed into an order field, as a ``Decimal``; or why it cannot be read."""
    shown = text.strip()
    if not shown:
        return Unreadable("Enter a number, e.g. 0.01.")
    quoted = _quoted(shown)
    if _EXPONENT.fullmatch(shown) and any(ch.isdigit() for ch in shown):
        return Unreadable(f"{quoted} is written with an exponent: type the digits in full, e.g. 0.00001.")
    if any(ch in SIGNS for ch in shown):
        return Unreadable(
            f"{quoted} has a sign: type the number without it (amounts and prices are above zero)."
        )
    digits: list[str] = []  # ASCII digits, in order
    marks: list[tuple[int, str]] = []  # (how many digits come before it, "point" | "comma")
    for ch in shown:
        value = unicodedata.decimal(ch, None)
        if value is not None:
            digits.append(str(value))
        elif ch in POINTS or ch in COMMAS:
            marks.append((len(digits), "point" if ch in POINTS else "comma"))
        elif ch.isspace() or ch in GROUPING:
            what = "space" if ch.isspace() else GROUPING[ch]
            return Unreadable(
                f"{quoted}: cannot tell what the {what} between the digits means. Amounts and prices "
                f"take no thousands separators: type the number with a point for decimals, {_EXAMPLE}."
            )
        else:
            return Unreadable(f"{quoted} is not a number: type digits, with a point for decimals, e.g. 0.01.")
    if not digits:
        return Unreadable(f"{quoted} is not a number: type digits, with a point for decimals, e.g. 0.01.")
    if len(digits) > MAX_DIGITS:
        return Unreadable(f"{quoted} has more than {MAX_DIGITS} digits: no market takes that many.")
    kinds = {kind for _at, kind in marks}
    if len(kinds) > 1:
        return Unreadable(
            f"{quoted} has both a point and a comma: cannot tell which one is the decimal mark. "
            f"Type the number without thousands separators, {_EXAMPLE}."
        )
    if len(marks) > 1:
        return Unreadable(
            f"{quoted} has more than one {marks[0][1]}: cannot tell thousands from decimals. "
            f"Type the number without thousands separators, {_EXAMPLE}."
        )
    whole, fraction = "".join(digits), ""
    if marks:
        at, kind = marks[0]
        whole, fraction = whole[:at], whole[at:]
        if kind == "comma" and _could_group(whole, fraction):
            decimal, grouped = plain(Decimal(f"{whole}.{fraction}")), whole + fraction
            return Unreadable(
                f"{quoted}: cannot tell if the comma is a decimal mark ({decimal}) or a thousands "
                f"separator ({grouped}). Type {decimal} or {grouped}."
            )
    return Decimal(f"{whole or '0'}.{fraction}" if fraction else whole or "0")


def plain(value: Decimal) -> str:
    """A Decimal as an order field and the confirmation show it: every digit,
    a point for decimals, no exponent, no grouping, no trailing zeros
    (``Decimal("1.50")`` -> ``1.5``, ``Decimal("1E+3")`` -> ``1000``). Exact:
    no rounding context is involved."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _could_group(whole: str, fraction: str) -> bool:
    """Whether a comma between these digits could be a thousands separator:
    a first group of one to three digits (not a lone zero, not a leading
    zero) and a group of exactly three after it."""
    return len(fraction) == 3 and 1 <= len(whole) <= 3 and not whole.startswith("0")


def _quoted(text: str) -> str:
    return f"“{text}”" if len(text) <= ECHO else f"“{text[:ECHO]}…”"
