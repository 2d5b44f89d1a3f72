"""Studies: a sweep kept in the history file as it runs, so that it resumes after
the terminal was closed or killed with no trial lost or run twice, and the trial
cache, so that the same trial is never computed twice, across studies and sessions
(docs/research.md, "Studies, resume and the cache").

    studies = StudyStore(candle_store)
    study_id = studies.create(new_study(candles, "sma_cross", space, exchange="binance",
                                        symbol="BTC/USDT", timeframe="1m", budget=500, method="tpe"))
    result = run_study(studies, study_id, candles)          # the same call resumes it
    studies.list(), studies.load(study_id).trials

A study is a ``study`` row (its definition: ``StudySpec``) and one ``study_trial`` row
per completed trial, each written in its own small transaction as the trial completes
(``run_sweep``'s ``on_trial``): a SIGKILL loses at most the trials under way.
``run_study`` hands the stored trials to ``run_sweep`` as ``completed``, which
rebuilds the search method from them and numbers the new trials after them; the
unique (study, number) pair keeps a trial from being stored twice.

The cache (``trial_cache``) maps ``fingerprint.trial_key`` (data, strategy name and
source hash, parameters, settings) to the outcome: light metrics or the error, and the
daily returns. ``run_sweep`` asks it before each trial (its ``cache`` hook); a hit is
not computed. The outcome of a computed trial goes into the cache in the same
transaction as the trial.

Every call blocks, as ``RunStore``'s do: the UI calls them from a worker thread.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic_core import to_jsonable_python

from terminal import __version__
from terminal.backtest.runner import CancelToken
from terminal.backtest.settings import BacktestSettings
from terminal.backtest.strategies import BUILTIN, StrategyClass, strategy_by_name
from terminal.backtest.strategy import Strategy
from terminal.errors import StoreError
from terminal.marketdata.candles import OHLCV
from terminal.research.fingerprint import data_fingerprint, settings_json, trial_key
from terminal.research.folds import check_folds, check_pruning
from terminal.research.methods import MethodKind, make_method
from terminal.research.objectives import Filters, LightMetrics, Objective, objectives_of
from terminal.research.space import Space, SweepError
from terminal.research.sweep import (
    StopReason,
    SweepProgress,
    SweepResult,
    Trial,
    TrialOutcome,
    TrialState,
    run_sweep,
)
from terminal.research.trial_returns import TrialReturns
from terminal.store.candles import CandleStore
from terminal.store.database import Database

if TYPE_CHECKING:
    from terminal.research.cluster.connect import Cluster
    from terminal.research.pool import TrialPool


_KEYS_PER_QUERY = 500  # SQLite's limit of parameters is 999 in older builds


class StudyStatus(StrEnum):
    RUNNING = "running"  # running now, or interrupted (the terminal closed or was killed): resume it
    STOPPED = "stopped"  # early stop: no better trial came for a while
    DONE = "done"  # the budget is spent, or every point was tried
    CANCELLED = "cancelled"


_STATUS_OF = {
    StopReason.BUDGET: StudyStatus.DONE,
    StopReason.EXHAUSTED: StudyStatus.DONE,
    StopReason.EARLY_STOP: StudyStatus.STOPPED,
    StopReason.CANCELLED: StudyStatus.CANCELLED,
}


@dataclass(frozen=True)
class DataRef:
    """The candles a study runs on: the market, the first and last open times, the count,
    and the fingerprint (``fingerprint.data_fingerprint``) that any change alters."""

    exchange: str
    symbol: str
    timeframe: str
    first_ts: int
    last_ts: int
    candles: int
    fingerprint: str

    @classmethod
    def of(cls, candles: OHLCV, exchange: str, symbol: str, timeframe: str) -> DataRef:
        n = len(candles)
        first, last = (int(candles.ts[0]), int(candles.ts[-1])) if n else (0, 0)
        return cls(exchange, symbol, timeframe, first, last, n, data_fingerprint(candles))


@dataclass(frozen=True)
class StudySpec:
    """What a study runs: ``run_sweep``'s inputs, with the strategy named (and the hash
    of its source) and the data referred to, so that it can run again from the file."""

    strategy: str  # a built-in's registry name, or the user strategy's name
    source_hash: str  # a user strategy's file's SHA-256; "builtin:<terminal version>" for a built-in
    data: DataRef
    space: Space
    method: MethodKind = MethodKind.GRID
    objectives: tuple[Objective, ...] = (Objective.SHARPE,)
    filters: Filters = field(default_factory=Filters)
    settings: BacktestSettings = field(default_factory=BacktestSettings)
    params: Mapping[str, Any] = field(default_factory=dict)  # the strategy parameters the space does not vary
    budget: int | None = None
    early_stop: int | None = None
    seed: int = 0
    label: str = ""
    folds: int = 1  # each trial scored over this many consecutive parts of the candles
    prune: bool = False  # optuna's median pruner may stop a trial between folds


@dataclass(frozen=True)
class StudySummary:
    """A study as a list shows it: its definition, where it stands, how many trials."""

    id: int
    created_ms: int
    updated_ms: int
    spec: StudySpec
    status: StudyStatus
    message: str  # the sweep's stop message ("stopped: no better trial in the last 50")
    trials: int


@dataclass(frozen=True)
class Study:
    summary: StudySummary
    trials: tuple[Trial, ...]  # by number, as they completed


@dataclass(frozen=True)
class CachedOutcome:
    """A trial's outcome as the cache keeps it."""

    metrics: LightMetrics | None
    error: str
    seconds: float  # how long it took when it was computed
    daily: TrialReturns | None
    folds: tuple[float, ...] = ()  # a folded trial's first objective after each fold

    def outcome(self, objectives: Sequence[Objective]) -> TrialOutcome:
        """As ``evaluate`` would return it for ``objectives`` (no time spent: nothing ran)."""
        if self.metrics is None:
            return TrialOutcome(None, tuple(math.nan for _ in objectives), self.error, 0.0, self.daily)
        values = tuple(float(getattr(self.metrics, o.value)) for o in objectives)
        return TrialOutcome(self.metrics, values, "", 0.0, self.daily, folds=self.folds)


