"""How a layer's formula meets a tensor as the spec holds it. Under ``layout: channels_last`` (Keras) tensors are
held as ``[*spatial, C]``; a formula that reads ``[C, *spatial]`` is shown its input in that order, and its output,
receptive-field step and dimension map are moved back."""
from __future__ import annotations

from typing import Any

from ..core.num import is_concrete, prod
from ..read.nodes import Leaf
from .rf import RF
from .trace import Tensor


def apply(node: Leaf, x: Tensor, last: bool, others: tuple[tuple[Any, ...], ...] = ()
          ) -> tuple[Any, RF, RF, tuple[Any, ...], tuple[Any, ...], bool]:
    """(cost, RF after the layer, the field of its windows alone, the input shape its formula saw, the output
    shape as held, whether it was moved) of a one-input layer on ``x``, held channels last if ``last``. Channels
    last, a channels-first formula reads [C, *spatial]: its input's last dimension is presented first, and its
    output's first dimension (and the RF's dimension map) moved back to the end."""
    moved = last and getattr(node.spec, "channels_first", False) and len(x.shape) > 1
    seen = (x.shape[-1], *x.shape[:-1]) if moved else x.shape
    cost = node.formula(node.spec, seen, *others)  # others: the shapes of the tensors named by spec.reads()
    shape, rank = tuple(cost.shape), len(x.shape)

    def through(field: RF, statistics: bool) -> RF:
        def held(step: Any) -> Any:  # moved: steps keyed as the formula numbers dims
            return step if moved else held_step(step, last)
        if moved:  # the RF's dims numbered as the formula numbers them, then back
            field = field.remap(first_order(rank), rank)
        field = field.then(held(cost.rf))
        if statistics:
            field = field.then(held(cost.statistics))
        field = field.remap(cost.dims, len(shape))
        return field.remap(last_order(len(shape)), len(shape)) if moved else field

    out = (*shape[1:], shape[0]) if moved and shape else shape
    return cost, through(x.rf, True), through(x.windows, False), seen, out, bool(moved)


def held_step(rf: Any, last: bool) -> Any:
    """A layer's RF step on the tensor as held. A tuple has one window per spatial axis: dims 1.. channels
    first, dims 0.. channels last (a custom layer's windows); a dict is keyed by the held dims already."""
    if last and isinstance(rf, tuple):
        return dict(enumerate(rf))
    return rf


def first_order(rank: int) -> tuple[tuple[int, ...], ...]:
    """Channels last -> first: dim 0 is the held last dim (the channels), dims 1.. the spatial dims 0..n-2."""
    return ((rank - 1,), *((d,) for d in range(rank - 1))) if rank > 1 else ((0,),) * rank


def last_order(rank: int) -> tuple[tuple[int, ...], ...]:
    """Channels first -> last: dims 0..n-2 are the spatial dims 1.., the last dim is the channels (dim 0)."""
    return (*((d,) for d in range(1, rank)), (0,)) if rank > 1 else ((0,),) * rank


def broadcast(given: list[Tensor]) -> list[tuple[bool, ...]]:
    """Per input and spatial axis: the input has one position along the axis (its dimensions holding the axis
    have size 1, or none holds it) where another input has more, so every output reads that one position."""
    def extent(t: Tensor, axis: int) -> Any:
        return prod(n for n, held in zip(t.shape, t.rf.dims) if axis in held)

    def one(n: Any) -> bool:
        return is_concrete(n) and n == 1
    rank = len(given[0].rf.axes)
    extents = [[extent(t, a) for a in range(rank)] for t in given]
    return [tuple(one(e[a]) and any(not one(other[a]) for other in extents) for a in range(rank)) for e in extents]
