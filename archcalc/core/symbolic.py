"""Symbolic mode: names become sympy symbols (positive integers), the same formulas run on them, and
the totals come out as closed forms. sympy is imported only here, and only when a symbol is asked for.

An assumption ``multiple_of: m`` on a symbol ``H`` is applied by substitution: the engine sees
``H = m * H_m`` with ``H_m`` a positive integer, so strided floors such as ``floor(H / 2)`` simplify to
polynomials; reports substitute ``H_m = H / m`` back.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .errors import SpecError
from .num import MAX_BITS

SIMPLIFY = ("expand", "factor", "collect", "none")

# The budget of symbolic work, in units of about 10 µs of sympy's time, counted from the expressions built (never
# timed): running a layer's formula costs LAYER_WORK (~4 ms) plus the nodes of its figures; showing a figure
# (present, below) costs FIGURE_WORK plus TERM_WORK per term of its expanded form (sympy's expand takes ~0.6 ms a
# term). The vision zoo under --symbolic H W needs at most 312 nodes, 19 levels and 625 terms in one figure (AlexNet,
# DenseNet) and less than half of MAX_WORK in all (DenseNet-161, 566 layers); a chain of strided unpadded
# convolutions nests one floor more per layer and is refused after about 40 layers instead of running for minutes.
MAX_FIGURE_NODES = 5_000  # one figure: a shape dimension, a count, a receptive-field value
MAX_FIGURE_TERMS = 10_000  # one figure multiplied out (what --simplify expand prints), bounded before expanding
MAX_FIGURE_DEPTH = 100  # nesting of one figure; sympy prints and expands by recursion, ~5 Python frames a level
MAX_WORK = 1_500_000  # one build or analysis (the CLI: one command, memory peaks included)
LAYER_WORK = 400
FIGURE_WORK = 20
TERM_WORK = 60


class Symbols:
    """The symbols of one analysis: what the engine computes with, and how to display the results."""

    __slots__ = ("env", "back", "names", "multiple_of")

    def __init__(self) -> None:
        self.env: dict[str, Any] = {}  # name -> expression the formulas see
        self.back: dict[Any, Any] = {}  # internal symbol -> display expression
        self.names: dict[str, Any] = {}  # name -> display symbol
        self.multiple_of: dict[str, int] = {}

    def show(self, expr: Any, mode: str = "expand", by: Iterable[str] = ()) -> Any:
        """An expression in the user's symbols, simplified as asked."""
        import sympy
        if not isinstance(expr, sympy.Basic):
            return expr
        expr = expr.xreplace(self.back) if self.back else expr
        if mode == "expand":
            return sympy.expand(expr)
        if mode == "factor":
            return sympy.factor(expr)
        if mode == "collect":
            syms = [self.names[n] for n in by if n in self.names] or list(self.names.values())
            return sympy.collect(sympy.expand(expr), syms)
        return expr


def make_symbols(names: Iterable[str], multiple_of: Mapping[str, int] | None = None) -> Symbols:
    """Positive-integer symbols for ``names``; ``multiple_of`` gives the divisibility assumptions."""
    import sympy
    out = Symbols()
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise SpecError(f"symbol name {name!r} is not an identifier")
        shown = sympy.Symbol(name, integer=True, positive=True)
        out.names[name] = shown
        m = (multiple_of or {}).get(name)
        if m is None or m == 1:
            out.env[name] = shown
            continue
        if not isinstance(m, int) or isinstance(m, bool) or m < 1:
            raise SpecError(f"multiple_of for {name} must be a positive integer, got {m!r}")
        inner = sympy.Symbol(f"{name}_{m}", integer=True, positive=True)  # H = m * H_m
        out.env[name] = m * inner
        out.multiple_of[name] = m
        out.back[inner] = shown / m
    return out


def index_symbol() -> Any:
    """The repeat index of a generic unit under a symbolic count."""
    import sympy
    return sympy.Symbol("i", integer=True, nonnegative=True)


def is_symbolic(value: Any) -> bool:
    return type(value).__module__.startswith("sympy")


def substitute(expr: Any, values: Mapping[str, Any], symbols: Symbols) -> Any:
    """Put numbers in for display symbols; exact (sympy Integer -> int where whole)."""
    import sympy
    if not isinstance(expr, sympy.Basic):
        return expr
    expr = expr.xreplace(symbols.back) if symbols.back else expr
    result = expr.xreplace({symbols.names[k]: sympy.Integer(v) if isinstance(v, int) else sympy.nsimplify(v)
                            for k, v in values.items() if k in symbols.names})
    return to_python(result)


