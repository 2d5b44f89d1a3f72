"""What the user types and what is saved: the catalogue's parsing, saved indicator
sets that come back (or say what they left out), templates in their file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from terminal.analysis.catalogue import SPECS, parse
from terminal.analysis.setup import IndicatorConfig, TemplateError, Templates, dump, load, load_keeping


def test_typed_indicators_fill_their_parameters_in_order() -> None:
    assert parse("RSI 21").params == {"period": 21}
    assert parse("bb 20 2.5").params == {"period": 20, "k": 2.5}
    assert parse("Bollinger").params == {"period": 20, "k": 2.0}  # an alias, the defaults
    assert parse("MACD 8 21 5").spec.label(parse("MACD 8 21 5").params) == "MACD 8 21 5"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("RSI 0", "Period must be between 1 and 5000, not 0"),
        ("RSI 14.5", "Period must be a whole number, not 14.5"),
        ("RSI 14 3", "RSI takes 1 number(s) (Period), not 2"),
        ("RSI x", "Period of RSI must be a number, not 'x'"),
        ("MACD 26 12", "MACD's fast period (26) must be shorter than its slow one (12)"),
        ("FOO 3", "no indicator called 'FOO'"),
    ],
)
def test_a_wrong_indicator_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says.replace("(", r"\(").replace(")", r"\)")):
        request = parse(text)
        # MACD's order is checked when it is computed: the chart adds nothing wrong
        request.spec.compute(
            __import__("tests.analysis.candles", fromlist=["walk"]).walk(100), request.params
        )


def test_every_indicator_round_trips_through_its_saved_form() -> None:
    configs = [IndicatorConfig.new(spec) for spec in SPECS]
    configs[0] = IndicatorConfig("SMA", {"period": 50}, ("#123456",), 2.5, "dash")
    loaded, problems = load(dump(configs))
    assert problems == []
    assert loaded == configs


def test_a_saved_set_with_a_bad_entry_loads_the_rest_and_says_what_it_left_out() -> None:
    text = json.dumps(
        [
            {"key": "RSI", "params": {"period": 14}},
            {"key": "NOPE", "params": {}},
            {"key": "EMA", "params": {"period": -3}},
            {"key": "SMA", "params": {"period": 9}, "style": "wavy"},
            {"key": "BB", "params": {"period": 30}},
        ]
    )
    loaded, problems = load(text)
    assert [c.label for c in loaded] == ["RSI 14", "BB 30 2"]
    assert len(problems) == 3
    assert "Period must be between 1 and 5000, not -3" in problems[0]
    assert "line style 'wavy'" in problems[1]
    assert "'NOPE' is not known" in problems[2]
    # an unknown one (a user's indicator whose file has not loaded yet) is kept as saved, to try again
    configs, problems, waiting = load_keeping(text)
    assert [c.label for c in configs] == ["RSI 14", "BB 30 2"] and len(problems) == 2
    assert waiting == [{"key": "NOPE", "params": {}}]
    assert json.loads(dump(configs, waiting))[-1] == {"key": "NOPE", "params": {}}
    assert load("{not json")[1] == ["the saved indicators could not be read; the chart starts without them"]


def test_templates_are_kept_by_name_and_a_damaged_file_is_kept_aside(tmp_path: Path) -> None:
    file = tmp_path / "indicator_templates.json"
    templates = Templates(file)
    trend = [IndicatorConfig.new(parse("EMA 9").spec, {"period": 9}), IndicatorConfig.new(parse("VWAP").spec)]
    templates.save("Trend", trend)
    templates.save("Momentum", [IndicatorConfig.new(parse("RSI").spec)])
    assert Templates(file).read() == {"Momentum": [IndicatorConfig.new(parse("RSI").spec)], "Trend": trend}
    templates.delete("Momentum")
    assert list(Templates(file).read()) == ["Trend"]
    with pytest.raises(TemplateError, match="no indicators"):
        templates.save("Empty", [])

    file.write_text("{ half a file", encoding="utf-8")
    with pytest.raises(
        TemplateError, match=r"could not be read; it was kept as indicator_templates\.json\.unreadable-"
    ):
        templates.read()
    kept = list(tmp_path.glob("indicator_templates.json.unreadable-*"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == "{ half a file"
    templates.save("Fresh", trend)  # a new file; the damaged one stays where it was put
    assert list(Templates(file).read()) == ["Fresh"] and kept[0].exists()
