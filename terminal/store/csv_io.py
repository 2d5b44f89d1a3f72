"""Candles from and to CSV files: sniff and preview, import with a column mapping, export.

Import is all or nothing: ``read`` returns every candle of the file or raises
``CsvImportError`` naming the file, the line (1-based, as a text editor shows
it, and as the import preview numbers its rows) and what is wrong there; with
several bad lines it counts them all and lists the first ten. The caller then
validates the candles (``terminal.store.validation``) before anything is
written.

Accepted input: UTF-8 (with or without a BOM; UTF-16 with a BOM; other bytes
read as Latin-1), LF, CRLF or CR line ends, quoted fields, blank lines
anywhere (skipped), a header line or none. Delimiter ``,``, ``;``, tab or
``|``; decimal point or, with another delimiter, decimal comma. Open times as
epoch seconds, milliseconds, microseconds or nanoseconds, or ISO 8601 text
("2024-01-31 13:45:00", "2024-01-31T13:45:00Z", "...+02:00"; no offset means
UTC). Every line must have the same number of fields as the first.

Export (``write``) columns, with a header line::

    time_utc,timestamp_ms,open,high,low,close,volume
    2024-01-31T13:45:00Z,1706708700000,42000.5,42010.0,41990.25,42005.0,12.5

``time_utc`` is the open time in ISO 8601 UTC (for people and spreadsheets),
``timestamp_ms`` the same instant in epoch milliseconds (exact; what ``sniff``
maps back on import); prices and volume are written with ``repr`` so that
they read back bit for bit. The file is written to a temporary name and
renamed over the target, so a failed export leaves no partial file.

A clean file (no quotes, one delimiter count per line) is parsed with pandas'
C reader; anything else, and any file the fast reader rejects, goes through
the line-by-line reader that knows the line of each problem.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from terminal.atomic_file import atomic_text
from terminal.errors import CsvExportError, CsvImportError
from terminal.marketdata.candles import COLUMNS, OHLCV
from terminal.store.csv_format import (
    _CHUNK,
    _NOTHING_IMPORTED,
    EXPORT_HEADER,
    FIELDS,
    TIME_UNIT_WORDS,
    CsvMapping,
    LineProblems,
    Progress,
    _BadCellsError,
    _convert,
    _decode,
    _error,
    _from_whole,
    _load,
    _times,
)
from terminal.store.csv_sniff import sniff  # noqa: F401 - part of this module's API


# -- import -----------------------------------------------------------------------
def read(path: str | os.PathLike[str], mapping: CsvMapping, *, progress: Progress | None = None) -> OHLCV:
    """Every candle of the file, in file order (not yet validated), or
    ``CsvImportError`` for its bad lines (every one counted, the first ten
    listed); nothing partial is returned.

    ``progress`` gets the fraction done (0..1) now and then; an exception it
    raises (a cancel) stops the import and propagates.
    """
    path = Path(path)
    missing = mapping.missing()
    if missing:
        raise CsvImportError(
            f"{path.name}: no column is chosen for {', '.join(missing)}.",
            hint="Choose a column for each of time, open, high, low, close and volume.",
            path=str(path),
        )
    if mapping.time_unit not in TIME_UNIT_WORDS:
        raise ValueError(f"unknown time unit {mapping.time_unit!r}")
    data, _ = _load(path)
    text, encoding = _decode(path, data)
    candles = _read_clean(data, encoding, mapping) if encoding != "utf-16" else None
    del data
    if candles is None:
        candles = _read_lines(path, text, mapping, progress)
    if progress is not None:
        progress(1.0)
    return candles


def _columns_of(mapping: CsvMapping) -> dict[str, int]:
    return {f: c for f in FIELDS if (c := mapping.column(f)) is not None}


def _read_clean(data: bytes, encoding: str, mapping: CsvMapping) -> OHLCV | None:
    """The fast path for a clean file: None when the file is not plainly clean
    (quotes, stray CRs, uneven lines, any unreadable value), so that the
    line-by-line reader finds and names the problem."""
    delim = mapping.delimiter.encode(encoding)
    if len(delim) != 1 or b'"' in data or data.count(b"\r") != data.count(b"\r\n"):
        return None
    start = 0
    while (end := data.find(b"\n", start)) >= 0 and not data[start:end].strip():
        start = end + 1  # skip leading blank lines
    first = data[start:end] if end >= 0 else data[start:]
    width = first.count(delim) + 1
    cols = _columns_of(mapping)
    if max(cols.values()) >= width or cols["ts"] in [cols[f] for f in COLUMNS]:
        return None
    price_cols = {cols[f] for f in COLUMNS}
    import pandas as pd  # type: ignore[import-untyped]  # here, not at start-up: it is slow to import

    frame = None
    # epoch numbers straight to int64 when they are plain integers (the usual case)
    for ts_type in (np.int64, object) if mapping.time_unit != "iso" else (object,):
        dtypes = {i: (np.float64 if i in price_cols else object) for i in range(width)}
        dtypes[cols["ts"]] = ts_type
        try:
            with np.errstate(invalid="ignore"):  # pandas casting "inf" to int64 before it refuses
                frame = pd.read_csv(
                    io.BytesIO(data),
                    encoding=encoding,
                    sep=mapping.delimiter,
                    header=None,
                    skiprows=1 if mapping.has_header else 0,
                    dtype=dtypes,
                    na_filter=False,
                    skip_blank_lines=True,
                    decimal=mapping.decimal,
                    quoting=csv.QUOTE_NONE,
                    engine="c",
                )
            break
        except (ValueError, OverflowError, TypeError, IndexError):
            continue  # pandas.errors.ParserError and EmptyDataError are ValueErrors
    if frame is None:
        return None
    rows = len(frame)
    # Lines with more fields make pandas fail; a shorter line lowers the count.
    if not rows or frame.shape[1] != width or data.count(delim) != (rows + mapping.has_header) * (width - 1):
        return None
    stamps = frame[cols["ts"]]
    try:
        if stamps.dtype == np.int64:
            ts = _from_whole(stamps.to_numpy(dtype=np.int64), mapping.time_unit)
        else:
            ts = _times(stamps.tolist(), mapping.time_unit)
    except _BadCellsError:
        return None
    prices = [np.ascontiguousarray(frame[cols[f]].to_numpy(dtype=np.float64)) for f in COLUMNS]
    return OHLCV(ts, *prices)


def _read_lines(path: Path, text: str, mapping: CsvMapping, progress: Progress | None) -> OHLCV:
    """The careful reader: csv line by line, columns converted a chunk at a time.

    It reads on past a bad line, so that the error counts every one and lists
    the first ten; nothing is returned when there is any."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter, strict=True)
    cols = _columns_of(mapping)
    total_lines = max(text.count("\n"), 1)
    width: int | None = None  # fields per line, from the first non-blank line
    width_line = 0
    skip_header = mapping.has_header
    rows: list[list[str]] = []
    lines: list[int] = []
    parts: list[OHLCV] = []
    problems = LineProblems()
    short: tuple[int, int] | None = None  # the last record read, when it was short: (line, fields)
    end = 0  # the physical line on which the previous record ended
    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:
            problems.add(end + 1, _csv_problem(exc))
            if reader.line_num == end:  # pragma: no cover - the reader always moves on; never loop
                break
            end, short = reader.line_num, None
            continue
        if row is None:
            break
        line, end = end + 1, reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        short = None
        if width is None:
            width, width_line = len(row), line
            for field, col in cols.items():
                if col >= width:
                    raise _error(
                        path, f"column {col + 1} is chosen for {field}, but lines have {width} fields."
                    )
        elif len(row) != width:
            problems.add(line, f"{len(row)} fields, but line {width_line:,} has {width}.")
            short = (line, len(row)) if len(row) < width else None
            continue
        if skip_header:
            skip_header = False
            continue
        rows.append(row)
        lines.append(line)
        if len(rows) == _CHUNK:
            parts.append(_chunk(rows, lines, cols, mapping, problems))
            rows, lines = [], []
            if progress is not None:
                progress(min(end / total_lines, 0.99))
    if rows:
        parts.append(_chunk(rows, lines, cols, mapping, problems))
    if short is not None and not text.rstrip(" \t").endswith(("\n", "\r")):
        _call_truncated(problems, *short, width or 0)
    if problems.count:
        raise problems.error(path)
    if not parts:
        raise CsvImportError(
            f"{path.name} has a header line but no candles.", hint=_NOTHING_IMPORTED, path=str(path)
        )
    return (
        parts[0]
        if len(parts) == 1
        else OHLCV(*(np.concatenate([getattr(p, name) for p in parts]) for name in FIELDS))
    )


