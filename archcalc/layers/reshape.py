"""Data movement without arithmetic: ``reshape``, ``permute``, ``chunk``, ``select``, ``channel_shuffle`` and
``pixel_shuffle`` / ``pixel_unshuffle``."""
from __future__ import annotations

from ..core.declare import field
from ..core.errors import ShapeError, SpecError
from ..core.expr import FUNCTIONS
from ..core.fields import Int, IntList, PositiveInt
from ..core.num import ceil_div, is_concrete, prod
from .base import (
    MAX_PERIOD,
    NON_UNIFORM,
    SYMBOLIC_PHASES,
    Cost,
    LayerSpec,
    PeriodicWindow,
    Shape,
    Window,
    check_divides,
    expect_rank,
    formula,
    torch_dim,
)


class ReshapeSpec(LayerSpec):
    """Reshapes each sample, as torch.reshape with the batch dimension kept."""

    TYPES = ("reshape",)
    shape = field(IntList, description="Target shape per sample (batch excluded); one entry may be -1.")


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


class PermuteSpec(LayerSpec):
    """Reorders dimensions, as torch.permute; the batch stays first."""

    TYPES = ("permute",)
    dims = field(IntList, description="New order of the dimensions, batch included as 0 "
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

    TYPES = ("chunk",)
    chunks = field(PositiveInt, description="Number of pieces.")
    index = field(Int, 0, "Which piece to keep, from 0.")
    dim = field(Int, 1, "Dimension to split, counted as in torch; default the channels (1, or -1 under layout: "
                        "channels_last).")


@formula(ChunkSpec)
def chunk(spec: ChunkSpec, x: Shape) -> Cost:
    """torch.chunk: pieces of ceil(n / chunks); the last may be smaller."""
    axis = torch_dim(spec.dim, x)
    n, size = x[axis], ceil_div(x[axis], spec.chunks)
    if is_concrete(n) and not 0 <= spec.index < ceil_div(n, size):
        raise ShapeError(f"index {spec.index} is out of range for {spec.chunks} chunks of {n}")
    start = spec.index * size
    length = FUNCTIONS["min"](size, n - start)
    # position o of the piece is position start + o of the input: a window of 1, offset by start
    return Cost(shape=tuple(length if a == axis else d for a, d in enumerate(x)), rf={axis: Window(1, 1, -start)})


class SelectSpec(LayerSpec):
    """One index along a dimension, which is removed, as torch.select (ViT's class token: x[:, 0])."""

    TYPES = ("select",)
    dim = field(Int, description="Dimension to index, counted as in torch (0 is the batch).")
    index = field(Int, 0, "Position to keep; negative counts from the end.")


@formula(SelectSpec)
def select(spec: SelectSpec, x: Shape) -> Cost:
    """Drops dimension ``dim``; the others keep their receptive field."""
    axis = torch_dim(spec.dim, x)
    n = x[axis]
    if is_concrete(n) and not -n <= spec.index < n:
        raise ShapeError(f"index {spec.index} is out of range for a dimension of {n}",
                         hint=f"use a value in [{-n}, {n - 1}]")
    keep = [d for d in range(len(x)) if d != axis]
    return Cost(shape=tuple(x[d] for d in keep), dims=tuple((d,) for d in keep))


class ChannelShuffleSpec(LayerSpec):
    """Channel shuffle, as torch.nn.ChannelShuffle (ShuffleNet): a permutation, no arithmetic."""

    TYPES = ("channel_shuffle",)
    channels_first = True
    groups = field(PositiveInt, description="Number of groups to interleave.")


@formula(ChannelShuffleSpec)
def channel_shuffle(spec: ChannelShuffleSpec, x: Shape) -> Cost:
    check_divides(spec.groups, x[0], f"groups={spec.groups} does not divide {x[0]} channels",
                  "choose groups that divides the channel count")
    return Cost(shape=x)


class PixelShuffleSpec(LayerSpec):
    """Sub-pixel convolution's rearrangement, as torch.nn.PixelShuffle: [C r^2, H, W] -> [C, H r, W r]."""

    TYPES = ("pixel_shuffle",)
    channels_first = True  # torch's channel order; under channels_last the engine presents [C, H, W]
    upscale_factor = field(PositiveInt, description="r: each group of r^2 channels becomes an r x r block.")


@formula(PixelShuffleSpec)
def pixel_shuffle(spec: PixelShuffleSpec, x: Shape) -> Cost:
    """Output (c, h, w) is input (c r^2 + (h mod r) r + (w mod r), h // r, w // r): a copy, 0 FLOPs."""
    expect_rank(x, 3, "[channels, height, width]")
    r = spec.upscale_factor
    check_divides(r * r, x[0], f"upscale_factor={r} needs channels divisible by {r}^2, the input has {x[0]}",
                  f"give it a multiple of {r * r} channels, or choose another upscale_factor")
    # along each axis output o reads input o // r: nearest upsampling by r, r phases of one input each
    step = SYMBOLIC_PHASES if not is_concrete(r) else NON_UNIFORM if r > MAX_PERIOD else \
        PeriodicWindow(r, 1, (0,) * r, (0,) * r)  # as upsample: a longer pattern is not tracked
    return Cost(shape=(x[0] // (r * r), x[1] * r, x[2] * r), rf=(step, step))


class PixelUnshuffleSpec(LayerSpec):
    """The inverse of pixel_shuffle, as torch.nn.PixelUnshuffle: [C, H, W] -> [C r^2, H / r, W / r]."""

    TYPES = ("pixel_unshuffle",)
    channels_first = True
    downscale_factor = field(PositiveInt, description="r: each r x r block becomes r^2 channels.")


@formula(PixelUnshuffleSpec)
def pixel_unshuffle(spec: PixelUnshuffleSpec, x: Shape) -> Cost:
    """Output (c r^2 + i r + j, h, w) is input (c, h r + i, w r + j): a copy, 0 FLOPs."""
    expect_rank(x, 3, "[channels, height, width]")
    r = spec.downscale_factor
    for axis, what in ((1, "height"), (2, "width")):
        check_divides(r, x[axis], f"downscale_factor={r} does not divide the {what}, {x[axis]}",
                      f"choose a downscale_factor that divides {x[axis]}, or pad or crop the input first")
    # a position's channels read the r x r block under it: a window of r, stride r (one channel reads one of them)
    return Cost(shape=(x[0] * r * r, x[1] // r, x[2] // r), rf=(Window(r, r), Window(r, r)))
