"""The audit trail of trading: every order intent, check result, request,
response, fill, cancel, error and reset, with its time, in the history file
(``trading_journal``, revision 0005).

    journal = TradingJournal(store)              # store: the history file's CandleStore, or None
    journal.record("intent", "simulated", {"intent": intent}, client_order_id=..., symbol=...)
    await journal.flush()                        # written (the broker's close does it)
    journal.entries(account="simulated")         # blocking: from a worker thread
    journal.export_csv(path) / journal.export_json(path)
    AccountJournal(journal, "binance-main", "live").record("cancel", {...}, cid, symbol)  # a broker's pen

``record`` is cheap and never blocks: it turns the payload into JSON text at
once (so a later change to an order cannot alter what was recorded) and
queues the row; a task writes what is queued in one transaction per batch in
a worker thread, in the order recorded. ``flush``/``close`` write what is left,
so closing never loses an entry; a write that fails keeps its rows queued
and is tried again (at the next entry, at ``flush`` and at ``close``).
Without a writable history file the journal lives in memory for the
session (``persisted`` is False), keeping the newest ``memory_limit`` entries.

**No secrets.** Payloads hold orders, checks and the exchange's answers,
never keys: callers pass no credentials, and as a second line of defence
every payload goes through ``terminal.redaction.redact`` (the filter that
keeps keys out of the log) before it is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic_core import to_jsonable_python

from terminal.atomic_file import atomic_text
from terminal.errors import StoreError, TradingError, describe
from terminal.redaction import redact
from terminal.store.candles import CandleStore
from terminal.store.database import Database
from terminal.trading.orders import now_ms

log = logging.getLogger(__name__)

#: "bracket": a bracket or OCO pair as it stands after a change (``terminal.trading.brackets``);
#: "held": a stop the terminal holds for a live account, as it stands (``terminal.trading.live.held``)
JournalKind = Literal[
    "intent", "check", "request", "response", "fill", "cancel", "error", "reset", "bracket", "held"
]
KINDS: tuple[str, ...] = get_args(JournalKind)
BrokerName = Literal["paper", "live"]

MEMORY_LIMIT = 50_000  # entries kept by a journal without a file
RETRY_S = 5.0  # after a failed write, the next try waits at least this long
EXPORT_FORMAT = 1  # of export_json

_COLUMNS = ("id", "ts_ms", "account", "broker", "kind", "client_order_id", "symbol", "payload")
_INSERT = (
    "INSERT INTO trading_journal (ts_ms, account, broker, kind, client_order_id, symbol, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)

Row = tuple[int, str, str, str, str | None, str | None, str]  # as inserted: everything but the id


class JournalExportError(TradingError):
    """The export file could not be written; no partial file is left behind."""

    def __init__(self, message: str, *, hint: str = "", detail: str = "", path: str = "") -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.path = path


@dataclass(frozen=True)
class JournalEntry:
    #: the row's number, in recording order; None while it waits to be written
    id: int | None
    ts_ms: int  # wall-clock time of recording, UTC milliseconds
    account: str
    broker: str  # "paper" or "live"
    kind: str  # one of KINDS
    client_order_id: str | None
    symbol: str | None
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts_ms": self.ts_ms,
            "time": iso_time(self.ts_ms),
            "account": self.account,
            "broker": self.broker,
            "kind": self.kind,
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "payload": self.payload,
        }


def iso_time(ts_ms: int) -> str:
    """``2024-05-01T12:00:00.123Z``."""
    seconds, ms = divmod(ts_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


def to_json(payload: Mapping[str, Any]) -> str:
    """A payload as the journal stores it: JSON, Decimals as strings (exact),
    enums as their values, dataclasses as objects; known secrets masked."""
    text = json.dumps(to_jsonable_python(payload), separators=(",", ":"), allow_nan=False)
    return redact(text)


class TradingJournal:
    def __init__(self, store: CandleStore | None, *, memory_limit: int = MEMORY_LIMIT) -> None:
        writable = store is not None and not store.database.read_only
        self.database: Database | None = store.database if writable and store is not None else None
        self._pending: list[Row] = []
        self._memory: deque[tuple[int, Row]] = deque(maxlen=memory_limit)  # decoded when read
        self._memory_ids = 0
        # guards _pending and _memory: recorded on the loop's thread, written in workers
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one batch at a time, so rows land in recording order
        self._task: asyncio.Task[None] | None = None
        self._failing = False  # the last write failed (logged once per streak)
        self._closed = False
        if self.database is None:
            log.warning("The trading journal is kept in memory only: the history file is not writable.")

    @property
    def persisted(self) -> bool:
        """Entries go to the history file (False: kept in memory for this session)."""
        return self.database is not None

    def use_store(self, store: CandleStore) -> bool:
        """Write to ``store`` from now on (the history file opened after this journal
        began in memory), the entries kept in memory first, in recording order.
        False, changing nothing, if it writes to a file already or ``store`` is read-only."""
        if self.database is not None or store.database.read_only:
            return False
        with self._lock:
            self._pending[:0] = [row for _, row in self._memory]
            self._memory.clear()
            self.database = store.database
        log.info("The trading journal is saved in the history file again.")
        self._schedule()
        return True

    # -- recording ----------------------------------------------------------------------
    def record(
        self,
        kind: JournalKind | str,
        account: str,
        payload: Mapping[str, Any],
        client_order_id: str | None = None,
        symbol: str | None = None,
        *,
        broker: BrokerName = "live",
    ) -> None:
        """Queue one entry (see the module doc). ``kind``: one of ``KINDS``.
        ``payload``: orders, checks, answers; anything pydantic can turn into
        JSON. Never keys. ``broker``: "live" unless told (the paper broker
        says "paper"), so the live broker's ``JournalSink`` calls fit as they are."""
        if kind not in KINDS:
            raise ValueError(f"unknown journal entry kind {kind!r}")
        row: Row = (now_ms(), account, broker, kind, client_order_id, symbol, to_json(payload))
        with self._lock:
            if self.database is None:
                self._memory_ids += 1
                self._memory.append((self._memory_ids, row))
                return
            self._pending.append(row)
        if self._closed:  # late entries (a close already ran) are written at once rather than lost
            self._write_quietly()
        else:
            self._schedule()

    def _schedule(self) -> None:
        if self._task is not None and not self._task.done():
            return  # the running drain takes this row too
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (a script): flush_blocking() or entries() writes them
        self._task = loop.create_task(self._drain(), name="trading-journal")

    async def _drain(self) -> None:
        """Write batches until nothing is queued; after a failure, try again
        every RETRY_S (``flush`` and ``close`` do not wait for that)."""
        while self._has_pending():
            try:
                await asyncio.to_thread(self.flush_blocking)
            except StoreError:
                await asyncio.sleep(RETRY_S)

    def _has_pending(self) -> bool:
        with self._lock:
            return bool(self._pending)

    def flush_blocking(self) -> int:
        """Write every queued entry now (blocking); returns how many. Raises
        ``StoreError`` when the file refuses, keeping them queued."""
        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch or self.database is None:
                return 0
            try:
                with self.database.writing() as conn:
                    conn.executemany(_INSERT, batch)
            except StoreError as exc:
                with self._lock:
                    self._pending[:0] = batch  # back in front: recording order is kept
                if not self._failing:
                    self._failing = True
                    log.warning(
                        "The trading journal could not be saved (%d entries wait): %s",
                        len(batch),
                        describe(exc, detailed=True),
                    )
                raise
            if self._failing:
                self._failing = False
                log.info("The trading journal is being saved again.")
            return len(batch)

    def _write_quietly(self) -> None:
        with contextlib.suppress(StoreError):  # logged by flush_blocking; the rows stay queued
            self.flush_blocking()

    async def flush(self) -> None:
        """Wait until every entry recorded so far is written (or, if the file
        refuses, raise ``StoreError`` with them still queued)."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()  # only its retry sleep is cancellable: a write in a worker finishes
            await asyncio.gather(task, return_exceptions=True)
        await asyncio.to_thread(self.flush_blocking)

    async def close(self) -> None:
        """Write what is left; entries that still cannot be written are
        logged with their count and stay readable through ``entries``."""
        try:
            await self.flush()
        except StoreError:
            with self._lock:
                left = len(self._pending)
            log.error("%d trading journal entries could not be saved to the history file.", left)
        self._closed = True

    # -- reading ------------------------------------------------------------------------
    def entries(
        self,
        account: str | None = None,
        since_ms: int | None = None,
        limit: int | None = None,
        *,
        client_order_id: str | None = None,
        kind: str | None = None,
    ) -> list[JournalEntry]:
        """Entries oldest first (with ``limit``: the newest ``limit`` of them),
        of one account, from ``since_ms`` on, about one order, of one kind.
        Blocking: call it from a worker thread. Everything recorded before the
        call is in it."""
        if self.database is None:
            with self._lock:
                kept = list(self._memory)
            found = [
                e
                for e in (_entry(i, r) for i, r in kept)
                if _matches(e, account, since_ms, client_order_id) and kind in (None, e.kind)
            ]
            return found[-limit:] if limit is not None else found
        self._write_quietly()
        where, args = _where(account, since_ms, client_order_id, kind)
        query = f"SELECT {', '.join(_COLUMNS)} FROM trading_journal {where} ORDER BY id DESC"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        with self.database.reading() as conn:
            rows = conn.execute(query, args).fetchall()
        found = [_entry(int(r[0]), tuple(r[1:])) for r in reversed(rows)]
        with self._lock:  # rows the file refused stay readable
            waiting = [_entry(None, r) for r in self._pending]
        found += [
            e for e in waiting if _matches(e, account, since_ms, client_order_id) and kind in (None, e.kind)
        ]
        return found[-limit:] if limit is not None else found

    # -- export -------------------------------------------------------------------------
    def export_csv(self, path: str | Path, account: str | None = None, since_ms: int | None = None) -> int:
        """Write the entries as CSV (one row each, the payload as JSON text in
        its column); all at once or not at all. Returns the number of rows."""
        found = self.entries(account, since_ms)
        with atomic_text(path, JournalExportError) as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["id", "time", "ts_ms", "account", "broker", "kind", "client_order_id",
                             "symbol", "payload"])  # fmt: skip
            for e in found:
                writer.writerow([
                    "" if e.id is None else e.id, iso_time(e.ts_ms), e.ts_ms, e.account, e.broker, e.kind,
                    e.client_order_id or "", e.symbol or "", json.dumps(e.payload, separators=(",", ":")),
                ])  # fmt: skip
        return len(found)

    def export_json(self, path: str | Path, account: str | None = None, since_ms: int | None = None) -> int:
        """Write the entries as one JSON document (``{"format": 1, "entries":
        [...]}``); all at once or not at all. Returns the number of entries."""
        found = self.entries(account, since_ms)
        document = {"format": EXPORT_FORMAT, "exported": iso_time(now_ms()), "entries": list(_dicts(found))}
        with atomic_text(path, JournalExportError) as f:
            json.dump(document, f, indent=1)
            f.write("\n")
        return len(found)


class AccountJournal:
    """What a broker writes with: ``TradingJournal.record`` for one account and
    broker (None: no journal, nothing is written). A failure to record is
    logged and the order step goes on, unless the entry is ``required`` (the
    live broker sends no intent it could not record) or the journal is
    ``strict`` (the paper broker's every step): then it is raised."""

    def __init__(
        self, journal: TradingJournal | None, account: str, broker: BrokerName, *, strict: bool = False
    ) -> None:
        self.journal = journal
        self.account = account
        self.broker: BrokerName = broker
        self.strict = strict

    def record(
        self,
        kind: JournalKind,
        payload: Mapping[str, Any],
        client_order_id: str | None = None,
        symbol: str | None = None,
        *,
        required: bool = False,
    ) -> None:
        if self.journal is None:
            return
        try:
            self.journal.record(kind, self.account, payload, client_order_id, symbol, broker=self.broker)
        except Exception:
            if required or self.strict:
                raise
            log.exception("the trading journal could not record %s for %s", kind, client_order_id)


def _dicts(entries: list[JournalEntry]) -> Iterator[dict[str, Any]]:
    return (e.to_dict() for e in entries)


def _entry(entry_id: int | None, row: Row) -> JournalEntry:
    ts, account, broker, kind, client_order_id, symbol, payload = row
    return JournalEntry(entry_id, ts, account, broker, kind, client_order_id, symbol, json.loads(payload))


def _matches(e: JournalEntry, account: str | None, since_ms: int | None, client_order_id: str | None) -> bool:
    return (
        (account is None or e.account == account)
        and (since_ms is None or e.ts_ms >= since_ms)
        and (client_order_id is None or e.client_order_id == client_order_id)
    )


def _where(
    account: str | None, since_ms: int | None, client_order_id: str | None, kind: str | None = None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if kind is not None:
        clauses.append("kind = ?")
        args.append(kind)
    if account is not None:
        clauses.append("account = ?")
        args.append(account)
    if since_ms is not None:
        clauses.append("ts_ms >= ?")
        args.append(since_ms)
    if client_order_id is not None:
        clauses.append("client_order_id = ?")
        args.append(client_order_id)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), args
