"""How the preferences dialog turns its fields into a config change, and the
config's complaints back into messages on those fields.

Each field is a ``Setting`` at a path in the settings (``("trading", "paper",
"risk", "max_order_notional")``). Only the fields the user changed are sent:
a section is the current one with those values put in, so that what another
window changed meanwhile (the theme, the watchlist) is not undone. Pydantic
checks the result exactly as it checks config.toml, and names the path of
each value it refuses: the field at the longest matching path says it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from terminal.config import Settings

Path = tuple[str, ...]


@dataclass(frozen=True)
class Setting:
    """One field of the dialog."""

    path: Path
    read: Callable[[], Any]  # the value as the field holds it now (text is given to pydantic as typed)
    show: Callable[[Any], object]  # put a setting's value in the field
    get: Callable[[Settings], Any]  # the setting's value in the settings
    say: Callable[[str], object]  # show an error on the field
    reveal: Callable[[], object]  # bring the field into view (its tab, its account)


def plain(value: Decimal | int) -> str:
    """A number as digits to edit: no exponent, no grouping, no trailing zeros."""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def nested_values(settings: Settings, changes: Mapping[Path, Any]) -> dict[str, Any]:
    """The keyword arguments of ``ConfigStore.change``: each top-level setting the
    changes touch, as it is now with the changed values put in (sections as dicts)."""
    values: dict[str, Any] = {}
    for path, value in changes.items():
        top, rest = path[0], path[1:]
        if not rest:
            values[top] = value
            continue
        section = values.get(top)
        if section is None:
            section = values[top] = getattr(settings, top).model_dump()
        for part in rest[:-1]:
            section = section.setdefault(part, {})
        section[rest[-1]] = value
    return values


def check(settings: Settings, values: Mapping[str, Any]) -> None:
    """Validate the settings as they would be after the change, all at once (the
    store stops at the first setting it refuses; the user should see every error)."""
    Settings.model_validate({**settings.model_dump(), **values})


def plain_message(item: Mapping[str, Any]) -> str:
    """Pydantic's complaint about one value, in the words of a form."""
    kind, context = str(item.get("type", "")), item.get("ctx") or {}
    if kind == "greater_than_equal":
        return f"Must be {context['ge']} or more."
    if kind == "greater_than":
        return f"Must be more than {context['gt']}."
    if kind == "less_than_equal":
        return f"Must be {context['le']} or less."
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "Type a whole number, e.g. 42."
    if kind in ("decimal_parsing", "decimal_type", "finite_number"):
        return "Type a number, e.g. 2500 or 0.5 (with a point for decimals)."
    return str(item.get("msg", "")).removeprefix("Value error, ")


def place_errors(error: ValidationError, settings: Iterable[Setting]) -> list[str]:
    """Show each refused value's message on its field (the first per field) and bring
    the first such field (in the dialog's order) into view; returns the messages no
    field owns."""
    fields = list(settings)
    told: dict[Path, Setting] = {}
    others: list[str] = []
    for item in error.errors():
        loc = tuple(str(part) for part in item["loc"])
        owners = [s for s in fields if loc[: len(s.path)] == s.path]
        message = plain_message(item)
        if not owners:
            where = ".".join(loc)
            others.append(f"{where}: {message}" if where else message)
            continue
        owner = max(owners, key=lambda s: len(s.path))
        if owner.path not in told:
            told[owner.path] = owner
            owner.say(message)
    if told:
        min(told.values(), key=fields.index).reveal()
    return others
