"""Strategies from the user's own ``.py`` files in a folder.

Every ``*.py`` file in the folder (not starting with ``_`` or ``.``) is run
as a module; each concrete ``Strategy`` subclass it defines is a strategy,
under its ``name``. ``refresh()`` rescans on demand: a file is reloaded only
when its modification time or size changed *and* its content hash did, so
calling it before each listing is cheap. A file that fails to load (syntax
error, exception at import, a strategy without ``name``, ``title`` or
``Params``, a name already taken) yields a ``StrategyLoadError`` with the
file and line; the other files load regardless.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
import stat
import sys
import traceback
import types
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from terminal.backtest.errors import StrategyLoadError
from terminal.backtest.strategies import BUILTIN, StrategyClass
from terminal.backtest.strategy import Strategy, StrategyParams
from terminal.backtest.user_indicator import Indicator, check_indicator


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    stamp: tuple[int, int]  # (mtime_ns, size): what is compared first, cheaply
    source_hash: str  # sha256 of the file's bytes: saved with a run, decides a reload
    module_name: str
    strategies: tuple[StrategyClass, ...]
    errors: tuple[StrategyLoadError, ...]
    #: the text of the very bytes hashed (UTF-8; an undecodable byte replaced), kept
    #: so that the version a run used can be saved without reading the file again
    source: str = ""
    indicators: tuple[type[Indicator], ...] = ()  # the chart's indicators it defines


class UserStrategies:
    """The strategies of one folder, reloaded when their files change."""

    def __init__(self, folder: str | Path, *, reserved: Collection[str] = tuple(BUILTIN)) -> None:
        self.folder = Path(folder)
        self._reserved = frozenset(reserved)
        self._files: dict[Path, LoadedFile] = {}
        self._strategies: dict[str, tuple[StrategyClass, LoadedFile]] = {}
        self._indicators: dict[str, tuple[type[Indicator], LoadedFile]] = {}
        self._errors: list[StrategyLoadError] = []

    @property
    def strategies(self) -> Mapping[str, StrategyClass]:
        return types.MappingProxyType({name: cls for name, (cls, _) in self._strategies.items()})

    @property
    def indicators(self) -> Mapping[str, type[Indicator]]:
        """The chart indicators the folder's files define, by name."""
        return types.MappingProxyType({name: cls for name, (cls, _) in self._indicators.items()})

    def indicator_path(self, name: str) -> Path:
        return self._indicators[name][1].path

    @property
    def errors(self) -> list[StrategyLoadError]:
        return list(self._errors)

    def source_hash(self, name: str) -> str:
        """The sha256 of the file that defines strategy ``name``."""
        return self._strategies[name][1].source_hash

    def path_of(self, name: str) -> Path:
        return self._strategies[name][1].path

    def source_of(self, name: str) -> str:
        """The text of the file that defines strategy ``name``, as it was hashed and loaded."""
        return self._strategies[name][1].source

    def refresh(self) -> bool:
        """Rescan the folder; True when any strategy or error changed."""
        paths = (
            sorted(p for p in self.folder.glob("*.py") if not p.name.startswith(("_", ".")))
            if self.folder.is_dir()
            else []
        )
        changed = False
        folder_problem = unsafe(self.folder) if paths else ""
        for gone in set(self._files) - set(paths):
            sys.modules.pop(self._files.pop(gone).module_name, None)
            changed = True
        for path in paths:
            old = self._files.get(path)
            problem = folder_problem or unsafe(path)
            if problem:
                # Code that someone else can change is not run as this user's own:
                # checked on every scan, as a chmod leaves the file's stamp alone.
                reason = f"skipped: {problem}"
                if old is None or not old.errors or old.errors[0].reason != reason:
                    if old is not None:
                        sys.modules.pop(old.module_name, None)
                    self._files[path] = _failed(path, (0, 0), "", reason)
                    changed = True
                continue
            try:
                info = path.stat()
                stamp = (info.st_mtime_ns, info.st_size)
                if old is not None and old.stamp == stamp:
                    continue
                data = path.read_bytes()
            except OSError as exc:
                if old is not None:
                    sys.modules.pop(old.module_name, None)
                self._files[path] = _failed(path, (0, 0), "", f"cannot be read ({exc.strerror or exc})")
                changed = True
                continue
            digest = hashlib.sha256(data).hexdigest()
            if old is not None and old.source_hash == digest:
                self._files[path] = _replace_stamp(old, stamp)
                continue
            if old is not None:
                sys.modules.pop(old.module_name, None)
            self._files[path] = _load(path, stamp, digest, data)
            changed = True
        if changed:
            self._collect()
        return changed

    def _collect(self) -> None:
        self._strategies = {}
        self._indicators = {}
        self._errors = []
        for path in sorted(self._files):
            loaded = self._files[path]
            self._errors.extend(loaded.errors)
            for cls in loaded.strategies:
                taken = cls.name in self._reserved or cls.name in self._strategies
                if taken:
                    self._errors.append(
                        _class_error(
                            cls, path, f"the strategy name {cls.name!r} is already taken; choose another"
                        )
                    )
                else:
                    self._strategies[cls.name] = (cls, loaded)
            for ind in loaded.indicators:
                key = ind.name.upper()
                if key in self._indicators:
                    self._errors.append(
                        _class_error(
                            ind, path, f"the indicator name {ind.name!r} is already taken; choose another"
                        )
                    )
                else:
                    self._indicators[key] = (ind, loaded)


