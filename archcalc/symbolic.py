"""Symbolic mode: names become sympy symbols (positive integers), the same formulas run on them, and
the totals come out as closed forms. sympy is imported only here, and only when a symbol is asked for.

An assumption ``multiple_of: m`` on a symbol ``H`` is applied by substitution: the engine sees
``H = m * H_m`` with ``H_m`` a positive integer, so strided floors such as ``floor(H / 2)`` simplify to
polynomials; reports substitute ``H_m = H / m`` back.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import SpecError

SIMPLIFY = ("expand", "factor", "collect", "none")


@dataclass
class Symbols:
    """The symbols of one analysis: what the engine computes with, and how to display the results."""

    env: dict[str, Any] = field(default_factory=dict)  # name -> expression the formulas see
    back: dict[Any, Any] = field(default_factory=dict)  # internal symbol -> display expression
    names: dict[str, Any] = field(default_factory=dict)  # name -> display symbol
    multiple_of: dict[str, int] = field(default_factory=dict)

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


def present(report: Any, symbols: Symbols, mode: str, by: Iterable[str] = ()) -> None:
    """Rewrite every figure of a report in the user's symbols, simplified (in place)."""
    from .rf import RF, AxisRF
    if mode not in SIMPLIFY:
        raise SpecError(f"unknown simplification {mode!r}", hint=f"use one of {', '.join(SIMPLIFY)}")

    def show(v: Any) -> Any:
        return to_python(symbols.show(v, mode, by)) if is_symbolic(v) else v

    def show_rf(rf: RF | None) -> RF | None:
        if rf is None:
            return None
        return RF(tuple(AxisRF(show(a.size), show(a.jump), show(a.padding), show_phases(a.phases))
                        if isinstance(a, AxisRF) else a for a in rf.axes), rf.dims)

    def show_phases(m: Any) -> Any:
        if m is None:
            return None
        return m._replace(shift=show(m.shift), first=tuple(None if v is None else show(v) for v in m.first),
                          last=tuple(None if v is None else show(v) for v in m.last))

    def show_totals(t: Any) -> None:
        t.params, t.buffers, t.macs = show(t.params), show(t.buffers), show(t.macs)
        t.flops, t.activations, t.cache = show(t.flops), show(t.activations), show(t.cache)
        t.flops_by_kind = {k: show(v) for k, v in t.flops_by_kind.items()}

    for row in report.layers:
        show_totals(row)
        row.output_shape = tuple(show(d) for d in row.output_shape)
        row.input_elements, row.live = show(row.input_elements), show(row.live)
        row.rf, row.rf_windows = show_rf(row.rf), show_rf(row.rf_windows)
    stack = list(report.blocks)
    while stack:
        block = stack.pop()
        show_totals(block.totals)
        block.output_shape = tuple(show(d) for d in block.output_shape)
        block.rf, block.rf_windows = show_rf(block.rf), show_rf(block.rf_windows)
        stack.extend(block.children)
    show_totals(report.totals)
    report.input_shape = tuple(show(d) for d in report.input_shape)
    report.output_shape = tuple(show(d) for d in report.output_shape)
    report.rf, report.rf_windows = show_rf(report.rf), show_rf(report.rf_windows)
    report.symbols = {name: str(sym) for name, sym in symbols.names.items()}
    report.assumptions = dict(symbols.multiple_of)
