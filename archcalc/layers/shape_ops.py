"""Layers that move data without arithmetic on it (or, for upsampling, with interpolation):
``identity``, ``dropout``, ``flatten``, ``reshape``, ``permute``, ``chunk``, ``channel_shuffle``, ``pad``, ``crop``
and ``upsample``."""
from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, WithJsonSchema

from ..errors import ShapeError, SpecError
from ..expr import FUNCTIONS
from ..fields import Flag, Int, IntList, Number, PositiveAxes, PositiveInt, described, fail, nonneg_int, number
from ..num import ceil_div, is_concrete, prod, rational
from .base import (
    NON_UNIFORM,
    Cost,
    LayerSpec,
    Shape,
    Window,
    check_divides,
    expect_rank,
    formula,
    per_axis,
    positive_out,
    torch_dim,
)


class IdentitySpec(LayerSpec):
    """Passes the input through (torch.nn.Identity)."""

    type: Literal["identity"]


class DropoutSpec(LayerSpec):
    """Dropout; the analysis is of inference, where dropout is the identity."""

    type: Literal["dropout", "dropout1d", "dropout2d", "dropout3d", "stochastic_depth"]
    p: Number = described(0.5, "Drop probability (no count changes at inference).")
    mode: Literal["row", "batch"] | None = described(None, "stochastic_depth only: torchvision's mode "
                                                           "(no count changes).")


@formula(IdentitySpec)
@formula(DropoutSpec)
def passthrough(spec: LayerSpec, x: Shape) -> Cost:
    """No parameters and no arithmetic."""
    return Cost(shape=x)


class FlattenSpec(LayerSpec):
    """Flattens a range of dimensions, as torch.nn.Flatten."""

    type: Literal["flatten"]
    start_dim: Int = described(1, "First dimension to flatten, counted as in torch (0 is the batch).")
    end_dim: Int = described(-1, "Last dimension to flatten, counted as in torch.")


@formula(FlattenSpec)
def flatten(spec: FlattenSpec, x: Shape) -> Cost:
    """Merges dimensions start_dim..end_dim into one."""
    start, end = torch_dim(spec.start_dim, x, "start_dim"), torch_dim(spec.end_dim, x, "end_dim")
    if start > end:
        raise ShapeError(f"start_dim={spec.start_dim} comes after end_dim={spec.end_dim}")
    shape = (*x[:start], prod(x[start:end + 1]), *x[end + 1:])
    dims = (*((d,) for d in range(start)), tuple(range(start, end + 1)), *((d,) for d in range(end + 1, len(x))))
    return Cost(shape=shape, dims=dims)


class ReshapeSpec(LayerSpec):
    """Reshapes each sample, as torch.reshape with the batch dimension kept."""

    type: Literal["reshape"]
    shape: IntList = Field(description="Target shape per sample (batch excluded); one entry may be -1.")


@formula(ReshapeSpec)
def reshape(spec: ReshapeSpec, x: Shape) -> Cost:
    """Same elements, new shape; a -1 entry is inferred."""
    target = spec.shape if isinstance(spec.shape, tuple) else (spec.shape,)
    numel = prod(x)
    holes = [i for i, v in enumerate(target) if is_concrete(v) and v == -1]
    if len(holes) > 1 or any(is_concrete(v) and (v == 0 or v < -1) for v in target):
        raise SpecError(f"shape {list(target)} may hold one -1 and otherwise positive sizes")
    if holes:
        known = prod(v for i, v in enumerate(target) if i not in holes)
        if is_concrete(known) and is_concrete(numel) and numel % known:
            raise ShapeError(f"cannot reshape {list(x)} ({numel} elements) to {list(target)}",
                             hint="the known sizes must divide the element count")
        target = tuple(numel // known if i in holes else v for i, v in enumerate(target))
    total = prod(target)
    if is_concrete(total) and is_concrete(numel) and total != numel:
        raise ShapeError(f"cannot reshape {list(x)} ({numel} elements) to {list(target)} ({total} elements)",
                         hint="the element counts must match")
    same = tuple(target) == tuple(x)
    return Cost(shape=tuple(target), dims=tuple((d,) for d in range(len(x))) if same else None)


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


PadAmounts = Annotated[Any, PlainValidator(_pad_amounts), WithJsonSchema({"anyOf": [
    {"type": "integer", "minimum": 0}, {"type": "string"},
    {"type": "array", "items": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"},
                                          {"type": "array", "minItems": 2, "maxItems": 2}]}}]})]


