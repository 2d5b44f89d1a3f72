"""How the backtest's loops are compiled: by numba at run time, or ahead of time.

Every kernel is a plain Python function decorated with ``@compiled(signature)``;
the decorator keeps the function and its signature in ``KERNELS`` and returns
what runs it:

* **numba installed** (from source): ``njit(cache=True, nogil=True)``, exactly as
  before: compiled on first call for the types it meets, cached on disk.
  ``nogil`` lets a worker thread run a backtest while the GUI thread keeps
  painting. ``cache=True`` keeps the machine code between processes (numba
  writes it next to the source, or under ``NUMBA_CACHE_DIR`` when that is set;
  ``terminal.backtest.warmup.configure_cache`` sets it). Where no cache
  location works at all, the functions are compiled without the on-disk cache
  instead of failing to import. The signature is not used on this path.
* **no numba, but the ahead-of-time module** (the frozen build, which leaves
  numba and its 160 MB LLVM out): the function of the same name in
  ``terminal.backtest._kernels_aot``, which ``packaging/aot_kernels.py``
  compiles at build time with ``numba.pycc`` from these same functions and
  signatures (generic x86-64 code, GIL released). Such a function converts
  nothing and checks only an array's item size, so a thin guard checks each
  array argument's dtype, dimensions and layout against the signature first
  (a ``TypeError`` instead of memory read the wrong way).
* **neither**: a stand-in that raises ``BacktestError`` saying what is missing
  when a backtest calls it; the rest of the terminal still works.

A signature is numba's own string form, restricted to the types the kernels
use: ``float64``, ``int64``, ``boolean`` scalars, C-contiguous arrays of them
(``float64[::1]``, ``float64[:, ::1]``) and ``void``, e.g.
``"float64[::1](float64[::1], int64)"``. It must match how every call site
calls the kernel (the JIT would compile another specialisation for other
types; the ahead-of-time module has only this one).
"""

from __future__ import annotations

import functools
import importlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

from terminal.backtest.errors import BacktestError

log = logging.getLogger(__name__)

#: the extension module packaging/aot_kernels.py builds (the frozen build's kernels)
AOT_MODULE = "terminal.backtest._kernels_aot"

_SCALARS = {"float64": np.dtype(np.float64), "int64": np.dtype(np.int64), "boolean": np.dtype(np.bool_)}
_ARRAY = re.compile(r"^(\w+)\[((?::\s*,\s*)*)::1\]$")  # C-contiguous: float64[::1], float64[:, ::1]


@dataclass(frozen=True)
class ArrayArg:
    """An array argument as a signature declares it (always C-contiguous)."""

    dtype: np.dtype[Any]
    ndim: int


@dataclass(frozen=True)
class Kernel:
    """One ``@compiled`` function: what ``packaging/aot_kernels.py`` compiles."""

    name: str  # the function's name: the name it has in the ahead-of-time module
    module: str
    function: Callable[..., Any]  # the plain Python function (numba compiles this)
    signature: str  # numba's string form
    arrays: tuple[tuple[int, ArrayArg], ...]  # (position, type) of each array argument


#: every kernel, by name, as the modules defining them were imported
KERNELS: dict[str, Kernel] = {}


def parse_signature(signature: str) -> tuple[list[ArrayArg | np.dtype[Any]], ArrayArg | np.dtype[Any] | None]:
    """(argument types, return type; None for ``void``) of ``signature``: a
    scalar as its dtype, an array as an ``ArrayArg``. ``ValueError`` for anything
    outside the subset the kernels use."""
    match = re.fullmatch(r"\s*([\w\[\]:,\s]+?)\s*\((.*)\)\s*", signature)
    if match is None:
        raise ValueError(f"not a kernel signature: {signature!r} (expected 'return_type(arg_type, ...)')")
    returns, args = match.groups()
    parts = [part.strip() for part in re.split(r",(?![^\[]*\])", args)] if args.strip() else []
    result = None if returns.strip() == "void" else _parse_type(returns.strip(), signature)
    return [_parse_type(part, signature) for part in parts], result


def _parse_type(text: str, signature: str) -> ArrayArg | np.dtype[Any]:
    if text in _SCALARS:
        return _SCALARS[text]
    array = _ARRAY.match(text)
    if array is not None and array.group(1) in _SCALARS:
        return ArrayArg(_SCALARS[array.group(1)], array.group(2).count(":") + 1)
    raise ValueError(
        f"type {text!r} in {signature!r}: a kernel signature may use float64, int64, boolean "
        "and C-contiguous arrays of them (float64[::1], float64[:, ::1])"
    )


