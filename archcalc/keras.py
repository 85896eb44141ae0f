"""Keras vocabulary: layer names and field names a Keras user would write, mapped onto archcalc's.

``Dense: {units: 10, activation: relu}`` becomes ``linear: {out_features: 10}`` followed by ``relu``.
The table is data; ``translate`` is the only code.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import SpecError

_CONV = {"filters": "out_channels", "strides": "stride", "dilation_rate": "dilation", "use_bias": "bias"}
_POOL = {"pool_size": "kernel_size", "strides": "stride"}
_NORM = {"epsilon": "eps"}

# alias -> (archcalc type, field renames)
ALIASES: dict[str, tuple[str, dict[str, str]]] = {
    "dense": ("linear", {"units": "out_features", "use_bias": "bias"}),
    "flatten": ("flatten", {}),
    "dropout": ("dropout", {"rate": "p"}),
    "batch_normalization": ("batchnorm", _NORM),
    "layer_normalization": ("layernorm", _NORM),
    "activation": ("activation", {}),
    "re_lu": ("relu", {}),
    "leaky_re_lu": ("leaky_relu", {"alpha": "negative_slope"}),
    "add": ("add", {}),
    "multiply": ("mul", {}),
    "concatenate": ("concat", {"axis": "dim"}),
    "reshape": ("reshape", {"target_shape": "shape"}),
    **{f"conv{d}d": (f"conv{d}d", _CONV) for d in (1, 2, 3)},
    **{f"conv{d}d_transpose": (f"conv_transpose{d}d", _CONV) for d in (1, 2, 3)},
    **{f"max_pooling{d}d": (f"maxpool{d}d", _POOL) for d in (1, 2, 3)},
    **{f"max_pool{d}d": (f"maxpool{d}d", _POOL) for d in (1, 2, 3)},
    **{f"average_pooling{d}d": (f"avgpool{d}d", _POOL) for d in (1, 2, 3)},
    **{f"avg_pool{d}d": (f"avgpool{d}d", _POOL) for d in (1, 2, 3)},
    **{f"global_average_pooling{d}d": ("global_avgpool", {}) for d in (1, 2, 3)},
    **{f"global_max_pooling{d}d": ("global_maxpool", {}) for d in (1, 2, 3)},
    **{f"up_sampling{d}d": ("upsample", {"size": "scale_factor", "interpolation": "mode"}) for d in (1, 2, 3)},
    **{f"zero_padding{d}d": ("pad", {}) for d in (1, 2, 3)},
}


def snake(name: str) -> str:
    """Keras class name to its functional/snake form: MaxPooling2D -> max_pooling2d, ReLU -> re_lu."""
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (name[i - 1].islower() or
                                   (i + 1 < len(name) and name[i + 1].islower() and name[i - 1].isupper())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out).replace("_d", "d") if name[:1].isupper() else name


def lookup(name: str) -> tuple[str, dict[str, str]] | None:
    """The archcalc type and field renames for a Keras layer name, or None if it is not one."""
    return ALIASES.get(name) or ALIASES.get(snake(name))


def translate(name: str, body: Mapping[str, Any], layout_last: bool) -> list[tuple[str, dict[str, Any]]]:
    """A Keras layer as one or two archcalc layers (the second is a fused ``activation``)."""
    target, renames = lookup(name)  # type: ignore[misc]
    data = {renames.get(k, k): v for k, v in body.items()}
    activation = data.pop("activation", None) if target != "activation" else None
    if target == "activation":
        if "activation" not in data:
            raise SpecError("Activation needs activation: <name>", hint="e.g. Activation: {activation: relu}")
        target = str(data.pop("activation"))
    if target == "batchnorm":
        data.setdefault("num_batches_tracked", False)  # Keras keeps no batch counter
    if "dim" in data and target == "concat":
        if data["dim"] != -1 or not layout_last:
            raise SpecError("Concatenate supports only axis -1 (the channels) with layout: channels_last")
        data["dim"] = 1
    out = [(target, data)]
    if activation not in (None, "linear"):
        out.append((str(activation), {}))
    return out
