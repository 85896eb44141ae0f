"""``scale``: a learnable per-channel multiplier (ConvNeXt's layer scale, CaiT's LayerScale)."""
from __future__ import annotations

from ..core.declare import field
from ..core.fields import Flag, Int
from ..core.num import prod
from .base import Cost, LayerSpec, Shape, call_field, formula, torch_dim


class ScaleSpec(LayerSpec):
    """y = gamma * x (+ beta), with one learnable value per entry of one dimension, broadcast over the rest."""

    TYPES = ("scale",)
    dim = field(Int, 1, "Dimension that holds the learnable values, counted as in torch; default the channels "
                        "(1, or -1 under layout: channels_last).")
    bias = field(Flag, False, "Also add a learnable shift.")
    call = call_field("module", module="a module of its own holding the values as its weight (and bias)",
                      parameter="a plain nn.Parameter of the enclosing module, multiplied in its forward "
                                "(torchvision's ConvNeXt layer_scale)")
    kind = "elementwise"


@formula(ScaleSpec)
def scale(spec: ScaleSpec, x: Shape) -> Cost:
    """One multiply (and one add with a bias) per element; parameters are the size of ``dim``."""
    n = x[torch_dim(spec.dim, x)]
    return Cost(shape=x, params=n * (2 if spec.bias else 1),
                flops={"elementwise": prod(x) * (2 if spec.bias else 1)})
