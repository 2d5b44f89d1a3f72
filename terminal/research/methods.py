"""How a sweep picks its next point: grid, random, and optuna's TPE, CMA-ES and
NSGA-II, behind one ask/tell interface.

The sweep asks a method for a point (``ask``), runs the trial, and tells the
method how it went (``tell``); the method never runs anything itself. optuna
is driven the same way (its ask-and-tell interface, over an in-memory
storage), so the terminal stays the one writer of a study and keeps it where
it wants (the history file), not in optuna's storage.

Every method can be rebuilt from the trials a study already has
(``completed``), which is how a study resumes after the terminal was closed:

* **grid** walks the grid in order (``Space.iter_grid``) and skips the points
  already done, so no point runs twice; ``start`` resumes the walk from a raw
  grid position.
* **random** draws the n-th point from a generator seeded with ``(seed, n)``,
  never a point already tried: rebuilt after n trials it goes on exactly as
  the run that was interrupted would have.
* **TPE, CMA-ES, NSGA-II** are told the completed trials again
  (``study.add_trial``); TPE models only the trials, NSGA-II's generations are
  numbered again as a serial run numbers them, and CMA-ES starts its
  distribution from the best of them (optuna's warm start). Their sampler is
  seeded with ``(seed, trials already done)``: the same study resumed twice
  proposes the same points.

A point that breaks the space's constraints is never proposed: optuna's
proposals that do are told as failed and asked again. A trial that failed, or
whose objective has no value, is told as failed (optuna leaves it out); one
that a filter refused is told with its values and a constraint violation, so
that TPE and NSGA-II learn to avoid the region (CMA-ES, which has no
constraints, is told it failed). optuna's own log is silenced below WARNING.
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from terminal.research.objectives import Direction
from terminal.research.space import (
    BoolParam,
    ChoiceParam,
    FloatParam,
    IntParam,
    Param,
    Space,
    SweepError,
    Value,
)

if TYPE_CHECKING:  # optuna takes half a second to import: only the methods that use it load it
    import optuna
    from optuna.distributions import BaseDistribution

#: draws of a random point before looking for the untried ones by walking the grid
_DRAWS = 200
#: proposals an optuna sampler may make that break the constraints, in a row, before giving up
_REJECTIONS = 1000
#: the name of the filters' constraint in an optuna trial
_FILTERS = "filters"
#: complete trials optuna's median pruner waits for before it prunes one
PRUNE_AFTER = 5


class MethodKind(StrEnum):
    GRID = "grid"
    RANDOM = "random"
    TPE = "tpe"  # Bayesian: tree-structured Parzen estimator
    CMAES = "cmaes"  # evolution strategy over numbers
    NSGA2 = "nsga2"  # genetic, for two objectives

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    MethodKind.GRID: "grid",
    MethodKind.RANDOM: "random",
    MethodKind.TPE: "Bayesian (TPE)",
    MethodKind.CMAES: "CMA-ES",
    MethodKind.NSGA2: "NSGA-II",
}


@dataclass(frozen=True)
class Proposal:
    """A point to try. ``number`` is the method's own: the raw grid position, the
    random draw, optuna's trial number."""

    number: int
    params: dict[str, Value]


@dataclass(frozen=True)
class Completed:
    """A finished trial as a method needs it: its point, its objective values (None
    when it has none: it failed, or a value is NaN) and how far it missed the
    filters (0 when it met them)."""

    params: Mapping[str, Any]
    values: tuple[float, ...] | None
    violation: float = 0.0
    steps: tuple[float, ...] = ()  # with folds: the value after each fold run (optuna's intermediate values)
    pruned: bool = False  # stopped between folds by the pruner

    @property
    def usable(self) -> bool:
        return self.values is not None and not any(math.isnan(v) for v in self.values)


class SearchMethod(ABC):
    kind: ClassVar[MethodKind]

    def __init__(self, space: Space) -> None:
        self.space = space

    @abstractmethod
    def ask(self) -> Proposal | None:
        """The next point to try, or None when no untried point is left."""

    @abstractmethod
    def tell(self, proposal: Proposal, result: Completed) -> None:
        """How the trial of ``proposal`` went."""


def make_method(
    kind: MethodKind | str,
    space: Space,
    directions: Sequence[Direction],
    *,
    seed: int = 0,
    completed: Sequence[Completed] = (),
    prune: bool = False,
) -> SearchMethod:
    """A method of ``kind`` over ``space`` for objectives going ``directions``, rebuilt
    from the ``completed`` trials of a study (in the order they were run). ``prune``
    gives an optuna method optuna's median pruner (``OptunaSearch.report``)."""
    try:
        kind = MethodKind(kind)
    except ValueError:
        names = ", ".join(k.value for k in MethodKind)
        raise SweepError(f"{kind!r} is not a search method.", hint=f"Methods: {names}.") from None
    if seed < 0:
        raise SweepError(f"The seed must be zero or more, not {seed}.")
    if not space.params:
        raise SweepError("The sweep varies no parameter.", hint="Add a range to sweep over.")
    if kind is MethodKind.GRID:
        return GridSearch(space, completed=completed)
    if kind is MethodKind.RANDOM:
        return RandomSearch(space, seed=seed, completed=completed)
    return OptunaSearch(kind, space, directions, seed=seed, completed=completed, prune=prune)


