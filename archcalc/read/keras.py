"""Keras vocabulary: layer names and field names a Keras user would write, mapped onto archcalc's.

``Dense: {units: 10, activation: relu}`` becomes ``linear: {out_features: 10}`` followed by ``relu``. The tables
are data (``ALIASES``: the archcalc type and field renames; ``DEFAULTS``: where a Keras default differs from
torch's); a Keras layer that is not one archcalc layer with renamed fields has an adapter (``ADAPTERS``), a small
function from its renamed fields to archcalc layers. ``translate`` is the entry point. The semantics (tensors held
as [*spatial, C] under ``layout: channels_last``) are the engine's; these only rename.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from difflib import get_close_matches
from typing import Any

from ..core.errors import SpecError

_CONV = {"filters": "out_channels", "strides": "stride", "dilation_rate": "dilation", "use_bias": "bias"}
_POOL = {"pool_size": "kernel_size", "strides": "stride"}
_NORM = {"epsilon": "eps"}
_RECURRENT = {"units": "hidden_size", "use_bias": "bias"}

# alias -> (archcalc type, field renames)
ALIASES: dict[str, tuple[str, dict[str, str]]] = {
    "dense": ("linear", {"units": "out_features", "use_bias": "bias"}),
    "flatten": ("flatten", {}),
    "dropout": ("dropout", {"rate": "p"}),
    **{f"spatial_dropout{d}d": (f"dropout{d}d", {"rate": "p"}) for d in (1, 2, 3)},
    "batch_normalization": ("batchnorm", _NORM),
    "layer_normalization": ("layernorm", _NORM),
    "activation": ("activation", {}),
    "re_lu": ("relu", {}),
    "leaky_re_lu": ("leaky_relu", {"alpha": "negative_slope"}),
    "elu": ("elu", {}),
    "softmax": ("softmax", {"axis": "dim"}),
    "add": ("add", {}),
    "multiply": ("mul", {}),
    "concatenate": ("concat", {"axis": "dim"}),
    "reshape": ("reshape", {"target_shape": "shape"}),
    "permute": ("permute", {}),
    "embedding": ("embedding", {"input_dim": "num_embeddings", "output_dim": "embedding_dim"}),
    "lstm": ("lstm", _RECURRENT),
    "gru": ("gru", _RECURRENT),
    "simple_rnn": ("rnn", _RECURRENT),
    "bidirectional": ("bidirectional", {}),
    "time_distributed": ("time_distributed", {}),
    **{f"conv{d}d": (f"conv{d}d", _CONV) for d in (1, 2, 3)},
    **{f"conv{d}d_transpose": (f"conv_transpose{d}d", _CONV) for d in (1, 2, 3)},
    **{f"depthwise_conv{d}d": (f"conv{d}d", _CONV) for d in (1, 2)},
    **{f"separable_conv{d}d": (f"conv{d}d", _CONV) for d in (1, 2)},
    **{f"max_pooling{d}d": (f"maxpool{d}d", _POOL) for d in (1, 2, 3)},
    **{f"max_pool{d}d": (f"maxpool{d}d", _POOL) for d in (1, 2, 3)},
    **{f"average_pooling{d}d": (f"avgpool{d}d", _POOL) for d in (1, 2, 3)},
    **{f"avg_pool{d}d": (f"avgpool{d}d", _POOL) for d in (1, 2, 3)},
    **{f"global_average_pooling{d}d": ("global_avgpool", {}) for d in (1, 2, 3)},
    **{f"global_avg_pool{d}d": ("global_avgpool", {}) for d in (1, 2, 3)},
    **{f"global_max_pooling{d}d": ("global_maxpool", {}) for d in (1, 2, 3)},
    **{f"global_max_pool{d}d": ("global_maxpool", {}) for d in (1, 2, 3)},
    **{f"up_sampling{d}d": ("upsample", {"size": "scale_factor", "interpolation": "mode"}) for d in (1, 2, 3)},
    **{f"zero_padding{d}d": ("pad", {}) for d in (1, 2, 3)},
    **{f"cropping{d}d": ("crop", {"cropping": "margin"}) for d in (1, 2, 3)},
}

# Keras defaults that differ from the archcalc (torch) ones, in archcalc's field names. Keras' BatchNormalization
# momentum 0.99 weighs the old statistic; torch's momentum weighs the new one: 1 - 0.99.
DEFAULTS: dict[str, dict[str, Any]] = {
    "batch_normalization": {"eps": 1e-3, "momentum": 0.99},
    "layer_normalization": {"eps": 1e-3},
    "leaky_re_lu": {"negative_slope": 0.3},
    "concatenate": {"dim": -1},
    **{f"{kind}{d}d": {"kernel_size": 2} for kind in ("max_pooling", "max_pool", "average_pooling", "avg_pool")
       for d in (1, 2, 3)},
    **{f"conv{d}d_transpose": {"padding": "valid"} for d in (1, 2, 3)},  # Keras' 'valid', not torch's 0
    **{f"up_sampling{d}d": {"scale_factor": 2} for d in (1, 2, 3)},
    **{f"zero_padding{d}d": {"padding": 1} for d in (1, 2, 3)},
    "cropping1d": {"margin": 1},
    "cropping2d": {"margin": 0},
    "cropping3d": {"margin": 1},
}

# Keras arguments that change no count (initialisers, regularisers, constraints, masking, seeds): accepted, unused.
NO_COUNT = frozenset({
    *(f"{w}_{what}" for w in ("kernel", "bias", "recurrent", "depthwise", "pointwise", "embeddings", "beta", "gamma",
                              "moving_mean", "moving_variance", "activity")
      for what in ("initializer", "regularizer", "constraint")),
    "mask_zero", "seed", "noise_shape", "unit_forget_bias", "recurrent_dropout", "dropout", "unroll",
    "implementation", "synchronized", "input_length", "dtype",
})

# Keras activation names -> archcalc types (the others are spelt alike).
ACTIVATIONS = {"swish": "silu", "hard_swish": "hardswish", "hard_silu": "hardswish", "hard_sigmoid": "hardsigmoid"}

# The first positional argument of a Keras layer's constructor, in Keras' name: ``MaxPool2D: 2`` is
# ``MaxPool2D(2)``, that is ``{pool_size: 2}``.
FIRST_ARGUMENT: dict[str, str] = {
    "dense": "units", "dropout": "rate", "activation": "activation", "reshape": "target_shape", "permute": "dims",
    "softmax": "axis", "concatenate": "axis", "lstm": "units", "gru": "units", "simple_rnn": "units",
    **{f"spatial_dropout{d}d": "rate" for d in (1, 2, 3)},
    **{f"{kind}{d}d": "filters" for kind in ("conv", "separable_conv") for d in (1, 2, 3)},
    **{f"conv{d}d_transpose": "filters" for d in (1, 2, 3)},
    **{f"depthwise_conv{d}d": "kernel_size" for d in (1, 2)},
    **{f"{kind}{d}d": "pool_size" for kind in ("max_pooling", "max_pool", "average_pooling", "avg_pool")
       for d in (1, 2, 3)},
    **{f"up_sampling{d}d": "size" for d in (1, 2, 3)},
    **{f"zero_padding{d}d": "padding" for d in (1, 2, 3)},
    **{f"cropping{d}d": "cropping" for d in (1, 2, 3)},
}


def first_argument(name: str) -> str | None:
    """The field a Keras layer's first positional argument sets (``MaxPool2D`` -> ``pool_size``), or None."""
    if not name[:1].isupper():
        return None
    return FIRST_ARGUMENT.get(snake(name))


