"""User strategies run in a process of their own, which holds no keys.

A user strategy is a program: it can do whatever the user can. Run inside
the terminal's GUI process, it could find the live exchange object and read
its ``apiKey`` and ``secret``, or send orders past the confirmation and the
risk checks. So the terminal never runs user code there: ``StrategyWorker``
starts a separate process with ``spawn`` (a fresh interpreter: nothing of
the parent's memory is copied, unlike ``fork``), which loads the strategies
folder, describes each strategy (name, title, parameters) and runs its
backtests. The process gets candles, parameters and settings, never keys
or exchange objects, and its environment holds none (keys live only in the
OS keyring).

One process serves one folder, one request at a time, over a pipe. A
backtest's progress comes back on the same pipe, and a cancel goes the other
way; the worker's engine checks for it between chunks of bars. If the process
dies (a strategy calls ``os._exit``, crashes the interpreter, or is killed),
the call raises ``StrategyWorkerDiedError`` and the next call starts a new
process. Research trials (sweeps, walk-forward) use the same worker.

Calls block; the backtest queue makes them from a worker thread.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, create_model

from terminal.backtest.errors import BacktestCancelled, BacktestError, StrategyLoadError
from terminal.backtest.result import BacktestResult
from terminal.backtest.runner import CancelToken, Progress, run_backtest
from terminal.backtest.settings import BacktestSettings
from terminal.backtest.strategies import StrategyClass
from terminal.backtest.strategy import ParamSpec, Strategy, StrategyParams, param_specs
from terminal.errors import TerminalError
from terminal.marketdata.candles import OHLCV

log = logging.getLogger(__name__)

POLL_S = 0.05  # how often a waiting call looks at the pipe, the cancel token and the process
START_TIMEOUT_S = 60.0  # a fresh interpreter imports numpy, numba and pydantic first
SIMPLE_KINDS = (bool, int, float, str)


class StrategyWorkerDiedError(BacktestError):
    """The strategies' process ended in the middle of a request."""


@dataclass(frozen=True)
class StrategyInfo:
    """A user strategy as the GUI needs it, with no user code attached."""

    name: str
    title: str
    summary: str
    path: str
    source_hash: str
    specs: tuple[ParamSpec, ...]
    #: the file's text as hashed (data for the GUI: kept as a version, never run there)
    source: str = ""
    #: the class's ``chart_indicators`` (plain text: the GUI formats and checks them)
    chart_indicators: tuple[str, ...] = ()

    def params_model(self) -> type[StrategyParams]:
        """A parameter model with the strategy's fields, types, defaults and bounds, for
        the form's checks as the user types. Rules between fields (``fast < slow``) are
        the strategy's own code: the worker checks them when the run starts."""
        fields: dict[str, Any] = {}
        for spec in self.specs:
            bounds: dict[str, Any] = {}
            if spec.minimum is not None:
                bounds["gt" if spec.exclusive_minimum else "ge"] = spec.minimum
            if spec.maximum is not None:
                bounds["lt" if spec.exclusive_maximum else "le"] = spec.maximum
            described = Field(default=spec.default, description=spec.description or None, **bounds)
            fields[spec.name] = (spec.kind, described)
        model: type[StrategyParams] = create_model(f"{self.name}_params", __base__=StrategyParams, **fields)
        return model

    def stand_in(self) -> type[WorkerStrategy]:
        """A strategy class for the GUI's lists, forms and runs: this description, no
        code (a run of it goes to the worker)."""
        attributes = {
            "name": self.name, "title": self.title, "summary": self.summary,
            "Params": self.params_model(), "info": self, "chart_indicators": self.chart_indicators,
        }  # fmt: skip
        return type(f"UserStrategy_{self.name}", (WorkerStrategy,), attributes)


class WorkerStrategy(Strategy[StrategyParams]):
    """A user strategy as the GUI process knows it. Its ``signals`` never run here."""

    info: ClassVar[StrategyInfo]

    def signals(self, candles: OHLCV) -> Any:
        raise BacktestError(f"The user strategy {self.name!r} runs in the strategies' process only.")


Runner = Callable[..., BacktestResult]  # run_backtest's signature


