"""Saved backtest runs: in the history file, to list, reopen, compare and delete.

    runs = RunStore(candle_store)
    run_id = runs.save(result, exchange="binance", symbol="BTC/USDT", timeframe="1m")
    runs.list()                      # RunSummary rows, newest first (no curves read)
    saved = runs.load(run_id)        # SavedRun: the summary and the BacktestResult, as it was

A run is one row of ``backtest_run`` (``terminal.store.schema.BacktestRun``):
what ran (strategy, the hash of its source, parameters), on what (exchange,
symbol, timeframe, first and last bar), with what (settings: costs, sizing,
stops, direction), and what came out (metrics, trades, curves). Parameters,
settings and metrics are JSON text; the curves and trade tables are a blob
each (an ``.npy`` image: dtype and shape travel with the bytes), not a row
per bar, so a 1,000,000-bar run saves in ~0.3 s and loads in ~0.1 s
(docs/backtesting.md, "Saved runs and reports").

Every call blocks (the UI calls it through ``asyncio.to_thread``). Writes go
through the history file's one writer connection, reads through the calling
thread's reader, as ``CandleStore`` does.
"""

from __future__ import annotations

import io
import json
import math
import sqlite3
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic_core import to_jsonable_python

from terminal import __version__
from terminal.backtest.metrics import Metrics
from terminal.backtest.result import BacktestResult
from terminal.backtest.settings import BacktestSettings
from terminal.backtest.trades import TRADE_DTYPE
from terminal.errors import StoreError
from terminal.store.candles import CandleStore

_SUMMARY = (
    "id", "created_ms", "label", "strategy", "source_hash", "params", "exchange", "symbol", "timeframe",
    "start_ms", "end_ms", "bars", "settings", "metrics", "trade_count",
)  # fmt: skip
_F64 = np.dtype(np.float64)
_CURVES = (
    ("ts", np.dtype(np.int64)),
    ("equity", _F64),
    ("drawdown", _F64),
    ("position", _F64),
    ("cash", _F64),
)
_TABLES = ("trades", "open_trade")
_BLOBS = (*(name for name, _ in _CURVES), *_TABLES)

_INSERT = f"""
INSERT INTO backtest_run ({", ".join((*_SUMMARY[1:], *_BLOBS))})
VALUES ({", ".join("?" * (len(_SUMMARY) - 1 + len(_BLOBS)))})"""
_LIST = f"SELECT {', '.join(_SUMMARY)} FROM backtest_run ORDER BY created_ms DESC, id DESC"
_LOAD = f"SELECT {', '.join((*_SUMMARY, *_BLOBS))} FROM backtest_run WHERE id = ?"

_NPY_MAGIC = b"\x93NUMPY"
#: equity changes in its low bits from bar to bar: zlib saved 7% of it and took
#: longer than for all the other curves together (measured on a 1,000,000-bar
#: SMA-cross run), so it is stored as it is; the other blobs shrink 1.6x
#: (trades) to 20x (cash) at level 1
_STORED_RAW = frozenset({"equity"})


@dataclass(frozen=True)
class RunSummary:
    """What a list of saved runs shows; no curves or trades."""

    id: int
    created_ms: int
    label: str  # e.g. "SMA cross 10/20 · binance BTC/USDT 1m"
    strategy: str  # registry name, or the user strategy's name
    #: SHA-256 of a user strategy's file; "builtin:<terminal version>" for a built-in
    source_hash: str | None
    params: dict[str, Any]
    exchange: str
    symbol: str
    timeframe: str
    start_ms: int  # the data range: open times of the first and the last bar
    end_ms: int
    bars: int
    settings: dict[str, Any]  # BacktestSettings.model_dump(mode="json")
    metrics: dict[str, float]  # Metrics.as_dict()
    trades: int  # closed trades


@dataclass(frozen=True)
class SavedRun:
    summary: RunSummary
    result: BacktestResult  # as saved: every array bit for bit, the same metrics and settings


class RunNotFoundError(StoreError):
    """No saved run has this id (it was deleted, or never saved)."""


class RunDamagedError(StoreError):
    """A saved run's stored data cannot be read back."""


