"""Arithmetic helpers written once for Python ``int`` and for sympy expressions.

Formulas use only ``+ - * //`` and these helpers, so the same code gives exact integers in numeric mode
and closed forms in symbolic mode. Nothing here imports sympy.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

Dim = Any  # an int, or a sympy expression in symbolic mode

# The size of every number archcalc computes or prints: an expression result, a dimension, a figure of a layer,
# a total, a --set or --vary value, a budget, a device's rate. 4,096 bits is 1,234 decimal digits: far beyond any
# real network (10**30 is 100 bits), small enough that printing, summing and converting stay instantaneous, and
# below Python's 4,300-digit limit on int <-> str, so no conversion ever meets it.
MAX_BITS = 4096
MAX_DIGITS = 1234  # decimal digits of a MAX_BITS-bit number: 4096 * log10(2) = 1233.0...
LIMIT_HINT = f"numbers are limited to {MAX_BITS:,} bits, {MAX_DIGITS:,} digits"


class TooLarge(ValueError):
    """A number beyond ``MAX_BITS``; the caller says which one and where."""


def bits(x: Any) -> int:
    """The size of an exact number: an int's bit length, a fraction's larger term; 0 for anything else."""
    if isinstance(x, int):
        return x.bit_length()
    if isinstance(x, Fraction):
        return max(x.numerator.bit_length(), x.denominator.bit_length())
    return 0


def is_concrete(x: Any) -> bool:
    """True for a plain number; sympy values are only concrete once they are numbers."""
    return isinstance(x, (int, Fraction)) and not isinstance(x, bool)


def prod(xs: Iterable[Dim]) -> Dim:
    """The product, refused as soon as it passes ``MAX_BITS`` (a high-rank shape of huge sizes would otherwise
    take quadratic time to multiply out)."""
    out: Dim = 1
    for x in xs:
        out = out * x
        if isinstance(out, int) and out.bit_length() > MAX_BITS:
            from .errors import ShapeError
            raise ShapeError(f"a product of sizes has more than {MAX_BITS:,} bits", hint=LIMIT_HINT)
    return out


def ceil_div(a: Dim, b: Dim) -> Dim:
    # ceil(a / b) == -floor(-a / b), and ``//`` is floor on int and on sympy alike
    return -((-a) // b)


def conv_out(n: Dim, kernel: Dim, stride: Dim, pad_total: Dim, dilation: Dim = 1,
             ceil_mode: bool = False) -> Dim:
    """Output length of a sliding window: floor((n + pad - d*(k-1) - 1) / s) + 1 (ceil with ``ceil_mode``)."""
    span = n + pad_total - dilation * (kernel - 1) - 1
    if isinstance(stride, int) and stride == 1:  # floor(span / 1) is span: spares sympy a floor to evaluate
        return span + 1
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


def decimal(x: float) -> int | Fraction:
    """A finite float as the exact decimal its shortest repr writes (0.1 is 1/10, 1e300 is 10**300), not its binary
    value; what a spec's author meant by the number."""
    return rational(Fraction(repr(x)))


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


_DECIMAL = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")


def decimal_number(text: str) -> Fraction | None:
    """The exact value of a decimal numeral (``4e9``, ``19.5e12``, ``-3``, ``.5``), or None if ``text`` is not one.

    Raises ``TooLarge`` past ``MAX_DIGITS`` digits before computing anything: ``Fraction("1e99999999")`` builds a
    number of 10**8 digits, which takes minutes."""
    m = _DECIMAL.fullmatch(text.strip())
    if not m or not (m.group(2) or m.group(3)):
        return None
    sign, whole, frac, exp = m.group(1), m.group(2), m.group(3) or "", m.group(4) or "0"
    if len(whole) + len(frac) > 4 * MAX_DIGITS or len(exp.lstrip("+-0")) > len(str(4 * MAX_DIGITS)):
        raise TooLarge(text)
    digits = (whole + frac).lstrip("0")
    if not digits:
        return Fraction(0)
    scale = int(exp) - len(frac)  # value = digits * 10**scale
    if len(digits) + scale > MAX_DIGITS or -scale > MAX_DIGITS:
        raise TooLarge(text)
    value = Fraction(int(digits)) * Fraction(10) ** scale
    if bits(value) > MAX_BITS:
        raise TooLarge(text)
    return -value if sign == "-" else value


def whole_number(text: str) -> int | None:
    """An integer written in ASCII digits (``-12``), or None; ``TooLarge`` past ``MAX_DIGITS`` digits.
    (``str.isdigit`` accepts ``²`` and ``int`` other scripts' digits: neither is a number here.)"""
    text = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    if len(text.lstrip("+-").lstrip("0")) > MAX_DIGITS:
        raise TooLarge(text)
    value = int(text)
    if value.bit_length() > MAX_BITS:
        raise TooLarge(text)
    return value


FLOAT_RANGE = "about 1.8e308"  # the largest float, as messages state it


def as_float(x: Any) -> float | None:
    """``float(x)`` for an exact number, or None when it is beyond float range (or so small that it would round
    to zero): the caller then reports the value, or writes it with ``sci``."""
    try:
        f = float(x)
    except OverflowError:
        return None
    if f in (float("inf"), float("-inf")) or f == 0 and x != 0:
        return None
    return f


def fmt_number(x: Any, spec: str) -> str:
    """``format(float(x), spec)`` for an exact number, also beyond float range (then in ``Decimal``, exactly
    rounded): a figure of 10**400 formats as ``1.00e+400`` instead of overflowing."""
    f = as_float(x)
    if f is not None:
        return format(f, spec)
    from decimal import Context, Decimal
    x = Fraction(x)
    context = Context(prec=40, Emax=10 * MAX_DIGITS, Emin=-10 * MAX_DIGITS)
    return format(context.divide(Decimal(x.numerator), Decimal(x.denominator)), spec)