# -- grid ----------------------------------------------------------------------------
class GridSearch(SearchMethod):
    """Every grid point that meets the constraints, in order, each once."""

    kind = MethodKind.GRID

    def __init__(self, space: Space, *, start: int = 0, completed: Sequence[Completed] = ()) -> None:
        super().__init__(space)
        self.total = space.grid_size()  # refuses a grid over the limit before anything runs
        self._done = {space.key(c.params) for c in completed}
        self._pending: set[tuple[Value, ...]] = set()
        self._walk = space.iter_grid(start)
        self.position = start  # the raw grid index the walk goes on from

    def ask(self) -> Proposal | None:
        for index, point in self._walk:
            self.position = index + 1
            key = self.space.key(point)
            if key in self._done or key in self._pending:
                continue
            self._pending.add(key)
            return Proposal(index, point)
        return None

    def tell(self, proposal: Proposal, result: Completed) -> None:
        # the walk never goes back, so a told point needs no keeping: a grid of any size
        # holds only the points resumed and those in flight
        self._pending.discard(self.space.key(proposal.params))


# -- random --------------------------------------------------------------------------
class RandomSearch(SearchMethod):
    """Points drawn at random (uniformly over each range or grid, log-uniformly on a
    log scale), each meeting the constraints, none twice."""

    kind = MethodKind.RANDOM

    def __init__(self, space: Space, *, seed: int = 0, completed: Sequence[Completed] = ()) -> None:
        super().__init__(space)
        self.seed = seed
        self._seen = {space.key(c.params) for c in completed}
        self._draws = len(completed)

    def ask(self) -> Proposal | None:
        number = self._draws
        self._draws += 1
        rng = np.random.default_rng([self.seed, number])
        for _ in range(_DRAWS):
            point = {p.name: p.sample(rng) for p in self.space.params}
            key = self.space.key(point)
            if key not in self._seen and self.space.satisfies(point):
                self._seen.add(key)
                return Proposal(number, point)
        # a small space nearly used up, or constraints few points meet: pick among the rest
        if any(p.size is None for p in self.space.params):
            raise SweepError(
                f"No point that meets the constraints was found in {_DRAWS} random draws.",
                hint="Loosen the constraints or widen the ranges.",
            )
        self.space.grid_size()
        left = [point for _, point in self.space.iter_grid() if self.space.key(point) not in self._seen]
        if not left:
            return None
        point = left[int(rng.integers(len(left)))]
        self._seen.add(self.space.key(point))
        return Proposal(number, point)

    def tell(self, proposal: Proposal, result: Completed) -> None:
        pass  # the point was marked as seen when it was drawn