# Keras class names that have no archcalc form, and what to write instead.
INSTEAD = {
    "Lambda": "declare it as a custom layer (custom:) by its formulas",
    "Layer": "declare it as a custom layer (custom:) by its formulas",
    "Input": "the input is the spec's input: [..] (per sample, batch excluded)",
    "InputLayer": "the input is the spec's input: [..] (per sample, batch excluded)",
    "Sequential": "list the layers in layers:, or declare a block (blocks:)",
    "Model": "list the layers in layers:, or declare a block (blocks:)",
}


def snake(name: str) -> str:
    """Keras class name to its functional/snake form: MaxPooling2D -> max_pooling2d, ReLU -> re_lu."""
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (name[i - 1].islower() or
                                   (i + 1 < len(name) and name[i + 1].islower() and name[i - 1].isupper())):
            out.append("_")
        out.append(ch.lower())
    return re.sub(r"(?<=\d)_d(?=_|$)", "d", "".join(out)) if name[:1].isupper() else name


def camel(alias: str) -> str:
    """A snake alias as the Keras class name: max_pooling2d -> MaxPooling2D, re_lu -> ReLU."""
    words = {"re_lu": "ReLU", "lstm": "LSTM", "gru": "GRU", "rnn": "RNN", "elu": "ELU"}
    out = alias
    for word, upper in words.items():
        out = out.replace(word, upper)
    parts = [p[:1].upper() + p[1:] for p in out.split("_")]
    return "".join(parts).replace("1d", "1D").replace("2d", "2D").replace("3d", "3D")


