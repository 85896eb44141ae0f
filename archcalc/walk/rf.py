"""Receptive-field composition, per input spatial axis, exactly.

Along one axis, the receptive field of a tensor maps each of its units o to the interval [lo(o), hi(o)] of
network input positions its value depends on. Without resampling the map is affine, unit o sees
[o*j - P, o*j - P + r - 1], and it is kept as (size r, jump j, padding P). Composing a layer step (kernel k,
stride s, padding p, in units of that layer's input) gives, as in Araujo et al., Distill 2019:

    r' = r + (k - 1) * j        j' = j * s        P' = P + p * j

After upsampling or a transposed convolution units see different inputs by phase, and the map is periodic
(``AxisRF.phases``, a ``PeriodicWindow``), composed in ``rf_phases.py``. ``size`` is then the largest field one
unit has; ``jump`` = J / N and ``padding`` place the affine envelope holding every unit's field: unit o's lies within
[o*jump - padding, o*jump - padding + envelope - 1].
"""
from __future__ import annotations

from typing import Any, NamedTuple

from ..core.expr import FUNCTIONS
from ..core.num import fmt_exact, is_concrete, ratio, rational
from ..layers.base import GLOBAL, NON_UNIFORM, SYMBOLIC_PHASES, PeriodicWindow, RFStep, Window
from .rf_phases import UNALIGNED, compose_map, concrete, exact_number, merge_maps, shortest


class AxisRF(NamedTuple):
    """The receptive field along one axis: the largest field of one unit (``size``), the spacing of units in
    input positions (``jump``) and the offset of unit 0 (``padding``); ``phases`` holds the exact field of
    every unit when units differ by phase (None: unit o sees exactly [o*jump - padding, ... + size - 1]),
    and ``jump`` and ``padding`` then place the envelope."""

    size: Any = 1
    jump: Any = 1
    padding: Any = 0
    phases: PeriodicWindow | None = None

    @property
    def envelope(self) -> Any:
        """The size of the smallest affine window [o*jump - padding, o*jump - padding + envelope - 1] that holds
        every unit's field: ``size`` when units do not differ by phase."""
        if self.phases is None:
            return self.size
        ends = [last - r * self.jump for r, last in enumerate(self.phases.last) if last is not None]
        return exact_number(_max(*ends) + self.padding + 1) if ends else 0

    @property
    def sizes(self) -> tuple[Any, Any]:
        """(smallest, largest) field of one unit; they differ when the number of inputs seen varies by phase."""
        if self.phases is None:
            return self.size, self.size
        seen = [last - first + 1 for first, last in zip(self.phases.first, self.phases.last) if first is not None]
        return (exact_number(_min(*seen)), self.size) if seen else (0, 0)


Axis = Any  # AxisRF, or one of the markers GLOBAL, NON_UNIFORM, UNALIGNED, SYMBOLIC_PHASES
_min, _max = FUNCTIONS["min"], FUNCTIONS["max"]