# -- optuna --------------------------------------------------------------------------
class OptunaSearch(SearchMethod):
    """TPE, CMA-ES or NSGA-II through optuna's ask-and-tell, over an in-memory study."""

    def __init__(
        self,
        kind: MethodKind,
        space: Space,
        directions: Sequence[Direction],
        *,
        seed: int = 0,
        completed: Sequence[Completed] = (),
        prune: bool = False,
    ) -> None:
        super().__init__(space)
        _check(kind, space, directions)
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.kind = kind  # type: ignore[misc]  # one class for three kinds
        self._optuna = optuna
        self._distributions = {p.name: distribution(p) for p in space.params}
        self._constrained = kind is not MethodKind.CMAES
        self._asked: dict[int, optuna.Trial] = {}
        history = self._history(completed)
        sampler = self._sampler(kind, _resume_seed(seed, len(completed)), history)
        self._study = optuna.create_study(
            storage=optuna.storages.InMemoryStorage(),
            sampler=sampler,
            pruner=optuna.pruners.MedianPruner(n_startup_trials=PRUNE_AFTER) if prune else None,
            directions=[d.value for d in directions],
        )
        self._study.add_trials(history)

    def ask(self) -> Proposal | None:
        fail = self._optuna.trial.TrialState.FAIL
        for _ in range(_REJECTIONS):
            trial = self._study.ask(self._distributions)
            point = self.space.coerce(trial.params)
            if self.space.satisfies(point):
                self._asked[trial.number] = trial
                return Proposal(trial.number, point)
            self._study.tell(trial, state=fail)
        raise SweepError(
            f"The {self.kind.label} search proposed {_REJECTIONS} points in a row that break the "
            "constraints.",
            hint="Loosen the constraints or narrow the ranges to where they hold.",
        )

    def report(self, proposal: Proposal, step: int, value: float) -> bool:
        """The trial of ``proposal`` is worth ``value`` after fold ``step``: True when
        the pruner says to stop it there (the median rule; see terminal.research.folds)."""
        trial = self._asked[proposal.number]
        if math.isnan(value):
            return False  # nothing to compare yet (no trade in the folds so far)
        trial.report(value, step)
        return bool(trial.should_prune())

    def tell(self, proposal: Proposal, result: Completed) -> None:
        trial = self._asked.pop(proposal.number)
        if result.pruned:
            self._study.tell(trial, state=self._optuna.trial.TrialState.PRUNED)
            return
        if not result.usable or (result.violation > 0.0 and not self._constrained):
            self._study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
            return
        if self._constrained:
            trial.set_constraint(_FILTERS, result.violation)
        self._study.tell(trial, values=list(result.values or ()))

    def _history(self, completed: Sequence[Completed]) -> list[optuna.trial.FrozenTrial]:
        """The completed trials as optuna trials; one whose point this space cannot
        hold any more (a range edited since) is left out."""
        optuna = self._optuna
        state = optuna.trial.TrialState
        generation_key = optuna.samplers.NSGAIISampler._get_generation_key()
        population = _population_size(len(self.space.params))
        generation = in_generation = 0
        history = []
        for c in completed:
            system_attrs: dict[str, Any] = {}
            if self.kind is MethodKind.NSGA2:
                # numbered as a serial run numbers them: a generation is full at a population of usable trials
                system_attrs[generation_key] = generation
            usable = c.usable and (c.violation <= 0.0 or self._constrained) and not c.pruned
            try:
                point = {name: c.params[name] for name in self._distributions}
                trial = optuna.trial.create_trial(
                    state=state.PRUNED if c.pruned else state.COMPLETE if usable else state.FAIL,
                    intermediate_values={k: v for k, v in enumerate(c.steps) if not math.isnan(v)},
                    values=list(c.values or ()) if usable else None,
                    params=self.space.coerce(point),
                    distributions=self._distributions,
                    system_attrs=system_attrs,
                    constraints={_FILTERS: c.violation} if usable and self._constrained else None,
                )
            except (KeyError, ValueError, TypeError):
                continue
            history.append(trial)
            if usable:
                in_generation += 1
                if in_generation >= population:
                    generation, in_generation = generation + 1, 0
        return history

    def _sampler(
        self, kind: MethodKind, seed: int, history: Sequence[optuna.trial.FrozenTrial]
    ) -> optuna.samplers.BaseSampler:
        samplers = self._optuna.samplers
        if kind is MethodKind.TPE:
            return samplers.TPESampler(seed=seed)
        if kind is MethodKind.NSGA2:
            return samplers.NSGAIISampler(seed=seed, population_size=_population_size(len(self.space.params)))
        if importlib.util.find_spec("cmaes") is None:  # optuna's CMA-ES sampler needs it
            raise SweepError(
                "CMA-ES needs the 'cmaes' package, which is not installed.", hint="Use TPE instead."
            )
        done = [t for t in history if t.state == self._optuna.trial.TrialState.COMPLETE]
        if len(done) < 10:
            return samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        with warnings.catch_warnings():  # the warm start is "experimental" in optuna
            warnings.simplefilter("ignore", self._optuna.exceptions.ExperimentalWarning)
            return samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False, source_trials=done)


def _check(kind: MethodKind, space: Space, directions: Sequence[Direction]) -> None:
    if kind is MethodKind.CMAES:
        if len(directions) != 1:
            raise SweepError("CMA-ES optimises one objective.", hint="For two, use NSGA-II or TPE.")
        for p in space.params:
            if not isinstance(p, IntParam | FloatParam):
                raise SweepError(
                    f"CMA-ES searches numbers only, and {p.name!r} is not a number.",
                    hint="Fix it to one value, or use TPE.",
                )


def _population_size(n_params: int) -> int:
    """NSGA-II's generation: optuna's default of 50, smaller for a space of few
    parameters, so that a few hundred trials make several generations."""
    return max(10, min(50, 10 * n_params))


def _resume_seed(seed: int, done: int) -> int:
    """The sampler's seed for a study with ``done`` trials: ``seed`` itself for a new
    one; for a resumed one, derived from both, so that it does not replay the
    random start-up proposals of the first session."""
    if done == 0:
        return seed
    return int(np.random.SeedSequence([seed, done]).generate_state(1)[0])


def distribution(p: Param) -> BaseDistribution:
    """The optuna distribution of a parameter of the space (asking, and judging importance)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(p, IntParam):
        if p.log:
            return IntDistribution(p.low, p.high, log=True)
        return IntDistribution(p.low, p.value(p.size - 1), step=p.step)
    if isinstance(p, FloatParam):
        if p.log or p.step is None:
            return FloatDistribution(p.low, p.high, log=p.log)
        return FloatDistribution(p.low, p.value(p.grid_size() - 1), step=p.step)
    if isinstance(p, BoolParam):
        return CategoricalDistribution((False, True))
    if isinstance(p, ChoiceParam):
        return CategoricalDistribution(p.choices)
    raise SweepError(f"{p.name!r} is a kind of parameter the optuna methods do not know.")
