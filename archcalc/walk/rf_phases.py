"""Periodic receptive-field maps, where units see different inputs by phase (``PeriodicWindow``): composing a
resampling step onto a map, the union of maps, a map's shortest period. ``rf.py`` keeps the affine fields and
turns a map into an ``AxisRF``.

After upsampling or a transposed convolution the map is periodic: lo(o + N) = lo(o) + J (hi likewise), kept as
the period N, the shift J and lo, hi for the N phases, all integers (``AxisRF.phases``). A layer's step has the
same form, reading a(o)..b(o) of its input, and where maps are monotone, composing reads only the ends:

    lo'(o) = lo(a(o))      hi'(o) = hi(b(o))      N' = N_step * N / gcd(N, S_step)      J' = J * S_step / gcd(N, S_step)

(S_step the step's shift; a map that is not monotone takes the least and greatest ends over the reads). For
N = 1 this is the affine composition of ``rf.py``.
"""
from __future__ import annotations

from fractions import Fraction
from math import gcd
from typing import Any

from ..core.expr import FUNCTIONS
from ..core.num import is_concrete, rational
from ..layers.base import MAX_PERIOD, MAX_WORK, NON_UNIFORM, PeriodicWindow

UNALIGNED = "unaligned"  # merged branches whose jumps differ: no single window describes the output
_min, _max = FUNCTIONS["min"], FUNCTIONS["max"]


def concrete(w: PeriodicWindow) -> bool:
    """Every value of the step is a number (a symbol in it leaves the phases unknown)."""
    return all(is_concrete(v) for v in (w.period, w.shift, w.every, *w.first, *w.last) if v is not None)


def _at(values: tuple[Any, ...], period: int, shift: Any, i: int) -> Any:
    """values(i) of a periodic map: values[i mod period] + (i div period) * shift; None for an empty unit."""
    q, r = divmod(i, period)
    v = values[r]
    return None if v is None else v + q * shift


def compose_map(m: PeriodicWindow, w: PeriodicWindow) -> PeriodicWindow | str:
    """The map after a step ``w`` (concrete) that reads units of a tensor whose map is ``m`` (``NON_UNIFORM``
    when its period or the work would pass the limits).

    When ``m`` is monotone and no unit of it is empty, the first and last reads give the ends. A transposed
    convolution with a dilation or a kernel smaller than its stride makes it neither; the ends are then the
    least first and the greatest last over the reads, which lie within one period of reads from either end
    (one period on, every value has grown by a multiple of the shift).
    """
    g = gcd(m.period, w.shift)
    # the least multiple of w.period over which the step moves a whole number of m's periods
    period = w.period * m.period // g
    if period > MAX_PERIOD:
        return NON_UNIFORM
    shift = m.shift * (w.shift // g)
    reads = 1 if _monotone(m) else m.period // gcd(m.period, w.every)  # reads to look at from each end
    if period * reads > MAX_WORK:
        return NON_UNIFORM
    first, last = [], []
    for o in range(period):
        q, r = divmod(o, w.period)
        if w.first[r] is None:  # this output reads nothing
            first.append(None)
            last.append(None)
            continue
        a, b = w.first[r] + q * w.shift, w.last[r] + q * w.shift
        first.append(_extreme(m, m.first, a, b, w.every, reads, _min))
        last.append(_extreme(m, m.last, b, a, -w.every, reads, _max))
    return PeriodicWindow(period, shift, tuple(first), tuple(last))


def _monotone(m: PeriodicWindow) -> bool:
    """No unit is empty and first(o), last(o) never decrease (each phase's values are exact integers apart)."""
    for values in (m.first, m.last):
        if any(v is None for v in values):
            return False
        steps = [b - a for a, b in zip(values, values[1:] + (values[0] + m.shift,))]
        if not all(is_concrete(d) and d >= 0 for d in steps):
            return False
    return True


def _extreme(m: PeriodicWindow, values: tuple[Any, ...], start: int, stop: int, step: int, reads: int,
             pick: Any) -> Any:
    """The least (or greatest) of ``values`` over the reads start, start + step, ... (at most ``reads``, not past
    stop), skipping units that see nothing; None if all do."""
    seen, i = [], start
    for _ in range(reads):
        if (i - stop) * step > 0:
            break
        v = _at(values, m.period, m.shift, i)
        if v is not None:
            seen.append(v)
        i += step
    return pick(*seen) if seen else None


def merge_maps(maps: list[PeriodicWindow]) -> PeriodicWindow | str:
    """Per-unit union of periodic maps, over the least common multiple of their periods, when their jumps
    (shift / period) agree (else ``UNALIGNED``)."""
    period = 1
    for m in maps:
        period = period * m.period // gcd(period, m.period)
        if period > MAX_PERIOD:
            return NON_UNIFORM
    shifts = {m.shift * (period // m.period) for m in maps}
    if len(shifts) > 1:
        return UNALIGNED
    first, last = [], []
    for o in range(period):
        lows = [v for v in (_at(m.first, m.period, m.shift, o) for m in maps) if v is not None]
        highs = [v for v in (_at(m.last, m.period, m.shift, o) for m in maps) if v is not None]
        first.append(_min(*lows) if lows else None)
        last.append(_max(*highs) if highs else None)
    return PeriodicWindow(period, shifts.pop(), tuple(first), tuple(last))


def shortest(m: PeriodicWindow) -> PeriodicWindow:
    """The same map with its shortest period (an upsampled map that is then strided may be affine again)."""
    n = m.period
    if n == 1 or not is_concrete(m.shift):
        return m
    for p in range(1, n):
        if n % p or (m.shift * p) % n:
            continue
        step = m.shift * p // n
        if all(_follows(v[r], v[r + p], step) for v in (m.first, m.last) for r in range(n - p)):
            return PeriodicWindow(p, step, m.first[:p], m.last[:p])
    return m


def _follows(a: Any, b: Any, step: int) -> bool:
    """b = a + step (both empty also matches)."""
    if a is None or b is None:
        return a is None and b is None
    return bool(b - a == step)


def exact_number(v: Any) -> Any:
    """Exact numbers as Python ints or Fractions: with a symbol in the phases, their differences are sympy numbers."""
    if getattr(v, "is_Rational", False):
        return rational(Fraction(int(v.p), int(v.q)))
    return rational(v)