class StudyNotFoundError(StoreError):
    """No study has this id (it was deleted, or never made)."""


class StudyDamagedError(StoreError):
    """A study's stored rows cannot be read back."""


class StudyConflictError(StoreError):
    """A trial number is stored already: the study runs somewhere else too."""


def builtin_hash() -> str:
    """What a built-in strategy's runs and studies record as its source hash."""
    return f"builtin:{__version__}"


# -- the store -----------------------------------------------------------------------
#: the key of a folded trial's values after each fold in its metrics' JSON
_FOLDS = "folds"
_STUDY_COLUMNS = (
    "id", "created_ms", "updated_ms", "label", "strategy", "source_hash", "exchange", "symbol",
    "timeframe", "first_ts", "last_ts", "candles", "fingerprint", "method", "seed", "space",
    "objectives", "filters", "params", "settings", "budget", "early_stop", "status", "message", "folds",
    "prune",
)  # fmt: skip
_TRIAL_COLUMNS = (
    "number", "params", "objective_values", "metrics", "state", "reason", "violation", "seconds",
    "repeat_of", "first_day", "daily",
)  # fmt: skip
_DATA_COLUMNS = ("exchange", "symbol", "timeframe", "first_ts", "last_ts", "candles", "fingerprint")
_CACHE_COLUMNS = ("key", "created_ms", "metrics", "error", "seconds", "first_day", "daily")

_INSERT_STUDY = (
    f"INSERT INTO study ({', '.join(_STUDY_COLUMNS[1:])}) "
    f"VALUES ({', '.join('?' * (len(_STUDY_COLUMNS) - 1))})"
)
_INSERT_TRIAL = (
    f"INSERT INTO study_trial (study_id, {', '.join(_TRIAL_COLUMNS)}) "
    f"VALUES (?, {', '.join('?' * len(_TRIAL_COLUMNS))}) ON CONFLICT DO NOTHING"
)
#: a key already there is the same computation, or an entry that could not be read back
#: (then it was computed again): either way the new outcome takes its place
_INSERT_CACHE = (
    f"INSERT OR REPLACE INTO trial_cache ({', '.join(_CACHE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_CACHE_COLUMNS))})"
)
_SELECT_STUDY = (
    f"SELECT {', '.join('s.' + c for c in _STUDY_COLUMNS)}, "
    "(SELECT count(*) FROM study_trial t WHERE t.study_id = s.id) FROM study s"
)