class RF:
    """The receptive field of one tensor: one entry per spatial axis of the network input, and for each
    per-sample dimension of the tensor, the input axes it indexes (channels index none). Immutable."""

    __slots__ = ("axes", "dims")

    def __init__(self, axes: tuple[Axis, ...], dims: tuple[tuple[int, ...], ...]) -> None:
        self.axes = axes
        self.dims = dims

    @classmethod
    def of_input(cls, rank: int, sequence: bool = False) -> RF:
        """Channels first: dimension 0 holds channels, dimensions 1.. are the spatial axes 0... A sequence
        [T] or [T, d]: dimension 0 holds the positions, the one axis; the features hold none."""
        if sequence:
            return cls((AxisRF(),), ((0,),) + ((),) * (rank - 1))
        return cls(tuple(AxisRF() for _ in range(rank - 1)), ((),) + tuple((i,) for i in range(rank - 1)))

    def then(self, step: RFStep) -> RF:
        """The RF after a layer whose local step is ``step`` (see ``layers.base.RFStep``)."""
        if step is None:
            return self
        if step == GLOBAL:
            return RF((GLOBAL,) * len(self.axes), self.dims)
        windows = step if isinstance(step, dict) else {d + 1: w for d, w in enumerate(step)}
        axes = list(self.axes)
        for dim, w in windows.items():
            if _trivial(w):
                continue
            owned = self.dims[dim] if dim < len(self.dims) else tuple(range(len(axes)))
            if len(owned) == 1 and sum(owned[0] in d for d in self.dims) == 1:
                axes[owned[0]] = _compose(axes[owned[0]], w)
            else:  # a window over a flattened or reshaped dimension: assume it sees all of its axes
                for a in owned:
                    axes[a] = GLOBAL
        return RF(tuple(axes), self.dims)

    def remap(self, sources: tuple[tuple[int, ...], ...] | None, rank: int) -> RF:
        """Follow the tensor's dimensions through a layer; ``sources`` lists, per output dimension, the
        input dimensions it is made of. None: unchanged when the rank is, else every dimension may
        hold any spatial position (a reshape)."""
        if sources is None:
            if rank == len(self.dims):
                return self
            every = tuple(sorted({a for d in self.dims for a in d}))
            return RF(self.axes, (every,) * rank)
        return RF(self.axes, tuple(tuple(sorted({a for d in src for a in self.dims[d]})) for src in sources))

    def to_dict(self) -> dict[str, Any]:
        """JSON form: per-axis lists, or the marker itself when every axis shares it. When units differ by
        phase on some axis, ``envelope`` (per axis) and ``phases`` (per axis: null, or the period, the shift
        per period, the smallest and largest field, and each phase's first and last input position) follow."""
        out: dict[str, Any] = {}
        for key in ("size", "jump", "padding"):
            values = [fmt_exact(getattr(a, key)) if isinstance(a, AxisRF) else a for a in self.axes]
            out[key] = values[0] if values and all(isinstance(a, str) and a == self.axes[0]
                                                   for a in self.axes) else values
        if any(_phased(a) for a in self.axes):
            out["envelope"] = [fmt_exact(a.envelope) if isinstance(a, AxisRF) else a for a in self.axes]
            out["phases"] = [_phases_dict(a) if _phased(a) else None for a in self.axes]
        return out


def _phased(a: Axis) -> bool:
    return isinstance(a, AxisRF) and a.phases is not None


def varies(a: Axis) -> bool:
    """Units along this axis see fields of different sizes, by phase."""
    if not _phased(a):
        return False
    smallest, largest = a.sizes
    return not (is_concrete(smallest) and is_concrete(largest) and smallest == largest)


def _phases_dict(a: AxisRF) -> dict[str, Any]:
    m = a.phases
    assert m is not None

    def exact(v: Any) -> Any:
        return None if v is None else fmt_exact(v)
    return {"period": m.period, "shift": fmt_exact(m.shift), "sizes": [fmt_exact(s) for s in a.sizes],
            "first": [exact(v) for v in m.first], "last": [exact(v) for v in m.last]}


def _trivial(w: Any) -> bool:
    return w is None or (isinstance(w, Window) and w.kernel == 1 and w.stride == 1 and w.padding == 0)


def _compose(a: Axis, w: Any) -> Axis:
    if w is None:
        return a
    if a == GLOBAL or w == GLOBAL:
        return GLOBAL  # once every position is seen, it stays so
    if isinstance(a, str):
        return a  # non-uniform or unaligned stays so
    if isinstance(w, str):
        return w
    if isinstance(w, Window):
        if a.phases is None:  # the affine case, with symbols too
            return AxisRF(
                size=rational(a.size + (w.kernel - 1) * a.jump),
                jump=rational(a.jump * w.stride),
                padding=rational(a.padding + w.padding * a.jump),
            )
        w = PeriodicWindow(1, w.stride, (-w.padding,), (-w.padding + w.kernel - 1,), w.dilation)
    if not concrete(w):
        return SYMBOLIC_PHASES
    return _axis(compose_map(_as_map(a), w))


def _as_map(a: AxisRF) -> PeriodicWindow:
    """The field as a periodic map (period 1 for an affine one): unit o sees first(o)..last(o)."""
    if a.phases is not None:
        return a.phases
    return PeriodicWindow(1, a.jump, (-a.padding,), (-a.padding + a.size - 1,))


