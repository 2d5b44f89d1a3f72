"""A sweep's constraints: rules between its parameters (``fast < slow``,
``settings.stops.take_profit_pct >= 2 * settings.stops.stop_loss_pct``), written
by the user, parsed with ``ast`` and computed by the terminal itself, never run as
Python: only names of the sweep's parameters, numbers, text in quotes,
comparisons, ``+ - * /``, ``and``, ``or``, ``not`` and brackets. A rule computes
on one point or on arrays of points at once (the grid's count)."""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from terminal.errors import TerminalError

#: the prefix of a parameter that is a backtest setting, not a strategy parameter
SETTINGS = "settings."


class SweepError(TerminalError):
    """A sweep cannot run as asked: a bad range or constraint, a grid too large, a
    method that cannot search this space."""


# -- constraints ---------------------------------------------------------------------
_BINARY: Mapping[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_COMPARE: Mapping[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_IN_WORDS: Mapping[type[ast.AST], str] = {
    ast.Call: "a call",
    ast.Subscript: "indexing",
    ast.Pow: "**",
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.IfExp: "if/else",
    ast.Lambda: "lambda",
    ast.Attribute: "an attribute",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.Invert: "~",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Dict: "a dict",
    ast.Set: "a set",
}
#: the syntax a constraint may use (a name and a constant are checked apart)
_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    *(ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp, ast.Compare),
    *_BINARY,
    *_COMPARE,
)
_ALLOWED_HELP = "a constraint may use parameter names, numbers, comparisons, + - * /, and, or, not"


def _dotted(node: ast.expr) -> str | None:
    """``settings.stops.stop_loss_pct`` for its attribute chain; a plain name as it is."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base is not None else None
    return None


@dataclass(frozen=True)
class Constraint:
    """One rule between parameters, as the user wrote it and parsed."""

    text: str
    names: frozenset[str]
    tree: ast.expr = field(repr=False, compare=False)

    @classmethod
    def parse(cls, text: str, known: Sequence[str]) -> Constraint:
        """``text`` checked: only the allowed syntax, only names in ``known``, a comparison."""
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as exc:
            raise SweepError(
                f"The constraint {text!r} is not an expression ({exc.msg}).",
                hint=f"Write e.g. fast < slow; {_ALLOWED_HELP}.",
            ) from None
        names: set[str] = set()
        cls._check(text, tree, known, names)
        if not isinstance(tree, ast.Compare | ast.BoolOp) and not (
            isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not)
        ):
            raise SweepError(
                f"The constraint {text!r} is not a comparison.",
                hint="Write e.g. fast < slow or fast * 2 <= slow.",
            )
        return cls(text, frozenset(names), tree)

    @classmethod
    def _check(cls, text: str, node: ast.AST, known: Sequence[str], names: set[str]) -> None:
        if isinstance(node, ast.Name | ast.Attribute):
            name = _dotted(node)
            if name is None or (isinstance(node, ast.Attribute) and not name.startswith(SETTINGS)):
                raise SweepError(f"The constraint {text!r} uses an attribute; {_ALLOWED_HELP}.")
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                maybe = f" Did you mean {close[0]!r}?" if close else ""
                listed = ", ".join(known) if known else "none"
                raise SweepError(
                    f"The constraint {text!r} names {name!r}, which is not a parameter of this sweep.{maybe}",
                    hint=f"Its parameters: {listed}.",
                )
            names.add(name)
            return
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool | int | float | str):
                return
            raise SweepError(f"The constraint {text!r} uses {node.value!r}; {_ALLOWED_HELP}.")
        if not isinstance(node, _ALLOWED_NODES):
            what = _IN_WORDS.get(type(node), type(node).__name__)
            raise SweepError(f"The constraint {text!r} uses {what}; {_ALLOWED_HELP}.")
        for child in ast.iter_child_nodes(node):
            cls._check(text, child, known, names)

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """True where the rule holds: a bool for one point, a bool array for arrays of values."""
        with np.errstate(all="ignore"):
            return _evaluate(self.tree, values)


def _evaluate(node: ast.AST, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name | ast.Attribute):
        return values[_dotted(node) or ""]
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        if isinstance(node.op, ast.Not):
            return np.logical_not(operand)
        return -operand if isinstance(node.op, ast.USub) else +operand
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
    if isinstance(node, ast.BoolOp):
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        result = _evaluate(node.values[0], values)
        for item in node.values[1:]:
            result = combine(result, _evaluate(item, values))
        return result
    if isinstance(node, ast.Compare):
        holds: Any = True
        left = _evaluate(node.left, values)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(right_node, values)
            holds = np.logical_and(holds, _COMPARE[type(op)](left, right))
            left = right
        return holds
    raise AssertionError(f"unchecked node {type(node).__name__}")  # parse() let nothing else through
