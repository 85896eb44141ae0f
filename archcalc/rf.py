"""Receptive-field composition, per input spatial axis, with exact rationals.

Composing a layer step (kernel k, stride s, padding p, in units of that layer's input) onto the state
(size r, jump j, effective padding P) gives, as in Araujo et al., Distill 2019:

    r' = r + (k - 1) * j        j' = j * s        P' = P + p * j

Output position 0 then sees input positions [-P, -P + r - 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .layers.base import GLOBAL, NON_UNIFORM, REINDEX, RFStep, Window
from .num import fmt_exact, rational

UNALIGNED = "unaligned"  # merged branches whose jumps differ: no single window describes the output


@dataclass(frozen=True, slots=True)
class AxisRF:
    size: Any = 1
    jump: Any = 1
    padding: Any = 0


Axis = Any  # AxisRF, or one of the markers GLOBAL, NON_UNIFORM, UNALIGNED


@dataclass(frozen=True, slots=True)
class RF:
    """The receptive field of one tensor: one entry per spatial axis of the network input."""

    axes: tuple[Axis, ...]
    aligned: bool = True  # False once a reshape has scrambled the spatial layout

    @classmethod
    def of_input(cls, n_axes: int) -> RF:
        return cls(tuple(AxisRF() for _ in range(n_axes)))

    def then(self, step: RFStep) -> RF:
        """The RF after a layer with local step ``step``."""
        if step is None:
            return self
        if step == GLOBAL:
            return RF((GLOBAL,) * len(self.axes), self.aligned)
        if step == REINDEX:
            return RF(self.axes, False)
        if not self.aligned or len(step) != len(self.axes):
            if all(_trivial(w) for w in step):
                return self
            return RF((GLOBAL,) * len(self.axes), False)  # windows over scrambled positions: assume the worst
        return RF(tuple(_compose(a, w) for a, w in zip(self.axes, step)), True)

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
            start = min(-a.padding for a in column)  # intervals are [-P, -P + r - 1]
            end = max(-a.padding + a.size - 1 for a in column)
            axes.append(AxisRF(size=rational(end - start + 1), jump=column[0].jump, padding=rational(-start)))
    return RF(tuple(axes), all(rf.aligned for rf in rfs))


__all__ = ["AxisRF", "RF", "merge", "GLOBAL", "NON_UNIFORM", "UNALIGNED"]
