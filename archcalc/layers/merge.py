"""Merges of several tensors: ``add``, ``mul`` (both broadcast, as torch does) and ``concat``.

Their formulas take a list of input shapes; the engine passes one per input and names the inputs
in errors.
"""
from __future__ import annotations

from typing import Any

from ..core.declare import TEXT, field, list_of, maybe
from ..core.errors import ShapeError
from ..core.fields import Int
from ..core.num import is_concrete, prod
from .base import Cost, LayerSpec, Shape, formula, torch_dim


class _MergeBase(LayerSpec):
    inputs = field(maybe(list_of(TEXT)), None, "Names of earlier layers or blocks to merge; '.' is "
                                                       "the current tensor. Implied inside parallel/residual.")
    kind = "elementwise"
    arity = "many"


class ElementwiseSpec(_MergeBase):
    """Elementwise sum or product of the inputs, broadcasting like torch (e.g. SE gating [C,1,1] * [C,H,W])."""

    TYPES = ("add", "mul")


class ConcatSpec(_MergeBase):
    """Concatenation along one dimension, as torch.cat."""

    TYPES = ("concat",)
    dim = field(Int, 1, "Dimension to concatenate along, counted as in torch; default the channels (1, or -1 "
                        "under layout: channels_last).")
    kind = "other"


def broadcast(shapes: list[Shape], labels: list[str]) -> Shape:
    """torch broadcasting of per-sample shapes: align right; sizes must match or be 1."""
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for axis in range(rank):
        sizes = [s[axis] for s in padded]
        big = [n for n in sizes if not (is_concrete(n) and n == 1)]
        if any(is_concrete(a) and is_concrete(b) and a != b for a in big for b in big):
            raise ShapeError(f"cannot merge {_describe(shapes, labels)}: sizes differ on dimension {axis + 1}",
                             hint="make the branches agree (a projection shortcut, or matching strides)")
        out.append(big[0] if big else 1)
    return tuple(out)


def _describe(shapes: list[Shape], labels: list[str]) -> str:
    return " and ".join(f"{label} {list(s)}" for label, s in zip(labels, shapes))


@formula(ElementwiseSpec)
def elementwise(spec: ElementwiseSpec, xs: list[Shape], labels: list[str]) -> Cost:
    """n inputs cost n-1 adds (or multiplies) per output element."""
    out = broadcast(xs, labels)
    return Cost(shape=out, flops={"elementwise": prod(out) * (len(xs) - 1)})


@formula(ConcatSpec)
def concat(spec: ConcatSpec, xs: list[Shape], labels: list[str]) -> Cost:
    """Copies the inputs side by side; no arithmetic."""
    ranks = {len(s) for s in xs}
    if len(ranks) > 1:
        raise ShapeError(f"cannot concatenate {_describe(xs, labels)}: ranks differ")
    axis = torch_dim(spec.dim, xs[0])
    for a in range(len(xs[0])):
        if a == axis:
            continue
        sizes = [s[a] for s in xs]
        if any(is_concrete(n) and is_concrete(sizes[0]) and n != sizes[0] for n in sizes):
            raise ShapeError(f"cannot concatenate {_describe(xs, labels)} on dimension {spec.dim}: "
                             f"dimension {a + 1} differs", hint="all other dimensions must match")
    total: Any = sum(s[axis] for s in xs)
    return Cost(shape=tuple(total if a == axis else n for a, n in enumerate(xs[0])))


class SubtractSpec(_MergeBase):
    """The first input minus the second, broadcasting like torch (PoolFormer's token mixer: pool(x) - x)."""

    TYPES = ("sub",)


@formula(SubtractSpec)
def subtract(spec: SubtractSpec, xs: list[Shape], labels: list[str]) -> Cost:
    """One subtraction per output element."""
    if len(xs) != 2:
        raise ShapeError(f"sub takes two inputs (the first minus the second), got {len(xs)}",
                         hint="list two names in inputs, or give the parallel two branches")
    out = broadcast(xs, labels)
    return Cost(shape=out, flops={"elementwise": prod(out)})