def _load_backend() -> tuple[Literal["numba", "aot", "missing"], Any, str]:
    """(mode, numba's ``njit`` or the ahead-of-time module or None, what is missing)."""
    try:
        from numba import njit
    except ImportError as exc:
        numba_missing = f"numba is not installed ({exc})"
    else:
        return "numba", njit, ""
    try:
        module = importlib.import_module(AOT_MODULE)
    except ImportError as exc:
        return "missing", None, f"{numba_missing}, and the ahead-of-time compiled kernels are missing ({exc})"
    return "aot", module, ""


MODE: Literal["numba", "aot", "missing"]
_backend: Any
_missing: str
MODE, _backend, _missing = _load_backend()
if MODE == "missing":
    log.error("the backtest cannot run: %s", _missing)


def aot_module_file() -> str | None:
    """The ahead-of-time module's file, when that is what runs the kernels."""
    return getattr(_backend, "__file__", None) if MODE == "aot" else None


def compiled[F: Callable[..., Any]](signature: str) -> Callable[[F], F]:
    """The decorated function compiled: by numba (nopython mode, cached, without
    the GIL) when numba is installed, else from the ahead-of-time module.

    ``signature`` (numba's string form) is the one the ahead-of-time build
    compiles for; the JIT ignores it."""
    args, _returns = parse_signature(signature)

    def decorate(fn: F) -> F:
        kernel = Kernel(
            fn.__name__,
            fn.__module__,
            fn,
            signature,
            tuple((i, a) for i, a in enumerate(args) if isinstance(a, ArrayArg)),
        )
        _register(kernel)
        if MODE == "numba":
            return cast(F, _jit(fn))
        if MODE == "aot":
            return cast(F, _from_aot(kernel))
        return cast(F, _unavailable(kernel))

    return decorate


def _register(kernel: Kernel) -> None:
    known = KERNELS.get(kernel.name)
    if known is not None and known.module != kernel.module:
        raise ValueError(
            f"two kernels named {kernel.name} ({known.module} and {kernel.module}): the ahead-of-time "
            "module finds kernels by name, so each needs its own"
        )
    KERNELS[kernel.name] = kernel


def _jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    njit = _backend
    try:
        return cast(Callable[..., Any], njit(cache=True, nogil=True)(fn))
    except RuntimeError as exc:  # numba found no folder for the cache
        log.warning("numba cache unavailable for %s (%s); compiling on each start", fn.__qualname__, exc)
        return cast(Callable[..., Any], njit(cache=False, nogil=True)(fn))


def _from_aot(kernel: Kernel) -> Callable[..., Any]:
    compiled_fn = getattr(_backend, kernel.name, None)
    if compiled_fn is None:
        return _unavailable(
            kernel,
            f"the ahead-of-time compiled kernels ({_backend.__file__}) have no {kernel.name}: they were "
            "built from older sources (packaging/aot_kernels.py builds them)",
        )
    checks = kernel.arrays

    @functools.wraps(kernel.function)
    def checked(*args: Any) -> Any:
        for i, expected in checks:
            a = args[i]
            if not (
                isinstance(a, np.ndarray)
                and a.dtype == expected.dtype
                and a.ndim == expected.ndim
                and a.flags.c_contiguous
            ):
                raise TypeError(
                    f"{kernel.name}: argument {i + 1} must be a C-contiguous {expected.ndim}-d "
                    f"{expected.dtype} array (signature {kernel.signature}), not {_describe(a)}"
                )
        return compiled_fn(*args)

    return checked


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        layout = "C-contiguous" if value.flags.c_contiguous else "non-contiguous"
        return f"a {layout} {value.ndim}-d {value.dtype} array"
    return f"a {type(value).__name__}"


def _unavailable(kernel: Kernel, reason: str | None = None) -> Callable[..., Any]:
    message = (
        "The backtest engine is not available in this installation: "
        f"{reason or _missing}. Reinstall the terminal (from source: pip install numba)."
    )

    @functools.wraps(kernel.function)
    def unavailable(*_args: Any, **_kwargs: Any) -> Any:
        raise BacktestError(message)

    return unavailable
