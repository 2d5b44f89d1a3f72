"""CSV import and export of candles: real files, exact round trips, clear errors with line numbers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from terminal.errors import CsvExportError, CsvImportError
from terminal.marketdata.candles import OHLCV
from terminal.marketdata.timeframes import MINUTE_MS
from terminal.store import csv_format, csv_io
from terminal.store.csv_io import EXPORT_HEADER, CsvMapping, read, sniff, write

T0 = 1_704_067_200_000  # 2024-01-01 00:00:00 UTC
NAMES = ("ts", "open", "high", "low", "close", "volume")
PLAIN = CsvMapping(ts=0, open=1, high=2, low=3, close=4, volume=5)  # ts,o,h,l,c,v in ms with a header


def candles(n: int, start: int = T0, seed: int = 1) -> OHLCV:
    rng = np.random.default_rng(seed)
    close = 100 + rng.random(n) * 50
    open_ = close * (1 + rng.normal(0, 0.01, n))
    high = np.maximum(open_, close) + rng.random(n)
    low = np.minimum(open_, close) - rng.random(n)
    return OHLCV(
        start + MINUTE_MS * np.arange(n, dtype=np.int64), open_, high, low, close, rng.random(n) * 1e3
    )


def assert_bit_equal(a: OHLCV, b: OHLCV) -> None:
    assert np.array_equal(a.ts, b.ts)
    assert a.ts.dtype == np.int64
    for name in NAMES[1:]:
        left, right = getattr(a, name), getattr(b, name)
        assert right.dtype == np.float64
        assert np.array_equal(left.view(np.int64), right.view(np.int64)), name  # the very same bits


def file(tmp_path: Path, text: str | bytes, name: str = "candles.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def lines(*rows: str, end: str = "\n") -> str:
    return end.join(rows) + end


HEADER = "ts,open,high,low,close,volume"


def row(i: int, close: str = "", volume: str = "5") -> str:
    return f"{T0 + i * MINUTE_MS},10,12,9,{close or 11},{volume}"


def import_error(path: Path, mapping: CsvMapping = PLAIN) -> CsvImportError:
    with pytest.raises(CsvImportError) as caught:
        read(path, mapping)
    return caught.value


# -- export and round trip ----------------------------------------------------------
def test_round_trip_is_bit_exact(tmp_path: Path) -> None:
    data = candles(1_000)
    awkward = np.array([0.1, 1 / 3, 5e-324, 1.7976931348623157e308, 2.0**-1074 * 3, 123456789.123456789])
    data.close[: len(awkward)] = awkward
    path = tmp_path / "out.csv"
    write(path, data)
    preview = sniff(path)
    assert_bit_equal(data, read(path, preview.mapping))


def test_round_trip_keeps_odd_values_for_validation_to_judge(tmp_path: Path) -> None:
    data = candles(5)
    data.volume[1] = float("nan")
    data.low[2] = -0.0
    data.high[3] = float("inf")
    path = tmp_path / "odd.csv"
    write(path, data)
    back = read(path, sniff(path).mapping)
    assert_bit_equal(data, back)


def test_export_columns_and_format(tmp_path: Path) -> None:
    data = OHLCV(
        np.array([T0, T0 + MINUTE_MS], dtype=np.int64),
        np.array([42000.5, 1.0]),
        np.array([42010.0, 2.0]),
        np.array([41990.25, 0.5]),
        np.array([42005.0, 1.5]),
        np.array([12.5, 0.0]),
    )
    path = tmp_path / "export.csv"
    write(path, data)
    assert path.read_text(encoding="utf-8").splitlines() == [
        ",".join(EXPORT_HEADER),
        "2024-01-01T00:00:00Z,1704067200000,42000.5,42010.0,41990.25,42005.0,12.5",
        "2024-01-01T00:01:00Z,1704067260000,1.0,2.0,0.5,1.5,0.0",
    ]


def test_export_shows_milliseconds_only_when_there_are_any(tmp_path: Path) -> None:
    data = OHLCV(np.array([T0 + 250], dtype=np.int64), *(np.ones(1) for _ in range(5)))
    path = tmp_path / "ms.csv"
    write(path, data)
    assert path.read_text().splitlines()[1].startswith("2024-01-01T00:00:00.250Z,1704067200250,")


def test_export_of_no_candles_is_a_header(tmp_path: Path) -> None:
    path = tmp_path / "none.csv"
    write(path, OHLCV.empty())
    assert path.read_text() == ",".join(EXPORT_HEADER) + "\n"


def test_export_replaces_a_file_only_when_complete(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("precious\n")

    def cancel(_fraction: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write(path, candles(10), progress=cancel)
    assert path.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]  # no temporary file left

    write(path, candles(10))
    assert path.read_text().startswith("time_utc,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]


def test_export_to_a_missing_folder_says_so(tmp_path: Path) -> None:
    target = tmp_path / "no such folder" / "out.csv"
    with pytest.raises(CsvExportError) as caught:
        write(target, candles(3))
    assert "out.csv" in str(caught.value)
    assert "No file was written" in caught.value.user_message()
    assert not target.parent.exists()


def test_large_export_and_import_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_io, "_CHUNK", 100)
    data = candles(1_050)
    path = tmp_path / "chunks.csv"
    fractions: list[float] = []
    write(path, data, progress=fractions.append)
    assert fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    fractions.clear()
    back = csv_io._read_lines(path, path.read_text(), sniff(path).mapping, fractions.append)
    assert_bit_equal(data, back)
    assert len(fractions) == 10


# -- the fast reader and the careful reader agree ----------------------------------
def test_a_clean_file_takes_the_fast_path(tmp_path: Path) -> None:
    data = candles(50)
    path = tmp_path / "clean.csv"
    write(path, data)
    raw = path.read_bytes()
    fast = csv_io._read_clean(raw, "utf-8", sniff(path).mapping)
    assert fast is not None
    assert_bit_equal(data, fast)


@pytest.mark.parametrize(
    "text",
    [
        lines(HEADER, row(0), row(1), "", row(2), "", ""),
        lines("ts;open;high;low;close;volume", "1704067200;1,5;2,25;1,0;2;3,5", "1704067260;2;3;1;2,5;0"),
        lines("when,o,h,l,c,v", "2024-01-01 00:00:00,1,2,0.5,1.5,3", "2024-01-01T00:01:00,2,3,1,2,4"),
        lines("1704067200000000,1,2,0.5,1.5,3", "1704067260000000,2,3,1,2,4"),
        lines(HEADER, "1704067200000.0,1,2,0.5,1.5,3", "1.70406726e12,2,3,1,2,4"),
    ],
)
def test_fast_and_careful_readers_agree(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = file(tmp_path, text)
    mapping = sniff(path).mapping
    fast = read(path, mapping)
    monkeypatch.setattr(csv_io, "_read_clean", lambda *_: None)
    assert_bit_equal(fast, read(path, mapping))


# -- what a real file can look like --------------------------------------------------
def test_bom_crlf_quotes_and_trailing_blank_lines(tmp_path: Path) -> None:
    text = lines(
        '"time","open","high","low","close","volume"',
        '"1704067200000","1.5","2","1","1.75","10"',
        '1704067260000,"1.75",2.5,1.5,2,"1,000.5"',
        "",
        "",
        end="\r\n",
    ).replace('"1,000.5"', '"1000.5"')
    path = file(tmp_path, b"\xef\xbb\xbf" + text.encode())
    preview = sniff(path)
    assert preview.encoding == "utf-8-sig"
    assert preview.columns == ["time", "open", "high", "low", "close", "volume"]
    back = read(path, preview.mapping)
    assert back.ts.tolist() == [T0, T0 + MINUTE_MS]
    assert back.close.tolist() == [1.75, 2.0]
    assert back.volume.tolist() == [10.0, 1000.5]


def test_blank_lines_in_the_middle_are_skipped(tmp_path: Path) -> None:
    path = file(tmp_path, lines(HEADER, row(0), "", "   ", row(1)))
    assert read(path, PLAIN).ts.tolist() == [T0, T0 + MINUTE_MS]


def test_utf16_with_bom(tmp_path: Path) -> None:
    path = file(tmp_path, lines(HEADER, row(0), row(1)).encode("utf-16"))
    preview = sniff(path)
    assert preview.encoding == "utf-16"
    assert read(path, preview.mapping).ts.tolist() == [T0, T0 + MINUTE_MS]


def test_latin1_header_is_read(tmp_path: Path) -> None:
    path = file(tmp_path, lines("Zeit,Eröffnung,Hoch,Tief,Schluss,Volumen", row(0)).encode("latin-1"))
    preview = sniff(path)
    assert preview.encoding == "latin-1"
    assert preview.columns[1] == "Eröffnung"
    assert read(path, PLAIN).close.tolist() == [11.0]


def test_times_with_offsets_and_z_are_converted_to_utc(tmp_path: Path) -> None:
    text = lines(
        "time,open,high,low,close,volume",
        "2024-01-01T00:00:00Z,1,2,0.5,1.5,3",
        "2024-01-01T02:01:00+02:00,1,2,0.5,1.5,3",
        "2024-01-01 00:02:00.000,1,2,0.5,1.5,3",
        "2024-01-01,1,2,0.5,1.5,3",
    )
    path = file(tmp_path, text)
    mapping = sniff(path).mapping
    assert mapping.time_unit == "iso"
    assert read(path, mapping).ts.tolist() == [T0, T0 + MINUTE_MS, T0 + 2 * MINUTE_MS, T0]


def test_two_fields_may_share_a_column(tmp_path: Path) -> None:
    path = file(tmp_path, lines("time,price,amount", f"{T0},7.5,2"))
    mapping = CsvMapping(ts=0, open=1, high=1, low=1, close=1, volume=2)
    back = read(path, mapping)
    assert [back.open[0], back.high[0], back.low[0], back.close[0], back.volume[0]] == [
        7.5,
        7.5,
        7.5,
        7.5,
        2.0,
    ]


def test_progress_ends_at_one_and_a_raise_cancels(tmp_path: Path) -> None:
    path = file(tmp_path, lines(HEADER, row(0)))
    seen: list[float] = []
    read(path, PLAIN, progress=seen.append)
    assert seen[-1] == 1.0

    class CancelledError(Exception):
        pass

    def cancel(_fraction: float) -> None:
        raise CancelledError

    with pytest.raises(CancelledError):
        read(path, PLAIN, progress=cancel)


# -- malformed files: the line, the problem, nothing partial ---------------------------
def test_an_empty_file(tmp_path: Path) -> None:
    for text in ("", "\n\n  \r\n"):
        path = file(tmp_path, text)
        err = import_error(path)
        assert str(err) == "candles.csv is empty."
        with pytest.raises(CsvImportError, match="is empty"):
            sniff(path)


def test_a_header_without_candles(tmp_path: Path) -> None:
    err = import_error(file(tmp_path, lines(HEADER, "")))
    assert str(err) == "candles.csv has a header line but no candles."


def test_not_a_number_names_file_line_value_and_column(tmp_path: Path) -> None:
    rows = [row(i) for i in range(1_240)]
    rows[1_232] = row(1_232, close="abc")  # line 1,234: after the header and 1,232 good rows
    path = file(tmp_path, lines(HEADER, *rows))
    err = import_error(path)
    assert str(err) == "candles.csv, line 1,234: 'abc' is not a number in column close."
    assert err.line == 1_234
    assert err.column == "close"
    assert err.path == str(path)
    assert err.user_message().endswith("Nothing was imported.")


def test_every_bad_line_is_named_in_file_order_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_io, "_CHUNK", 4)
    rows = [row(i) for i in range(12)]
    rows[9] = row(9, close="x")
    rows[6] = "notatime,10,12,9,11,5"
    rows[10] = row(10, volume="-")
    err = import_error(file(tmp_path, lines(HEADER, *rows)))
    assert err.line == 8, "the first bad line, for whoever wants one"
    assert str(err) == (
        "candles.csv: 3 lines cannot be read; they are:\n"
        "line 8: 'notatime' is not a number of milliseconds since 1970 in column ts.\n"
        "line 11: 'x' is not a number in column close.\n"
        "line 12: '-' is not a number in column volume."
    )
    assert err.user_message().endswith("Nothing was imported.")


def test_many_bad_lines_are_all_counted_and_the_first_ten_listed(tmp_path: Path) -> None:
    rows = [row(i) for i in range(3_000)]
    bad = [5, 17, 100, 101, 102, 640, 641, 900, 1_500, 2_000, 2_001, 2_500, 2_998]
    for i in bad:
        rows[i] = row(i, close="n/a")
    rows[700] = row(700) + ",7"  # a line too long is a bad line too
    rows[2_200] = f"{T0 + 2_200 * MINUTE_MS},10,,9,11,5"  # an empty cell
    err = import_error(file(tmp_path, lines(HEADER, *rows)))
    text = str(err)
    head, *listed = text.split("\n")
    assert head == "candles.csv: 15 lines cannot be read; the first 10:"
    file_lines = sorted([i + 2 for i in bad] + [702, 2_202])  # after the header: row i is line i + 2
    assert [entry.split(":")[0] for entry in listed[:10]] == [f"line {n:,}" for n in file_lines[:10]]
    assert listed[0] == "line 7: 'n/a' is not a number in column close."
    assert "line 702: 7 fields, but line 1 has 6." in listed
    assert listed[10:] == ["… and 5 more."]
    assert err.line == 7


def test_cells_bad_in_two_columns_count_their_line_once(tmp_path: Path) -> None:
    rows = [row(i) for i in range(5)]
    rows[2] = "later,10,12,9,abc,5"
    rows[3] = row(3, volume="-")
    err = import_error(file(tmp_path, lines(HEADER, *rows)))
    assert str(err).startswith("candles.csv: 2 lines cannot be read; they are:\nline 4: 'later' is not")


def test_bad_quotes_and_a_truncated_end_are_counted_with_the_rest(tmp_path: Path) -> None:
    text = lines(HEADER, row(0), '1704067260000,"10"x,12,9,11,5', row(2, close="?"), row(3)) + "1704067"
    err = import_error(file(tmp_path, text))
    assert str(err).split("\n")[1:] == [
        "line 3: a closing quote is followed by other text in the same field.",
        "line 4: '?' is not a number in column close.",
        "line 6: the last line is cut short (1 of 6 fields); the file looks truncated.",
    ]


def test_bad_times_in_every_unit_are_all_found(tmp_path: Path) -> None:
    for stamps, unit in (
        (["1704067200", "x", "1704067320", "-5", "1.5e40"], "s"),
        (["1704067200000.5", "", "abc", "1704067380000", "9e99"], "ms"),
        (["2024-01-01 00:00", "nope", "2024-01-01 00:02Z", "", "2024-02-30"], "iso"),
    ):
        body = [f"{t},10,12,9,11,5" for t in stamps]
        mapping = dataclasses.replace(PLAIN, time_unit=unit)  # type: ignore[arg-type]
        err = import_error(file(tmp_path, lines(HEADER, *body)), mapping)
        lines_named = [entry.split(":")[0] for entry in str(err).split("\n")[1:]]
        good = {"s": (2, 4), "ms": (2, 5), "iso": (2, 4)}[unit]
        assert lines_named == [f"line {n}" for n in range(2, 7) if n not in good], unit


def test_preview_rows_are_numbered_by_file_line_as_errors_are(tmp_path: Path) -> None:
    rows = [row(i) for i in range(14)]
    rows[10] = row(10, close="abc")
    path = file(
        tmp_path, lines("", HEADER, row(0), "", *rows[1:])
    )  # a blank line before the header and one after
    preview = sniff(path)
    err = import_error(path)
    bad = preview.rows.index(rows[10].split(","))
    assert preview.lines[bad] == err.line == 14
    assert preview.lines[:3] == [3, 5, 6]


def test_an_empty_cell(tmp_path: Path) -> None:
    err = import_error(file(tmp_path, lines(HEADER, row(0), row(1, volume=""))))
    assert str(err) == "candles.csv, line 3: column volume is empty."
    assert err.column == "volume"


def test_a_line_with_too_many_fields(tmp_path: Path) -> None:
    err = import_error(file(tmp_path, lines(HEADER, row(0), row(1) + ",7", row(2))))
    assert str(err) == "candles.csv, line 3: 7 fields, but line 1 has 6."
    assert err.line == 3


def test_a_line_with_too_few_fields(tmp_path: Path) -> None:
    err = import_error(file(tmp_path, lines(HEADER, row(0), "1704067320000,10,12", row(3))))
    assert str(err) == "candles.csv, line 3: 3 fields, but line 1 has 6."


def test_a_short_last_line_with_its_line_end_is_not_called_truncated(tmp_path: Path) -> None:
    err = import_error(file(tmp_path, lines(HEADER, row(0), "1704067260000,10,12")))
    assert str(err) == "candles.csv, line 3: 3 fields, but line 1 has 6."


def test_a_truncated_last_line(tmp_path: Path) -> None:
    text = lines(HEADER, row(0), row(1)) + "1704067320000,10,1"
    err = import_error(file(tmp_path, text))
    assert (
        str(err)
        == "candles.csv, line 4: the last line is cut short (3 of 6 fields); the file looks truncated."
    )
    assert err.line == 4


def test_a_truncated_last_line_with_crlf_and_no_header(tmp_path: Path) -> None:
    text = lines(row(0), row(1), end="\r\n") + "17040673"
    err = import_error(file(tmp_path, text), dataclasses.replace(PLAIN, has_header=False))
    assert err.line == 3
    assert "cut short (1 of 6 fields)" in str(err)


def test_a_quote_that_never_closes(tmp_path: Path) -> None:
    text = lines(HEADER, row(0), '1704067260000,"10,12,9,11,5', row(2), row(3))
    err = import_error(file(tmp_path, text))
    assert str(err) == "candles.csv, line 3: a quoted field opened here is never closed."


def test_junk_after_a_closing_quote(tmp_path: Path) -> None:
    err = import_error(file(tmp_path, lines(HEADER, row(0), '1704067260000,"10"x,12,9,11,5')))
    assert err.line == 3
    assert "closing quote is followed by other text" in str(err)


def test_bad_iso_time(tmp_path: Path) -> None:
    text = lines("time,o,h,l,c,v", "2024-01-01 00:00:00,1,2,0.5,1.5,3", "2024-13-01 00:00:00,1,2,0.5,1.5,3")
    err = import_error(file(tmp_path, text), dataclasses.replace(PLAIN, time_unit="iso"))
    assert str(err) == "candles.csv, line 3: '2024-13-01 00:00:00' is not a date and time in column ts."
    assert err.column == "ts"


def test_words_numpy_would_take_for_a_time_are_refused(tmp_path: Path) -> None:
    text = lines("time,o,h,l,c,v", "2024-01-01 00:00:00,1,2,0.5,1.5,3", "now,1,2,0.5,1.5,3")
    err = import_error(file(tmp_path, text), dataclasses.replace(PLAIN, time_unit="iso"))
    assert err.line == 3


def test_a_wrong_time_unit_is_caught(tmp_path: Path) -> None:
    path = file(tmp_path, lines(HEADER, row(0)))
    err = import_error(path, dataclasses.replace(PLAIN, time_unit="s"))
    assert str(err) == (
        "candles.csv, line 2: '1704067200000' in column ts is not a time between 1970 and 3000"
        " as seconds since 1970."
    )


def test_a_file_that_is_not_text(tmp_path: Path) -> None:
    path = file(tmp_path, b"PK\x03\x04\x00\x00binary\x00stuff", "archive.zip")
    with pytest.raises(CsvImportError, match=r"archive\.zip is not a text file"):
        read(path, PLAIN)
    with pytest.raises(CsvImportError, match="not a text file"):
        sniff(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CsvImportError, match=r"Cannot read nowhere\.csv"):
        read(tmp_path / "nowhere.csv", PLAIN)
    with pytest.raises(CsvImportError, match="Cannot read"):
        sniff(tmp_path / "nowhere.csv")


def test_an_incomplete_mapping(tmp_path: Path) -> None:
    path = file(tmp_path, lines(HEADER, row(0)))
    with pytest.raises(CsvImportError, match="no column is chosen for volume"):
        read(path, dataclasses.replace(PLAIN, volume=None))


def test_a_mapping_beyond_the_last_column(tmp_path: Path) -> None:
    path = file(tmp_path, lines(HEADER, row(0)))
    err = import_error(path, dataclasses.replace(PLAIN, volume=6))
    assert str(err) == "candles.csv: column 7 is chosen for volume, but lines have 6 fields."


def test_header_read_as_data_names_line_one(tmp_path: Path) -> None:
    err = import_error(file(tmp_path, lines(HEADER, row(0))), dataclasses.replace(PLAIN, has_header=False))
    assert err.line == 1
    assert "'ts' is not a number of milliseconds since 1970 in column ts" in str(err)


# -- sniffing -------------------------------------------------------------------------
def test_sniff_the_terminals_own_export(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    write(path, candles(30))
    preview = sniff(path, rows=5)
    assert preview.delimiter == ","
    assert preview.has_header
    assert preview.columns == list(EXPORT_HEADER)
    assert len(preview.rows) == 5
    assert preview.rows[0][1] == str(T0)
    m = preview.mapping
    assert (m.ts, m.open, m.high, m.low, m.close, m.volume) == (1, 2, 3, 4, 5, 6)  # epoch ms over ISO text
    assert m.time_unit == "ms"
    assert m.complete


def test_sniff_semicolons_decimal_commas_and_no_header(tmp_path: Path) -> None:
    path = file(tmp_path, lines("1704067200;42000,5;42010;41990,25;42005;1,5", "1704067260;1;2;0,5;1,5;3"))
    preview = sniff(path)
    m = preview.mapping
    assert (m.delimiter, m.decimal, m.has_header, m.time_unit) == (";", ",", False, "s")
    assert (m.ts, m.open, m.high, m.low, m.close, m.volume) == (0, 1, 2, 3, 4, 5)
    assert preview.columns == [f"column {i}" for i in range(1, 7)]
    assert preview.rows[0] == ["1704067200", "42000,5", "42010", "41990,25", "42005", "1,5"]
    back = read(path, m)
    assert back.ts.tolist() == [T0, T0 + MINUTE_MS]
    assert back.open.tolist() == [42000.5, 1.0]
    assert back.low.tolist() == [41990.25, 0.5]


def test_sniff_semicolons_with_decimal_points(tmp_path: Path) -> None:
    path = file(tmp_path, lines("Date;Open;High;Low;Close;Volume", "2024-01-01 00:00:00;1.5;2;1;1.75;1000"))
    m = sniff(path).mapping
    assert (m.delimiter, m.decimal, m.has_header, m.time_unit) == (";", ".", True, "iso")
    assert read(path, m).ts.tolist() == [T0]


def test_sniff_tabs(tmp_path: Path) -> None:
    path = file(tmp_path, lines("time\topen\thigh\tlow\tclose\tvolume", f"{T0}\t1\t2\t0.5\t1.5\t3"))
    m = sniff(path).mapping
    assert m.delimiter == "\t"
    assert read(path, m).close.tolist() == [1.5]


@pytest.mark.parametrize(
    ("stamp", "unit"),
    [
        ("1704067200", "s"),
        ("1704067200.0", "s"),
        ("1704067200000", "ms"),
        ("1704067200000000", "us"),
        ("1704067200000000000", "ns"),
        ("2024-01-01 00:00:00", "iso"),
        ("2024-01-01T00:00:00Z", "iso"),
    ],
)
def test_sniff_detects_the_time_unit(tmp_path: Path, stamp: str, unit: str) -> None:
    path = file(tmp_path, lines(f"{stamp},1,2,0.5,1.5,3", f"{stamp},1,2,0.5,1.5,3"))
    preview = sniff(path)
    assert not preview.has_header
    assert preview.mapping.ts == 0
    assert preview.mapping.time_unit == unit
    assert read(path, preview.mapping).ts.tolist() == [T0, T0]


def test_sniff_maps_columns_by_name_in_any_order(tmp_path: Path) -> None:
    path = file(
        tmp_path, lines("Symbol,Volume,Close,Low,High,Open,Date", "BTC,3,1.5,0.5,2,1,2024-01-01 00:00")
    )
    m = sniff(path).mapping
    assert (m.ts, m.open, m.high, m.low, m.close, m.volume) == (6, 5, 4, 3, 2, 1)
    back = read(path, m)
    assert (back.open[0], back.high[0], back.low[0], back.close[0], back.volume[0]) == (1, 2, 0.5, 1.5, 3)


def test_sniff_a_binance_kline_file(tmp_path: Path) -> None:
    header = (
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
        "taker_buy_volume,taker_buy_quote_volume,ignore"
    )
    data = f"{T0},42000.1,42100,41900,42050,12.5,{T0 + 59_999},525000.5,100,6.1,256000.2,0"
    m = sniff(file(tmp_path, lines(header, data))).mapping
    assert (m.ts, m.open, m.high, m.low, m.close, m.volume, m.time_unit) == (0, 1, 2, 3, 4, 5, "ms")


def test_sniff_leaves_unknown_columns_unmapped(tmp_path: Path) -> None:
    path = file(tmp_path, lines("a,b,c", "x,y,z"))
    preview = sniff(path)
    assert preview.mapping.missing() == list(NAMES)
    assert not preview.mapping.complete
    with pytest.raises(CsvImportError, match="no column is chosen"):
        read(path, preview.mapping)


def test_sniff_previews_only_the_top_of_a_big_file(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    write(path, candles(5_000))
    assert os.path.getsize(path) > csv_format._SNIFF_BYTES
    preview = sniff(path)
    assert len(preview.rows) == csv_format.PREVIEW_ROWS
    assert preview.mapping.complete


def test_mapping_can_be_changed_column_by_column() -> None:
    changed = PLAIN.with_columns(close=3, low=4)
    assert (changed.low, changed.close, changed.ts) == (4, 3, 0)
    with pytest.raises(ValueError):
        PLAIN.with_columns(price=1)


def test_iso_export_times_read_back(tmp_path: Path) -> None:
    data = candles(3, start=T0 + 17)  # odd milliseconds exercise the ".fffZ" form
    path = tmp_path / "iso.csv"
    write(path, data)
    m = dataclasses.replace(sniff(path).mapping, ts=0, time_unit="iso")
    assert read(path, m).ts.tolist() == data.ts.tolist()
    when = dt.datetime.fromtimestamp((T0 + 17) / 1000, dt.UTC)
    assert path.read_text().splitlines()[1].startswith(when.strftime("%Y-%m-%dT%H:%M:%S.017Z"))


def test_sniff_a_header_alone_maps_by_name_and_read_says_there_are_no_candles(tmp_path: Path) -> None:
    path = file(tmp_path, lines(HEADER))
    preview = sniff(path)
    assert preview.rows == []
    assert preview.mapping == PLAIN
    with pytest.raises(CsvImportError, match="has a header line but no candles"):
        read(path, preview.mapping)


def test_infinite_time_is_refused_without_warnings(tmp_path: Path) -> None:
    path = file(tmp_path, lines(HEADER, "inf,1,2,0.5,1.5,3"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        err = import_error(path)
    assert err.line == 2
    assert "'inf' in column ts is not a time between 1970 and 3000" in str(err)
