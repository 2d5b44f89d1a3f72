"""A sweep's space: ranges, constraints parsed safely, grid size and order, settings as parameters."""

from __future__ import annotations

import itertools
import json

import pytest
from pydantic import ValidationError

from terminal.backtest.settings import BacktestSettings, Direction, Stops
from terminal.backtest.strategies import BollingerReversion, RsiReversion, SmaCross
from terminal.research.space import (
    MAX_GRID,
    BoolParam,
    ChoiceParam,
    FloatParam,
    IntParam,
    Space,
    SweepError,
    apply_settings,
    settings_param,
)

FAST_SLOW = (IntParam("fast", 5, 54), IntParam("slow", 10, 109))


def test_a_constraint_naming_an_unknown_parameter_names_it_and_suggests_the_closest() -> None:
    with pytest.raises(SweepError) as caught:
        Space(FAST_SLOW, ("fast < slwo",))
    text = caught.value.user_message()
    assert "'slwo', which is not a parameter of this sweep" in text
    assert "Did you mean 'slow'?" in text
    assert "fast, slow" in text


@pytest.mark.parametrize(
    ("constraint", "what"),
    [
        ("fast < slow()", "a call"),
        ("__import__('os').system('true') == 0", "a call"),
        ("fast ** 2 < slow", "**"),
        ("fast % 2 == 0", "%"),
        ("fast.real < slow", "an attribute"),
        ("fast if slow else 1 < 2", "if/else"),
        ("[fast][0] < slow", "indexing"),
        ("[fast] < [slow]", "a list"),
        ("fast in (1, 2)", "in"),
    ],
)
def test_a_constraint_may_use_only_names_numbers_comparisons_and_arithmetic(
    constraint: str, what: str
) -> None:
    with pytest.raises(SweepError) as caught:
        Space(FAST_SLOW, (constraint,))
    text = caught.value.user_message()
    assert f"uses {what}" in text
    assert "a constraint may use parameter names, numbers, comparisons" in text


def test_a_constraint_must_be_a_comparison_and_an_expression() -> None:
    with pytest.raises(SweepError, match="is not a comparison"):
        Space(FAST_SLOW, ("fast + slow",))
    with pytest.raises(SweepError, match="is not an expression"):
        Space(FAST_SLOW, ("fast <",))


def test_a_constraint_that_cannot_be_computed_is_refused_when_the_space_is_built() -> None:
    with pytest.raises(SweepError, match="cannot be computed"):
        Space((ChoiceParam("kind", ("sma", "ema")), IntParam("n", 1, 3)), ("kind + 1 > n",))


def test_constraints_combine_arithmetic_and_logic_as_python_would() -> None:
    params = (
        IntParam("fast", 1, 6),
        IntParam("slow", 2, 12, step=2),
        BoolParam("flag"),
        ChoiceParam("kind", ("sma", "ema")),
    )
    rules = ("fast * 2 <= slow and not flag or kind == 'ema'", "-fast + slow / 2 > 0.5")
    space = Space(params, rules)

    def holds(fast: int, slow: int, flag: bool, kind: str) -> bool:
        return ((fast * 2 <= slow and not flag) or kind == "ema") and (-fast + slow / 2 > 0.5)

    values = [p.grid_values() for p in params]
    expected = [dict(zip(space.names, v, strict=True)) for v in itertools.product(*values) if holds(*v)]
    assert [point for _, point in space.iter_grid()] == expected
    assert space.grid_size() == len(expected)
    assert all(space.satisfies(point) for point in expected)
    assert not space.satisfies({"fast": 6, "slow": 2, "flag": True, "kind": "sma"})


def test_a_division_by_zero_in_a_constraint_is_infinity_not_an_error() -> None:
    space = Space((IntParam("fast", 4, 6), IntParam("slow", 10, 10)), ("slow / (fast - 5) > 2",))
    assert [p["fast"] for _, p in space.iter_grid()] == [5, 6]  # 10/0 = inf > 2; 10/-1 and 10/1 are not


def test_settings_names_are_allowed_in_constraints() -> None:
    space = Space(
        (settings_param("settings.stops.stop_loss_pct"), settings_param("settings.stops.take_profit_pct")),
        ("settings.stops.take_profit_pct >= 2 * settings.stops.stop_loss_pct",),
    )
    points = [p for _, p in space.iter_grid()]
    assert points and all(
        p["settings.stops.take_profit_pct"] >= 2 * p["settings.stops.stop_loss_pct"] for p in points
    )


def test_the_sma_grid_of_the_issue_has_3965_points_in_product_order() -> None:
    space = Space(FAST_SLOW, ("fast < slow",))
    points = list(space.iter_grid())
    expected = [(f, s) for f in range(5, 55) for s in range(10, 110) if f < s]
    assert space.grid_size() == len(points) == len(expected) == 3965
    assert [(p["fast"], p["slow"]) for _, p in points] == expected  # the last parameter varies fastest
    raw = [index for index, _ in points]
    assert raw == sorted(raw) and raw[0] == 0 and space.raw_grid_size() == 50 * 100


