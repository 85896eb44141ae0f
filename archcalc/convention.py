"""The counting convention every report states: what a MAC and a FLOP are, and what is counted."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Convention:
    """What a MAC and a FLOP are, and the per-op rules; stated in every report."""

    def __init__(self, name: str, mac: str, flop: str, rules: Callable[[], dict[str, str]],
                 notes: tuple[str, ...] = ()) -> None:
        self.name = name
        self.mac = mac
        self.flop = flop
        self.rules = rules  # per op kind; a function so the layer modules load only when asked
        self.notes = notes

    def summary(self) -> str:
        """The one line printed under every table."""
        return f"convention {self.name}: MAC = {self.mac}; FLOPs = {self.flop}."

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "mac": self.mac, "flop": self.flop, "rules": self.rules(),
                "notes": list(self.notes)}


def _archcalc_rules() -> dict[str, str]:
    from .layers import norm
    from .layers.activation import PER_ELEMENT
    return {
        "conv/linear/matmul": "2 FLOPs per MAC (one multiply, one add)",
        "bias": "1 per output element of a layer with a bias",
        "batchnorm": f"{norm.NORMALISE} per element (subtract mean, divide by std; inference, running "
                     f"statistics) + {norm.AFFINE} if affine (scale, shift)",
        "layernorm/groupnorm/instancenorm": f"{norm.STATISTICS + norm.NORMALISE} per element (mean sum; "
                                            f"square and sum for the variance; subtract, divide) + 1 per "
                                            f"affine weight and bias term",
        "maxpool": "window - 1 comparisons per output element (windows counted at full size)",
        "avgpool": "window - 1 adds + 1 divide per output element (windows counted at full size)",
        "adaptive/global pooling": "as pooling, summed over the actual windows",
        "add/mul": "inputs - 1 per output element",
        "scale": "1 multiply (+ 1 add with a bias) per element",
        "upsample": "nearest 0; interpolation with t taps: t multiplies + t - 1 adds per output element",
        "dropout/identity/flatten/reshape/permute/chunk/pad/crop/concat": "0 (inference; data movement)",
        "custom": "the spec's own formula",
        **{f"activation.{name}": f"{n} per element ({how})" for name, (n, how) in PER_ELEMENT.items()},
    }


ARCHCALC = Convention(
    name="archcalc",
    mac="one multiply-accumulate of a convolution, linear layer or matmul; bias adds are not MACs",
    flop="2 x MACs + bias adds + normalisation + activations + pooling + elementwise + resampling, "
         "per the rules listed",
    rules=_archcalc_rules,
    notes=(
        "Inference, batch as declared; transcendental functions (exp, erf, tanh) count 1 FLOP.",
        "Per-channel or per-group scalar work (a square root per channel) is not counted.",
        "MACs match torchvision's _ops and torch FlopCounterMode / 2.",
    ),
)
