"""Pieces of a tensor along one dimension: ``split`` (torch.split, pieces of unequal sizes) and ``slice`` (strided
slicing ``x[:, start:end:step]``, and torch.narrow with ``length``). Data movement: no arithmetic.

Receptive field: along a spatial axis, output o of a piece that starts at ``start`` with step s reads input
start + o * s, a window of 1 at stride s whose padding is -start.
"""
from __future__ import annotations

from typing import Any

from ..core.declare import checked, field, maybe
from ..core.errors import ShapeError, SpecError
from ..core.expr import FUNCTIONS
from ..core.fields import Int, PositiveInt, fail, positive_int
from ..core.num import ceil_div, is_concrete
from .base import Cost, LayerSpec, Shape, Window, formula, torch_dim


def _sizes(value: Any, info: Any) -> Any:
    if isinstance(value, (list, tuple)):
        if not value:
            raise fail("split_size_or_sections is an empty list", "give a size, or one size per piece")
        return tuple(positive_int(v, info) for v in value)
    return positive_int(value, info)


Sizes = checked(_sizes, {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"},
                                   {"type": "array", "items": {"anyOf": [{"type": "integer", "minimum": 1},
                                                                         {"type": "string"}]}}]})


class SplitSpec(LayerSpec):
    """One of the pieces of torch.split: of a given size (the last may be smaller), or of listed sizes."""

    TYPES = ("split",)
    split_size_or_sections = field(Sizes, description="The size of every piece (the last may be smaller), or a "
                                                      "list of the sizes of the pieces, which must add up to the "
                                                      "dimension, as in torch.split.")
    index = field(Int, 0, "Which piece to keep, from 0.")
    dim = field(Int, 1, "Dimension to split, counted as in torch; default the channels (1, or -1 under layout: "
                        "channels_last).")


class SliceSpec(LayerSpec):
    """x[..., start:end:step] along one dimension (Python's rules for negative bounds), or torch.narrow(x, dim,
    start, length) with ``length``."""

    TYPES = ("slice",)
    dim = field(Int, description="Dimension to slice, counted as in torch (0 is the batch).")
    start = field(Int, 0, "First position kept; negative counts from the end.")
    end = field(maybe(Int), None, "Position after the last one kept (default: the end); negative counts from the "
                                  "end.")
    length = field(maybe(PositiveInt), None, "Positions kept from start (torch.narrow), instead of end.")
    step = field(PositiveInt, 1, "Keep every step-th position (x[:, ::2] is step 2).")


def _piece(axis: int, x: Shape, start: Any, length: Any, step: Any = 1) -> Cost:
    """The output of keeping ``length`` positions of dimension ``axis`` from ``start``, every ``step``."""
    if is_concrete(length) and length < 1:
        raise ShapeError(f"the piece of dimension {axis + 1} (size {x[axis]}) would be empty",
                         hint="check start, end and the sizes against the dimension")
    return Cost(shape=tuple(length if a == axis else d for a, d in enumerate(x)),
                rf={axis: Window(1, step, -start)})


@formula(SplitSpec)
def split(spec: SplitSpec, x: Shape) -> Cost:
    """torch.split: piece ``index`` of the sizes given (which must add up), or of pieces of one size."""
    axis = torch_dim(spec.dim, x)
    n, sizes = x[axis], spec.split_size_or_sections
    if isinstance(sizes, tuple):
        total = sum(sizes)
        if is_concrete(n) and is_concrete(total) and total != n:
            raise ShapeError(f"split sizes {list(sizes)} add up to {total}, but dimension {spec.dim} has {n}",
                             hint="give sizes that add up to the dimension")
        if not 0 <= spec.index < len(sizes):
            raise SpecError(f"index {spec.index} is out of range for {len(sizes)} pieces",
                            hint=f"use an index from 0 to {len(sizes) - 1}")
        return _piece(axis, x, sum(sizes[:spec.index]), sizes[spec.index])
    if spec.index < 0 or (is_concrete(n) and is_concrete(sizes) and spec.index >= ceil_div(n, sizes)):
        raise SpecError(f"index {spec.index} is out of range for pieces of {sizes} of {n}")
    start = spec.index * sizes
    return _piece(axis, x, start, FUNCTIONS["min"](sizes, n - start))


def _bound(value: Any, n: Any) -> Any:
    """A Python slice bound: negative counts from the end; clamped to [0, n] where n is known."""
    if is_concrete(value) and value < 0:
        value = n + value
    if is_concrete(value) and is_concrete(n):
        value = min(max(value, 0), n)
    return value


@formula(SliceSpec)
def slice_(spec: SliceSpec, x: Shape) -> Cost:
    """ceil((end - start) / step) positions of the dimension."""
    axis = torch_dim(spec.dim, x)
    n = x[axis]
    if spec.length is not None and spec.end is not None:
        raise SpecError("give end or length, not both", hint="length is torch.narrow's; end the slice's")
    start = _bound(spec.start, n)
    if spec.length is not None:  # torch.narrow: start + length must lie within the dimension
        end = start + spec.length
        if is_concrete(end) and is_concrete(n) and end > n:
            raise ShapeError(f"narrow from {start} by {spec.length} runs past the {n} positions of dimension "
                             f"{spec.dim}", hint="reduce start or length")
    else:
        end = n if spec.end is None else _bound(spec.end, n)
    return _piece(axis, x, start, ceil_div(end - start, spec.step), spec.step)
