"""``std_conv2d``: a convolution with weight standardization (BiT's StdConv2d), and with a learnable gain
(``gain: true``: NFNet's ScaledStdConv2d), as timm's StdConv2d and ScaledStdConv2d.

Each forward standardises every filter (over its in_channels/groups x kernel weights: zero mean, unit variance,
times gain x gamma / sqrt(fan_in) with the gain) before convolving. The counts are the convolution's; the gain adds
one parameter per output channel. The standardization works on the weights, once per forward whatever the batch
and input size, and can be folded away at inference: it is not counted (as per-channel scalar work is not).
"""
from __future__ import annotations

from ..core.declare import field
from ..core.errors import SpecError
from ..core.fields import Flag, Number
from .base import Cost, Shape, formula
from .conv import ConvSpec, conv


class StdConvSpec(ConvSpec):
    """A weight-standardised 2-D convolution, as timm's StdConv2d, or ScaledStdConv2d with gain: true."""

    TYPES = ("std_conv2d",)
    gain = field(Flag, False, "A learnable gain per output channel (ScaledStdConv2d, NFNet): out_channels "
                              "parameters; false is StdConv2d (BiT).")
    gamma = field(Number, 1.0, "ScaledStdConv2d's scale of the standardised weights, gamma / sqrt(fan_in) "
                               "(no count changes; with gain only).")
    eps = field(Number, 1e-6, "Added to the variance of each filter (no count changes).")


@formula(StdConvSpec)
def std_conv(spec: StdConvSpec, x: Shape) -> Cost:
    """The convolution's cost; a gain adds out_channels parameters."""
    if not spec.gain and spec.gamma != 1:
        raise SpecError(f"gamma={spec.gamma} scales the gain of ScaledStdConv2d: it needs gain: true",
                        hint="add gain: true, or remove gamma")
    cost = conv(spec, x)
    if spec.gain:
        cost.params += cost.shape[0]  # gain [c_out, 1, 1, 1]
        cost.active = cost.params
    return cost