def unsafe(path: Path) -> str:
    """Why a strategy file or folder must not be run, or "" (POSIX: owned by
    another user, or writable by the group or by anyone). A program someone else
    can change would run with this user's rights; on Windows the folder's access
    list is the user's profile's, and nothing is checked here."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return ""
    try:
        info = path.stat()
    except OSError as exc:
        return f"cannot be checked ({exc.strerror or exc})"
    what = f"its folder {path}" if path.is_dir() else "it"  # the error names the file already
    if info.st_uid != getuid():
        return f"{what} belongs to another user"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return (
            f"{what} can be changed by other users (mode {stat.filemode(info.st_mode)}); "
            f"make it yours alone: chmod go-w '{path}'"
        )
    return ""


def _replace_stamp(old: LoadedFile, stamp: tuple[int, int]) -> LoadedFile:
    return LoadedFile(
        old.path,
        stamp,
        old.source_hash,
        old.module_name,
        old.strategies,
        old.errors,
        old.source,
        old.indicators,
    )


def _failed(
    path: Path, stamp: tuple[int, int], digest: str, message: str, line: int | None = None, detail: str = ""
) -> LoadedFile:
    error = StrategyLoadError(message, path=str(path), line=line, detail=detail)
    return LoadedFile(path, stamp, digest, "", (), (error,))


#: a loaded file's module keeps the text it ran under this name (a cluster's workers
#: get that text, whatever the file holds by then)
SOURCE_ATTRIBUTE = "__terminal_source__"


def loaded_source(strategy: type) -> tuple[str, str] | None:
    """(file name, the text that ran) of a strategy loaded from a user's file, else None."""
    module = sys.modules.get(strategy.__module__)
    text = getattr(module, SOURCE_ATTRIBUTE, None)
    if module is None or not isinstance(text, str):
        return None
    return Path(str(module.__file__)).name, text


def _module_name(path: Path, digest: str) -> str:
    stem = re.sub(r"\W", "_", path.stem)
    return f"user_strategy_{stem}_{digest[:12]}"


def _load(path: Path, stamp: tuple[int, int], digest: str, data: bytes) -> LoadedFile:
    try:
        code = compile(data, str(path), "exec")
    except SyntaxError as exc:
        return _failed(path, stamp, digest, f"syntax error: {exc.msg}", exc.lineno)
    except ValueError as exc:  # e.g. a NUL byte in the file
        return _failed(path, stamp, digest, f"cannot be compiled: {exc}")
    name = _module_name(path, digest)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.__dict__[SOURCE_ATTRIBUTE] = data.decode("utf-8", errors="replace")  # the text that ran
    # in sys.modules while it runs: pydantic and dataclasses look their module up there
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except Exception as exc:  # noqa: BLE001 (whatever the user's code raises is reported, not raised)
        sys.modules.pop(name, None)
        return _failed(
            path,
            stamp,
            digest,
            f"{type(exc).__name__} while loading: {exc}",
            _line_in(exc, path),
            "".join(traceback.format_exception(exc)),
        )
    found: list[StrategyClass] = []
    indicators: list[type[Indicator]] = []
    errors: list[StrategyLoadError] = []
    # a strategy and an indicator of the file are checked alike: the abstract method it
    # must define, then the class attributes it needs
    kinds: tuple[tuple[type, str, Callable[[Any], str], list[Any]], ...] = (
        (Indicator, "compute", check_indicator, indicators),
        (Strategy, "signals", _check_class, found),
    )
    for obj in list(module.__dict__.values()):
        if not (isinstance(obj, type) and obj.__module__ == name):
            continue
        for base, method, check, into in kinds:
            if not issubclass(obj, base):
                continue
            if inspect.isabstract(obj):
                if method in getattr(obj, "__abstractmethods__", ()):
                    why = f"{obj.__name__} defines no {method}(self, candles) method"
                    errors.append(_class_error(obj, path, why))
            elif problem := check(obj):
                errors.append(_class_error(obj, path, problem))
            else:
                into.append(obj)
            break
    if not found and not indicators and not errors:
        errors.append(StrategyLoadError("defines no Strategy (or Indicator) subclass", path=str(path)))
    text = data.decode("utf-8", errors="replace")
    return LoadedFile(path, stamp, digest, name, tuple(found), tuple(errors), text, tuple(indicators))


def _check_class(cls: type[Strategy[Any]]) -> str:
    label = cls.__name__
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return f'{label} needs a name: a class attribute like name = "my_strategy" (letters, digits, _)'
    if not isinstance(getattr(cls, "title", None), str):
        return f'{label} needs a title: a class attribute like title = "My strategy"'
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and issubclass(params, StrategyParams)):
        return f"{label} needs Params: a StrategyParams subclass declaring its parameters"
    try:
        params()
    except ValidationError as exc:
        return f"{label}.Params has no valid defaults: {exc.errors()[0]['msg']}"
    return ""


def _class_error(cls: type, path: Path, message: str) -> StrategyLoadError:
    try:
        line: int | None = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        line = None
    return StrategyLoadError(message, path=str(path), line=line)


def _line_in(exc: BaseException, path: Path) -> int | None:
    """The line of ``path`` deepest in the traceback (where the user's code failed)."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == str(path):
            line = frame.lineno
    if line is None and isinstance(exc, SyntaxError) and exc.filename == str(path):
        line = exc.lineno
    return line
