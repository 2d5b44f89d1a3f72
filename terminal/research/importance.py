"""Which varied parameters the objective depends on: each parameter's share of
the objective's variation over the trials that counted, by optuna's PED-ANOVA
(Watanabe et al., 2023: how differently a parameter is spread among the best
trials than among all), which needs no other library and takes milliseconds
for thousands of trials. Shares add up to 1; a parameter near 0 barely
matters within its range, so a narrower sweep could fix it."""

from __future__ import annotations

import math
from collections.abc import Sequence

from terminal.research.methods import distribution
from terminal.research.objectives import Direction
from terminal.research.space import Space
from terminal.research.sweep import Trial, TrialState

MIN_TRIALS = 10  # fewer say nothing about which parameter matters


def importances(
    trials: Sequence[Trial], space: Space, objective: int = 0, direction: Direction = Direction.MAXIMIZE
) -> list[tuple[str, float]] | str:
    """(parameter, share) from the most to the least important, or why there are none."""
    import optuna
    from optuna.trial import create_trial

    if len(space.params) < 2:
        return "Importance compares parameters: vary two or more."
    counted = [
        t for t in trials
        if t.state is TrialState.DONE and t.repeat_of is None and objective < len(t.values)
        and math.isfinite(t.values[objective]) and all(p.name in t.params for p in space.params)
    ]  # fmt: skip
    if len(counted) < MIN_TRIALS:
        return f"Importance needs {MIN_TRIALS} counted trials or more; there are {len(counted)}."
    values = {t.values[objective] for t in counted}
    if len(values) < 2:
        return "Every counted trial has the same value: no parameter moves it."
    distributions = {p.name: distribution(p) for p in space.params}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction.value)
    study.add_trials(
        [
            create_trial(
                params={name: t.params[name] for name in distributions},
                distributions=distributions,
                value=t.values[objective],
            )
            for t in counted
        ]
    )
    found = optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.PedAnovaImportanceEvaluator(), normalize=True
    )
    return sorted(((name, float(share)) for name, share in found.items()), key=lambda kv: -kv[1])


def importance_text(found: list[tuple[str, float]] | str) -> str:
    """ "Importance: fast 91%, slow 9%." (or why there is none)."""
    if isinstance(found, str):
        return found
    return "Importance (PED-ANOVA): " + ", ".join(f"{name} {share:.0%}" for name, share in found) + "."
