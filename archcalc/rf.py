"""Receptive-field composition, per input spatial axis, with exact rationals.

Composing a layer step (kernel k, stride s, padding p, in units of that layer's input) onto the state
(size r, jump j, effective padding P) gives, as in Araujo et al., Distill 2019:

    r' = r + (k - 1) * j        j' = j * s        P' = P + p * j

Output position 0 then sees input positions [-P, -P + r - 1].
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .expr import FUNCTIONS
from .layers.base import GLOBAL, NON_UNIFORM, RFStep, Window
from .num import fmt_exact, is_concrete, rational

UNALIGNED = "unaligned"  # merged branches whose jumps differ: no single window describes the output


class AxisRF(NamedTuple):
    size: Any = 1
    jump: Any = 1
    padding: Any = 0


Axis = Any  # AxisRF, or one of the markers GLOBAL, NON_UNIFORM, UNALIGNED


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
        """JSON form: per-axis lists, or the marker itself when every axis shares it."""
        out: dict[str, Any] = {}
        for key in ("size", "jump", "padding"):
            values = [fmt_exact(getattr(a, key)) if isinstance(a, AxisRF) else a for a in self.axes]
            out[key] = values[0] if values and all(isinstance(a, str) and a == self.axes[0]
                                                   for a in self.axes) else values
        return out


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
    return AxisRF(
        size=rational(a.size + (w.kernel - 1) * a.jump),
        jump=rational(a.jump * w.stride),
        padding=rational(a.padding + w.padding * a.jump),
    )


def merge(rfs: list[RF]) -> RF:
    """Union of the branches' input intervals, axis by axis; differing jumps cannot be aligned."""
    first = rfs[0]
    axes = []
    for i in range(len(first.axes)):
        column = [rf.axes[i] for rf in rfs]
        if any(a == GLOBAL for a in column):
            axes.append(GLOBAL)
        elif any(isinstance(a, str) for a in column):
            axes.append(next(a for a in column if isinstance(a, str)))
        elif len({a.jump for a in column}) > 1:
            axes.append(UNALIGNED)
        else:
            start = FUNCTIONS["min"](*(-a.padding for a in column))  # intervals are [-P, -P + r - 1]
            end = FUNCTIONS["max"](*(-a.padding + a.size - 1 for a in column))
            axes.append(AxisRF(size=rational(end - start + 1), jump=column[0].jump, padding=rational(-start)))
    return RF(tuple(axes), first.dims)


__all__ = ["AxisRF", "RF", "merge", "GLOBAL", "NON_UNIFORM", "UNALIGNED"]


def repeat_rf(before: RF, after_one: RF, count: Any) -> RF:
    """The RF after ``count`` identical units, from the RF before and after one of them.

    A unit multiplies the jump by q and adds dr * j to the size (dP * j to the padding), where j is the
    jump it starts from; so after n units: size r0 + dr1 * (1 + q + ... + q^(n-1)) with dr1 = r1 - r0.
    """
    axes = []
    for a0, a1 in zip(before.axes, after_one.axes):
        if not isinstance(a0, AxisRF) or not isinstance(a1, AxisRF):
            axes.append(a1)
            continue
        q = rational(a1.jump / a0.jump) if is_concrete(a1.jump) and is_concrete(a0.jump) else a1.jump / a0.jump
        series = count if q == 1 else (q ** count - 1) / (q - 1)  # 1 + q + ... + q^(count-1)
        axes.append(AxisRF(size=a0.size + (a1.size - a0.size) * series, jump=a0.jump * q ** count,
                           padding=a0.padding + (a1.padding - a0.padding) * series))
    return RF(tuple(axes), after_one.dims)
