"""Normalisation: ``batchnorm1d/2d/3d``, ``layernorm``, ``rmsnorm``, ``groupnorm``, ``instancenorm1d/2d/3d``.

FLOPs per element (documented in the convention): with running statistics (batch norm at inference)
normalising is 2 (subtract mean, divide by std); statistics computed on the fly (layer, group, instance
norm) add 3 (sum for the mean, square and sum for the variance); an affine transform adds 2 (scale, shift).
RMS norm has no mean: square and sum, then one multiply by 1/rms, then the optional scale.

Receptive fields: statistics computed on the fly mix every position they are computed over, so group and
instance norm make the field global along the spatial axes, and layer and RMS norm along the dimensions
they normalise (``Cost.statistics``); batch norm at inference, and instance norm with running statistics,
read stored values and stay pointwise. The field of the windows alone ignores statistics.
"""
from __future__ import annotations

from typing import Any

from ..core.declare import field, maybe
from ..core.errors import ShapeError
from ..core.fields import Flag, Number, PositiveAxes, PositiveInt
from ..core.num import is_concrete, prod
from .base import (
    GLOBAL,
    MAX_PERIOD,
    NON_UNIFORM,
    SYMBOLIC_PHASES,
    Cost,
    LayerSpec,
    PeriodicWindow,
    RFStep,
    Shape,
    call_field,
    check_divides,
    check_equal,
    expect_rank,
    formula,
)

NORMALISE, STATISTICS, AFFINE = 2, 3, 2
RMS_STATISTICS, RMS_NORMALISE = 2, 1


class _NormBase(LayerSpec):
    eps = field(Number, 1e-5, "Added to the variance for stability (no count changes).")
    kind = "norm"


class BatchNormSpec(_NormBase):
    """Batch normalisation at inference, as torch.nn.BatchNorm1d/2d/3d."""

    TYPES = ("batchnorm", "batchnorm1d", "batchnorm2d", "batchnorm3d")
    channels_first = True
    num_features = field(maybe(PositiveInt), None, "Channels; inferred, checked when given.")
    momentum = field(maybe(Number), 0.1, "Running-average momentum (no count changes).")
    affine = field(Flag, True, "Learnable scale and shift: 2 parameters per channel.")
    track_running_stats = field(Flag, True, "Keep running mean and variance: 2 buffers per channel.")
    num_batches_tracked = field(Flag, True, "torch also keeps a one-element batch counter buffer "
                                                "(Keras does not).")


class InstanceNormSpec(_NormBase):
    """Instance normalisation, as torch.nn.InstanceNorm1d/2d/3d (affine off by default, as in torch)."""

    TYPES = ("instancenorm1d", "instancenorm2d", "instancenorm3d")
    channels_first = True
    num_features = field(maybe(PositiveInt), None, "Channels; inferred, checked when given.")
    momentum = field(maybe(Number), 0.1, "Running-average momentum (no count changes).")
    affine = field(Flag, False, "Learnable scale and shift: 2 parameters per channel.")
    track_running_stats = field(Flag, False, "Keep running statistics: 2 buffers per channel + 1.")


def _running_stats(spec: BatchNormSpec | InstanceNormSpec, x: Shape) -> tuple[int, int]:
    """(params, buffers): weight and bias [C]; running_mean and running_var [C] and num_batches_tracked []."""
    check_equal(spec.num_features, x[0], "num_features", "channels")
    c = x[0]
    counter = 0 if isinstance(spec, BatchNormSpec) and not spec.num_batches_tracked else 1
    return (2 * c if spec.affine else 0), (2 * c + counter if spec.track_running_stats else 0)


@formula(BatchNormSpec)
def batchnorm(spec: BatchNormSpec, x: Shape) -> Cost:
    """Inference batch norm uses stored statistics: normalise, then the optional affine transform."""
    nd = spec.ndim if spec.type != "batchnorm" else max(len(x) - 1, 1)  # plain 'batchnorm': any rank
    expect_rank(x, (1, 2) if nd == 1 else nd + 1, "[channels, *spatial]")
    params, buffers = _running_stats(spec, x)
    per_element = NORMALISE + (AFFINE if spec.affine else 0)
    return Cost(shape=x, params=params, buffers=buffers, flops={"norm": prod(x) * per_element},
                running=2 * x[0] if spec.track_running_stats else 0)  # moving mean and variance


@formula(InstanceNormSpec)
def instancenorm(spec: InstanceNormSpec, x: Shape) -> Cost:
    """Statistics per sample and channel over the spatial axes, then normalise (and affine)."""
    expect_rank(x, spec.ndim + 1, "[channels, *spatial]")
    params, buffers = _running_stats(spec, x)
    per_element = STATISTICS + NORMALISE + (AFFINE if spec.affine else 0)
    # at inference, tracked running statistics replace the per-sample ones (torch's eval mode)
    statistics = None if spec.track_running_stats else _spanning(range(1, len(x)))
    return Cost(shape=x, params=params, buffers=buffers, flops={"norm": prod(x) * per_element},
                statistics=statistics, running=2 * x[0] if spec.track_running_stats else 0)


def _spanning(dims: range) -> RFStep:
    """The RF step of statistics over the per-sample dimensions ``dims``: each output sees all of them."""
    return {d: GLOBAL for d in dims} or None


