"""``frozen_batchnorm2d``: batch norm with its statistics and affine transform frozen as buffers, as
torchvision.ops.FrozenBatchNorm2d (the backbones of torchvision's detection models).

It holds four buffers of C (weight, bias, running_mean, running_var) and no parameters, and no batch counter.
torchvision folds them per channel, scale = weight / sqrt(running_var + eps) and shift = bias - running_mean *
scale, then computes x * scale + shift: 2 FLOPs per element (the per-channel folding is scalar work, not counted).
Pointwise: the receptive field is unchanged.
"""
from __future__ import annotations

from ..core.declare import field, maybe
from ..core.fields import Number, PositiveInt
from ..core.num import prod
from .base import Cost, LayerSpec, Shape, check_equal, expect_rank, formula

FROZEN_BUFFERS = 4  # weight, bias, running_mean, running_var
FROZEN_PER_ELEMENT = 2  # x * scale + shift


class FrozenBatchNorm2dSpec(LayerSpec):
    """Batch norm with frozen statistics and affine, as torchvision.ops.FrozenBatchNorm2d."""

    TYPES = ("frozen_batchnorm2d",)
    channels_first = True
    num_features = field(maybe(PositiveInt), None, "Channels; inferred, checked when given.")
    eps = field(Number, 1e-5, "Added to running_var for stability (no count changes).")
    kind = "norm"


@formula(FrozenBatchNorm2dSpec)
def frozen_batchnorm2d(spec: FrozenBatchNorm2dSpec, x: Shape) -> Cost:
    """No parameters; 4 buffers per channel; one multiply and one add per element."""
    expect_rank(x, 3, "[channels, height, width]")
    check_equal(spec.num_features, x[0], "num_features", "channels")
    return Cost(shape=x, buffers=FROZEN_BUFFERS * x[0], flops={"norm": prod(x) * FROZEN_PER_ELEMENT})
