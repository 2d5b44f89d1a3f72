"""Sniffing a CSV candle file: delimiter, header, time unit, and a guessed
mapping of its columns, with a preview of the first rows; and how far apart
its candles are, so that hourly candles are not filed as minutes unasked."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from terminal.marketdata.candles import COLUMNS
from terminal.marketdata.timeframes import TIMEFRAMES, timeframe_ms
from terminal.store.csv_format import (
    _SNIFF_BYTES,
    DELIMITERS,
    PREVIEW_ROWS,
    CsvMapping,
    CsvPreview,
    TimeUnit,
    _BadCellsError,
    _decode,
    _iso_ms,
    _load,
    _times,
)

# -- sniffing ---------------------------------------------------------------------
_NAMES: dict[str, tuple[str, ...]] = {
    "ts": (
        "timestamp",
        "timestampms",
        "ts",
        "time",
        "opentime",
        "opentimems",
        "date",
        "datetime",
        "timeutc",
        "datetimeutc",
        "dateutc",
        "unix",
        "unixtime",
        "epoch",
        "starttime",
        "t",
    ),
    "open": ("open", "o", "openprice", "opening", "first"),
    "high": ("high", "h", "highprice", "max", "highest"),
    "low": ("low", "l", "lowprice", "min", "lowest"),
    "close": ("close", "c", "closeprice", "closing", "last"),
    "volume": (
        "volume",
        "vol",
        "v",
        "basevolume",
        "volumebase",
        "baseassetvolume",
        "volumefrom",
        "tickvolume",
    ),
}


def _time_like(name: str) -> bool:
    return ("time" in name or "date" in name) and "close" not in name and "end" not in name


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _number(value: str, decimal: str = ".") -> float | None:
    value = value.strip()
    if decimal != ".":
        value = value.replace(decimal, ".")
    try:
        return float(value)
    except ValueError:
        return None


def _is_iso(value: str) -> bool:
    value = value.strip()
    if len(value) < 8 or not value[0].isdigit():
        return False
    try:
        _iso_ms(value)
    except (ValueError, OverflowError):
        return False
    return True


def _data_like(cell: str) -> bool:
    return _number(cell) is not None or _number(cell, ",") is not None or _is_iso(cell)


def _time_unit(values: list[str]) -> TimeUnit | None:
    """The unit a column of open times is written in, or None if it is not one."""
    if not values:
        return None
    numbers = [_number(v) for v in values]
    if all(x is not None for x in numbers):
        size = float(np.median(np.abs(np.array(numbers, dtype=np.float64))))
        if size >= 1e17:
            return "ns"
        if size >= 1e14:
            return "us"
        if size >= 1e11:
            return "ms"
        return "s" if size >= 1e8 else None  # smaller numbers are prices or counts, not times
    return "iso" if all(_is_iso(v) for v in values) else None


def sniff(path: str | os.PathLike[str], rows: int = PREVIEW_ROWS) -> CsvPreview:
    """Look at the top of a CSV file and guess how to read it.

    Raises ``CsvImportError`` for an unreadable, empty or binary file."""
    path = Path(path)
    data, more = _load(path, _SNIFF_BYTES)
    text, encoding = _decode(path, data, partial=more)
    delimiter, table, lines = _best_split(text, rows + 1)
    decimal = "."
    cells = [cell for row in table for cell in row]
    if (
        delimiter != ","
        and any("," in c for c in cells)
        and all(_number(c) is None or "." not in c for c in cells if _number(c, ",") is not None)
    ):
        decimal = ","
    has_header = _has_header(table)
    width = max((len(r) for r in table), default=1)
    if has_header:
        header = table[0]
        named = [cell.strip() for cell in header] + [""] * (width - len(header))
        columns = [name or f"column {i + 1}" for i, name in enumerate(named)]
        body, lines = table[1:], lines[1:]
    else:
        columns = [f"column {i + 1}" for i in range(width)]
        body = table
    body, lines = body[:rows], lines[:rows]
    mapping = _guess(columns if has_header else None, body, width, decimal)
    mapping = replace(mapping, delimiter=delimiter, has_header=has_header, decimal=decimal)
    return CsvPreview(path, encoding, mapping, columns, body, lines)


def _best_split(text: str, rows: int) -> tuple[str, list[list[str]], list[int]]:
    """The delimiter that cuts the sample into the most even, number-like table,
    the table, and the file line each of its rows begins on (as ``csv_io.read``
    counts them: blank lines count, a quoted line break starts no new row)."""
    best: tuple[tuple[int, int, int], str, list[list[str]], list[int]] | None = None
    for delim in DELIMITERS:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        table: list[list[str]] = []
        lines: list[int] = []
        end = 0  # the line on which the previous record ended
        try:
            for row in reader:
                line, end = end + 1, reader.line_num
                if row and any(c.strip() for c in row):
                    table.append(row)
                    lines.append(line)
                    if len(table) == rows:
                        break
        except csv.Error:
            continue
        if not table:
            continue
        widths = [len(r) for r in table]
        width = max(set(widths), key=widths.count)
        even = int(all(w == width for w in widths))
        numeric = sum(_data_like(c) for r in table[1:] for c in r) if width > 1 else 0
        score = (int(width > 1), even, numeric)
        if best is None or score > best[0]:
            best = (score, delim, table, lines)
    if best is None:  # pragma: no cover - text.strip() is non-empty, so some row exists
        return ",", [], []
    return best[1], best[2], best[3]


def _has_header(table: list[list[str]]) -> bool:
    if not table:
        return False
    first = sum(_data_like(c) for c in table[0])
    if len(table) == 1:
        return first < len(table[0])
    return first < sum(_data_like(c) for c in table[1])


def _guess(names: list[str] | None, body: list[list[str]], width: int, decimal: str) -> CsvMapping:
    def column(i: int) -> list[str]:
        return [row[i].strip() for row in body if i < len(row)]

    def numeric(i: int) -> bool:  # with no data rows (a header alone), names decide
        values = column(i)
        return not body or (bool(values) and all(_number(v, decimal) is not None for v in values))

    found: dict[str, int] = {}
    units: dict[int, TimeUnit | None] = {i: _time_unit(column(i)) for i in range(width)}
    if names:
        normal = [_norm(n) for n in names]
        for field, synonyms in _NAMES.items():
            candidates = [i for s in synonyms for i, n in enumerate(normal) if n == s]
            if field == "ts":
                # prefer exact epoch numbers to text, then anything named like a time
                candidates += [i for i, n in enumerate(normal) if _time_like(n)]
                candidates = sorted(
                    (i for i in dict.fromkeys(candidates) if units[i] is not None or not body),
                    key=lambda i: (units[i] == "iso", candidates.index(i)),
                )
            elif field == "volume":
                candidates += [i for i, n in enumerate(normal) if "volume" in n and "quote" not in n]
            used = set(found.values())
            pick = next((i for i in candidates if i not in used and (field == "ts" or numeric(i))), None)
            if pick is not None:
                found[field] = pick
    if "ts" not in found:
        times = [i for i in range(width) if units[i] is not None]
        times.sort(key=lambda i: units[i] == "iso")
        if times:
            found["ts"] = times[0]
    if "ts" in found and not any(f in found for f in COLUMNS):
        # no names to go by: the usual layout, time then open, high, low, close, volume
        after = range(found["ts"] + 1, found["ts"] + 1 + len(COLUMNS))
        if after.stop <= width and all(numeric(i) for i in after):
            found.update(zip(COLUMNS, after, strict=True))
    unit = units.get(found["ts"]) if "ts" in found else None
    return CsvMapping(**found, time_unit=unit or "ms")  # type: ignore[arg-type]


# -- how far apart the candles are ------------------------------------------------
_UNITS = (("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000), ("second", 1_000))


def duration_words(ms: int) -> str:
    """A step in the largest unit that holds it whole: "1 hour", "5 minutes", "90 seconds"."""
    for unit, size in _UNITS:
        if ms >= size and ms % size == 0:
            count = ms // size
            return f"{count:,} {unit}" + ("" if count == 1 else "s")
    return f"{ms:,} ms"


@dataclass(frozen=True)
class Spacing:
    """How far apart candles are: the most common step between consecutive open times."""

    step_ms: int
    #: the terminal's timeframe of that length; None when it has none
    timeframe: str | None

    @property
    def words(self) -> str:
        return duration_words(self.step_ms)


def spacing(ts: ArrayLike) -> Spacing | None:
    """The most common step between consecutive distinct open times (the shortest
    of those tied), matched to the terminal's timeframes; None with fewer than two
    distinct times. A missing candle or a weekend does not change it."""
    times = np.unique(np.asarray(ts, dtype=np.int64))  # sorted, each once
    if len(times) < 2:
        return None
    steps, counts = np.unique(np.diff(times), return_counts=True)
    step = int(steps[int(np.argmax(counts))])  # argmax takes the first, the shortest, of a tie
    return Spacing(step, next((tf for tf, ms in TIMEFRAMES.items() if ms == step), None))


def preview_spacing(preview: CsvPreview, mapping: CsvMapping) -> Spacing | None:
    """``spacing`` of the preview's rows read with ``mapping`` (unreadable times left out)."""
    column = mapping.ts
    if column is None:
        return None
    values = [row[column] for row in preview.rows if column < len(row)]
    try:
        ts = _times(values, mapping.time_unit)
    except _BadCellsError as bad:
        unreadable = {cell.index for cell in bad.cells}
        try:
            ts = _times([v for i, v in enumerate(values) if i not in unreadable], mapping.time_unit)
        except _BadCellsError:  # pragma: no cover - what is left reads, cell by cell
            return None
    return spacing(ts)


def timeframe_warning(ts: ArrayLike, timeframe: str) -> str | None:
    """What importing candles with open times ``ts`` as ``timeframe`` candles
    would do, when their spacing says they are not: "These candles are 1 hour
    apart; importing them as 1m would report 199 gaps." None when the spacing
    matches (or cannot be told)."""
    found = spacing(ts)
    step = timeframe_ms(timeframe)
    if found is None or found.step_ms == step:
        return None
    times = np.asarray(ts, dtype=np.int64)
    on_grid = times % step == 0
    misaligned = len(times) - int(np.count_nonzero(on_grid))  # as validation counts them
    gaps = int(np.count_nonzero(np.diff(np.unique(times[on_grid])) > step))  # as find_gaps does
    effects = []
    if misaligned:
        effects.append(f"reject {misaligned:,} of {len(times):,} as not aligned to {timeframe}")
    if gaps:
        effects.append(f"report {gaps:,} gap" + ("" if gaps == 1 else "s"))
    effect = " and ".join(effects) or f"file them as {timeframe} candles"
    other = "" if found.timeframe else ", and the terminal has no timeframe that long"
    return f"These candles are {found.words} apart{other}; importing them as {timeframe} would {effect}."
