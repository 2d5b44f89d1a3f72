"""Search methods driven through ask/tell on toy objectives (no backtests): order,
seeds, bounds, constraints, Pareto fronts, and rebuilding from completed trials."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from terminal.research.methods import Completed, MethodKind, SearchMethod, make_method
from terminal.research.objectives import Direction, pareto_front
from terminal.research.space import BoolParam, ChoiceParam, FloatParam, IntParam, Space, SweepError

MAX = [Direction.MAXIMIZE]
MAX2 = [Direction.MAXIMIZE, Direction.MAXIMIZE]
PLANE = Space((FloatParam("x", -10.0, 10.0), FloatParam("y", -10.0, 10.0)))
SMALL = Space((IntParam("fast", 1, 6), IntParam("slow", 2, 8)), ("fast < slow",))

Objective = Callable[[Mapping[str, Any]], tuple[float, ...]]


def bowl(point: Mapping[str, Any]) -> tuple[float, ...]:
    """Best (0) at x = 3, y = -2."""
    return (-((point["x"] - 3.0) ** 2) - (point["y"] + 2.0) ** 2,)


PLANE_XZ = Space((FloatParam("x", -5.0, 5.0), FloatParam("z", -5.0, 5.0)))


def two_bowls(point: Mapping[str, Any]) -> tuple[float, ...]:
    """Two objectives at odds: the best compromises have z = 0 and x between 0 and 2."""
    return (-(point["x"] ** 2) - point["z"] ** 2, -((point["x"] - 2.0) ** 2) - point["z"] ** 2)


def drive(method: SearchMethod, objective: Objective, trials: int) -> list[Completed]:
    done = []
    for _ in range(trials):
        proposal = method.ask()
        if proposal is None:
            break
        result = Completed(proposal.params, objective(proposal.params))
        method.tell(proposal, result)
        done.append(result)
    return done


def test_grid_proposes_every_point_once_in_order_then_nothing() -> None:
    method = make_method("grid", SMALL, MAX)
    done = drive(method, lambda p: (float(p["fast"]),), 100)
    assert [dict(c.params) for c in done] == [p for _, p in SMALL.iter_grid()]
    assert len(done) == SMALL.grid_size() == 7 + 6 + 5 + 4 + 3 + 2
    assert method.ask() is None


def test_a_grid_rebuilt_from_completed_trials_runs_none_of_them_again() -> None:
    points = [p for _, p in SMALL.iter_grid()]
    completed = [Completed(p, (1.0,)) for p in points[:7] + points[12:14]]  # some in order, some scattered
    resumed = drive(make_method("grid", SMALL, MAX, completed=completed), lambda p: (0.0,), 100)
    keys = [SMALL.key(c.params) for c in completed + resumed]
    assert len(keys) == len(set(keys)) == len(points)
    assert [c.params for c in resumed] == points[7:12] + points[14:]  # the rest, in grid order


def test_random_is_reproducible_by_seed_and_differs_between_seeds() -> None:
    def points(seed: int) -> list[dict[str, Any]]:
        return [dict(c.params) for c in drive(make_method("random", PLANE, MAX, seed=seed), bowl, 20)]

    assert points(7) == points(7)
    assert points(7) != points(8)


def test_random_stays_in_bounds_meets_the_constraints_and_never_repeats_a_point() -> None:
    done = drive(make_method("random", SMALL, MAX, seed=3), lambda p: (0.0,), 100)
    keys = [SMALL.key(c.params) for c in done]
    assert len(keys) == len(set(keys)) == SMALL.grid_size()  # then the small space is used up
    assert all(1 <= f < s <= 8 for f, s in keys)


def test_random_rebuilt_after_n_trials_goes_on_as_the_interrupted_run_would() -> None:
    whole = drive(make_method("random", PLANE, MAX, seed=5), bowl, 20)
    first = whole[:8]
    rest = drive(make_method("random", PLANE, MAX, seed=5, completed=first), bowl, 12)
    assert [c.params for c in first + rest] == [c.params for c in whole]


def test_tpe_finds_a_better_region_than_random_search() -> None:
    tpe = drive(make_method("tpe", PLANE, MAX, seed=1), bowl, 80)
    rnd = drive(make_method("random", PLANE, MAX, seed=1), bowl, 80)
    late_tpe = statistics.median(c.values[0] for c in tpe[40:])  # type: ignore[index]
    late_random = statistics.median(c.values[0] for c in rnd[40:])  # type: ignore[index]
    assert late_tpe > late_random + 10.0  # TPE samples near (3, -2); random anywhere on the plane
    assert all(-10.0 <= c.params["x"] <= 10.0 and -10.0 <= c.params["y"] <= 10.0 for c in tpe)


@pytest.mark.parametrize("kind", ["tpe", "cmaes", "nsga2"])
def test_optuna_methods_propose_grid_values_within_bounds_that_meet_the_constraints(kind: str) -> None:
    space = Space(
        (IntParam("fast", 2, 40, step=2), IntParam("slow", 10, 100, step=5), FloatParam("k", 0.5, 3.0, 0.25)),
        ("fast * 2 < slow",),
    )
    done = drive(make_method(kind, space, MAX, seed=2), lambda p: (p["slow"] - p["fast"] * p["k"],), 60)
    grids = {p.name: set(p.grid_values()) for p in space.params}
    assert len(done) == 60
    for c in done:
        assert all(c.params[name] in values for name, values in grids.items()), c.params
        assert c.params["fast"] * 2 < c.params["slow"]


def test_tpe_searches_booleans_and_choices_too() -> None:
    space = Space((BoolParam("flag"), ChoiceParam("kind", ("sma", "ema", "wma")), IntParam("n", 1, 9)))
    done = drive(make_method("tpe", space, MAX, seed=0), lambda p: (float(p["n"]),), 20)
    assert {type(c.params["flag"]) for c in done} == {bool}
    assert {c.params["kind"] for c in done} <= {"sma", "ema", "wma"}


def test_cmaes_refuses_what_it_cannot_search() -> None:
    with pytest.raises(SweepError, match="CMA-ES searches numbers only, and 'kind' is not a number"):
        make_method("cmaes", Space((ChoiceParam("kind", ("a", "b")), IntParam("n", 1, 9))), MAX)
    with pytest.raises(SweepError, match="CMA-ES optimises one objective"):
        make_method("cmaes", PLANE, MAX2)


def test_nsga2_finds_the_pareto_front_of_two_objectives() -> None:
    done = drive(make_method("nsga2", PLANE_XZ, MAX2, seed=4), two_bowls, 200)
    values = [c.values for c in done]
    front = [done[i] for i in pareto_front(values, MAX2)]  # type: ignore[arg-type]
    assert len(front) >= 10
    assert all(-0.5 <= c.params["x"] <= 2.5 and abs(c.params["z"]) <= 1.0 for c in front)
    late = done[150:]  # the later generations crowd around the front
    assert statistics.median(abs(c.params["z"]) for c in late) < 1.0


@pytest.mark.parametrize("kind", ["tpe", "cmaes"])
def test_an_optuna_method_rebuilt_from_trials_goes_on_from_them(kind: str) -> None:
    first = drive(make_method(kind, PLANE, MAX, seed=6), bowl, 40)
    resumed = drive(make_method(kind, PLANE, MAX, seed=6, completed=first), bowl, 10)

    def distance(trials: list[Completed]) -> float:
        return statistics.median(math.hypot(c.params["x"] - 3.0, c.params["y"] + 2.0) for c in trials)

    # a search that kept what it learnt starts nearer the best than the first session started
    # (rebuilt without the trials, both start from scratch: ~5 to 8 here)
    assert distance(resumed) < 0.7 * distance(first[:10])


def test_nsga2_rebuilt_from_trials_breeds_from_their_generations() -> None:
    first = drive(make_method("nsga2", PLANE_XZ, MAX2, seed=7), two_bowls, 100)
    resumed = drive(make_method("nsga2", PLANE_XZ, MAX2, seed=7, completed=first), two_bowls, 20)

    def off_front(trials: list[Completed]) -> float:
        return statistics.median(abs(c.params["z"]) for c in trials)

    assert off_front(resumed) < 0.6 * off_front(first[:20])  # children of the elite, not a new start


def test_failed_and_filtered_trials_can_be_told_and_rebuilt() -> None:
    history = [
        Completed({"x": 1.0, "y": 1.0}, None),  # failed
        Completed({"x": 2.0, "y": 2.0}, (math.nan,)),  # no value
        Completed({"x": 3.0, "y": -2.0}, (0.0,), violation=0.5),  # filtered
        Completed({"x": 99.0, "y": 0.0}, (1.0,)),  # outside the space now: left out
    ]
    for kind in ("tpe", "cmaes", "nsga2"):
        method = make_method(kind, PLANE, MAX, seed=0, completed=history)
        proposal = method.ask()
        assert proposal is not None
        method.tell(proposal, Completed(proposal.params, (1.0,), violation=2.0))


def test_unknown_methods_and_empty_spaces_are_refused() -> None:
    with pytest.raises(SweepError, match="'annealing' is not a search method"):
        make_method("annealing", PLANE, MAX)
    with pytest.raises(SweepError, match="varies no parameter"):
        make_method(MethodKind.RANDOM, Space(), MAX)
