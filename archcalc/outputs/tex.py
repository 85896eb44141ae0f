"""LaTeX for papers: figures with digits grouped in thousands (``81\\,456``), and ``formula --latex``'s equation
with its left-hand side (``\\mathrm{MACs}(H, W) = 81\\,456\\,H W + 2\\,048\\,000``).

Integer coefficients. A total that is an integer under the spec's assumptions can still have a fractional
coefficient in the user's symbols: ResNet-18's FLOPs are ``145159 H W / 2`` with H and W multiples of 32. The
equation then writes it in the assumption's variables, ``H = 32 h``: ``74\\,321\\,408\\,h w``, stating the
substitution after it. Every coefficient is then an integer and the value stays exact (a decimal such as
``72\\,579.5`` would be exact only for denominators of 2s and 5s, and reads as a measurement); ``h`` and ``w`` are
the grid at the network's total stride, which a reader of the architecture knows. When that does not clear the
fractions (a value that is not a polynomial, or a fraction that is one), the exact form is written as it is.

sympy is imported inside the functions (only symbolic mode has formulas to print).
"""
from __future__ import annotations

from typing import Any

from ..core.escape import latex as text_latex
from ..core.metrics import METRICS


def group(n: int) -> str:
    """An integer with ``\\,`` between its groups of three digits."""
    return f"{n:,}".replace(",", r"\,")


def tex(value: Any) -> str:
    """A figure (int, Fraction or sympy expression) in math-mode LaTeX, its integers' digits grouped."""
    from fractions import Fraction
    if isinstance(value, bool) or not isinstance(value, (int, Fraction)) and not _is_sympy(value):
        return text_latex(str(value))
    if isinstance(value, int):
        return group(value)
    if isinstance(value, Fraction):
        return _fraction(value.numerator, value.denominator)
    return _printer().doprint(value)


def _fraction(p: int, q: int) -> str:
    if q == 1:
        return group(p)
    return ("- " if p < 0 else "") + rf"\frac{{{group(abs(p))}}}{{{group(q)}}}"


def _is_sympy(value: Any) -> bool:
    return type(value).__module__.startswith("sympy")


_PRINTER: list[Any] = []


def _printer() -> Any:
    """sympy's LaTeX printer with grouped integers and a thin space after a grouped coefficient (in math mode
    ``81\\,456 H`` would set the last group against the symbol)."""
    if _PRINTER:
        return _PRINTER[0]
    from sympy.printing.latex import LatexPrinter

    class Grouped(LatexPrinter):
        def _print_Integer(self, expr: Any) -> str:
            return group(int(expr))

        def _print_int(self, expr: int) -> str:
            return group(expr)

        def _print_Rational(self, expr: Any) -> str:
            return _fraction(int(expr.p), int(expr.q))

        def _print_Mul(self, expr: Any) -> str:
            out = super()._print_Mul(expr)
            coeff, _ = expr.as_coeff_Mul()
            first = group(abs(int(coeff.p))) if coeff.is_Rational else ""  # a fraction: its numerator leads
            # "81\,456 H W" -> "81\,456\,H W" (and inside "\frac{"): only where the coefficient leads, grouped
            lead = out.lstrip("- ").removeprefix(r"\frac{")
            if r"\," in first and lead.startswith(first + " "):
                at = out.index(first) + len(first)
                out = out[:at] + r"\," + out[at + 1:]
            return out

    _PRINTER.append(Grouped())
    return _PRINTER[0]


def _metric_tex(metric: str) -> str:
    m = next(m for m in METRICS if m.name == metric)
    return m.tex or rf"\mathrm{{{text_latex(m.title)}}}"