def runner_with(worker: StrategyWorker, inner: Runner = run_backtest) -> Runner:
    """A backtest queue's runner that sends user strategies to ``worker`` and runs
    the built-ins (the terminal's own code) with ``inner``, in place."""

    def run(
        candles: OHLCV,
        strategy: Strategy[Any] | StrategyClass | str,
        params: StrategyParams | Mapping[str, Any] | None = None,
        settings: BacktestSettings | None = None,
        *,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> BacktestResult:
        if isinstance(strategy, type) and issubclass(strategy, WorkerStrategy):
            return worker.run(candles, strategy.name, params, settings, progress=progress, cancel=cancel)
        return inner(candles, strategy, params, settings, progress=progress, cancel=cancel)

    return run


@dataclass(frozen=True)
class IndicatorInfo:
    """A user's chart indicator as the GUI needs it (its code stays in the worker)."""

    name: str  # upper case: the palette's key
    title: str
    lines: tuple[str, ...]
    pane: bool
    levels: tuple[float, ...]
    lookback: int | str  # bars, or the parameter that says how many
    specs: tuple[ParamSpec, ...]
    path: str


@dataclass(frozen=True)
class FolderScan:
    """What loading the strategies folder found."""

    strategies: tuple[StrategyInfo, ...] = ()
    errors: tuple[StrategyLoadError, ...] = ()
    indicators: tuple[IndicatorInfo, ...] = ()


@dataclass
class StrategyWorker:
    """The process that loads and runs the user strategies of ``folder``."""

    folder: Path
    _process: Any = None  # multiprocessing's SpawnProcess (its type is not public)
    _conn: Connection | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.is_alive() else None

    def scan(self) -> FolderScan:
        """Load the folder (files that changed since the last scan) and describe it."""
        scan: FolderScan = self._call(("scan",))
        return scan

    def run(
        self,
        candles: OHLCV,
        name: str,
        params: StrategyParams | Mapping[str, Any] | None = None,
        settings: BacktestSettings | None = None,
        *,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
    ) -> BacktestResult:
        """Backtest the user strategy ``name`` in the worker (``run_backtest``'s terms)."""
        values = params.model_dump() if isinstance(params, StrategyParams) else dict(params or {})
        request = ("run", candles, name, values, settings or BacktestSettings())
        result: BacktestResult = self._call(request, progress=progress, cancel=cancel)
        return result

    def indicator(
        self, name: str, params: Mapping[str, Any], candles: OHLCV, *, timeout_s: float | None = None
    ) -> tuple[Any, ...]:
        """The user indicator ``name``'s arrays over ``candles``, computed in the worker; one that
        takes longer than ``timeout_s`` has its process stopped and raises BacktestError."""
        request = ("indicator", name, dict(params), candles)
        arrays: tuple[Any, ...] = self._call(request, timeout_s=timeout_s)
        return arrays

    def close(self) -> None:
        """Stop the process (it is started again by the next call)."""
        with self._lock:
            self._stop()

    # -- the parent's side -------------------------------------------------------------------------
    def _call(
        self,
        request: tuple[Any, ...],
        *,
        progress: Progress | None = None,
        cancel: CancelToken | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        with self._lock:
            conn = self._started()
            deadline = None if timeout_s is None else time.monotonic() + timeout_s
            try:
                conn.send(request)
            except (BrokenPipeError, ConnectionError, EOFError) as exc:
                raise self._died() from exc
            cancel_sent = False
            while True:
                if cancel is not None and not cancel_sent and cancel.is_set():
                    conn.send(("cancel",))
                    cancel_sent = True
                try:
                    ready = conn.poll(POLL_S)
                    message = conn.recv() if ready else None
                except (EOFError, ConnectionError, OSError) as exc:
                    raise self._died() from exc
                if message is None:
                    if not self._process.is_alive():
                        raise self._died()
                    if deadline is not None and time.monotonic() > deadline:
                        self._stop()  # the next call starts a fresh process
                        raise BacktestError(
                            f"{request[1]} took longer than {timeout_s:g} s and was stopped.",
                            hint="Make its compute faster, or its lookback shorter.",
                        )
                    continue
                kind, value = message
                if kind == "progress":
                    if progress is not None:
                        progress(value)
                elif kind == "ok":
                    return value
                else:
                    raise value

    def _started(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self._stop()
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=serve, args=(theirs, str(self.folder)), name="terminal strategies", daemon=True
        )
        process.start()
        theirs.close()
        if not ours.poll(START_TIMEOUT_S):
            process.kill()
            raise StrategyWorkerDiedError(
                "The strategies' process did not start.", hint="Try again; the log may say why."
            )
        ours.recv()  # ("ready", None)
        self._process, self._conn = process, ours
        log.info("Strategies process started (pid %s) for %s", process.pid, self.folder)
        return ours

    def _died(self) -> StrategyWorkerDiedError:
        process = self._process
        if process is not None:
            process.join(1.0)
        code = process.exitcode if process is not None else None
        self._stop()
        log.warning("The strategies' process ended (exit code %s)", code)
        return StrategyWorkerDiedError(
            f"The strategy's process ended unexpectedly (exit code {code}).",
            hint="A strategy may have exited or crashed; the terminal starts a new process next time.",
        )

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(5.0)
        self._process = self._conn = None


# -- the worker's side (runs in the spawned process) ------------------------------------------------
class _PipeCancel:
    """The engine's cancel token in the worker: a ("cancel",) waiting on the pipe."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._set = False

    def is_set(self) -> bool:
        while not self._set and self._conn.poll():
            self._set = self._conn.recv() == ("cancel",)
        return self._set


def serve(conn: Connection, folder: str) -> None:
    """The worker process's loop: one request at a time until the pipe closes."""
    from terminal.backtest.user_strategies import UserStrategies

    user = UserStrategies(folder)
    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request == ("cancel",):
            continue  # for a run that had ended already
        try:
            if request[0] == "scan":
                user.refresh()
                value: Any = _describe(user)
            elif request[0] == "indicator":
                _, name, values, candles = request
                user.refresh()
                indicator = user.indicators.get(name)
                if indicator is None:
                    raise BacktestError(
                        f"There is no user indicator {name!r} in {folder} any more.",
                        hint="Add it again from the palette.",
                    )
                value = indicator.create(values).outputs(candles)
            else:
                _, candles, name, values, settings = request
                user.refresh()
                cls = user.strategies.get(name)
                if cls is None:
                    raise BacktestError(
                        f"There is no user strategy {name!r} in {folder} any more.",
                        hint="Pick the strategy again.",
                    )
                value = run_backtest(
                    candles, cls, values, settings,
                    progress=lambda f: conn.send(("progress", f)), cancel=_PipeCancel(conn),
                )  # fmt: skip
            conn.send(("ok", value))
        except (TerminalError, BacktestCancelled) as exc:
            conn.send(("error", exc))
        except Exception as exc:  # noqa: BLE001 - the parent gets a plain error, the trace as detail
            trace = "".join(traceback.format_exception(exc))
            conn.send(("error", BacktestError(f"{type(exc).__name__}: {exc}", detail=trace)))


def _describe(user: Any) -> FolderScan:
    infos = []
    for name, cls in sorted(user.strategies.items()):
        specs = tuple(_simple(spec) for spec in param_specs(cls.Params))
        summary = getattr(cls, "summary", "") or ""
        path, digest = str(user.path_of(name)), user.source_hash(name)
        chart = getattr(cls, "chart_indicators", ())
        texts = tuple(t for t in chart if isinstance(t, str)) if isinstance(chart, tuple | list) else ()
        infos.append(StrategyInfo(name, cls.title, summary, path, digest, specs, user.source_of(name), texts))
    indicators = []
    for key, ind in sorted(user.indicators.items()):
        specs = tuple(_simple(spec) for spec in param_specs(ind.Params))
        indicators.append(
            IndicatorInfo(
                key, ind.title, tuple(ind.lines), bool(ind.pane), tuple(float(x) for x in ind.levels),
                ind.lookback, specs, str(user.indicator_path(key)),
            )
        )  # fmt: skip
    return FolderScan(tuple(infos), tuple(user.errors), tuple(indicators))


def _simple(spec: ParamSpec) -> ParamSpec:
    """``spec`` with a type the GUI process can load without the user's module."""
    if spec.kind in SIMPLE_KINDS:
        return spec
    default = getattr(spec.default, "value", spec.default)
    kind = type(default) if isinstance(default, SIMPLE_KINDS) else str
    return ParamSpec(
        spec.name, kind, default, spec.minimum, spec.maximum, spec.exclusive_minimum,
        spec.exclusive_maximum, spec.description,
    )  # fmt: skip