class StudyStore:
    """Studies and the trial cache in the history file that ``store`` holds open."""

    def __init__(self, store: CandleStore | Database) -> None:
        self.database = store.database if isinstance(store, CandleStore) else store

    def create(self, spec: StudySpec) -> int:
        """Keep a new study (status running, no trials) and return its id."""
        now = _now_ms()
        data = spec.data
        row = (
            now, now, spec.label, spec.strategy, spec.source_hash, data.exchange, data.symbol,
            data.timeframe, data.first_ts, data.last_ts, data.candles, data.fingerprint,
            spec.method.value, spec.seed, _json(spec.space.to_dict()),
            _json([o.value for o in spec.objectives]),
            _json({"min_trades": spec.filters.min_trades, "max_drawdown": spec.filters.max_drawdown}),
            _json(dict(spec.params)), settings_json(spec.settings), spec.budget, spec.early_stop,
            StudyStatus.RUNNING.value, "", spec.folds, spec.prune,
        )  # fmt: skip
        with self.database.writing() as conn:
            study_id = conn.execute(_INSERT_STUDY, row).lastrowid
        assert study_id is not None  # an INSERT into a rowid table always sets it
        return study_id

    def add_trial(self, study_id: int, trial: Trial, *, cache_key: str | None = None) -> None:
        """Keep one completed trial, and with ``cache_key`` its outcome in the cache, in
        one transaction. ``StudyConflictError`` if the study has this trial's number."""
        daily = trial.daily
        row = (
            study_id, trial.number, _json(trial.params), _json(list(trial.values)),
            _metrics_json(trial.metrics, trial.folds),
            trial.state.value, trial.reason, trial.violation, trial.seconds, trial.repeat_of,
            None if daily is None else daily.first_day, None if daily is None else daily.to_bytes(),
        )  # fmt: skip
        cached = None
        if cache_key is not None:
            error = trial.reason if trial.state is TrialState.FAILED else ""
            cached = (cache_key, _now_ms(), row[4], error, trial.seconds, row[-2], row[-1])
        with self.database.writing() as conn:
            if not conn.execute(_INSERT_TRIAL, row).rowcount:
                raise StudyConflictError(
                    f"Trial {trial.number} of study {study_id} is stored already.",
                    hint="The study may be running in another window; let that one finish.",
                )
            conn.execute("UPDATE study SET updated_ms = ? WHERE id = ?", (_now_ms(), study_id))
            if cached is not None:
                conn.execute(_INSERT_CACHE, cached)

    def mark(self, study_id: int, status: StudyStatus, message: str = "") -> None:
        """Set where the study stands (``StudyNotFoundError`` if there is none)."""
        with self.database.writing() as conn:
            changed = conn.execute(
                "UPDATE study SET status = ?, message = ?, updated_ms = ? WHERE id = ?",
                (status.value, message, _now_ms(), study_id),
            ).rowcount
        if not changed:
            raise _not_found(study_id)

    def list(self) -> list[StudySummary]:
        """Every study, the most recently changed first (no trials read)."""
        with self.database.reading() as conn:
            if not _has_studies(conn):  # a file of an older revision, opened read-only
                return []
            rows = conn.execute(f"{_SELECT_STUDY} ORDER BY s.updated_ms DESC, s.id DESC").fetchall()
        return [_summary(row) for row in rows]

    def load(self, study_id: int) -> Study:
        """The study ``study_id`` with its trials in order (one consistent read)."""
        with self.database.reading() as conn:
            conn.execute("BEGIN")  # the study and its trials as of one moment
            try:
                row = conn.execute(f"{_SELECT_STUDY} WHERE s.id = ?", (study_id,)).fetchone()
                trials = conn.execute(
                    f"SELECT {', '.join(_TRIAL_COLUMNS)} FROM study_trial WHERE study_id = ? ORDER BY number",
                    (study_id,),
                ).fetchall()
            finally:
                conn.execute("COMMIT")
        if row is None:
            raise _not_found(study_id)
        summary = _summary(row)
        try:
            return Study(summary, tuple(_trial(t) for t in trials))
        except (ValueError, TypeError, KeyError) as exc:
            raise _damaged(study_id, exc) from exc

    def delete(self, study_id: int) -> None:
        """Delete a study and its trials (the cache keeps their outcomes)."""
        with self.database.writing() as conn:
            if not conn.execute("DELETE FROM study WHERE id = ?", (study_id,)).rowcount:
                raise _not_found(study_id)

    def cached(self, key: str) -> CachedOutcome | None:
        """The cached outcome of the trial ``key`` names, or None."""
        return self.cached_many([key]).get(key)

    def cached_many(self, keys: Sequence[str]) -> dict[str, CachedOutcome]:
        """The cached outcomes of the trials ``keys`` name, by key (the misses left out): a
        sweep's round asks once, not once a trial."""
        found: dict[str, CachedOutcome] = {}
        unique = list(dict.fromkeys(keys))
        with self.database.reading() as conn:
            for i in range(0, len(unique), _KEYS_PER_QUERY):
                chunk = unique[i : i + _KEYS_PER_QUERY]
                rows = conn.execute(
                    "SELECT key, metrics, error, seconds, first_day, daily FROM trial_cache "
                    f"WHERE key IN ({', '.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
                for row in rows:
                    outcome = _cached(row[1:])
                    if outcome is not None:
                        found[row[0]] = outcome
        return found

    def cache_size(self) -> int:
        with self.database.reading() as conn:
            return int(conn.execute("SELECT count(*) FROM trial_cache").fetchone()[0])

    def clear_cache(self) -> int:
        """Forget every cached outcome; how many there were."""
        with self.database.writing() as conn:
            return int(conn.execute("DELETE FROM trial_cache").rowcount)


def _cached(row: Sequence[Any]) -> CachedOutcome | None:
    """One cache row (metrics, error, seconds, first_day, daily); None if unreadable."""
    try:
        metrics, folds = _metrics_of(row[0])
        daily = None if row[4] is None else TrialReturns.from_bytes(row[3], row[4])
    except (ValueError, TypeError):
        return None  # an unreadable entry is a miss: the trial is computed again
    return CachedOutcome(metrics, row[1], float(row[2]), daily, folds)


def _metrics_json(metrics: LightMetrics | None, folds: Sequence[float]) -> str | None:
    """The light metrics as JSON, with a folded trial's value after each fold."""
    if metrics is None:
        return None
    return _json({**metrics.as_dict(), **({_FOLDS: list(folds)} if folds else {})})


def _metrics_of(text: str | None) -> tuple[LightMetrics | None, tuple[float, ...]]:
    if text is None:
        return None, ()
    fields = json.loads(text)
    folds = tuple(float(v) for v in fields.pop(_FOLDS, ()))
    return LightMetrics(**fields), folds


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _json(value: Any) -> str:
    # NaN and infinity (a Sharpe ratio without volatility) as JavaScript spells them
    return json.dumps(to_jsonable_python(value), allow_nan=True, separators=(",", ":"))


def _has_studies(conn: sqlite3.Connection) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'study'"
    return conn.execute(query).fetchone() is not None


def _summary(row: Sequence[Any]) -> StudySummary:
    r = dict(zip(_STUDY_COLUMNS, row, strict=False))
    study_id = int(r["id"])
    try:
        filters = json.loads(r["filters"])
        spec = StudySpec(
            strategy=r["strategy"],
            source_hash=r["source_hash"],
            data=DataRef(*(r[c] for c in _DATA_COLUMNS)),
            space=Space.from_dict(json.loads(r["space"])),
            method=MethodKind(r["method"]),
            objectives=objectives_of(json.loads(r["objectives"])),
            filters=Filters(filters["min_trades"], filters["max_drawdown"]),
            settings=BacktestSettings.model_validate_json(r["settings"]),
            params=json.loads(r["params"]),
            budget=r["budget"],
            early_stop=r["early_stop"],
            seed=r["seed"],
            label=r["label"],
            folds=int(r["folds"]),
            prune=bool(r["prune"]),
        )
        status = StudyStatus(r["status"])
    except (ValueError, TypeError, KeyError, SweepError) as exc:  # ValidationError is a ValueError
        raise _damaged(study_id, exc) from exc
    return StudySummary(study_id, r["created_ms"], r["updated_ms"], spec, status, r["message"], int(row[-1]))


def _trial(row: Sequence[Any]) -> Trial:
    number, params, values, metrics_text, state, reason, violation, seconds, repeat_of, first_day, daily = row
    metrics, folds = _metrics_of(metrics_text)
    return Trial(
        number=int(number),
        params=json.loads(params),
        values=tuple(float(v) for v in json.loads(values)),
        metrics=metrics,
        folds=folds,
        state=TrialState(state),
        reason=reason,
        violation=float(violation),
        seconds=float(seconds),
        repeat_of=repeat_of,
        daily=None if daily is None else TrialReturns.from_bytes(first_day, daily),
    )


def _not_found(study_id: int) -> StudyNotFoundError:
    return StudyNotFoundError(f"There is no study number {study_id}.", hint="It may have been deleted.")


def _damaged(study_id: int, exc: Exception) -> StudyDamagedError:
    return StudyDamagedError(
        f"The study number {study_id} is damaged and cannot be opened.",
        hint="Delete it and run the study again; its trials' outcomes stay in the cache.",
        detail=f"{type(exc).__name__}: {exc}",
    )


# -- making and running ----------------------------------------------------------------
def new_study(
    candles: OHLCV,
    strategy: Strategy[Any] | StrategyClass | str,
    space: Space,
    *,
    exchange: str,
    symbol: str,
    timeframe: str,
    source_hash: str | None = None,
    method: MethodKind | str = MethodKind.GRID,
    objectives: Objective | str | Sequence[Objective | str] = Objective.SHARPE,
    filters: Filters | None = None,
    settings: BacktestSettings | None = None,
    budget: int | None = None,
    early_stop: int | None = None,
    seed: int = 0,
    label: str = "",
    folds: int = 1,
    prune: bool = False,
) -> StudySpec:
    """The definition of a study of ``strategy`` over ``space`` on ``candles``, checked
    as far as it can be without running a trial. ``source_hash`` is a user strategy's
    (``UserStrategies.source_hash``); a built-in's is the terminal's version. A strategy
    instance's parameters are the fixed values of those the space does not vary."""
    cls, params = _strategy_parts(strategy)
    if source_hash is None:
        if cls.name not in BUILTIN:
            raise SweepError(
                f"A study of the user strategy {cls.name!r} needs the hash of its source.",
                hint="Pass UserStrategies.source_hash(name).",
            )
        source_hash = builtin_hash()
    chosen = objectives_of(objectives)
    kind = make_method(method, space, [o.direction for o in chosen], seed=seed).kind  # checks the space
    if kind is not MethodKind.GRID and budget is None:
        raise SweepError("Random and Bayesian search need a budget: the most trials to run.")
    for name, value in (("budget", budget), ("early stop", early_stop)):
        if value is not None and value < 1:
            raise SweepError(f"The {name} must be one trial or more, not {value}.")
    check_folds(len(candles), folds)
    if prune:
        check_pruning(kind, chosen, folds)
    return StudySpec(
        strategy=cls.name,
        source_hash=source_hash,
        data=DataRef.of(candles, exchange, symbol, timeframe),
        space=space,
        method=kind,
        objectives=chosen,
        filters=filters or Filters(),
        settings=settings or BacktestSettings(),
        params=params,
        budget=budget,
        early_stop=early_stop,
        seed=seed,
        label=label,
        folds=folds,
        prune=prune,
    )


def run_study(
    studies: StudyStore,
    study_id: int,
    candles: OHLCV,
    strategy: StrategyClass | str | None = None,
    *,
    source_hash: str | None = None,
    use_cache: bool = True,
    cancel: CancelToken | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    memo: bool = True,
    workers: TrialPool | Cluster | None = None,
    fast: bool = True,
    on_trial: Callable[[Trial], None] | None = None,
    keep_trials: bool = False,
) -> SweepResult:
    """Run the study ``study_id`` on ``candles`` from where it stands: a new one from its
    first trial, an interrupted or stopped one after its stored trials (none runs
    again). Each trial is stored as it completes; with ``use_cache`` the cache is
    asked first. The study is marked with how the sweep stopped; if it fails midway,
    it stays running (interrupted) and resumes from its last stored trial.

    ``candles`` must be the study's (the same fingerprint). ``strategy`` is needed for a
    user strategy (its class, with its current ``source_hash``); a built-in is found by
    name. A strategy whose source changed since the study began is refused: its
    trials would not be comparable. ``cancel``, ``progress``, ``memo``, ``workers`` and
    ``fast`` go to ``run_sweep`` as they are; ``on_trial`` hears each trial once it is stored.
    The trials are streamed to the history file, not kept (unless ``keep_trials``): the
    result holds the best and the front (``studies.load`` reads them all)."""
    study = studies.load(study_id)
    spec = study.summary.spec
    if data_fingerprint(candles) != spec.data.fingerprint:
        raise SweepError(
            f"These candles are not those study {study_id} ran on.",
            hint=f"Load {spec.data.symbol} {spec.data.timeframe} of {spec.data.exchange} as the study had "
            f"them ({spec.data.candles:,} candles), or start a new study on these.",
        )
    cls = strategy_by_name(spec.strategy) if strategy is None or isinstance(strategy, str) else strategy
    if cls.name != spec.strategy:
        raise SweepError(f"Study {study_id} is of the strategy {spec.strategy!r}, not {cls.name!r}.")
    current = source_hash or (builtin_hash() if cls.name in BUILTIN else None)
    if current != spec.source_hash:
        raise SweepError(
            f"The strategy {spec.strategy!r} changed since study {study_id} began.",
            hint="Start a new study with it; the trials of the old version stay in the study and the cache.",
        )
    runner: Strategy[Any] | StrategyClass | str = (
        cls.create(dict(spec.params)) if spec.params else (cls.name if cls.name in BUILTIN else cls)
    )
    base = cls.create(dict(spec.params)).params.model_dump() if spec.params else {}
    # a folded trial's outcome is over its folds: another key than the same point unfolded
    settings_text = settings_json(spec.settings) + (f"|folds={spec.folds}" if spec.folds > 1 else "")

    def key_of(params: Mapping[str, Any]) -> str:
        return trial_key(spec.data.fingerprint, spec.strategy, spec.source_hash, params, settings_text)

    def lookup(points: Sequence[Mapping[str, Any]]) -> list[TrialOutcome | None]:
        keys = [key_of(params) for params in points]
        found = studies.cached_many(keys)
        return [None if (hit := found.get(k)) is None else hit.outcome(spec.objectives) for k in keys]

    def keep(trial: Trial) -> None:
        # its outcome is new: cache it; a pruned one's depends on the trials before it: not
        computed = not trial.cached and trial.repeat_of is None and trial.state is not TrialState.PRUNED
        studies.add_trial(study_id, trial, cache_key=key_of({**base, **trial.params}) if computed else None)
        if on_trial is not None:
            on_trial(trial)

    studies.mark(study_id, StudyStatus.RUNNING)
    result = run_sweep(
        candles,
        runner,
        spec.space,
        method=spec.method,
        objectives=spec.objectives,
        filters=spec.filters,
        settings=spec.settings,
        budget=spec.budget,
        early_stop=spec.early_stop,
        seed=spec.seed,
        completed=study.trials,
        cancel=cancel,
        progress=progress,
        memo=memo,
        on_trial=keep,
        cache=lookup if use_cache else None,
        workers=workers,
        fast=fast,
        keep_trials=keep_trials,  # each is in the history file once stored: memory stays flat
        folds=spec.folds,
        prune=spec.prune,
    )
    studies.mark(study_id, _STATUS_OF[result.stopped], result.message)
    return result


def _strategy_parts(strategy: Strategy[Any] | StrategyClass | str) -> tuple[StrategyClass, dict[str, Any]]:
    """(the strategy's class, the fixed parameter values an instance carries)."""
    if isinstance(strategy, Strategy):
        return type(strategy), strategy.params.model_dump(mode="json")
    if isinstance(strategy, str):
        return strategy_by_name(strategy), {}
    return strategy, {}
