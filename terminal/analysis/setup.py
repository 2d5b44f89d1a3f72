"""A chart's indicators as the user set them up, and named templates of them.

``IndicatorConfig`` is what is saved: the indicator's key, its parameters, a colour
per line, the line width and style. What is read back is checked as the palette
checks what is typed: an entry that no longer makes sense (an indicator this version
does not have, a period out of range) is left out with a sentence saying so, and the
rest loads.

Templates ("Trend: EMA 9, EMA 21, VWAP") live in one JSON file beside the settings
(``indicator_templates.json``), written whole-or-nothing. A file that cannot be read
is kept under another name and never overwritten.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from terminal.analysis.catalogue import IndicatorSpec, UnknownIndicatorError, spec_for
from terminal.atomic_file import atomic_text

STYLES = ("solid", "dash", "dot")
TEMPLATES_FILE = "indicator_templates.json"


@dataclass(frozen=True)
class IndicatorConfig:
    key: str
    params: Mapping[str, float | int] = field(default_factory=dict)
    colors: tuple[str, ...] = ()
    width: float = 1.0  # Qt draws wider cosmetic lines on a slower path (docs/architecture.md)
    style: str = "solid"

    @property
    def spec(self) -> IndicatorSpec:
        return spec_for(self.key)

    @property
    def label(self) -> str:
        """ "RSI 14": as the palette takes it (a user's indicator gone from its file still has one)."""
        try:
            return self.spec.label(self.params)
        except UnknownIndicatorError:
            return " ".join([self.key, *(f"{v:g}" for v in self.params.values())])

    @classmethod
    def new(cls, spec: IndicatorSpec, params: Mapping[str, object] | None = None) -> IndicatorConfig:
        return cls(spec.key, spec.checked(params or {}), tuple(line.color for line in spec.lines))

    def with_params(self, params: Mapping[str, object]) -> IndicatorConfig:
        return replace(self, params=self.spec.checked(params))

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "params": dict(self.params),
            "colors": list(self.colors),
            "width": self.width,
            "style": self.style,
        }

    @classmethod
    def from_dict(cls, raw: object) -> IndicatorConfig:
        """A saved entry, checked; ValueError says what is wrong with it."""
        if not isinstance(raw, Mapping) or not isinstance(raw.get("key"), str):
            raise ValueError(f"not an indicator: {str(raw)[:60]}")
        spec = spec_for(raw["key"])
        params = raw.get("params", {})
        if not isinstance(params, Mapping):
            raise ValueError(f"{spec.key}: its parameters are not a table")
        colors = raw.get("colors", [])
        if not isinstance(colors, list) or not all(isinstance(c, str) and c.startswith("#") for c in colors):
            raise ValueError(f"{spec.key}: its colours are not #rrggbb")
        colors = (colors + [line.color for line in spec.lines])[: len(spec.lines)]
        width = raw.get("width", 1.0)
        if not isinstance(width, int | float) or not 0.5 <= width <= 8:
            raise ValueError(f"{spec.key}: line width {width!r} is not between 0.5 and 8")
        style = raw.get("style", "solid")
        if style not in STYLES:
            raise ValueError(f"{spec.key}: line style {style!r} is not one of {', '.join(STYLES)}")
        return cls(spec.key, spec.checked(params), tuple(colors), float(width), style)


def dump(configs: Sequence[IndicatorConfig], waiting: Sequence[Mapping[str, Any]] = ()) -> str:
    """``configs`` and the ``waiting`` entries (a user's indicator not loaded yet), as saved."""
    return json.dumps([c.to_dict() for c in configs] + [dict(w) for w in waiting])


def load(text: str | None) -> tuple[list[IndicatorConfig], list[str]]:
    """The configs in ``text`` (as ``dump`` wrote it) and a sentence for each left out."""
    configs, problems, waiting = load_keeping(text)
    unknown = [f"a saved indicator was left out: {w.get('key')!r} is not known" for w in waiting]
    return configs, problems + unknown


def load_keeping(text: str | None) -> tuple[list[IndicatorConfig], list[str], list[dict[str, Any]]]:
    """As ``load``, but an entry whose indicator is not known (a user's, whose file has not
    loaded yet, or is broken for now) is returned as it was saved, to be kept and tried again."""
    if not text:
        return [], [], []
    try:
        raw = json.loads(text)
    except ValueError:
        return [], ["the saved indicators could not be read; the chart starts without them"], []
    if not isinstance(raw, list):
        return [], ["the saved indicators are not a list; the chart starts without them"], []
    configs, problems, waiting = [], [], []
    for entry in raw:
        try:
            configs.append(IndicatorConfig.from_dict(entry))
        except UnknownIndicatorError:
            waiting.append(dict(entry))
        except ValueError as exc:
            problems.append(f"a saved indicator was left out: {exc}")
    return configs, problems, waiting


class TemplateError(Exception):
    """The templates file cannot be read or written (the message says which and why)."""


class Templates:
    """Named sets of indicators in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, list[IndicatorConfig]]:
        """Every template; a damaged file is moved aside (kept) and TemplateError says where."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise TemplateError(f"Cannot read {self.path.name}: {exc.strerror or exc}") from exc
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict) or not isinstance(raw.get("templates"), dict):
                raise ValueError("no templates table")
        except ValueError:
            aside = self.path.with_name(f"{self.path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
            self.path.replace(aside)
            raise TemplateError(
                f"{self.path.name} could not be read; it was kept as {aside.name} and templates start empty"
            ) from None
        out: dict[str, list[IndicatorConfig]] = {}
        for name, entries in raw["templates"].items():
            configs, _ = load(json.dumps(entries)) if isinstance(entries, list) else ([], [])
            if configs:
                out[str(name)] = configs
        return out

    def save(self, name: str, configs: Sequence[IndicatorConfig]) -> None:
        name = name.strip()
        if not name:
            raise TemplateError("a template needs a name")
        if not configs:
            raise TemplateError("the chart has no indicators to keep as a template")
        templates = self.read()
        templates[name] = list(configs)
        self._write(templates)

    def delete(self, name: str) -> None:
        templates = self.read()
        if templates.pop(name, None) is not None:
            self._write(templates)

    def _write(self, templates: Mapping[str, Sequence[IndicatorConfig]]) -> None:
        body = {
            "version": 1,
            "templates": {n: [c.to_dict() for c in cs] for n, cs in sorted(templates.items())},
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_text(self.path, None) as f:
                json.dump(body, f, indent=1)
        except OSError as exc:
            raise TemplateError(f"Cannot write {self.path.name}: {exc.strerror or exc}") from exc
