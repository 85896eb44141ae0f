"""``grn``: Global Response Normalization (Woo et al. 2023, ConvNeXt V2), as timm's GlobalResponseNorm.

g = the L2 norm of each channel over the other (spatial) dimensions, n = g / (mean of g over the channels + eps),
and y = x + weight * (x * n) + bias, with a weight and a bias per channel (2C parameters). ``dim`` says which
dimension holds the channels: 1 on a channels-first map (timm's channels_last=False, ConvNeXt V2's conv_mlp
models), -1 on a map permuted to channels last (timm's default, channels_last=True).

FLOPs per element: square and sum for the norm (2), x * n (1), the scale and shift (2) and the residual add (1): 6.
The square root per channel, the mean over the channels and the divide are per-channel scalar work, not counted.
Receptive field: the norm reads every position, so the field is global along the spatial axes (``statistics``, as a
group norm's); the field of the windows alone is unchanged.
"""
from __future__ import annotations

from ..core.declare import field
from ..core.fields import Int, Number
from ..core.num import prod
from .base import GLOBAL, Cost, LayerSpec, Shape, expect_rank, formula, torch_dim

GRN_PER_ELEMENT = 6  # square, sum; x * n; weight *, + bias; + x


class GRNSpec(LayerSpec):
    """Global Response Normalization over the spatial dimensions (timm's GlobalResponseNorm)."""

    TYPES = ("grn",)
    dim = field(Int, 1, "Dimension that holds the channels, counted as in torch: 1 (channels first, timm's "
                        "channels_last=False) or -1 (a map permuted to [H, W, C], timm's channels_last=True); "
                        "default 1, or -1 under layout: channels_last.")
    eps = field(Number, 1e-6, "Added to the mean norm (no count changes).")
    kind = "norm"


@formula(GRNSpec)
def grn(spec: GRNSpec, x: Shape) -> Cost:
    """2C parameters (weight, bias); statistics over every position of the other dimensions."""
    expect_rank(x, tuple(range(2, 5)), "[channels, *spatial] or [*spatial, channels]")
    axis = torch_dim(spec.dim, x)
    return Cost(shape=x, params=2 * x[axis], flops={"norm": prod(x) * GRN_PER_ELEMENT},
                statistics={d: GLOBAL for d in range(len(x)) if d != axis})