def _chunk(
    rows: list[list[str]], lines: list[int], cols: dict[str, int], mapping: CsvMapping, problems: LineProblems
) -> OHLCV:
    """The rows' candles; a bad row goes into ``problems`` (and the candles are then
    of no use: the read ends in an error, but goes on to count every bad line)."""
    columns: dict[str, Sequence[str]] = {field: [row[col] for row in rows] for field, col in cols.items()}
    converted = _convert(columns, mapping)
    if isinstance(converted, list):
        for bad in converted:
            problems.add(lines[bad.index], bad.reason, bad.field)
        return OHLCV.empty()
    ts, prices = converted
    return OHLCV(ts, *prices)


def _call_truncated(problems: LineProblems, line: int, fields: int, width: int) -> None:
    """The file's last record, cut short and without a line end: the file looks truncated."""
    for i, (n, _, column) in enumerate(problems.listed):
        if n == line:
            problems.listed[i] = (
                n,
                f"the last line is cut short ({fields} of {width} fields); the file looks truncated.",
                column,
            )


def _csv_problem(exc: csv.Error) -> str:
    words = str(exc)
    if "unexpected end of data" in words or "EOF" in words:
        return "a quoted field opened here is never closed."
    if "expected after" in words:
        return "a closing quote is followed by other text in the same field."
    return f"the line cannot be read as CSV ({words})."


# -- export -----------------------------------------------------------------------
def write(path: str | os.PathLike[str], ohlcv: OHLCV, *, progress: Progress | None = None) -> None:
    """Export candles (columns: see the module docstring). Atomic: a temporary
    file in the same folder is renamed over ``path`` once complete; on failure
    no file is left and ``CsvExportError`` says why."""
    n = len(ohlcv)
    ts = np.asarray(ohlcv.ts, dtype=np.int64)
    unit: Literal["s", "ms"] = "ms" if bool(np.any(ts % 1000)) else "s"
    with atomic_text(path, CsvExportError) as f:
        f.write(",".join(EXPORT_HEADER) + "\n")
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            part = ts[start:stop]
            stamps: NDArray[np.datetime64] = part.astype("datetime64[ms]")
            when = np.datetime_as_string(stamps, unit=unit, timezone="UTC")
            values = (np.asarray(getattr(ohlcv, name)[start:stop], dtype=np.float64) for name in COLUMNS)
            cells = [
                when.tolist(),
                [str(t) for t in part.tolist()],
                *([repr(x) for x in v.tolist()] for v in values),
            ]
            f.write("".join(",".join(row) + "\n" for row in zip(*cells, strict=True)))
            if progress is not None:
                progress(stop / n * 0.99)
    if progress is not None:
        progress(1.0)