def lookup(name: str) -> tuple[str, dict[str, str]] | None:
    """The archcalc type and field renames for a Keras layer name, or None if it is not one."""
    return ALIASES.get(name) or ALIASES.get(snake(name))


def suggest(name: str, types: Any = ()) -> str:
    """A hint for an unknown CamelCase (Keras-looking) layer name: what to write instead, the closest Keras name
    archcalc knows, or the archcalc type spelt alike but for case (Conv2d -> conv2d); never a look-alike type."""
    if name in INSTEAD:
        return INSTEAD[name]
    names = sorted({camel(a) for a in ALIASES if not a.startswith(("max_pool", "avg_pool", "global_avg_pool",
                                                                   "global_max_pool")) or "pooling" in a})
    close = get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if name.lower() in types:
        return f"did you mean {name.lower()!r}?"
    return "not a Keras layer archcalc knows: write its archcalc form, or declare it as a custom layer (custom:)"


Layers = list[tuple[str, dict[str, Any]]]


def translate(name: str, body: Mapping[str, Any], layout_last: bool) -> Layers:
    """A Keras layer as archcalc layers: one, a few (separable convolution), and the fused ``activation``."""
    alias = name if name in ALIASES else snake(name)
    target, renames = ALIASES[alias]
    data = {renames.get(k, k): v for k, v in body.items() if k not in NO_COUNT}
    layout = data.pop("data_format", "channels_last" if layout_last else "channels_first")
    if layout != ("channels_last" if layout_last else "channels_first"):
        raise SpecError(f"data_format: {layout} differs from the spec's layout", hint="set layout: to match, and "
                        "leave data_format out")
    if data.get("trainable", True) is not True:
        raise SpecError("trainable: false is not modelled yet", hint="remove trainable")
    data.pop("trainable", None)
    for key, value in DEFAULTS.get(alias, {}).items():
        data.setdefault(key, value)
    activation = None
    if target not in ("activation", "lstm", "gru", "rnn", "bidirectional", "time_distributed"):
        activation = data.pop("activation", None)
    out = ADAPTERS.get(alias, ADAPTERS.get(target, _same))(target, data, layout_last)
    if activation not in (None, "linear"):
        out.append((ACTIVATIONS.get(str(activation), str(activation)), {}))
    return out


# ---- adapters: (archcalc type, renamed fields, layout_last) -> archcalc layers ----

def _same(target: str, data: dict[str, Any], last: bool) -> Layers:
    return [(target, data)]


def _activation(target: str, data: dict[str, Any], last: bool) -> Layers:
    if "activation" not in data:
        raise SpecError("Activation needs activation: <name>", hint="e.g. Activation: {activation: relu}")
    name = str(data.pop("activation"))
    if data:
        raise SpecError(f"Activation has no field {next(iter(data))!r}", hint="only activation: <name>")
    return [] if name == "linear" else [(ACTIVATIONS.get(name, name), {})]


def _relu(target: str, data: dict[str, Any], last: bool) -> Layers:
    """ReLU(max_value, negative_slope, threshold): relu, relu6, leaky_relu or hardtanh [0, max_value]."""
    top, slope, threshold = data.pop("max_value", None), data.pop("negative_slope", 0), data.pop("threshold", 0)
    if data:
        raise SpecError(f"ReLU has no field {next(iter(data))!r}", hint="max_value, negative_slope, threshold")
    if threshold:
        raise SpecError(f"ReLU threshold={threshold} is not modelled", hint="declare it as a custom layer (custom:)")
    if top is not None and slope:
        raise SpecError("ReLU with both max_value and negative_slope is not modelled",
                        hint="declare it as a custom layer (custom:)")
    if slope:
        return [("leaky_relu", {"negative_slope": slope})]
    if top is None:
        return [("relu", {})]
    return [("relu6", {})] if top == 6 else [("hardtanh", {"min_val": 0, "max_val": top})]


