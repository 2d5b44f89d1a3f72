"""CSV candle files: the column mapping, the preview, and turning cells into
candle columns (numbers and times), shared by reading and sniffing."""

from __future__ import annotations

import bisect
import codecs
import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from terminal.errors import CsvImportError
from terminal.marketdata.candles import COLUMNS

TimeUnit = Literal["s", "ms", "us", "ns", "iso"]
Progress = Callable[[float], None]

#: the candle fields a mapping assigns columns to, in order
FIELDS = ("ts", *COLUMNS)
EXPORT_HEADER = ("time_utc", "timestamp_ms", "open", "high", "low", "close", "volume")
PREVIEW_ROWS = 20
#: bad lines an import error lists one by one (it counts them all)
LISTED_PROBLEMS = 10
DELIMITERS = (",", ";", "\t", "|")
TIME_UNIT_WORDS: dict[str, str] = {
    "s": "seconds since 1970",
    "ms": "milliseconds since 1970",
    "us": "microseconds since 1970",
    "ns": "nanoseconds since 1970",
    "iso": "an ISO 8601 date and time",
}

_SNIFF_BYTES = 64 * 1024
_CHUNK = 65_536  # rows converted at a time by the line-by-line reader
_MAX_MS = 32_503_680_000_000  # 3000-01-01: later "times" are a wrong unit or column
_MS_PER: dict[str, int] = {"s": 1000, "ms": 1}
_PER_MS: dict[str, int] = {"us": 1000, "ns": 1_000_000}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_MS = dt.timedelta(milliseconds=1)
_NOTHING_IMPORTED = "Nothing was imported."


@dataclass(frozen=True)
class CsvMapping:
    """Which column (0-based) holds each candle field, and how to read the file.

    A field left at ``None`` has no column yet; ``read`` refuses an incomplete
    mapping. Two fields may share a column (open = high = low = close from a
    single price column, for instance)."""

    ts: int | None = None
    open: int | None = None
    high: int | None = None
    low: int | None = None
    close: int | None = None
    volume: int | None = None
    time_unit: TimeUnit = "ms"
    delimiter: str = ","
    has_header: bool = True
    decimal: str = "."

    def column(self, field: str) -> int | None:
        value: int | None = getattr(self, field)
        return value

    def missing(self) -> list[str]:
        """Fields without a column."""
        return [f for f in FIELDS if self.column(f) is None]

    @property
    def complete(self) -> bool:
        return not self.missing()

    def with_columns(self, **columns: int | None) -> CsvMapping:
        """A copy with some fields moved to other columns."""
        unknown = set(columns) - set(FIELDS)
        if unknown:
            raise ValueError(f"not candle fields: {sorted(unknown)}")
        return replace(self, **columns)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CsvPreview:
    """What ``sniff`` saw at the top of a file: enough for a mapping dialog."""

    path: Path
    encoding: str
    #: the guessed mapping (fields it could not place are ``None``), with the
    #: detected delimiter, header, decimal mark and time unit
    mapping: CsvMapping
    #: a name per column: the header's, or "column 1", "column 2", ...
    columns: list[str]
    #: the first data rows, as text, at most ``PREVIEW_ROWS``
    rows: list[list[str]]
    #: the file line (1-based, as a text editor and import errors number it) on
    #: which each row begins
    lines: list[int] = dataclasses.field(default_factory=list)

    @property
    def delimiter(self) -> str:
        return self.mapping.delimiter

    @property
    def has_header(self) -> bool:
        return self.mapping.has_header


# -- reading the bytes ------------------------------------------------------------
def _error(path: Path, message: str, line: int | None = None, column: str | None = None) -> CsvImportError:
    where = f"{path.name}, line {line:,}" if line is not None else path.name
    return CsvImportError(
        f"{where}: {message}", hint=_NOTHING_IMPORTED, path=str(path), line=line, column=column
    )


@dataclass
class LineProblems:
    """The bad lines of a file as a read finds them: every one counted, the
    first ``LISTED_PROBLEMS`` kept as (line, reason, candle field or None)."""

    count: int = 0
    listed: list[tuple[int, str, str | None]] = dataclasses.field(default_factory=list)

    def add(self, line: int, reason: str, column: str | None = None) -> None:
        """Count a bad line; kept if it is among the first (a chunk's cells are
        judged after the lines of the wrong width inside it were found)."""
        self.count += 1
        if len(self.listed) < LISTED_PROBLEMS or line < self.listed[-1][0]:
            bisect.insort(self.listed, (line, reason, column), key=lambda p: p[0])
            del self.listed[LISTED_PROBLEMS:]

    def error(self, path: Path) -> CsvImportError:
        """One bad line: "name, line 8: why."; several: how many, then the first ten, one a line."""
        line, reason, column = self.listed[0]
        if self.count == 1:
            return _error(path, reason, line, column)
        shown = "\n".join(f"line {n:,}: {why}" for n, why, _ in self.listed)
        more = self.count - len(self.listed)
        first = f"the first {len(self.listed)}" if more else "they are"
        text = f"{path.name}: {self.count:,} lines cannot be read; {first}:\n{shown}"
        if more:
            text += f"\n… and {more:,} more."
        return CsvImportError(text, hint=_NOTHING_IMPORTED, path=str(path), line=line, column=column)