def test_a_grid_walk_resumes_from_a_raw_position() -> None:
    space = Space(FAST_SLOW, ("fast < slow",))
    whole = list(space.iter_grid())
    start = whole[1234][0]
    assert list(space.iter_grid(start)) == whole[1234:]


def test_a_grid_over_the_limit_is_refused_with_its_size() -> None:
    space = Space.from_strategy(SmaCross)  # fast 1..1000 x slow 2..5000
    with pytest.raises(SweepError) as caught:
        space.grid_size()
    assert "4,999,000 points before the constraints" in str(caught.value)
    assert f"limited to {MAX_GRID:,}" in str(caught.value)
    with pytest.raises(SweepError) as caught:
        space.with_constraints("fast < slow").grid_size()
    assert "4,499,500 points that meet the constraints" in str(caught.value)


def test_a_continuous_range_cannot_be_a_grid() -> None:
    with pytest.raises(SweepError, match="has no step: a grid needs one"):
        Space((FloatParam("width", 1.0, 3.0),)).grid_size()


def test_a_prefilled_space_spans_the_parameter_model() -> None:
    sma = Space.from_strategy(SmaCross)
    assert sma.params == (IntParam("fast", 1, 1000), IntParam("slow", 2, 5000))
    rsi = {p.name: p for p in Space.from_strategy(RsiReversion).params}
    assert rsi["oversold"] == FloatParam("oversold", 0.0, 100.0, 10.0)
    width = Space.from_strategy(BollingerReversion).param("width")  # width > 0: the grid starts a step above
    assert isinstance(width, FloatParam) and width.grid_values()[0] == 1.0 and width.grid_values()[-1] == 10.0
    with_stops = Space.from_strategy(SmaCross, settings=["settings.stops.stop_loss_pct"])
    assert with_stops.names == ["fast", "slow", "settings.stops.stop_loss_pct"]


def test_float_grids_are_the_numbers_a_user_types() -> None:
    assert FloatParam("x", 0.1, 1.0, 0.1).grid_values() == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    assert FloatParam("x", 0.5, 1.0, 0.3).grid_values() == (0.5, 0.8)  # the step does not overshoot


def test_log_scales_take_values_at_a_constant_ratio() -> None:
    assert FloatParam("x", 1.0, 1000.0, log=True, points=4).grid_values() == (1.0, 10.0, 100.0, 1000.0)
    assert IntParam("n", 2, 512, log=True, points=9).grid_values() == (2, 4, 8, 16, 32, 64, 128, 256, 512)
    assert IntParam("n", 1, 4, log=True, points=10).grid_values() == (1, 2, 3, 4)  # rounded, each once


def test_bad_ranges_are_refused() -> None:
    with pytest.raises(SweepError, match="runs backwards"):
        IntParam("n", 10, 5)
    with pytest.raises(SweepError, match="log scale needs a range above zero"):
        FloatParam("x", 0.0, 1.0, log=True)
    with pytest.raises(SweepError, match="twice"):
        Space((IntParam("n", 1, 2), IntParam("n", 3, 4)))


def test_settings_parameters_set_a_validated_copy() -> None:
    base = BacktestSettings()
    changed = apply_settings(base, {"settings.stops.stop_loss_pct": 2.5, "settings.direction": "long"})
    assert changed.stops.stop_loss_pct == 2.5 and changed.direction is Direction.LONG
    assert (
        changed.costs == base.costs and base.stops.stop_loss_pct is None and base.direction is Direction.BOTH
    )
    with_atr = BacktestSettings(stops=Stops(stop_loss_atr=2.0))
    with pytest.raises(ValidationError, match="not both"):
        apply_settings(with_atr, {"settings.stops.stop_loss_pct": 2.5})


def test_an_unknown_setting_is_refused_when_the_space_is_built() -> None:
    with pytest.raises(SweepError, match=r"no 'stops\.stop_los_pct'"):
        Space((FloatParam("settings.stops.stop_los_pct", 1.0, 2.0, 0.5),))
    with pytest.raises(SweepError, match="is not a setting a sweep varies"):
        settings_param("settings.costs.taker_fee")


def test_a_space_round_trips_through_plain_values() -> None:
    space = Space(
        (
            IntParam("fast", 5, 50, step=5),
            FloatParam("width", 0.5, 3.0, 0.5),
            FloatParam("k", 0.01, 10.0, log=True, points=7),
            BoolParam("flag"),
            ChoiceParam("kind", ("sma", "ema")),
        ),
        ("fast < 40 or flag",),
    )
    assert Space.from_dict(json.loads(json.dumps(space.to_dict()))) == space


def test_points_read_back_take_their_parameters_types() -> None:
    space = Space((IntParam("n", 1, 10), FloatParam("x", 0.0, 1.0, 0.1)))
    assert space.key({"n": 3.0, "x": 0.30000000000000004}) == (3, 0.3)
    assert space.coerce({"n": 3.0, "x": 0.3}) == {"n": 3, "x": 0.3}
