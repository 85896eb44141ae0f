"""Smooth activations of newer networks: ``quick_gelu`` (CLIP's x * sigmoid(1.702 x)), ``softplus`` and ``mish``.

FLOPs per element, with a transcendental function (exp, log, tanh) one FLOP as in activation.py:
- quick_gelu: 1.702 * x, sigmoid (exp, add, divide), times x: 5;
- softplus: log(1 + exp(beta x)) / beta, torch's nn.Softplus: exp, add, log, and the comparison of beta x with
  the threshold above which it returns x: 4; with beta != 1 the multiply by beta and the divide by it: 6;
- mish: x * tanh(softplus(x)), torch's nn.Mish (softplus without a threshold: exp, add, log), tanh, multiply: 5.
"""
from __future__ import annotations

from ..core.declare import field
from ..core.fields import Number
from ..core.num import prod
from .base import Cost, LayerSpec, Shape, call_field, formula

SMOOTH_PER_ELEMENT: dict[str, tuple[int, str]] = {
    "quick_gelu": (5, "x * sigmoid(1.702 x): mul, exp, add, div, mul"),
    "softplus": (4, "log(1 + exp(x)), x above threshold: exp, add, log, compare; beta != 1 adds mul and div"),
    "mish": (5, "x * tanh(log(1 + exp(x))): exp, add, log, tanh, mul"),
}
BETA_FLOPS = 2  # softplus with beta != 1: beta * x, and the result divided by beta


class _SmoothBase(LayerSpec):
    call = call_field("module", module="its nn module, registered in __init__ (nn.Mish, nn.Softplus; quick_gelu: a "
                                       "module of the code's own, as Hugging Face's QuickGELUActivation)",
                      function="the torch function or arithmetic, called in forward (F.mish, F.softplus; "
                               "quick_gelu: x * torch.sigmoid(1.702 * x))")
    kind = "activation"


class SmoothActivationSpec(_SmoothBase):
    """quick_gelu (x * sigmoid(1.702 x), CLIP) or mish (x * tanh(softplus(x)), as torch.nn.Mish)."""

    TYPES = ("quick_gelu", "mish")


class SoftplusSpec(_SmoothBase):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold, as torch.nn.Softplus."""

    TYPES = ("softplus",)
    beta = field(Number, 1.0, "Sharpness; a beta other than 1 costs a multiply and a divide per element.")
    threshold = field(Number, 20.0, "Above it (beta x > threshold) the input is returned (no count changes).")


@formula(SmoothActivationSpec)
@formula(SoftplusSpec)
def smooth_activation(spec: LayerSpec, x: Shape) -> Cost:
    """Shape-preserving and pointwise; FLOPs = elements x the per-element cost."""
    per_element = SMOOTH_PER_ELEMENT[spec.type][0]
    if isinstance(spec, SoftplusSpec) and spec.beta != 1:
        per_element += BETA_FLOPS
    return Cost(shape=x, flops={"activation": prod(x) * per_element})
