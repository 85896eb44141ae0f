"""Activations and softmax. Each costs a fixed number of FLOPs per element, listed in ``PER_ELEMENT``.

A transcendental function (exp, tanh, erf) counts as one FLOP, as in Hoffmann et al. 2022, Appendix F.
"""
from __future__ import annotations

from ..core.declare import choice, field
from ..core.fields import Int, Number
from ..core.num import prod
from .base import GLOBAL, Cost, LayerSpec, Shape, call_field, formula, torch_dim

# FLOPs per element, with the arithmetic they stand for.
PER_ELEMENT: dict[str, tuple[int, str]] = {
    "relu": (1, "max(x, 0)"),
    "relu6": (2, "min(max(x, 0), 6)"),
    "hardtanh": (2, "min(max(x, min_val), max_val)"),
    "leaky_relu": (2, "max(x, a*x): mul, max"),
    "elu": (3, "a*(exp(x) - 1) for x < 0: exp, sub, mul"),
    "gelu": (5, "x/2 * (1 + erf(x/sqrt 2)): div, erf, add, mul, mul"),
    "gelu_tanh": (9, "x/2 * (1 + tanh(c*(x + 0.044715 x^3))): 2 mul (cube), mul, add, mul, tanh, add, mul, mul"),
    "sigmoid": (3, "1 / (1 + exp(-x)): exp, add, div"),
    "tanh": (1, "tanh(x)"),
    "silu": (4, "x * sigmoid(x)"),
    "hardswish": (5, "x * min(max(x + 3, 0), 6) / 6: add, max, min, mul, div"),
    "hardsigmoid": (4, "min(max(x + 3, 0), 6) / 6: add, max, min, div"),
    "softmax": (3, "exp(x_i) / sum_j exp(x_j): exp, add (sum), div"),
}


class _ActivationBase(LayerSpec):
    call = call_field("module", module="its nn module, registered in __init__ (nn.ReLU, nn.GELU, nn.Softmax, ...)",
                      function="the torch function, called in forward (F.relu, F.gelu, torch.sigmoid, F.softmax, "
                               "...; torchvision's BasicConv2d and DenseNet head call F.relu)",
                      bound="a module of the code's own holding the torch function it took when built (Hugging "
                            "Face's GELUActivation: self.act = F.gelu in __init__), which a counter that patches "
                            "torch's functions for its run (ptflops) does not see")
    kind = "activation"


class ActivationSpec(_ActivationBase):
    """An elementwise activation with no options."""

    TYPES = ("relu", "relu6", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid")
    kind = "activation"


class LeakyReLUSpec(_ActivationBase):
    """LeakyReLU, as torch.nn.LeakyReLU."""

    TYPES = ("leaky_relu",)
    negative_slope = field(Number, 0.01, "Slope for negative inputs (no count changes).")
    kind = "activation"


class HardtanhSpec(_ActivationBase):
    """Clipping to [min_val, max_val], as torch.nn.Hardtanh (Keras' ReLU(max_value=m) is min_val 0, max_val m)."""

    TYPES = ("hardtanh",)
    min_val = field(Number, -1.0, "Lower bound (no count changes).")
    max_val = field(Number, 1.0, "Upper bound (no count changes).")
    kind = "activation"


class ELUSpec(_ActivationBase):
    """ELU, as torch.nn.ELU."""

    TYPES = ("elu",)
    alpha = field(Number, 1.0, "Scale of the negative branch (no count changes).")
    kind = "activation"


class GELUSpec(_ActivationBase):
    """GELU, as torch.nn.GELU: the exact erf form, or the tanh approximation."""

    TYPES = ("gelu",)
    approximate = field(choice("none", "tanh"), "none", "'none' (erf) or 'tanh' (approximation).")
    kind = "activation"


class SoftmaxSpec(_ActivationBase):
    """Softmax along one dimension, as torch.nn.Softmax."""

    TYPES = ("softmax",)
    dim = field(Int, -1, "Dimension to normalise over, counted as in torch (0 is the batch).")
    kind = "softmax"


@formula(ActivationSpec)
@formula(LeakyReLUSpec)
@formula(HardtanhSpec)
@formula(ELUSpec)
@formula(GELUSpec)
@formula(SoftmaxSpec)
def activation(spec: LayerSpec, x: Shape) -> Cost:
    """Shape-preserving; FLOPs = elements x the per-element cost of the function."""
    # softmax mixes its whole dimension (the sum in the denominator); the others are pointwise
    rf = {torch_dim(spec.dim, x): GLOBAL} if isinstance(spec, SoftmaxSpec) else None
    key = "gelu_tanh" if isinstance(spec, GELUSpec) and spec.approximate == "tanh" else spec.type
    return Cost(shape=x, flops={spec.kind: prod(x) * PER_ELEMENT[key][0]}, rf=rf)