def _pair_1d(key: str) -> Callable[[str, dict[str, Any], bool], Layers]:
    """ZeroPadding1D / Cropping1D: a pair (a, b) is before and after, where 2-D and 3-D lists are per axis."""
    def adapt(target: str, data: dict[str, Any], last: bool) -> Layers:
        if isinstance(data.get(key), (list, tuple)) and len(data[key]) == 2 and \
                not any(isinstance(v, (list, tuple)) for v in data[key]):
            data[key] = [list(data[key])]
        return [(target, data)]
    return adapt


def _depthwise(target: str, data: dict[str, Any], last: bool) -> Layers:
    data.setdefault("depth_multiplier", 1)
    return [(target, data)]


def _separable(target: str, data: dict[str, Any], last: bool) -> Layers:
    """SeparableConv: a depthwise convolution without bias, then a 1 x 1 convolution to ``filters`` with it."""
    pointwise = {"out_channels": data.pop("out_channels", None), "kernel_size": 1, "bias": data.pop("bias", True)}
    if pointwise["out_channels"] is None:
        raise SpecError("SeparableConv needs filters")
    return [(target, {**data, "depth_multiplier": data.pop("depth_multiplier", 1), "bias": False}),
            (target, pointwise)]


def _batchnorm(target: str, data: dict[str, Any], last: bool) -> Layers:
    axis = data.pop("axis", -1 if last else 1)
    if axis != (-1 if last else 1):
        raise SpecError(f"BatchNormalization axis={axis} is not the channels",
                        hint="archcalc normalises the channels: axis -1 with layout: channels_last")
    center, scale = data.pop("center", True), data.pop("scale", True)
    if center != scale:
        raise SpecError("BatchNormalization with only one of center and scale is not modelled",
                        hint="torch's affine is both or neither; declare it as a custom layer (custom:)")
    data["momentum"] = round(1 - data["momentum"], 12)  # torch weighs the new batch by it, Keras the statistic
    return [(target, {**data, "affine": center, "num_batches_tracked": False})]  # Keras keeps no batch counter


def _layernorm(target: str, data: dict[str, Any], last: bool) -> Layers:
    axis = data.pop("axis", -1)
    if axis not in (-1, [-1]):
        raise SpecError(f"LayerNormalization axis={axis} is not modelled", hint="archcalc's Keras form is axis -1")
    if data.pop("rms_scaling", False):
        raise SpecError("LayerNormalization rms_scaling is not modelled", hint="use rmsnorm")
    center, scale = data.pop("center", True), data.pop("scale", True)
    if center and not scale:
        raise SpecError("LayerNormalization with center but no scale is not modelled",
                        hint="torch's LayerNorm has a bias only with its weight; declare it as a custom layer")
    return [(target, {**data, "elementwise_affine": scale, "bias": center})]


def _permute(target: str, data: dict[str, Any], last: bool) -> Layers:
    dims = data.get("dims")
    if not isinstance(dims, (list, tuple)):
        raise SpecError("Permute needs dims: a list of the axes 1.. (the batch excluded)", hint="e.g. dims: [2, 1]")
    return [(target, {**data, "dims": [0, *dims]})]  # Keras counts from 1 without the batch; archcalc with it as 0


def _recurrent(target: str, data: dict[str, Any], last: bool) -> Layers:
    """LSTM / GRU / SimpleRNN with Keras' bias layout and return_sequences (default False: the last state)."""
    for option in ("go_backwards", "stateful", "return_state"):
        if data.pop(option, False):
            raise SpecError(f"{option} is not modelled", hint=f"remove {option}")
    want = {"lstm": ("tanh", "sigmoid"), "gru": ("tanh", "sigmoid"), "rnn": ("tanh", None)}[target]
    activation = data.pop("activation", "tanh")
    recurrent_activation = data.pop("recurrent_activation", want[1])
    if target == "rnn" and activation in ("tanh", "relu"):
        data["nonlinearity"] = activation
    elif activation != want[0]:
        raise SpecError(f"activation={activation!r} is not modelled", hint="the cells are counted with tanh")
    if recurrent_activation != want[1]:
        raise SpecError(f"recurrent_activation={recurrent_activation!r} is not modelled",
                        hint="the gates are counted with sigmoid")
    reset_after = data.pop("reset_after", True) if target == "gru" else True
    if not reset_after:
        data["reset_after"] = False
    data["output"] = "sequence" if data.pop("return_sequences", False) else "last"
    data["hidden_bias"] = target == "gru" and reset_after  # Keras' GRU(reset_after=True): two biases per gate
    return [(target, data)]