class LayerNormSpec(_NormBase):
    """Layer normalisation over the trailing dimensions, as torch.nn.LayerNorm."""

    TYPES = ("layernorm",)
    normalized_shape = field(maybe(PositiveAxes), None, "The trailing dimensions to normalise over; default: the "
                                                        "last dimension (Keras' axis -1).")
    elementwise_affine = field(Flag, True, "Learnable per-element weight.")
    bias = field(Flag, True, "Learnable per-element bias (with elementwise_affine).")
    call = call_field("module", module="nn.LayerNorm, registered in __init__",
                      function="F.layer_norm in the forward of a module of its own that holds the weight and bias, "
                               "a subclass of nn.LayerNorm (torchvision's LayerNorm2d in ConvNeXt)")


class RMSNormSpec(_NormBase):
    """Root-mean-square normalisation over the trailing dimensions, as torch.nn.RMSNorm (Llama)."""

    TYPES = ("rmsnorm",)
    normalized_shape = field(PositiveAxes, description="The trailing dimensions to normalise over.")
    eps = field(maybe(Number), None, "Added to the mean square for stability (no count changes).")
    elementwise_affine = field(Flag, True, "Learnable per-element weight (RMS norm has no bias).")


def _normalized_size(spec: LayerNormSpec | RMSNormSpec, x: Shape) -> int:
    """Elements per normalised group; normalized_shape must match the trailing dimensions."""
    if spec.normalized_shape is None:
        expect_rank(x, tuple(range(1, 9)), "[..., features]")
        return x[-1]
    dims = spec.normalized_shape if isinstance(spec.normalized_shape, tuple) else (spec.normalized_shape,)
    tail = x[len(x) - len(dims):] if len(dims) <= len(x) else None
    if tail is None or any(is_concrete(a) and is_concrete(b) and a != b for a, b in zip(dims, tail)):
        raise ShapeError(f"normalized_shape {list(dims)} does not match the trailing dimensions of {list(x)}",
                         hint=f"use normalized_shape: {list(x[-len(dims):]) if len(dims) <= len(x) else list(x)}")
    return prod(dims)


def _trailing(spec: LayerNormSpec | RMSNormSpec, x: Shape) -> RFStep:
    """Statistics over the normalised trailing dimensions (features only in a transformer: no spatial mixing)."""
    count = len(spec.normalized_shape) if isinstance(spec.normalized_shape, tuple) else 1
    return _spanning(range(len(x) - count, len(x)))


@formula(RMSNormSpec)
def rmsnorm(spec: RMSNormSpec, x: Shape) -> Cost:
    """x / sqrt(mean(x^2) + eps) * weight."""
    size = _normalized_size(spec, x)
    affine = 1 if spec.elementwise_affine else 0
    return Cost(shape=x, params=size * affine, flops={"norm": prod(x) * (RMS_STATISTICS + RMS_NORMALISE + affine)},
                statistics=_trailing(spec, x))


@formula(LayerNormSpec)
def layernorm(spec: LayerNormSpec, x: Shape) -> Cost:
    """Statistics over the last len(normalized_shape) dimensions, then normalise and scale/shift."""
    size = _normalized_size(spec, x)
    params = (size if spec.elementwise_affine else 0) + (size if spec.elementwise_affine and spec.bias else 0)
    affine = (1 if spec.elementwise_affine else 0) + (1 if spec.elementwise_affine and spec.bias else 0)
    return Cost(shape=x, params=params, flops={"norm": prod(x) * (STATISTICS + NORMALISE + affine)},
                statistics=_trailing(spec, x))


class GroupNormSpec(_NormBase):
    """Group normalisation, as torch.nn.GroupNorm."""

    TYPES = ("groupnorm",)
    channels_first = True
    num_groups = field(PositiveInt, description="Groups the channels are split into.")
    num_channels = field(maybe(PositiveInt), None, "Channels; inferred, checked when given.")
    affine = field(Flag, True, "Learnable per-channel scale and shift.")


@formula(GroupNormSpec)
def groupnorm(spec: GroupNormSpec, x: Shape) -> Cost:
    """Statistics per group of channels, then normalise and the per-channel affine transform."""
    expect_rank(x, tuple(range(1, 9)), "[channels, *spatial]")
    check_equal(spec.num_channels, x[0], "num_channels", "channels")
    check_divides(spec.num_groups, x[0], f"num_groups={spec.num_groups} does not divide {x[0]} channels",
                  "choose num_groups that divides the channel count")
    per_element = STATISTICS + NORMALISE + (AFFINE if spec.affine else 0)
    statistics = _spanning(range(1, len(x)))
    if not (is_concrete(x[0]) and x[0] == spec.num_groups):  # a group of m channels: channel c sees its group's
        statistics = {**(statistics or {}), 0: _group_window(x[0] // spec.num_groups)}
    return Cost(shape=x, params=2 * x[0] if spec.affine else 0, flops={"norm": prod(x) * per_element},
                statistics=statistics)


def _group_window(m: Any) -> Any:
    """Along the channels (which hold a spatial axis only in a sequence layout): channel c reads the m channels
    of its group, [c - c mod m, c - c mod m + m - 1]."""
    if not is_concrete(m):
        return SYMBOLIC_PHASES
    if m > MAX_PERIOD:
        return NON_UNIFORM
    return PeriodicWindow(m, m, (0,) * m, (m - 1,) * m)  # channels m q + r read m q .. m q + m - 1
