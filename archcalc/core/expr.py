"""A safe evaluator for the small expressions a spec may contain (``4 * width``, ``2 if first else 1``).

The text is parsed with ``ast`` and every node is checked against a whitelist before anything is
evaluated; nothing reaches ``eval``, ``exec`` or ``sympify``. Names resolve only to values in the
environment the caller passes (declared variables, block arguments), which may be ints or sympy symbols.
"""
from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from fractions import Fraction
from functools import lru_cache
from typing import Any

from .errors import SpecError
from .num import MAX_BITS, ceil_div, is_concrete

MAX_LENGTH = 1000
MAX_DEPTH = 50
MAX_POWER_BITS = MAX_BITS  # refuse ``10**10**10`` before computing it
# MAX_BITS (num.py) bounds any intermediate result: ``a*a*a`` chained through variables grows without bound


def _floor(x: Any) -> Any:
    return x // 1


def _ceil(x: Any) -> Any:
    return ceil_div(x, 1)


def _min(*args: Any) -> Any:
    if all(is_concrete(a) for a in args):
        return min(args)
    import sympy  # only reached when a symbol is involved
    return sympy.Min(*args)


def _max(*args: Any) -> Any:
    if all(is_concrete(a) for a in args):
        return max(args)
    import sympy
    return sympy.Max(*args)


FUNCTIONS: dict[str, Callable[..., Any]] = {"min": _min, "max": _max, "floor": _floor, "ceil": _ceil}

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call,
    ast.Name, ast.Load, ast.Constant, ast.Pow, ast.Div, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or,
    *_BINARY, *_COMPARE,
)


class ExpressionError(SpecError):
    """An expression is not allowed, refers to an unknown name, or cannot be evaluated."""


def _depth(node: ast.AST) -> int:
    depth, frontier = 0, [node]
    while frontier:
        depth += 1
        frontier = [c for n in frontier for c in ast.iter_child_nodes(n)]
    return depth


@lru_cache(maxsize=4096)
def parse(text: str) -> ast.Expression:
    """Parse and whitelist-check an expression; the result is cached per text."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters",
                              hint="split it with variables")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        raise ExpressionError(f"cannot parse expression {text!r}",
                              hint="use numbers, names, + - * / // % **, comparisons, "
                                   "'a if cond else b', min/max/ceil/floor") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is nested too deeply") from None
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError(f"expression is nested more than {MAX_DEPTH} levels deep")
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(f"{type(node).__name__.lower()} is not allowed in expression {text!r}",
                                  hint="only arithmetic, comparisons, 'if/else' and min/max/ceil/floor")
        if isinstance(node, ast.Constant) and (not isinstance(node.value, (int, float))
                                               or isinstance(node.value, complex)):
            raise ExpressionError(f"only numbers are allowed as literals in {text!r}")
        if isinstance(node, ast.Constant) and isinstance(node.value, float) and not math.isfinite(node.value):
            raise ExpressionError(f"a number in {text!r} is too large", hint="write it as an integer or a power")
        if isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name)
                                           or node.func.id not in FUNCTIONS or node.keywords):
            raise ExpressionError(f"only {', '.join(FUNCTIONS)} may be called in {text!r}")
    return tree


def evaluate(text: str, env: Mapping[str, Any]) -> Any:
    """Evaluate ``text`` with names taken from ``env``; exact (ints and Fractions, or sympy)."""
    return _Evaluator(env, text).visit(parse(text).body)


def names(text: str) -> set[str]:
    """The free names an expression uses (functions excluded)."""
    return {n.id for n in ast.walk(parse(text)) if isinstance(n, ast.Name) and n.id not in FUNCTIONS}


def _exact(x: Any) -> Any:
    if isinstance(x, Fraction) and x.denominator == 1:
        return int(x)
    return x


def _bounded(x: Any, text: str, computed: bool = True) -> Any:
    """``x`` unchanged, unless it is an int or a fraction of more than ``MAX_BITS`` bits, or a formula past the
    symbolic budget (symbolic.py; a ``computed`` result costs an operation more than its size)."""
    if type(x).__module__.startswith("sympy"):
        from .symbolic import FIGURE_WORK, charge
        charge([(f"a result in {text!r}", x)], FIGURE_WORK if computed else 0)
        return x
    if isinstance(x, Fraction):
        size = max(x.numerator.bit_length(), x.denominator.bit_length())
    else:
        size = x.bit_length() if isinstance(x, int) else 0
    if size > MAX_BITS:
        raise ExpressionError(f"a result in {text!r} is too large", hint=f"results are limited to {MAX_BITS} bits")
    return x


class _Evaluator:
    def __init__(self, env: Mapping[str, Any], text: str) -> None:
        self.env = env
        self.text = text

    def visit(self, node: ast.AST) -> Any:
        method: Callable[[Any], Any] = getattr(self, "visit_" + type(node).__name__)
        try:
            return _bounded(method(node), self.text, not isinstance(node, (ast.Name, ast.Constant)))
        except ExpressionError:
            raise
        except ZeroDivisionError:
            raise ExpressionError(f"division by zero in {self.text!r}") from None
        except (OverflowError, ValueError):  # float overflow (a float variable), int too large for a float
            raise ExpressionError(f"a number in {self.text!r} is too large",
                                  hint=f"results are limited to {MAX_BITS} bits") from None
        except TypeError as e:
            raise ExpressionError(f"cannot evaluate {self.text!r}: {e}",
                                  hint="a condition on a symbol cannot be decided; give it a value") from None

    def visit_Constant(self, node: ast.Constant) -> Any:
        v = node.value
        return Fraction(v).limit_denominator(10**6) if isinstance(v, float) else v

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in ("True", "False"):
            return node.id == "True"
        if node.id not in self.env:
            from difflib import get_close_matches
            close = get_close_matches(node.id, list(self.env), n=1)
            known = ", ".join(sorted(self.env)) or "none"
            hint = f"did you mean {close[0]!r}?" if close else f"known names: {known}"
            raise ExpressionError(f"unknown name {node.id!r} in {self.text!r}", hint=hint)
        return self.env[node.id]

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        v = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return not v
        return -v if isinstance(node.op, ast.USub) else +v

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        a, b = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Div):
            if is_concrete(a) and is_concrete(b):
                return _exact(Fraction(a) / Fraction(b))
            return a / b
        if isinstance(node.op, ast.Pow):
            return self._power(a, b)
        return _exact(_BINARY[type(node.op)](a, b))

    def _power(self, base: Any, exp: Any) -> Any:
        if is_concrete(exp):
            if isinstance(exp, Fraction):
                raise ExpressionError(f"only whole exponents are allowed in {self.text!r}")
            size = abs(base).bit_length() if isinstance(base, int) else 64
            if abs(exp) * max(size, 1) > MAX_POWER_BITS:
                raise ExpressionError(f"power too large in {self.text!r}",
                                      hint=f"results are limited to {MAX_POWER_BITS} bits")
            if exp < 0 and is_concrete(base):
                return _exact(Fraction(base) ** exp)
        return base ** exp

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        values = (self.visit(v) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)

    def visit_Compare(self, node: ast.Compare) -> Any:
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.visit(right_node)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Call(self, node: ast.Call) -> Any:
        func = node.func.id  # type: ignore[attr-defined]
        args = [self.visit(a) for a in node.args]
        if func in ("floor", "ceil") and len(args) != 1:
            raise ExpressionError(f"{func}() takes one argument in {self.text!r}")
        if func in ("min", "max") and len(args) < 2:
            raise ExpressionError(f"{func}() takes at least two arguments in {self.text!r}")
        return _exact(FUNCTIONS[func](*args))