def is_piecewise(value: Any) -> bool:
    """A formula holding a floor, ceiling, remainder, min, max or piecewise branch (not a polynomial)."""
    if not is_symbolic(value):
        return False
    import sympy
    return bool(value.has(sympy.floor, sympy.ceiling, sympy.Mod, sympy.Min, sympy.Max, sympy.Piecewise))


def to_python(value: Any) -> Any:
    """sympy numbers as exact Python ints or Fractions; expressions unchanged."""
    import sympy
    if isinstance(value, sympy.Integer):
        return int(value)
    if isinstance(value, sympy.Rational):
        from fractions import Fraction
        return Fraction(int(value.p), int(value.q))
    return value


def latex(expr: Any) -> str:
    import sympy
    return sympy.latex(expr) if isinstance(expr, sympy.Basic) else str(expr)


def add_all(values: list[Any]) -> Any:
    """The sum of ``values`` in one step (sympy sorts a sum each time it grows: adding n terms one at a time is
    quadratic)."""
    import sympy
    return sympy.Add(*values)


class SymbolicTooLarge(SpecError):
    """A symbolic figure, or the work of a symbolic analysis, passed its budget."""


class _Meter:
    __slots__ = ("used",)

    def __init__(self) -> None:
        self.used = 0


_METER: ContextVar[_Meter | None] = ContextVar("archcalc_symbolic_work", default=None)


@contextmanager
def metered() -> Iterator[None]:
    """One budget of ``MAX_WORK`` for the symbolic work inside (a build, an analysis); nested ones share it."""
    if _METER.get() is not None:
        yield
        return
    token = _METER.set(_Meter())
    try:
        yield
    finally:
        _METER.reset(token)


def charge(named: Iterable[tuple[str, Any]], fixed: int = 0) -> None:
    """Weigh the symbolic values among ``named`` ((what, value) pairs; numbers cost nothing) and spend their nodes,
    plus ``fixed``, from the current budget. Past a limit: one error naming the value, or the budget."""
    cost = fixed
    for what, value in named:
        if is_symbolic(value):
            cost += weigh(value, what)[0]
    spend(cost)


def spend(cost: int) -> None:
    """Spend ``cost`` units from the current budget (none outside ``metered``)."""
    meter = _METER.get()
    if meter is not None and cost:
        meter.used += cost
        if meter.used > MAX_WORK:
            raise SymbolicTooLarge(f"the symbolic work passed its budget of {MAX_WORK:,} units "
                                   "(expression nodes and terms)")


def weigh(expr: Any, what: str) -> tuple[int, int]:
    """(nodes, terms) of a sympy expression: the nodes of its tree, and an upper bound on the terms ``expand``
    gives (sums add, products multiply, powers raise; a function's arguments are expanded on their own). Refused
    past ``MAX_FIGURE_NODES``, ``MAX_FIGURE_DEPTH`` or ``MAX_FIGURE_TERMS``, or with a number of more than
    ``MAX_BITS`` bits; the counting stops there, so weighing costs at most that much."""
    nodes, stack = 0, [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_FIGURE_NODES:
            raise SymbolicTooLarge(f"{what} has more than {MAX_FIGURE_NODES:,} expression nodes")
        if depth > MAX_FIGURE_DEPTH:
            raise SymbolicTooLarge(f"{what} is nested more than {MAX_FIGURE_DEPTH} levels deep")
        if node.is_Rational and max(abs(node.p).bit_length(), node.q.bit_length()) > MAX_BITS:
            raise SymbolicTooLarge(f"{what} has a number of more than {MAX_BITS:,} bits")
        stack.extend((a, depth + 1) for a in node.args)
    cap = MAX_FIGURE_TERMS + 1
    inner = 0  # terms expanded inside function arguments
    count: dict[Any, int] = {}  # node -> terms of its expansion (capped), each distinct node once
    todo = [(expr, False)]
    while todo:  # post-order: a node after its arguments
        node, ready = todo.pop()
        if node in count:
            continue
        if not ready:
            todo.append((node, True))
            todo.extend((a, False) for a in node.args if a not in count)
            continue
        parts = [count[a] for a in node.args]
        if node.is_Add:
            n = sum(parts)
        elif node.is_Mul:
            n = 1
            for p in parts:
                n = min(n * p, cap)
        elif node.is_Pow and node.exp.is_Integer and node.exp > 0:
            n = parts[0] ** min(int(node.exp), 64) if parts[0] > 1 else 1
        else:  # a symbol, a number, or a function (floor, Max, ...) whose arguments expand inside it
            n = 1
            inner += sum(parts)
        count[node] = min(n, cap)
    total = count[expr] + inner
    if total > MAX_FIGURE_TERMS:
        raise SymbolicTooLarge(f"{what} multiplies out to more than {MAX_FIGURE_TERMS:,} terms")
    return nodes, total