def integer_form(value: Any, assumptions: dict[str, int] | None) -> tuple[Any, list[tuple[Any, int, Any]]]:
    """``value`` with integer coefficients when writing each assumed symbol ``S`` as ``m s`` (its ``multiple_of``
    ``m``) gives them, and the substitutions made ``(S, m, s)``; else ``value`` as it is and no substitution."""
    import sympy
    if not _is_sympy(value) or not assumptions:
        return value, []
    from ..core.symbolic import is_piecewise
    expanded = sympy.expand(value)
    if is_piecewise(expanded) or all(c.is_Integer for c in _coefficients(expanded)):
        return value, []
    free = sorted(expanded.free_symbols, key=str)
    taken = {str(s) for s in free}
    subs = []
    for s in free:
        m = assumptions.get(str(s), 1)
        if m > 1:
            name = str(s).lower()
            while name in taken:
                name = (name if name != str(s).lower() else str(s)) + "hat"  # sympy prints Hhat as \hat{H}
            taken.add(name)
            subs.append((s, m, sympy.Symbol(name, integer=True, positive=True)))
    if not subs:
        return value, []
    scaled = sympy.expand(expanded.xreplace({s: m * new for s, m, new in subs}))
    if not all(c.is_Integer for c in _coefficients(scaled)):
        return value, []
    if not value.is_Add and value != expanded:  # --simplify factor gave a product: keep it one
        return sympy.factor(scaled), subs
    return scaled, subs


def _coefficients(expr: Any) -> list[Any]:
    """The numeric coefficients of an expanded sum (a constant counts as one)."""
    import sympy
    return [term.as_coeff_Mul()[0] for term in sympy.Add.make_args(expr)]


def sides(report: Any, symbol: str, value: Any) -> tuple[str, str]:
    """An equation's two sides: ``symbol`` with the symbols ``value`` depends on as arguments (in the report's
    order), and ``value`` in integer coefficients where the assumptions give them, the substitution after it."""
    order = list(report.symbols or {})
    free = {str(s) for s in getattr(value, "free_symbols", ())}
    args = [n for n in order if n in free] + sorted(free - set(order))
    lhs = symbol
    if args:
        import sympy
        lhs += "(" + ", ".join(tex(sympy.Symbol(n)) for n in args) + ")"
    shown, subs = integer_form(value, report.assumptions)
    rhs = tex(shown)
    if subs:
        rhs += r" \qquad (" + r",\ ".join(f"{tex(s)} = {m}\\,{tex(new)}" for s, m, new in subs) + ")"
    return lhs, rhs


def formula(report: Any, metric: str) -> str:
    """``formula --latex``: a total's equation, or the receptive field's (``--metric rf``)."""
    return rf_equations(report) if metric == "rf" else equation(report, metric)


def equation(report: Any, metric: str) -> str:
    """``formula --latex``: the total as an equation, ``\\mathrm{MACs}(H, W) = ...`` (``sides``)."""
    lhs, rhs = sides(report, _metric_tex(metric), getattr(report.totals, metric))
    return f"{lhs} = {rhs}"


def rf_equations(report: Any) -> str:
    """``formula --metric rf --latex``: the output's receptive field as three equations (size, jump, padding),
    each with the symbols it depends on as arguments; a tuple of one value per axis where they differ, a marker
    such as ``global`` as text."""
    from ..walk.rf import AxisRF
    if report.rf is None:
        return r"\text{no receptive field}"
    parts = []
    for key in ("size", "jump", "padding"):
        values = [getattr(a, key) if isinstance(a, AxisRF) else a for a in report.rf.axes]
        cells = [rf"\text{{{text_latex(v)}}}" if isinstance(v, str) else tex(v) for v in values]
        rhs = cells[0] if len(set(cells)) == 1 else "(" + ", ".join(cells) + ")"
        lhs, _ = sides(report, rf"\mathrm{{RF}}_{{\mathrm{{{key}}}}}", sum_of(values))
        parts.append(f"{lhs} = {rhs}")
    return r",\quad ".join(parts)


def sum_of(values: list[Any]) -> Any:
    """Something holding every symbol of ``values`` (for an equation's arguments)."""
    formulas = [v for v in values if _is_sympy(v)]
    if not formulas:
        return 0
    import sympy
    return sympy.Add(*formulas)
