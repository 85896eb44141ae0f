"""``roll``: torch.roll, a cyclic shift along some dimensions (Swin's shifted windows). Data movement, no
arithmetic."""
from __future__ import annotations

from ..core.declare import field
from ..core.errors import SpecError
from ..core.fields import IntAxes
from .base import NON_UNIFORM, Cost, LayerSpec, Shape, formula, torch_dim


class RollSpec(LayerSpec):
    """torch.roll(x, shifts, dims): element i of a rolled dimension of size n moves to (i + shift) mod n."""

    TYPES = ("roll",)
    shifts = field(IntAxes, description="Places to shift by: one, or one per entry of dims (negative: towards 0).")
    dims = field(IntAxes, description="Dimension(s) to roll, counted as in torch (0 is the batch, which stays).")
    kind = "reshape"


def rolled(spec: RollSpec, x: Shape) -> dict[int, int]:
    """Per-sample dimension -> its shift; refuses a length mismatch, the batch and a dimension named twice."""
    shifts = spec.shifts if isinstance(spec.shifts, tuple) else (spec.shifts,)
    dims = spec.dims if isinstance(spec.dims, tuple) else (spec.dims,)
    if len(shifts) != len(dims):
        raise SpecError(f"roll has {len(shifts)} shifts for {len(dims)} dims", hint="give one shift per dimension")
    out: dict[int, int] = {}
    for d, s in zip(dims, shifts):
        axis = torch_dim(d, x, "dims")
        if axis in out:
            raise SpecError(f"roll names dimension {d} twice", hint="name each dimension once")
        out[axis] = s
    return out


@formula(RollSpec)
def roll(spec: RollSpec, x: Shape) -> Cost:
    """Same shape, 0 FLOPs. Each output reads one input, but the wrap-around breaks the uniform spacing of the
    positions along a rolled dimension, so its receptive field is reported non-uniform there (exact elsewhere)."""
    shifted = rolled(spec, x)
    return Cost(shape=x, rf={axis: NON_UNIFORM for axis, s in shifted.items() if s != 0})