def _load(path: Path, limit: int | None = None) -> tuple[bytes, bool]:
    """The file's bytes (at most ``limit``), and whether there was more."""
    try:
        with path.open("rb") as f:
            data = f.read() if limit is None else f.read(limit + 1)
    except OSError as exc:
        raise CsvImportError(
            f"Cannot read {path.name}: {exc.strerror or exc}.", path=str(path), detail=repr(exc)
        ) from exc
    if limit is not None and len(data) > limit:
        return data[:limit], True
    return data, False


def _decode(path: Path, data: bytes, partial: bool = False) -> tuple[str, str]:
    """Text and encoding name; a ``partial`` sample loses its last, cut line."""
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    if partial and encoding != "utf-16":
        data = data[: data.rfind(b"\n") + 1] or data  # never split a UTF-8 sequence
    try:
        text = data.decode(encoding, errors="ignore" if partial and encoding == "utf-16" else "strict")
    except UnicodeDecodeError:
        if encoding == "utf-16":
            raise CsvImportError(f"{path.name} is not readable UTF-16 text.", path=str(path)) from None
        encoding, text = "latin-1", data.decode("latin-1")  # every byte is a character; numbers stay numbers
    if partial and encoding == "utf-16":
        text = text[: max(text.rfind("\n"), text.rfind("\r")) + 1] or text
    if "\x00" in text:
        raise CsvImportError(
            f"{path.name} is not a text file.",
            hint="Choose a CSV file: text with one candle per line.",
            path=str(path),
        )
    if not text or text.isspace():
        raise CsvImportError(
            f"{path.name} is empty.", hint="Choose a CSV file with one candle per line.", path=str(path)
        )
    return text, encoding


# -- converting columns -----------------------------------------------------------
class _CellError(Exception):
    """The value at ``index`` of the column for ``field`` cannot be read, for ``reason``."""

    def __init__(self, index: int, reason: str, field: str = "ts") -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason
        self.field = field


class _BadCellsError(Exception):
    """Every unreadable value of one column, by index (at least one)."""

    def __init__(self, cells: list[_CellError]) -> None:
        super().__init__(cells[0].reason)
        self.cells = cells


def _quote(value: str) -> str:
    value = value.strip()
    return f"'{value[:40]}...'" if len(value) > 40 else f"'{value}'"


def _unreadable(values: Sequence[str], offset: int = 0) -> list[int]:
    """The indices of the values numpy cannot read as floats, found by halving:
    a column with a few bad cells costs a few numpy passes, not a Python loop."""
    try:
        np.array(values, dtype=np.float64)
    except (ValueError, TypeError):
        if len(values) <= 64:  # a cell at a time is cheaper than halving further
            return [offset + i for i, v in enumerate(values) if not _readable(v)]
        mid = len(values) // 2
        return _unreadable(values[:mid], offset) + _unreadable(values[mid:], offset + mid)
    return []


def _readable(value: str) -> bool:
    try:
        np.array([value], dtype=np.float64)
    except (ValueError, TypeError):
        return False
    return True


def _floats(values: Sequence[str]) -> tuple[NDArray[np.float64], list[int]]:
    """The values as floats (NaN where unreadable), and the indices of the unreadable ones."""
    try:
        return np.array(values, dtype=np.float64), []
    except (ValueError, TypeError):
        bad = _unreadable(values)
    readable = np.ones(len(values), dtype=np.bool_)
    readable[bad] = False
    out = np.full(len(values), np.nan)
    out[readable] = np.array([v for v, ok in zip(values, readable.tolist(), strict=True) if ok], np.float64)
    return out, bad


def _numbers(values: Sequence[str], field: str, decimal: str) -> NDArray[np.float64]:
    """A price or volume column; raises ``_BadCellsError`` naming every unreadable value."""
    text = values if decimal == "." else [v.replace(decimal, ".") for v in values]
    numbers, bad = _floats(text)
    if bad:
        raise _BadCellsError(
            [
                _CellError(i, f"column {field} is empty.", field)
                if not values[i].strip()
                else _CellError(i, f"{_quote(values[i])} is not a number in column {field}.", field)
                for i in bad
            ]
        )
    return numbers


def _iso_ms(value: str) -> int:
    when = dt.datetime.fromisoformat(value.strip())
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when - _EPOCH) // _ONE_MS