class RunStore:
    """Saved backtest runs in the history file that ``store`` holds open."""

    def __init__(self, store: CandleStore) -> None:
        self.database = store.database

    def save(
        self,
        result: BacktestResult,
        *,
        exchange: str,
        symbol: str,
        timeframe: str,
        source_hash: str | None = None,
        label: str = "",
    ) -> int:
        """Save ``result`` and return its id. ``source_hash`` is a user strategy's
        (``UserStrategies.source_hash``); a built-in records the terminal's version
        instead. ``label`` defaults to strategy, parameters and market."""
        if source_hash is None and _is_builtin(result.strategy):
            source_hash = f"builtin:{__version__}"
        n = len(result)
        row = (
            time.time_ns() // 1_000_000,
            label or default_label(result.strategy, result.params, exchange, symbol, timeframe),
            result.strategy,
            source_hash,
            _to_json(result.params),
            exchange,
            symbol,
            timeframe,
            int(result.ts[0]) if n else 0,
            int(result.ts[-1]) if n else 0,
            n,
            _to_json(result.settings.model_dump(mode="json")),
            _to_json(result.metrics.as_dict()),
            len(result.trades),
            # encoded before taking the writer lock, which other writers wait for
            *(_encode(name, getattr(result, name)) for name in _BLOBS),
        )
        with self.database.writing() as conn:
            run_id = conn.execute(_INSERT, row).lastrowid
        assert run_id is not None  # an INSERT into a rowid table always sets it
        return run_id

    def list(self) -> list[RunSummary]:
        """Every saved run, newest first."""
        with self.database.reading() as conn:
            if not _has_runs(conn):  # a file of an older revision, opened read-only
                return []
            rows = conn.execute(_LIST).fetchall()
        return [_summary(row) for row in rows]

    def load(self, run_id: int) -> SavedRun:
        """The run saved under ``run_id``; ``RunNotFoundError`` or ``RunDamagedError``."""
        with self.database.reading() as conn:
            row = conn.execute(_LOAD, (run_id,)).fetchone()
        if row is None:
            raise _not_found(run_id)
        summary = _summary(row[: len(_SUMMARY)])
        try:
            arrays = {name: _decode(blob) for name, blob in zip(_BLOBS, row[len(_SUMMARY) :], strict=True)}
            _check(arrays, summary.bars)
            result = BacktestResult(
                strategy=summary.strategy,
                params=dict(summary.params),
                settings=BacktestSettings.model_validate(summary.settings),
                metrics=_metrics(summary.metrics),
                **arrays,
            )
        except (ValueError, OSError, EOFError, zlib.error) as exc:  # ValidationError is a ValueError
            raise _damaged(run_id, exc) from exc
        return SavedRun(summary, result)

    def delete(self, run_id: int) -> None:
        """Delete a saved run; ``RunNotFoundError`` if there is none under ``run_id``."""
        with self.database.writing() as conn:
            deleted = conn.execute("DELETE FROM backtest_run WHERE id = ?", (run_id,)).rowcount
        if not deleted:
            raise _not_found(run_id)


def default_label(
    strategy: str, params: Mapping[str, Any], exchange: str, symbol: str, timeframe: str
) -> str:
    """A run's name in lists: the strategy's title (its name if it is not a
    built-in), the parameter values, and the market, as in
    "SMA cross 10/20 · binance BTC/USDT 1m"."""
    title = strategy
    if _is_builtin(strategy):
        from terminal.backtest.strategies import BUILTIN

        title = BUILTIN[strategy].title
    values = "/".join(f"{v:g}" if isinstance(v, float) else str(v) for v in params.values())
    return f"{title} {values} · {exchange} {symbol} {timeframe}".replace("  ", " ")


def _is_builtin(strategy: str) -> bool:
    # imported here: the built-ins import the numba kernels, whose cache folder
    # the terminal chooses at start-up before anything imports them
    from terminal.backtest.strategies import BUILTIN

    return strategy in BUILTIN


def _has_runs(conn: sqlite3.Connection) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'backtest_run'"
    return conn.execute(query).fetchone() is not None


# -- rows ----------------------------------------------------------------------------
def _to_json(value: Any) -> str:
    # NaN and infinity (a Sharpe ratio without volatility, a profit factor
    # without losses) are written as JavaScript spells them; json reads them back
    return json.dumps(to_jsonable_python(value), allow_nan=True, separators=(",", ":"))


def _summary(row: tuple[Any, ...]) -> RunSummary:
    run_id = int(row[0])
    try:
        params, settings, metrics = (json.loads(text) for text in (row[5], row[12], row[13]))
    except ValueError as exc:
        raise _damaged(run_id, exc) from exc
    return RunSummary(
        id=run_id,
        created_ms=row[1],
        label=row[2],
        strategy=row[3],
        source_hash=row[4],
        params=params,
        exchange=row[6],
        symbol=row[7],
        timeframe=row[8],
        start_ms=row[9],
        end_ms=row[10],
        bars=row[11],
        settings=settings,
        metrics=metrics,
        trades=row[14],
    )


def _metrics(stored: Mapping[str, Any]) -> Metrics:
    # a run saved before a metric existed reopens with that metric unknown (NaN)
    return Metrics(**{name: stored.get(name, math.nan) for name in Metrics.names()})


# -- blobs ---------------------------------------------------------------------------
def _encode(name: str, array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    raw = buffer.getvalue()
    return raw if name in _STORED_RAW else zlib.compress(raw, 1)


def _decode(blob: bytes) -> np.ndarray:
    raw = blob if blob.startswith(_NPY_MAGIC) else zlib.decompress(blob)
    return np.load(io.BytesIO(raw), allow_pickle=False)


def _check(arrays: Mapping[str, np.ndarray], bars: int) -> None:
    """Raise ``ValueError`` unless the arrays are what a result holds."""
    for name, dtype in _CURVES:
        a = arrays[name]
        if a.dtype != dtype or a.shape != (bars,):
            raise ValueError(f"{name}: {a.dtype}{a.shape}, expected {dtype}({bars},)")
    for name in _TABLES:
        a = arrays[name]
        if a.dtype != TRADE_DTYPE or a.ndim != 1:
            raise ValueError(f"{name}: not a trade table ({a.dtype})")
    if len(arrays["open_trade"]) > 1:
        raise ValueError("more than one open trade")


def _not_found(run_id: int) -> RunNotFoundError:
    return RunNotFoundError(
        f"There is no saved backtest run number {run_id}.", hint="It may have been deleted."
    )


def _damaged(run_id: int, exc: Exception) -> RunDamagedError:
    return RunDamagedError(
        f"The saved backtest run number {run_id} is damaged and cannot be opened.",
        hint="Delete it and run the backtest again.",
        detail=f"{type(exc).__name__}: {exc}",
    )