def _axis(m: PeriodicWindow | str) -> Axis:
    """The AxisRF of a periodic map, at its shortest period; period 1 is the affine (size, jump, padding). A
    marker (no map could be formed) stays as it is."""
    if isinstance(m, str):
        return m
    m = shortest(m)
    if m.period == 1 and m.first[0] is not None:
        return AxisRF(size=rational(m.last[0] - m.first[0] + 1), jump=rational(m.shift), padding=rational(-m.first[0]))
    jump = ratio(m.shift, m.period)
    seen = [(r, f, last) for r, (f, last) in enumerate(zip(m.first, m.last)) if f is not None]
    if not seen:  # no unit depends on the input (a constant): no field
        return AxisRF(size=0, jump=jump, padding=0, phases=m)
    size = _max(*(last - f + 1 for _, f, last in seen))
    padding = _max(*(r * jump - f for r, f, _ in seen))  # the envelope starts at o*jump - padding
    return AxisRF(size=exact_number(size), jump=exact_number(jump), padding=exact_number(padding), phases=m)


def merge(rfs: list[RF], broadcast: list[tuple[bool, ...]] | None = None, windows: bool = False) -> RF:
    """Union of the branches' input intervals, axis by axis; differing jumps cannot be aligned.

    ``broadcast[i][axis]``: input i has one unit along ``axis`` where another has more, so every output reads
    that one unit (a squeeze-excitation gate). The field of the windows alone (``windows``) ignores such an
    input along that axis. The field does not: it is global if that input's is, else non-uniform (a fixed
    interval joined to moving ones).
    """
    first = rfs[0]
    axes = []
    for i in range(len(first.axes)):
        column = [rf.axes[i] for rf in rfs]
        fixed = [bool(broadcast and broadcast[k][i]) for k in range(len(rfs))]
        if any(fixed) and not all(fixed):
            if windows:
                column = [a for a, f in zip(column, fixed) if not f]
            else:
                column = [NON_UNIFORM if f and a != GLOBAL else a for a, f in zip(column, fixed)]
        if any(a == GLOBAL for a in column):
            axes.append(GLOBAL)
        elif any(isinstance(a, str) for a in column):
            axes.append(next(a for a in column if isinstance(a, str)))
        elif any(a.phases is not None for a in column):
            axes.append(_axis(merge_maps([_as_map(a) for a in column])))
        elif len({a.jump for a in column}) > 1:
            axes.append(UNALIGNED)
        else:
            start = _min(*(-a.padding for a in column))  # intervals are [-P, -P + r - 1]
            end = _max(*(-a.padding + a.size - 1 for a in column))
            axes.append(AxisRF(size=rational(end - start + 1), jump=column[0].jump, padding=rational(-start)))
    return RF(tuple(axes), first.dims)


__all__ = ["AxisRF", "RF", "merge", "varies", "GLOBAL", "NON_UNIFORM", "SYMBOLIC_PHASES", "UNALIGNED"]


def repeat_rf(before: RF, after_one: RF, count: Any) -> RF:
    """The RF after ``count`` identical units, from the RF before and after one of them.

    A unit multiplies the jump by q and adds dr * j to the size (dP * j to the padding), where j is the
    jump it starts from; so after n units: size r0 + dr1 * (1 + q + ... + q^(n-1)) with dr1 = r1 - r0.
    Units that make fields differ by phase have no such closed form here: ``symbolic-phases``.
    """
    axes = []
    for a0, a1 in zip(before.axes, after_one.axes):
        if not isinstance(a0, AxisRF) or not isinstance(a1, AxisRF):
            axes.append(a1)
            continue
        if a0.phases is not None or a1.phases is not None:
            axes.append(a1 if a1 == a0 else SYMBOLIC_PHASES)
            continue
        q = rational(a1.jump / a0.jump) if is_concrete(a1.jump) and is_concrete(a0.jump) else a1.jump / a0.jump
        series = count if q == 1 else (q ** count - 1) / (q - 1)  # 1 + q + ... + q^(count-1)
        axes.append(AxisRF(size=a0.size + (a1.size - a0.size) * series, jump=a0.jump * q ** count,
                           padding=a0.padding + (a1.padding - a0.padding) * series))
    return RF(tuple(axes), after_one.dims)
