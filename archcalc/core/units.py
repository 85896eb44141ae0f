"""Figures as text: in human units (12.35 M) for the table view and chart titles, or exact with thousands
separators. Every stage that words a figure uses these (the outputs, and the analyses' own messages)."""
from __future__ import annotations

from typing import Any

from .num import fmt_exact, fmt_number, is_concrete

_UNITS = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def human(n: Any) -> str:
    """12345678 -> '12.35 M': two decimals of K, M, G or T; scientific from 1,000 T."""
    if not is_concrete(n):
        return str(n)
    if abs(n) >= 1000 * _UNITS[0][0]:  # scientific, in Decimal: a float overflows above ~1e308
        from decimal import Decimal
        return f"{Decimal(n.numerator) / n.denominator:.2e}"
    for size, unit in _UNITS:
        if abs(n) >= size:
            return f"{fmt_number(n / size, '.2f')} {unit}"  # a Fraction (per-token counts) has no .2f before 3.12
    return str(fmt_exact(n))


def exact(n: Any) -> str:
    """12345678 -> '12,345,678'; a formula or a fraction as num.fmt_exact writes it."""
    return f"{n:,}" if isinstance(n, int) else str(fmt_exact(n))
