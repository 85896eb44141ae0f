"""Padding and cropping of the spatial axes: ``pad`` and ``crop``."""
from __future__ import annotations

from typing import Any

from ..core.declare import checked, choice, field, maybe
from ..core.errors import ShapeError, SpecError
from ..core.fields import Number, PositiveAxes, fail, nonneg_int
from ..core.num import is_concrete
from .base import Cost, LayerSpec, Shape, Window, expect_rank, formula, per_axis


def _pad_amounts(value: Any, info: Any) -> Any:
    """An int for every side, a list with one int per axis, or a list of [before, after] pairs."""
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            if isinstance(v, (list, tuple)):
                if len(v) != 2:
                    raise fail("each per-axis entry is one int or a pair [before, after]")
                out.append((nonneg_int(v[0], info), nonneg_int(v[1], info)))
            else:
                n = nonneg_int(v, info)
                out.append((n, n))
        if not out:
            raise fail("padding needs at least one axis")
        return tuple(out)
    return nonneg_int(value, info)


PadAmounts = checked(_pad_amounts, {"anyOf": [
    {"type": "integer", "minimum": 0}, {"type": "string"},
    {"type": "array", "items": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"},
                                          {"type": "array", "minItems": 2, "maxItems": 2}]}}]})


class PadSpec(LayerSpec):
    """Pads the spatial axes (torch.nn.ZeroPad2d, ConstantPad, ReflectionPad, ReplicationPad)."""

    TYPES = ("pad",)
    channels_first = True
    padding = field(PadAmounts, description="An int for every side of every spatial axis, or per spatial axis "
                                            "(in axis order) an int or a pair [before, after].")
    mode = field(choice("constant", "reflect", "replicate", "circular"), "constant", "Fill mode (no count changes).")
    value = field(Number, 0, "Fill value for constant mode.")


@formula(PadSpec)
def pad(spec: PadSpec, x: Shape) -> Cost:
    """Adds before/after positions to each spatial axis; no arithmetic."""
    expect_rank(x, tuple(range(2, 9)), "[channels, *spatial]")
    amounts = _pairs(spec.padding, len(x) - 1, "padding", x)
    out = tuple(n + a + b for n, (a, b) in zip(x[1:], amounts))
    return Cost(shape=(x[0], *out), rf=tuple(Window(1, 1, a) for a, _ in amounts))


def _pairs(value: Any, nd: int, field_name: str, x: Shape) -> tuple[tuple[Any, Any], ...]:
    """(before, after) per spatial axis from an int for every side or a per-axis list (PadAmounts)."""
    amounts = value if isinstance(value, tuple) else ((value, value),) * nd
    if len(amounts) != nd:
        raise SpecError(f"{field_name} gives {len(amounts)} axes but the input has {nd} spatial axes",
                        hint=f"give one entry per spatial axis of {list(x[1:])}")
    return amounts


class CropSpec(LayerSpec):
    """Center crop of the spatial axes (U-Net's skip connections): to a size (torchvision's CenterCrop), or
    by a margin on each side (Keras' Cropping2D), which keeps a symbolic input size symbolic."""

    TYPES = ("crop",)
    channels_first = True
    size = field(maybe(PositiveAxes), None, "Output size per spatial axis.")
    margin = field(maybe(PadAmounts), None, "Positions dropped (instead of size): an int for every side of every "
                                            "spatial axis, or per spatial axis an int or a pair [before, after].")


@formula(CropSpec)
def crop(spec: CropSpec, x: Shape) -> Cost:
    """Keeps the centre: offset (n - size) // 2, or the margin, on each axis; no arithmetic."""
    expect_rank(x, tuple(range(2, 9)), "[channels, *spatial]")
    if (spec.size is None) == (spec.margin is None):
        raise SpecError("give exactly one of size and margin")
    nd = len(x) - 1
    if spec.margin is not None:
        margins = _pairs(spec.margin, nd, "margin", x)
        offsets = tuple(a for a, _ in margins)
        sizes = tuple(n - a - b for n, (a, b) in zip(x[1:], margins))
    else:
        sizes = per_axis(spec.size, nd, "size")
        offsets = tuple((n - m) // 2 for n, m in zip(x[1:], sizes))
    for axis, (n, m) in enumerate(zip(x[1:], sizes)):
        if is_concrete(n) and is_concrete(m) and not 0 < m <= n:
            raise ShapeError(f"cropping spatial axis {axis} of size {n} to {m}", hint="crop less")
    # output o reads input o + offset: a window of 1 with padding -offset
    return Cost(shape=(x[0], *sizes), rf=tuple(Window(1, 1, -offset) for offset in offsets))