def _times(values: Sequence[str], unit: TimeUnit) -> NDArray[np.int64]:
    """Open times in epoch ms; raises ``_BadCellsError`` naming every unreadable one."""
    problems: dict[int, str] = {}
    if unit == "iso":
        fast = _iso_fast(values)
        if fast is None:
            ms = np.zeros(len(values), dtype=np.int64)
            for i, value in enumerate(values):
                try:
                    ms[i] = _iso_ms(value)
                except (ValueError, OverflowError):
                    problems[i] = (
                        f"{_quote(value)} is not a date and time in column ts."
                        if value.strip()
                        else "column ts is empty."
                    )
        else:
            ms = fast
    else:
        try:
            whole = np.array(values, dtype=np.int64)  # exact for integers of any size int64 holds
        except (ValueError, OverflowError, TypeError):
            ms = _times_from_floats(values, unit, problems)
        else:
            return _from_whole(whole, unit)
    for i in np.flatnonzero((ms < 0) | (ms >= _MAX_MS)).tolist():
        problems.setdefault(i, _out_of_range(values[i], unit))
    if problems:
        raise _BadCellsError([_CellError(i, reason) for i, reason in sorted(problems.items())])
    return ms


def _out_of_range(value: str, unit: str) -> str:
    return f"{_quote(value)} in column ts is not a time between 1970 and 3000 as {TIME_UNIT_WORDS[unit]}."


def _from_whole(whole: NDArray[np.int64], unit: TimeUnit) -> NDArray[np.int64]:
    """Epoch ms from whole numbers in ``unit`` (checked before scaling, so nothing
    overflows); raises ``_BadCellsError`` naming every one out of range."""
    limit = _MAX_MS // _MS_PER[unit] if unit in _MS_PER else min(_MAX_MS * _PER_MS[unit], 2**63 - 1)
    bad = np.flatnonzero((whole < 0) | (whole >= limit)).tolist()
    if bad:
        raise _BadCellsError([_CellError(i, _out_of_range(str(whole[i]), unit)) for i in bad])
    return whole * _MS_PER[unit] if unit in _MS_PER else whole // _PER_MS[unit]


def _times_from_floats(values: Sequence[str], unit: str, problems: dict[int, str]) -> NDArray[np.int64]:
    """Epoch ms from numbers with a fraction or an exponent; each unreadable or
    out-of-range value goes into ``problems`` (its index: why) and reads as 0."""
    raw, unreadable = _floats(values)
    words = TIME_UNIT_WORDS[unit]
    for i in unreadable:
        problems[i] = (
            f"{_quote(values[i])} is not a number of {words} in column ts."
            if values[i].strip()
            else "column ts is empty."
        )
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = raw * _MS_PER[unit] if unit in _MS_PER else raw / _PER_MS[unit]
        wrong = ~np.isfinite(scaled) | (scaled < 0) | (scaled >= _MAX_MS)
    for i in np.flatnonzero(wrong).tolist():
        problems.setdefault(i, _out_of_range(values[i], unit))
    scaled[wrong] = 0
    return np.rint(scaled).astype(np.int64)


def _iso_fast(values: Sequence[str]) -> NDArray[np.int64] | None:
    """numpy's ISO parser for plain "YYYY-MM-DD[ HH:MM[:SS[.fff]]]" columns; None
    if any cell needs the careful path (an offset or "Z", which numpy only
    warns about; blanks; words numpy would take, like "now")."""
    if not len(values):
        return np.empty(0, dtype=np.int64)
    text = np.array(values, dtype=np.str_)
    first_chars = text.view(np.uint32).reshape(len(text), -1)[:, 0]
    if not bool(np.all((first_chars >= ord("0")) & (first_chars <= ord("9")))):
        return None
    zoned = (np.char.find(text, "Z") >= 0) | (np.char.find(text, "+") >= 0) | (np.char.rfind(text, "-") > 7)
    if bool(np.any(zoned)):
        return None
    try:
        when = text.astype("datetime64[ms]")
    except ValueError:
        return None
    if bool(np.any(np.isnat(when))):
        return None
    return when.astype(np.int64)


def _convert(
    columns: dict[str, Sequence[str]], mapping: CsvMapping
) -> tuple[NDArray[np.int64], list[NDArray[np.float64]]] | list[_CellError]:
    """The candle columns, or every bad row: its first bad cell in field order, by row."""
    bad: dict[int, _CellError] = {}
    ts = np.empty(0, dtype=np.int64)
    prices: list[NDArray[np.float64]] = []
    for field in FIELDS:
        try:
            if field == "ts":
                ts = _times(columns[field], mapping.time_unit)
            else:
                prices.append(_numbers(columns[field], field, mapping.decimal))
        except _BadCellsError as cells:
            for cell in cells.cells:
                bad.setdefault(cell.index, cell)
    if bad:
        return [bad[i] for i in sorted(bad)]
    return ts, prices
