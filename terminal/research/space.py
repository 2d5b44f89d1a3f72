"""A sweep's search space: the parameters that vary, the values each may take,
and the rules between them (``fast < slow``).

A space is data: frozen, picklable, and written as plain values by
``to_dict`` so that a stored study can rebuild it. It knows nothing of how it
is searched (``terminal.research.methods``) or what a trial runs
(``terminal.research.sweep``).

* **Parameters.** ``IntParam`` and ``FloatParam`` are ranges: with a step on
  a linear scale (the grid walks ``low, low + step, ...`` up to ``high``), or
  on a log scale (the grid takes ``points`` values from ``low`` to ``high``
  at a constant ratio; random and Bayesian search draw log-uniformly). A
  float range without a step is continuous: random and Bayesian search only.
  ``BoolParam`` is False/True; ``ChoiceParam`` one of a few values.
* **Strategy and settings.** A name is a strategy parameter, or a backtest
  setting written ``settings.<section>.<field>`` (``settings.stops.stop_loss_pct``):
  ``apply_settings`` puts those into a ``BacktestSettings`` copy.
* **Constraints** (``constraints``) are expressions over the parameter names with numbers,
  comparisons, ``+ - * /``, ``and``, ``or`` and ``not``. They are parsed
  with ``ast`` and evaluated by walking the tree: no ``eval``, no call, no
  attribute but the settings names, so a constraint cannot run code. A
  division by zero gives infinity (numpy's rule), not an error.
* **Grid size** is counted after the constraints by walking only the
  constrained parameters' values, vectorized, and multiplying by the sizes of
  the others; a grid over ``MAX_GRID`` points is refused with a message.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, ClassVar, Literal, get_args, get_origin

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from terminal.backtest.settings import BacktestSettings
from terminal.backtest.strategy import ParamSpec, Strategy, StrategyParams, param_specs
from terminal.research.constraints import SETTINGS, Constraint, SweepError

#: the most points a grid sweep may have, after the constraints
MAX_GRID = 1_000_000
#: the most raw points (before the constraints) of the constrained parameters that counting may walk
MAX_COUNT = 20_000_000
#: raw grid points decoded and tested against the constraints at a time
_BLOCK = 4096

Value = int | float | bool | str


def _clean(x: float) -> float:
    """``x`` to 12 significant digits: ``0.1 + 2 * 0.1`` is the 0.3 a user typed."""
    return float(f"{x:.12g}")


# -- parameters ----------------------------------------------------------------------
class Param(ABC):
    """One parameter of a space. ``size`` is the number of grid values (None: continuous)."""

    name: str
    kind: ClassVar[str]

    @property
    @abstractmethod
    def size(self) -> int | None: ...

    @abstractmethod
    def value(self, index: int) -> Value:
        """The ``index``-th grid value (index 0 is also the first value of a continuous range)."""

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Value:
        """A value drawn at random: uniformly over the grid, log-uniformly on a log scale."""

    @abstractmethod
    def coerce(self, value: Any) -> Value:
        """``value`` in this parameter's type (a stored 3.0 for an int is 3), snapped to the
        step where there is one."""

    @abstractmethod
    def as_dict(self) -> dict[str, Any]: ...

    def grid_values(self) -> tuple[Value, ...]:
        size = self.grid_size()
        return tuple(self.value(i) for i in range(size))

    def grid_size(self) -> int:
        """``size``, or a ``SweepError`` for a continuous range (a grid needs steps)."""
        size = self.size
        if size is None:
            raise SweepError(
                f"The parameter {self.name!r} has no step: a grid needs one.",
                hint="Give it a step, or use random or Bayesian search.",
            )
        return size

    def grid_array(self) -> NDArray[Any]:
        """The grid values as a numpy array, for vectorized constraints."""
        return np.asarray(self.grid_values())


def _check_name(name: str) -> None:
    if not name or not all(part.isidentifier() for part in name.split(".")):
        raise SweepError(f"{name!r} is not a parameter name.")


def _log_points(low: float, high: float, points: int) -> list[float]:
    if low == high or points == 1:
        return [low]
    ratio = high / low
    return [_clean(low * ratio ** (i / (points - 1))) for i in range(points)]


@dataclass(frozen=True)
class IntParam(Param):
    """Whole numbers from ``low`` to ``high``: every ``step``-th, or ``points`` values
    at a constant ratio (``log``)."""

    name: str
    low: int
    high: int
    step: int = 1
    log: bool = False
    points: int = 10
    kind: ClassVar[str] = "int"

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.low > self.high:
            raise SweepError(f"The range of {self.name!r} runs backwards: {self.low} to {self.high}.")
        if self.step < 1:
            raise SweepError(f"The step of {self.name!r} must be 1 or more, not {self.step}.")
        if self.log and (self.low < 1 or self.step != 1 or self.points < 1):
            raise SweepError(
                f"A log scale needs a range above zero and no step ({self.name!r}).",
                hint="Use points for how many values the grid takes.",
            )

    @property
    def size(self) -> int:
        return len(self._log_values()) if self.log else (self.high - self.low) // self.step + 1

    def _log_values(self) -> list[int]:
        return sorted({round(v) for v in _log_points(self.low, self.high, self.points)})

    def value(self, index: int) -> int:
        return self._log_values()[index] if self.log else self.low + index * self.step

    def grid_values(self) -> tuple[Value, ...]:
        return tuple(self._log_values()) if self.log else tuple(range(self.low, self.high + 1, self.step))

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:
            drawn = round(math.exp(rng.uniform(math.log(self.low - 0.5), math.log(self.high + 0.5))))
            return min(max(drawn, self.low), self.high)
        return self.low + self.step * int(rng.integers(self.size))

    def coerce(self, value: Any) -> int:
        number = round(float(value))
        if self.log:
            return number
        return self.low + self.step * round((number - self.low) / self.step)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class FloatParam(Param):
    """Numbers from ``low`` to ``high``: every ``step``, ``points`` values at a constant
    ratio (``log``), or any value (no step: not for a grid)."""

    name: str
    low: float
    high: float
    step: float | None = None
    log: bool = False
    points: int = 10
    kind: ClassVar[str] = "float"

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise SweepError(f"The range of {self.name!r} is not a range: {self.low} to {self.high}.")
        if self.step is not None and not self.step > 0.0:
            raise SweepError(f"The step of {self.name!r} must be above zero, not {self.step}.")
        if self.log and (self.low <= 0.0 or self.step is not None or self.points < 1):
            raise SweepError(
                f"A log scale needs a range above zero and no step ({self.name!r}).",
                hint="Use points for how many values the grid takes.",
            )

    @property
    def size(self) -> int | None:
        if self.log:
            return len(_log_points(self.low, self.high, self.points))
        if self.step is None:
            return None
        return math.floor((self.high - self.low) / self.step + 1e-9) + 1

    def value(self, index: int) -> float:
        if self.log:
            return _log_points(self.low, self.high, self.points)[index]
        return _clean(self.low + index * (self.step or 0.0))

    def grid_values(self) -> tuple[Value, ...]:
        if self.log:
            self.grid_size()
            return tuple(_log_points(self.low, self.high, self.points))
        return super().grid_values()

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        size = self.size
        if size is not None:
            return self.value(int(rng.integers(size)))
        return float(rng.uniform(self.low, self.high))

    def coerce(self, value: Any) -> float:
        number = float(value)
        if self.step is None or self.log:
            return number
        return self.value(round((number - self.low) / self.step))

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class BoolParam(Param):
    """False or True (the grid takes them in that order)."""

    name: str
    kind: ClassVar[str] = "bool"

    def __post_init__(self) -> None:
        _check_name(self.name)

    @property
    def size(self) -> int:
        return 2

    def value(self, index: int) -> bool:
        return (False, True)[index]

    def sample(self, rng: np.random.Generator) -> bool:
        return bool(rng.integers(2))

    def coerce(self, value: Any) -> bool:
        return bool(value)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name}


@dataclass(frozen=True)
class ChoiceParam(Param):
    """One of ``choices`` (text or numbers), in the order given."""

    name: str
    choices: tuple[Value, ...]
    kind: ClassVar[str] = "choice"

    def __post_init__(self) -> None:
        _check_name(self.name)
        object.__setattr__(self, "choices", tuple(self.choices))
        if not self.choices or len(set(self.choices)) != len(self.choices):
            raise SweepError(f"The choices of {self.name!r} must be one or more different values.")

    @property
    def size(self) -> int:
        return len(self.choices)

    def value(self, index: int) -> Value:
        return self.choices[index]

    def sample(self, rng: np.random.Generator) -> Value:
        return self.choices[int(rng.integers(len(self.choices)))]

    def coerce(self, value: Any) -> Value:
        return value

    def grid_array(self) -> NDArray[Any]:
        out = np.empty(len(self.choices), dtype=object)  # text stays text, numbers numbers
        out[:] = self.choices
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "choices": list(self.choices)}


def param_from_dict(data: Mapping[str, Any]) -> Param:
    """The parameter ``Param.as_dict`` wrote."""
    fields = {k: v for k, v in data.items() if k != "kind"}
    kind = data.get("kind")
    if kind == "int":
        return IntParam(**fields)
    if kind == "float":
        return FloatParam(**fields)
    if kind == "bool":
        return BoolParam(**fields)
    if kind == "choice":
        return ChoiceParam(fields["name"], tuple(fields["choices"]))
    raise SweepError(f"{kind!r} is not a kind of parameter.")


# -- the space -----------------------------------------------------------------------
@dataclass(frozen=True)
class Space:
    """The parameters a sweep varies (in this order: the grid varies the last one
    fastest) and the constraints every point must meet. Parameters not in the space
    keep the strategy's (or the settings') value."""

    params: tuple[Param, ...] = ()
    constraints: tuple[str, ...] = ()
    rules: tuple[Constraint, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))
        object.__setattr__(self, "constraints", tuple(self.constraints))
        names = self.names
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise SweepError(f"The parameter {doubled[0]!r} is in the sweep twice.")
        for name in names:
            if name.startswith(SETTINGS):
                _settings_field(name)
        rules = tuple(Constraint.parse(text, names) for text in self.constraints)
        object.__setattr__(self, "rules", rules)
        first = {p.name: np.asarray(p.value(0)) for p in self.params}
        for rule in rules:  # a rule that cannot be computed (text plus a number) fails here, not mid-sweep
            try:
                rule.evaluate(first)
            except (TypeError, ValueError) as exc:
                raise SweepError(
                    f"The constraint {rule.text!r} cannot be computed: {exc}.",
                    hint="Text choices can only be compared with == or !=.",
                ) from None

    # -- editing -------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise SweepError(f"{name!r} is not a parameter of this sweep.")

    def with_param(self, param: Param) -> Space:
        """This space with ``param`` in place of the one of its name (or added last)."""
        if param.name in self.names:
            params = tuple(param if p.name == param.name else p for p in self.params)
        else:
            params = (*self.params, param)
        return Space(params, self.constraints)

    def without(self, name: str) -> Space:
        """This space without ``name`` (which then keeps its fixed value); a constraint
        naming it must go first."""
        self.param(name)
        return Space(tuple(p for p in self.params if p.name != name), self.constraints)

    def with_constraints(self, *texts: str) -> Space:
        return Space(self.params, (*self.constraints, *texts))

    # -- points --------------------------------------------------------------------
    def coerce(self, point: Mapping[str, Any]) -> dict[str, Value]:
        """``point`` (e.g. read back from a store) in the parameters' own types."""
        return {p.name: p.coerce(point[p.name]) for p in self.params}

    def key(self, point: Mapping[str, Any]) -> tuple[Value, ...]:
        """A hashable identity of a point: two proposals of the same values have the same key."""
        return tuple(p.coerce(point[p.name]) for p in self.params)

    def satisfies(self, point: Mapping[str, Any]) -> bool:
        if not self.rules:
            return True
        values = {name: np.asarray(point[name]) for name in self.names}
        return all(bool(rule.evaluate(values)) for rule in self.rules)

    # -- the grid ------------------------------------------------------------------
    def raw_grid_size(self) -> int:
        """Points of the grid before the constraints."""
        return math.prod(p.grid_size() for p in self.params)

    def grid_size(self, limit: int = MAX_GRID) -> int:
        """Points of the grid that meet the constraints; a ``SweepError`` above ``limit``."""
        sizes = [p.grid_size() for p in self.params]
        constrained = sorted({n for rule in self.rules for n in rule.names}, key=self.names.index)
        free = math.prod(
            size for p, size in zip(self.params, sizes, strict=True) if p.name not in constrained
        )
        raw_constrained = math.prod(self.param(n).grid_size() for n in constrained)
        if free > limit or raw_constrained > MAX_COUNT:
            raise SweepError(
                f"The grid has {math.prod(sizes):,} points before the constraints; a grid sweep is "
                f"limited to {limit:,}.",
                hint="Narrow the ranges, widen the steps, or use random or Bayesian search.",
            )
        count = free * (self._count(constrained) if constrained else 1)
        if count > limit:
            raise SweepError(
                f"The grid has {count:,} points that meet the constraints; a grid sweep is limited to "
                f"{limit:,}.",
                hint="Narrow the ranges, widen the steps, or use random or Bayesian search.",
            )
        return count

    def _count(self, names: Sequence[str]) -> int:
        params = [self.param(n) for n in names]
        sizes = [p.grid_size() for p in params]
        arrays = [p.grid_array() for p in params]
        total = math.prod(sizes)
        count = 0
        for start in range(0, total, 1 << 18):
            digits = _decode(np.arange(start, min(start + (1 << 18), total), dtype=np.int64), sizes)
            values = {p.name: arr[d] for p, arr, d in zip(params, arrays, digits, strict=True)}
            count += int(np.count_nonzero(self._mask(values, len(digits[0]))))
        return count

    def _mask(self, values: Mapping[str, Any], n: int) -> NDArray[np.bool_]:
        mask = np.ones(n, dtype=np.bool_)
        for rule in self.rules:
            mask &= np.broadcast_to(np.asarray(rule.evaluate(values), dtype=np.bool_), (n,))
        return mask

    def iter_grid(self, start: int = 0) -> Iterator[tuple[int, dict[str, Value]]]:
        """(raw index, point) of every grid point that meets the constraints, from raw
        index ``start`` on, in order: the first parameter varies slowest. The raw index
        is a point's position in the grid before the constraints, so a walk can resume
        from one."""
        sizes = [p.grid_size() for p in self.params]
        arrays = [p.grid_array() for p in self.params] if self.rules else []
        total = math.prod(sizes)
        for block in range(start, total, _BLOCK):
            raw = np.arange(block, min(block + _BLOCK, total), dtype=np.int64)
            digits = _decode(raw, sizes)
            if self.rules:
                values = {p.name: arr[d] for p, arr, d in zip(self.params, arrays, digits, strict=True)}
                keep = np.flatnonzero(self._mask(values, len(raw)))
            else:
                keep = np.arange(len(raw))
            for j in keep:
                point = {p.name: p.value(int(d[j])) for p, d in zip(self.params, digits, strict=True)}
                yield int(raw[j]), point

    # -- building ------------------------------------------------------------------
    @classmethod
    def from_strategy(
        cls, strategy: type[Strategy[Any]] | type[StrategyParams], settings: Sequence[str] = ()
    ) -> Space:
        """A space prefilled from a strategy's parameter model: each number from its lower
        to its upper bound (ints every 1, floats in ten steps), booleans and choices
        whole, plus the named ``settings`` parameters at their ``SETTINGS_PARAMS`` ranges.
        A parameter that cannot be ranged (text, or a number without bounds or with a
        default of zero) stays at its default. Edit the result to narrow it."""
        model = strategy.Params if isinstance(strategy, type) and issubclass(strategy, Strategy) else strategy
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise SweepError(f"{strategy!r} is not a strategy or a parameter model.")
        params = []
        for spec in param_specs(model):
            param = prefill(spec, model.model_fields[spec.name].annotation)
            if param is not None:
                params.append(param)
        params.extend(settings_param(name) for name in settings)
        return cls(tuple(params))

    def to_dict(self) -> dict[str, Any]:
        return {"params": [p.as_dict() for p in self.params], "constraints": list(self.constraints)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Space:
        return cls(tuple(param_from_dict(p) for p in data["params"]), tuple(data.get("constraints", ())))


def split_point(point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(strategy parameters, ``settings.*`` values) of a point."""
    strategy = {k: v for k, v in point.items() if not k.startswith(SETTINGS)}
    settings = {k: v for k, v in point.items() if k.startswith(SETTINGS)}
    return strategy, settings


def _decode(raw: NDArray[np.int64], sizes: Sequence[int]) -> list[NDArray[np.int64]]:
    """Raw grid indices to one index array per parameter (the last varies fastest)."""
    digits: list[NDArray[np.int64]] = []
    rest = raw
    for size in reversed(sizes):
        rest, digit = np.divmod(rest, size)
        digits.append(digit)
    return digits[::-1]


def prefill(spec: ParamSpec, annotation: Any = None) -> Param | None:
    """A parameter over the model's whole range of one field, or None if it has none."""
    kind = spec.kind
    if kind is bool:
        return BoolParam(spec.name)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return ChoiceParam(spec.name, tuple(member.value for member in kind))
    if get_origin(annotation) is Literal:
        return ChoiceParam(spec.name, get_args(annotation))
    if kind not in (int, float):
        return None
    low, high = spec.minimum, spec.maximum
    default = spec.default if isinstance(spec.default, int | float) else None
    if low is None or high is None:
        if default is None or default <= 0:
            return None
        low = default / 2 if low is None else low
        high = default * 2 if high is None else high
    if kind is int:
        lo = math.floor(low) + 1 if spec.exclusive_minimum and low == math.floor(low) else math.ceil(low)
        hi = math.ceil(high) - 1 if spec.exclusive_maximum and high == math.ceil(high) else math.floor(high)
        return IntParam(spec.name, lo, hi) if lo <= hi else None
    step = _clean((high - low) / 10) or 1.0
    flo = _clean(low + step) if spec.exclusive_minimum else low
    fhi = _clean(high - step) if spec.exclusive_maximum else high
    return FloatParam(spec.name, flo, fhi, step) if flo <= fhi else None


# -- backtest settings as parameters -------------------------------------------------
#: the settings a sweep can vary, each prefilled with a range a trader would try
SETTINGS_PARAMS: Mapping[str, Param] = {
    p.name: p
    for p in (
        FloatParam("settings.stops.stop_loss_pct", 0.5, 10.0, 0.5),
        FloatParam("settings.stops.take_profit_pct", 0.5, 20.0, 0.5),
        FloatParam("settings.stops.stop_loss_atr", 0.5, 5.0, 0.5),
        FloatParam("settings.stops.take_profit_atr", 1.0, 10.0, 0.5),
        IntParam("settings.stops.atr_period", 5, 50, 5),
        FloatParam("settings.sizing.fraction", 0.1, 1.0, 0.1),
        FloatParam("settings.sizing.risk_fraction", 0.005, 0.05, 0.005),
        ChoiceParam("settings.direction", ("both", "long", "short")),
    )
}


def settings_param(name: str) -> Param:
    """The prefilled parameter for backtest setting ``name`` (``settings.stops.stop_loss_pct``)."""
    found = SETTINGS_PARAMS.get(name)
    if found is None:
        raise SweepError(
            f"{name!r} is not a setting a sweep varies.", hint=f"These are: {', '.join(SETTINGS_PARAMS)}."
        )
    return found


def _settings_field(name: str) -> tuple[str, ...]:
    """The field path of a settings parameter, checked against the settings model."""
    path = tuple(name.removeprefix(SETTINGS).split("."))
    model: Any = BacktestSettings
    for i, part in enumerate(path):
        fields = model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) else {}
        if part not in fields:
            raise SweepError(f"The backtest settings have no {'.'.join(path[: i + 1])!r} ({name!r}).")
        model = fields[part].annotation
    if isinstance(model, type) and issubclass(model, BaseModel):
        raise SweepError(f"{name!r} is a group of settings; name one of its fields.")
    return path


def apply_settings(settings: BacktestSettings, values: Mapping[str, Any]) -> BacktestSettings:
    """``settings`` with the ``settings.*`` values of a point, validated as a whole.

    Not ``model_copy(update=...)``: it checks nothing, and a point may break a
    bound or a rule between fields (a stop as a percentage while the base
    settings set it in ATR multiples); validated, that trial fails with the
    model's own message."""
    if not values:
        return settings
    data = settings.model_dump()
    for name, value in values.items():
        *sections, last = _settings_field(name)
        target = data
        for section in sections:
            target = target[section]
        target[last] = value
    return BacktestSettings.model_validate(data)