class PadSpec(LayerSpec):
    """Pads the spatial axes (torch.nn.ZeroPad2d, ConstantPad, ReflectionPad, ReplicationPad)."""

    type: Literal["pad"]
    padding: PadAmounts = Field(description="An int for every side of every spatial axis, or per spatial axis "
                                            "(in axis order) an int or a pair [before, after].")
    mode: Literal["constant", "reflect", "replicate", "circular"] = described(
        "constant", "Fill mode (no count changes).")
    value: Number = described(0, "Fill value for constant mode.")


@formula(PadSpec)
def pad(spec: PadSpec, x: Shape) -> Cost:
    """Adds before/after positions to each spatial axis; no arithmetic."""
    expect_rank(x, tuple(range(2, 9)), "[channels, *spatial]")
    nd = len(x) - 1
    amounts = spec.padding if isinstance(spec.padding, tuple) else ((spec.padding, spec.padding),) * nd
    if len(amounts) != nd:
        raise SpecError(f"padding gives {len(amounts)} axes but the input has {nd} spatial axes",
                        hint=f"give one entry per spatial axis of {list(x[1:])}")
    out = tuple(n + a + b for n, (a, b) in zip(x[1:], amounts))
    return Cost(shape=(x[0], *out), rf=tuple(Window(1, 1, a) for a, _ in amounts))


_TAPS = {"linear": (0, 1), "bilinear": (0, 1), "trilinear": (0, 1), "bicubic": (-1, 0, 1, 2)}
_RANK = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}


