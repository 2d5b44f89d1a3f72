"""Sniffing a CSV candle file: delimiter, header, time unit, and a guessed
mapping of its columns, with a preview of the first rows."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from terminal.marketdata.candles import COLUMNS
from terminal.store.csv_format import (
    _SNIFF_BYTES,
    DELIMITERS,
    PREVIEW_ROWS,
    CsvMapping,
    CsvPreview,
    TimeUnit,
    _decode,
    _iso_ms,
    _load,
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
    delimiter, table = _best_split(text, rows + 1)
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
        body = table[1:]
    else:
        columns = [f"column {i + 1}" for i in range(width)]
        body = table
    body = body[:rows]
    mapping = _guess(columns if has_header else None, body, width, decimal)
    mapping = replace(mapping, delimiter=delimiter, has_header=has_header, decimal=decimal)
    return CsvPreview(path, encoding, mapping, columns, body)


def _best_split(text: str, rows: int) -> tuple[str, list[list[str]]]:
    """The delimiter that cuts the sample into the most even, number-like table."""
    best: tuple[tuple[int, int, int], str, list[list[str]]] | None = None
    for delim in DELIMITERS:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        table: list[list[str]] = []
        try:
            for row in reader:
                if row and any(c.strip() for c in row):
                    table.append(row)
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
            best = (score, delim, table)
    if best is None:  # pragma: no cover - text.strip() is non-empty, so some row exists
        return ",", []
    return best[1], best[2]


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
