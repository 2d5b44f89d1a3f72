"""Reading the numbers typed into an order: what each text becomes, or why it
is refused, for every order field alike (``terminal.trading.number_input``).

The rule under test: a text is read as the number its writer meant, or it
is refused with a message; never another number. ``1,5`` is one and a half
(it used to become fifteen), and ``1,500`` is refused, since it is one and a
half to some and fifteen hundred to others.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from terminal.trading.number_input import MAX_DIGITS, Unreadable, plain, read_number
from terminal.trading.validation import FieldProblem, parse_decimal

D = Decimal

READ = [
    ("0.01", "0.01"),
    (" 64000.5 ", "64000.5"),
    ("1,5", "1.5"),
    ("0,5", "0.5"),
    ("12,75", "12.75"),
    ("0,500", "0.500"),  # a lone zero before the comma: no thousands to group
    ("1234,567", "1234.567"),  # four digits before it: a thousands separator would come sooner
    ("1,5000", "1.5000"),
    ("1.500", "1.500"),  # a point is always the decimal point
    (".5", "0.5"),
    (",5", "0.5"),
    ("5.", "5"),
    ("007", "7"),
    ("1.50", "1.50"),  # the digits as typed: Decimal("1.50")
    ("١٫٥", "1.5"),  # Arabic-Indic digits, Arabic decimal separator
    ("١٫٥٠٠", "1.500"),  # that separator is only ever a decimal point
    ("۰٫۲۵", "0.25"),  # Persian digits
    ("١,٥", "1.5"),
    ("１．５", "1.5"),  # full-width digits and full stop
    ("１，５", "1.5"),  # full-width comma
    ("२.५", "2.5"),  # Devanagari
    ("0.000000000000000001", "0.000000000000000001"),
]

REFUSED = [
    ("", "Enter a number"),
    ("   ", "Enter a number"),
    ("1,500", "cannot tell if the comma is a decimal mark (1.5) or a thousands separator (1500)"),
    ("12,345", "(12.345) or a thousands separator (12345)"),
    ("1.500,25", "both a point and a comma"),
    ("1,500.25", "both a point and a comma"),
    ("64,000.5", "both a point and a comma"),
    ("1.500.000", "more than one point"),
    ("1,500,000", "more than one comma"),
    ("1 500", "the space between the digits"),
    ("1\u00a0500", "the space between the digits"),  # no-break space, as a French keyboard groups
    ("1\u202f500,25", "the space between the digits"),  # narrow no-break space
    ("1'500", "the apostrophe between the digits"),  # Swiss
    ("1\u2019500", "the apostrophe between the digits"),
    ("1_500", "the underscore between the digits"),
    ("١٬٥٠٠", "the separator between the digits"),  # Arabic thousands separator
    ("-1", "has a sign"),
    ("+1", "has a sign"),
    ("\u22121", "has a sign"),  # the minus sign
    ("1e-5", "exponent"),
    ("1E5", "exponent"),
    ("2.5e3", "exponent"),
    ("NaN", "not a number"),
    ("inf", "not a number"),
    ("Infinity", "not a number"),
    ("∞", "not a number"),
    ("12abc", "not a number"),
    ("0.5 BTC", "the space between the digits"),
    ("$5", "not a number"),
    (".", "not a number"),
    (",", "not a number"),
    ("²", "not a number"),  # a superscript is a digit to Unicode, not a decimal one
    ("1" * (MAX_DIGITS + 1), f"more than {MAX_DIGITS} digits"),
]


@pytest.mark.parametrize(("typed", "value"), READ)
def test_a_number_that_can_only_mean_one_thing_is_read_as_typed(typed: str, value: str) -> None:
    read = read_number(typed)
    assert isinstance(read, Decimal) and read == D(value), read
    assert read.as_tuple() == D(value).as_tuple()  # the digits as typed, not a float's


@pytest.mark.parametrize(("typed", "words"), REFUSED)
def test_a_number_that_cannot_be_read_for_sure_is_refused_with_a_message(typed: str, words: str) -> None:
    read = read_number(typed)
    assert isinstance(read, Unreadable), f"{typed!r} was read as {read}"
    assert words in read.message, read.message


def test_the_ticket_reads_a_decimal_comma_as_a_decimal_point() -> None:
    """The ticket's reader: ``1,5`` became 15 and ``0,5`` became 5 before."""
    assert parse_decimal("1,5", "amount") == D("1.5")
    assert parse_decimal("0,5", "amount") == D("0.5")
    refused = parse_decimal("1,500", "price")
    assert isinstance(refused, FieldProblem) and refused.field == "price" and "cannot tell" in refused.message


