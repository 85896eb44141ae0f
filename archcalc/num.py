"""Arithmetic helpers written once for Python ``int`` and for sympy expressions.

Formulas use only ``+ - * //`` and these helpers, so the same code gives exact integers in numeric mode
and closed forms in symbolic mode. Nothing here imports sympy.
"""
from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

Dim = Any  # an int, or a sympy expression in symbolic mode


def is_concrete(x: Any) -> bool:
    """True for a plain number; sympy values are only concrete once they are numbers."""
    return isinstance(x, (int, Fraction)) and not isinstance(x, bool)


def prod(xs: Iterable[Dim]) -> Dim:
    out: Dim = 1
    for x in xs:
        out = out * x
    return out


def ceil_div(a: Dim, b: Dim) -> Dim:
    # ceil(a / b) == -floor(-a / b), and ``//`` is floor on int and on sympy alike
    return -((-a) // b)


def conv_out(n: Dim, kernel: Dim, stride: Dim, pad_total: Dim, dilation: Dim = 1,
             ceil_mode: bool = False) -> Dim:
    """Output length of a sliding window: floor((n + pad - d*(k-1) - 1) / s) + 1 (ceil with ``ceil_mode``)."""
    span = n + pad_total - dilation * (kernel - 1) - 1
    return (ceil_div(span, stride) if ceil_mode else span // stride) + 1


def rational(x: Any) -> Any:
    """Exact rational for numbers (never a float); symbolic values pass through."""
    if isinstance(x, bool):
        raise TypeError("bool is not a number here")
    if isinstance(x, int):
        return x
    if isinstance(x, Fraction):
        return int(x) if x.denominator == 1 else x
    if isinstance(x, float):
        return rational(Fraction(x).limit_denominator(10**6))
    return x


def fmt_exact(x: Any) -> Any:
    """JSON form of an exact value: ints stay ints, rationals become strings such as ``"1/2"``."""
    if isinstance(x, Fraction):
        return int(x) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"
    if isinstance(x, int):
        return x
    return str(x)


def ratio(a: Any, b: Any) -> Any:
    """Exact a / b: a Fraction (or int) for numbers, a sympy quotient for symbols."""
    if is_concrete(a) and is_concrete(b):
        return rational(Fraction(a) / Fraction(b))
    return a / b


def free_names(value: Any) -> set[str]:
    """Names of the free symbols of a sympy value; empty for numbers."""
    symbols = getattr(value, "free_symbols", None)
    return {str(s) for s in symbols} if symbols else set()
