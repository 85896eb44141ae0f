"""``bias_add``: a bias over the last dimension, added on its own (BART's ``final_logits_bias``, a buffer)."""
from __future__ import annotations

from ..core.declare import field
from ..core.fields import Flag
from ..core.num import prod
from .base import Cost, LayerSpec, Shape, formula


class BiasAddSpec(LayerSpec):
    """y = x + b, with one value per entry of the last dimension, broadcast over the others."""

    TYPES = ("bias_add",)
    buffer = field(Flag, False, "The bias is a buffer (registered, not trained: BART's final_logits_bias of the "
                                "vocabulary's size) rather than a learnable parameter.")
    kind = "elementwise"


@formula(BiasAddSpec)
def bias_add(spec: BiasAddSpec, x: Shape) -> Cost:
    """One add per element; the last dimension's size in parameters, or in buffers."""
    n = x[-1]
    return Cost(shape=x, params=0 if spec.buffer else n, buffers=n if spec.buffer else 0,
                bias=0 if spec.buffer else n, flops={"bias": prod(x)})