@pytest.mark.parametrize(
    ("value", "text"),
    [("1.50", "1.5"), ("1E+3", "1000"), ("0.00001", "0.00001"), ("1E-8", "0.00000001"), ("0", "0"),
     ("64000.10", "64000.1"), ("12345678901234567890123.4", "12345678901234567890123.4")],
)  # fmt: skip
def test_plain_writes_every_digit_with_a_point_and_no_grouping(value: str, text: str) -> None:
    assert plain(D(value)) == text
    assert read_number(plain(D(value))) == D(value)  # what a field shows reads back as itself


# -- any decimal, in any script, with any separator ----------------------------------------------------
DIGITS = {  # the zero of each script; its digits follow it in Unicode
    "ascii": "0",
    "arabic-indic": "\u0660",
    "persian": "\u06f0",
    "full-width": "\uff10",
    "devanagari": "\u0966",
    "bengali": "\u09e6",
    "thai": "\u0e50",
}
DECIMAL_MARKS = [".", ",", "\u066b", "\uff0e", "\uff0c"]
GROUP_MARKS = [",", ".", " ", "\u00a0", "\u202f", "'", "\u2019", "_", "\u066c"]


@st.composite
def written(draw: st.DrawFn) -> tuple[str, Decimal, bool]:
    """(a decimal as someone might write it, its value, whether it may be read as a number)."""
    whole = draw(st.integers(0, 10**9))
    places = draw(st.integers(0, 8))
    fraction = "".join(str(d) for d in draw(st.lists(st.integers(0, 9), min_size=places, max_size=places)))
    zero = ord(DIGITS[draw(st.sampled_from(sorted(DIGITS)))])
    mark = draw(st.sampled_from(DECIMAL_MARKS))
    group = draw(st.none() | st.sampled_from(GROUP_MARKS))
    if group == "." and not fraction:
        group = None  # "1.500" is one and a half: a point is always the decimal point (the table has it)
    head = str(whole)
    if group is not None and whole >= 1000:
        head = f"{whole:,}".replace(",", group)
    else:
        group = None
    ascii_text = head + (mark + fraction if fraction else "")
    text = "".join(chr(zero + int(ch)) if ch.isdigit() else ch for ch in ascii_text)
    value = D(f"{whole}.{fraction}" if fraction else str(whole))
    comma = mark in (",", "\uff0c") and fraction != ""
    ambiguous = comma and len(fraction) == 3 and 1 <= whole <= 999
    return text, value, group is None and not ambiguous


@given(written())
@example(("1,5", D("1.5"), True))
@example(("0,5", D("0.5"), True))
@example(("1.500,25", D("1500.25"), False))
@example(("1 500", D("1500"), False))
@example(("١٫٥", D("1.5"), True))
def test_a_written_number_is_read_as_its_value_or_refused_never_another_number(
    case: tuple[str, Decimal, bool],
) -> None:
    text, value, readable = case
    read = read_number(text)
    if isinstance(read, Decimal):
        assert read == value, f"{text!r} was read as {read}, not {value}"
    else:
        assert read.message  # refused in words
    assert isinstance(read, Decimal) == readable, (text, read)