def _inner(body: Any, what: str, last: bool) -> Layers:
    """The layer a wrapper (Bidirectional, TimeDistributed) holds, translated."""
    if isinstance(body, str):
        name, inner = body, {}
    elif isinstance(body, Mapping) and len(body) == 1:
        ((name, inner),) = body.items()
        inner = inner or {}
    else:
        raise SpecError(f"{what} needs layer: one Keras layer", hint=f"e.g. {what}: {{layer: {{LSTM: {{units: 32}}}}}}")
    if not isinstance(name, str) or not lookup(name) or not isinstance(inner, Mapping):
        raise SpecError(f"{what} wraps a Keras layer, not {name!r}", hint="e.g. layer: {Dense: {units: 10}}")
    return translate(name, inner, last)


def _bidirectional(target: str, data: dict[str, Any], last: bool) -> Layers:
    merge = data.pop("merge_mode", "concat")
    if merge != "concat":
        raise SpecError(f"merge_mode={merge!r} is not modelled", hint="archcalc's Bidirectional concatenates")
    inner = _inner(data.pop("layer", None), "Bidirectional", last)
    if data:
        raise SpecError(f"Bidirectional has no field {next(iter(data))!r}", hint="layer and merge_mode")
    if len(inner) != 1 or inner[0][0] not in ("lstm", "gru", "rnn"):
        raise SpecError("Bidirectional wraps LSTM, GRU or SimpleRNN")
    kind, fields = inner[0]
    return [(kind, {**fields, "bidirectional": True})]


# Layers that act on the last axis or on each element: applying them to every step is what they do already.
_PER_STEP = frozenset({"linear", "dropout", "layernorm", "batchnorm", "relu", "relu6", "hardtanh", "leaky_relu",
                       "elu", "gelu", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid", "softmax"})


def _time_distributed(target: str, data: dict[str, Any], last: bool) -> Layers:
    """TimeDistributed(layer) on [T, ...]: the layer on every step. A window layer over n axes becomes the
    (n + 1)-D one with a window of 1 along T (same weights, same arithmetic); flatten keeps T."""
    inner = _inner(data.pop("layer", None), "TimeDistributed", last)
    if data:
        raise SpecError(f"TimeDistributed has no field {next(iter(data))!r}", hint="layer")
    out: Layers = []
    for kind, fields in inner:
        if kind in _PER_STEP and fields.get("dim", -1) == -1:
            out.append((kind, fields))
        elif kind == "flatten" and not fields:
            out.append((kind, {"start_dim": 2}))
        elif kind[:-2] in ("conv", "maxpool", "avgpool") and kind[-2] in "12" and fields.get("padding") != "causal":
            n = int(kind[-2])
            fields = {**fields, **{key: _lead(fields[key], n, 1) for key in ("kernel_size", "stride", "dilation")
                                   if key in fields}}
            if not isinstance(fields.get("padding", 0), str):
                fields["padding"] = _lead(fields.get("padding", 0), n, 0)
            out.append((f"{kind[:-2]}{n + 1}d", fields))
        else:
            raise SpecError(f"TimeDistributed({kind}) is not modelled", hint="it wraps Dense, activations, "
                            "normalisations, Dropout, Flatten, and 1-D or 2-D convolutions and pools")
    return out


def _lead(value: Any, n: int, fill: int) -> list[Any]:
    """A per-axis value with ``fill`` for a new leading axis."""
    return [fill, *value] if isinstance(value, (list, tuple)) else [fill, *([value] * n)]


ADAPTERS: dict[str, Callable[[str, dict[str, Any], bool], Layers]] = {
    "activation": _activation,
    "re_lu": _relu,
    "batchnorm": _batchnorm,
    "layernorm": _layernorm,
    "permute": _permute,
    "lstm": _recurrent, "gru": _recurrent, "rnn": _recurrent,
    "bidirectional": _bidirectional,
    "time_distributed": _time_distributed,
    "zero_padding1d": _pair_1d("padding"),
    "cropping1d": _pair_1d("margin"),
    **{f"depthwise_conv{d}d": _depthwise for d in (1, 2)},
    **{f"separable_conv{d}d": _separable for d in (1, 2)},
}