def _scale(value: Any, info: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(number(v, info) for v in value)
    return number(value, info)


Scale = Annotated[Any, PlainValidator(_scale), WithJsonSchema({"anyOf": [
    {"type": "number", "exclusiveMinimum": 0}, {"type": "string"},
    {"type": "array", "items": {"anyOf": [{"type": "number"}, {"type": "string"}]}}]})]


class UpsampleSpec(LayerSpec):
    """Upsampling by a scale factor or to a size, as torch.nn.Upsample."""

    type: Literal["upsample"]
    scale_factor: Scale | None = described(None, "Multiplier per spatial axis: a number or a list.")
    size: PositiveAxes | None = described(None, "Output size per spatial axis (instead of scale_factor).")
    mode: Literal["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear"] = described(
        "nearest", "Interpolation mode, as in torch.")
    align_corners: Flag | None = described(None, "Align corner pixels (linear modes only), as in torch.")
    kind = "resize"


def _resample_window(step: Any, offset: Any, taps: tuple[int, ...]) -> Any:
    """The RF step of an interpolation whose output o reads inputs near src(o) = o*step + offset.

    Over one period of the pattern, the bounding interval of the taps gives an exact affine window.
    """
    if not is_concrete(step) or not is_concrete(offset):
        return NON_UNIFORM
    step, offset = Fraction(step), Fraction(offset)
    period = step.denominator
    if period > 10_000:
        return NON_UNIFORM
    lo, hi = [], []
    for o in range(period):
        src = o * step + offset
        base = int(src // 1)
        lo.append(o * step - (base + taps[0]))
        hi.append(base + taps[-1] - o * step)
    padding = max(lo)
    return Window(rational(max(hi) + padding + 1), rational(step), rational(padding))


@formula(UpsampleSpec)
def upsample(spec: UpsampleSpec, x: Shape) -> Cost:
    """Nearest: a copy, 0 FLOPs. Linear modes: per output element t taps, t multiplies and t-1 adds."""
    expect_rank(x, tuple(range(2, 5)), "[channels, *spatial]")
    nd = len(x) - 1
    if (spec.scale_factor is None) == (spec.size is None):
        raise SpecError("give exactly one of scale_factor and size")
    if spec.mode in _RANK and _RANK[spec.mode] != nd:
        raise ShapeError(f"mode {spec.mode!r} needs {_RANK[spec.mode]} spatial axes, the input has {nd}",
                         hint="use linear (1-D), bilinear or bicubic (2-D), trilinear (3-D)")
    if spec.align_corners is not None and spec.mode not in _TAPS:
        raise SpecError("align_corners applies only to the linear and cubic modes")
    windows, out = [], []
    for axis, n in enumerate(x[1:]):
        if spec.size is not None:
            o = per_axis(spec.size, nd, "size")[axis]
            step = Fraction(n, o) if is_concrete(n) and is_concrete(o) else n / o  # torch: in / out
        else:
            f = per_axis(spec.scale_factor, nd, "scale_factor")[axis]
            if is_concrete(f) and f <= 0:
                raise SpecError(f"scale_factor must be positive, got {f}")
            o = positive_out((n * f) // 1, axis, f"scale_factor {f} shrinks {n} to nothing",  # torch floors
                             "use a larger scale_factor, or size")
            step = 1 / Fraction(f) if is_concrete(f) else 1 / f
        if spec.align_corners:
            step = Fraction(n - 1, o - 1) if is_concrete(n) and is_concrete(o) and o > 1 else NON_UNIFORM
        out.append(o)
        if step is NON_UNIFORM:
            windows.append(NON_UNIFORM)
        elif spec.mode == "nearest":  # src = floor(o * step)
            windows.append(_resample_window(step, 0, (0,)))
        elif spec.mode == "nearest-exact":  # src = floor((o + 1/2) * step)
            windows.append(_resample_window(step, step / 2, (0,)))
        else:  # src = (o + 1/2) * step - 1/2, or o * step with align_corners
            offset = 0 if spec.align_corners else (step - 1) / 2
            windows.append(_resample_window(step, offset, _TAPS[spec.mode]))
    out_numel = x[0] * prod(out)
    taps = len(_TAPS[spec.mode]) ** nd if spec.mode in _TAPS else 0
    return Cost(shape=(x[0], *out), flops={"resize": out_numel * (2 * taps - 1) if taps else 0},
                rf=tuple(windows))


class PermuteSpec(LayerSpec):
    """Reorders dimensions, as torch.permute; the batch stays first."""

    type: Literal["permute"]
    dims: IntList = Field(description="New order of the dimensions, batch included as 0 "
                                      "(e.g. [0, 2, 3, 1] for channels last).")


@formula(PermuteSpec)
def permute(spec: PermuteSpec, x: Shape) -> Cost:
    """Moves dimensions; the receptive field follows them."""
    order = spec.dims if isinstance(spec.dims, tuple) else (spec.dims,)
    if sorted(order) != list(range(len(x) + 1)) or order[0] != 0:
        raise SpecError(f"dims {list(order)} must be a permutation of 0..{len(x)} that keeps 0 (the batch) first")
    src = [d - 1 for d in order[1:]]
    return Cost(shape=tuple(x[d] for d in src), dims=tuple((d,) for d in src))


class ChunkSpec(LayerSpec):
    """One of the pieces of torch.chunk (ShuffleNet's channel split)."""

    type: Literal["chunk"]
    chunks: PositiveInt = Field(description="Number of pieces.")
    index: Int = described(0, "Which piece to keep, from 0.")
    dim: Int = described(1, "Dimension to split, counted as in torch (1 is the channels).")


@formula(ChunkSpec)
def chunk(spec: ChunkSpec, x: Shape) -> Cost:
    """torch.chunk: pieces of ceil(n / chunks); the last may be smaller."""
    axis = torch_dim(spec.dim, x)
    n, size = x[axis], ceil_div(x[axis], spec.chunks)
    if is_concrete(n) and not 0 <= spec.index < ceil_div(n, size):
        raise ShapeError(f"index {spec.index} is out of range for {spec.chunks} chunks of {n}")
    length = FUNCTIONS["min"](size, n - spec.index * size)
    return Cost(shape=tuple(length if a == axis else d for a, d in enumerate(x)))


class ChannelShuffleSpec(LayerSpec):
    """Channel shuffle, as torch.nn.ChannelShuffle (ShuffleNet): a permutation, no arithmetic."""

    type: Literal["channel_shuffle"]
    groups: PositiveInt = Field(description="Number of groups to interleave.")


@formula(ChannelShuffleSpec)
def channel_shuffle(spec: ChannelShuffleSpec, x: Shape) -> Cost:
    check_divides(spec.groups, x[0], f"groups={spec.groups} does not divide {x[0]} channels",
                  "choose groups that divides the channel count")
    return Cost(shape=x)


class CropSpec(LayerSpec):
    """Center crop of the spatial axes (U-Net's skip connections), as torchvision's CenterCrop."""

    type: Literal["crop"]
    size: PositiveAxes = Field(description="Output size per spatial axis.")


@formula(CropSpec)
def crop(spec: CropSpec, x: Shape) -> Cost:
    """Keeps the centre: offset (n - size) // 2 on each axis; no arithmetic."""
    expect_rank(x, tuple(range(2, 9)), "[channels, *spatial]")
    sizes = per_axis(spec.size, len(x) - 1, "size")
    for axis, (n, m) in enumerate(zip(x[1:], sizes)):
        if is_concrete(n) and is_concrete(m) and m > n:
            raise ShapeError(f"crop size {m} is larger than the input {n} on spatial axis {axis}")
    # output o reads input o + offset: a window of 1 with padding -offset
    return Cost(shape=(x[0], *sizes), rf=tuple(Window(1, 1, -((n - m) // 2)) for n, m in zip(x[1:], sizes)))
