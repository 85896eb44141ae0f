"""``grn``: Global Response Normalization (Woo et al. 2023, ConvNeXt V2), as timm's GlobalResponseNorm.

On ``[C, *spatial]``: g = the L2 norm of each channel over the spatial positions, n = g / (mean of g over the
channels + eps), and y = x + weight * (x * n) + bias, with a weight and a bias per channel (2C parameters).

FLOPs per element: square and sum for the norm (2), x * n (1), the scale and shift (2) and the residual add (1): 6.
The square root per channel, the mean over the channels and the divide are per-channel scalar work, not counted.
Receptive field: the norm reads every position, so the field is global along the spatial axes (``statistics``, as a
group norm's); the field of the windows alone is unchanged.
"""
from __future__ import annotations

from ..core.declare import field
from ..core.fields import Number
from ..core.num import prod
from .base import GLOBAL, Cost, LayerSpec, Shape, expect_rank, formula

GRN_PER_ELEMENT = 6  # square, sum; x * n; weight *, + bias; + x


class GRNSpec(LayerSpec):
    """Global Response Normalization over the spatial axes of a channels-first map (timm's GlobalResponseNorm)."""

    TYPES = ("grn",)
    channels_first = True
    eps = field(Number, 1e-6, "Added to the mean norm (no count changes).")
    kind = "norm"


@formula(GRNSpec)
def grn(spec: GRNSpec, x: Shape) -> Cost:
    """2C parameters (weight, bias); statistics over every spatial position."""
    expect_rank(x, tuple(range(2, 5)), "[channels, *spatial]")
    return Cost(shape=x, params=2 * x[0], flops={"norm": prod(x) * GRN_PER_ELEMENT},
                statistics={d: GLOBAL for d in range(1, len(x))})
