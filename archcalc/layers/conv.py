"""Convolutions, ``conv1d/2d/3d`` and ``conv_transpose1d/2d/3d``: model and cost formula."""
from __future__ import annotations

from math import gcd
from typing import Any

from ..core.declare import choice, field, maybe
from ..core.errors import ShapeError, SpecError
from ..core.expr import FUNCTIONS
from ..core.fields import ConvPadding, Flag, NonNegAxes, Padding, PositiveAxes, PositiveInt
from ..core.num import ceil_div, conv_out, is_concrete, prod
from .base import (
    MAX_PERIOD,
    NON_UNIFORM,
    SYMBOLIC_PHASES,
    Cost,
    LayerSpec,
    PeriodicWindow,
    Shape,
    Window,
    check_divides,
    check_equal,
    expect_rank,
    formula,
    per_axis,
    positive_out,
)


class _ConvBase(LayerSpec):
    in_channels = field(maybe(PositiveInt), None, "Input channels; inferred from the incoming tensor, "
                                                      "checked against it when given.")
    out_channels = field(PositiveInt, description="Output channels (number of filters).")
    kernel_size = field(PositiveAxes, description="Kernel size: one value for every spatial axis, or a list.")
    stride = field(PositiveAxes, 1, "Stride per spatial axis.")
    dilation = field(PositiveAxes, 1, "Spacing between kernel taps per spatial axis.")
    groups = field(PositiveInt, 1, "Blocked connections; groups = in_channels is depthwise.")
    bias = field(Flag, True, "Add a learnable bias per output channel.")
    padding_mode = field(choice("zeros", "reflect", "replicate", "circular"), "zeros",
                         "How padded positions are filled (does not change any count).")
    kind = "conv"
    channels_first = True


class ConvSpec(_ConvBase):
    """A convolution over 1, 2 or 3 spatial axes, as torch.nn.Conv1d/2d/3d."""

    TYPES = ("conv1d", "conv2d", "conv3d")
    out_channels = field(maybe(PositiveInt), None, "Output channels (number of filters); required unless "
                                                   "depth_multiplier is given.")
    padding = field(ConvPadding, 0, "Zero padding per side: an int, a per-axis list, 'same', 'valid', or (1-D) "
                                    "'causal': Keras' dilation * (kernel_size - 1) zeros before the input only.")
    depth_multiplier = field(maybe(PositiveInt), None, "Depthwise convolution (Keras DepthwiseConv): groups = "
                                                       "in_channels and out_channels = in_channels * depth_multiplier "
                                                       "(instead of out_channels and groups).")


class ConvTransposeSpec(_ConvBase):
    """A transposed convolution, as torch.nn.ConvTranspose1d/2d/3d, or Keras' Conv1DTranspose/2D/3D."""

    TYPES = ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    padding = field(Padding, 0, "Implicit padding removed from each side of the output, per axis (torch); or "
                                "Keras' 'valid' (output (n - 1) * stride + max(kernel, stride)) or 'same' "
                                "(output n * stride).")
    output_padding = field(maybe(NonNegAxes), None, "Extra size added to one side of the output, per axis; "
                                                    "default 0, or with 'same'/'valid' Keras' rule.")


def _channels(spec: _ConvBase, x: Shape) -> tuple[Any, Any, Any]:
    """Check the channel fields against the input; returns (c_in, c_out, groups)."""
    expect_rank(x, spec.ndim + 1, "[channels, *spatial]")
    c_in, c_out, g = x[0], spec.out_channels, spec.groups
    multiplier = getattr(spec, "depth_multiplier", None)
    if (c_out is None) == (multiplier is None):
        raise SpecError("give exactly one of out_channels and depth_multiplier")
    if multiplier is not None:
        if not (is_concrete(g) and g == 1):
            raise SpecError("depth_multiplier sets groups to in_channels: remove groups")
        c_out, g = c_in * multiplier, c_in
    check_equal(spec.in_channels, c_in, "in_channels", "channels")
    check_divides(g, c_in, f"groups={g} does not divide in_channels={c_in}",
                  "groups must divide both in_channels and out_channels")
    check_divides(g, c_out, f"groups={g} does not divide out_channels={c_out}",
                  "groups must divide both in_channels and out_channels")
    return c_in, c_out, g


def same_padding(n: Any, k: Any, s: Any, d: Any) -> tuple[Any, Any]:
    """'same' padding (left, total): output ceil(n / s); the odd pad goes after, as torch and Keras do."""
    span = d * (k - 1) + 1
    if s == 1:
        total = span - 1
    else:  # Keras/TF rule for strided 'same'
        total = FUNCTIONS["max"]((ceil_div(n, s) - 1) * s + span - n, 0)
    return total // 2, total


@formula(ConvSpec)
def conv(spec: ConvSpec, x: Shape) -> Cost:
    """Convolution: each output element is a dot product over (in_channels / groups) * prod(kernel) taps."""
    c_in, c_out, groups = _channels(spec, x)
    nd = spec.ndim
    k, s, d = (per_axis(v, nd, f) for v, f in ((spec.kernel_size, "kernel_size"), (spec.stride, "stride"),
                                               (spec.dilation, "dilation")))
    if spec.padding == "causal" and nd != 1:
        raise SpecError(f"padding 'causal' is for 1-D convolutions, not {spec.type}", hint="use same or valid")
    out, windows = [], []
    for axis, n in enumerate(x[1:]):
        if spec.padding == "same":
            left, total = same_padding(n, k[axis], s[axis], d[axis])
        elif spec.padding == "causal":  # Keras: all the padding before, so output t sees inputs <= t
            left = total = d[axis] * (k[axis] - 1)
        else:
            p = 0 if spec.padding == "valid" else per_axis(spec.padding, nd, "padding")[axis]
            left, total = p, 2 * p
        span = d[axis] * (k[axis] - 1) + 1  # the dilated kernel
        out.append(positive_out(conv_out(n, k[axis], s[axis], total, d[axis]), axis,
                                f"kernel {span} is larger than the padded input {n} + {total}",
                                "reduce kernel_size or dilation, or add padding"))
        windows.append(Window(span, s[axis], left, d[axis]))
    taps = (c_in // groups) * prod(k)  # weights behind one output element
    out_numel = c_out * prod(out)
    return Cost(
        shape=(c_out, *out),
        params=c_out * taps + (c_out if spec.bias else 0),  # weight [c_out, c_in/g, *k] + bias [c_out]
        macs=out_numel * taps,
        flops={"conv": 2 * out_numel * taps, "bias": out_numel if spec.bias else 0},
        rf=tuple(windows),
    )


def keras_transpose(n: Any, span: Any, s: Any, padding: str, op: Any) -> tuple[Any, Any]:
    """Keras' transposed convolution along one axis, as (left crop, output size) of the full output
    (n - 1) * s + span (torch's with no padding); a negative right crop extends it with zeros.

    Keras (backend_utils, the JAX form) pads the stride-dilated input by (left, right) and slides the kernel:
    'valid' pads span - 1 and span - 1 + op, with op by default max(span, s) - span; 'same' pads p = s + span - 2
    in all (span + span % 2 - 2 + op with an output_padding), min(ceil(p / 2), span - 1) of it on the left.
    """
    if padding == "valid":
        extra = FUNCTIONS["max"](span, s) - span if op is None else op
        return 0, (n - 1) * s + span + extra
    total = s + span - 2 if op is None else span + span % 2 - 2 + op
    left = FUNCTIONS["min"](ceil_div(total, 2), span - 1)
    return span - 1 - left, (n - 1) * s + 1 + total - span + 1


def torch_transpose(spec: ConvTransposeSpec, x: Shape) -> list[tuple[Any, Any, Any, Any]]:
    """Per spatial axis, how torch's ConvTranspose computes the layer (the export writes it so): (padding,
    output_padding, output size of the torch module, and (left, size) to cut from it, or None when the module's
    output is the layer's). Keras' rule is torch's when its crop is p on the left and p - output_padding on the
    right with 0 <= output_padding < max(stride, dilation); otherwise torch's full output is cut (or extended)."""
    nd = spec.ndim
    k, s, d, op = (per_axis(v, nd, f) for v, f in ((spec.kernel_size, "kernel_size"), (spec.stride, "stride"),
                                                   (spec.dilation, "dilation"), (spec.output_padding,
                                                                                 "output_padding")))
    axes = []
    for a, n in enumerate(x[1:]):
        span = d[a] * (k[a] - 1) + 1
        if spec.padding not in ("same", "valid"):
            p, extra = per_axis(spec.padding, nd, "padding")[a], 0 if op[a] is None else op[a]
            axes.append((p, extra, (n - 1) * s[a] - 2 * p + span + extra, None))
            continue
        left, length = keras_transpose(n, span, s[a], spec.padding, op[a])
        full = (n - 1) * s[a] + span
        extra = left - (full - left - length)  # torch's output_padding for padding = left
        if left >= 0 and 0 <= extra < max(s[a], d[a]):
            axes.append((left, extra, length, None))
        else:
            axes.append((0, 0, full, (left, length)))
    return axes


def transposed_window(k: Any, s: Any, p: Any, d: Any) -> Any:
    """The RF step of a transposed convolution along one axis: output o reads the inputs i with o = i*s - p + t*d
    for a tap t in 0..k-1.

    With stride 1 that is the window [o + p - d(k-1), o + p]. Otherwise outputs differ by phase r = o mod s: the
    taps t with t*d = r + p (mod s) form a progression t0, t0 + s/g, ... (g = gcd(d, s); none unless g divides
    r + p), and i = (r + p - t*d) / s runs down from t0's, every d/g inputs.
    """
    reach = d * (k - 1)
    if is_concrete(s) and s == 1:
        return Window(reach + 1, 1, reach - p, d)
    if not all(is_concrete(v) for v in (k, s, p, d)):
        return SYMBOLIC_PHASES
    if s > MAX_PERIOD:
        return NON_UNIFORM
    g = gcd(d, s)
    period_t = s // g  # taps that reach the same phase are s/g apart
    inverse = pow(d // g, -1, period_t) if period_t > 1 else 0
    first: list[int | None] = []
    last: list[int | None] = []
    for r in range(s):
        if (r + p) % g:
            first.append(None)
            last.append(None)
            continue
        t0 = (r + p) // g * inverse % period_t  # the smallest tap reaching phase r
        if t0 > k - 1:
            first.append(None)
            last.append(None)
            continue
        t1 = t0 + (k - 1 - t0) // period_t * period_t  # the largest
        first.append((r + p - t1 * d) // s)
        last.append((r + p - t0 * d) // s)
    return PeriodicWindow(s, 1, tuple(first), tuple(last), d // g)


@formula(ConvTransposeSpec)
def conv_transpose(spec: ConvTransposeSpec, x: Shape) -> Cost:
    """Transposed convolution: every input element is scattered through (out_channels / groups) * prod(k) taps."""
    c_in, c_out, groups = _channels(spec, x)
    nd = spec.ndim
    keras = spec.padding in ("same", "valid")
    k, s, d, op = (per_axis(v, nd, f) for v, f in (
        (spec.kernel_size, "kernel_size"), (spec.stride, "stride"), (spec.dilation, "dilation"),
        (spec.output_padding, "output_padding")))
    p = (0,) * nd if keras else per_axis(spec.padding, nd, "padding")
    out, windows = [], []
    for axis, n in enumerate(x[1:]):
        span = d[axis] * (k[axis] - 1) + 1
        if keras:  # Keras refuses output_padding >= stride, and a stride with a dilation
            if op[axis] is not None and is_concrete(op[axis]) and op[axis] >= s[axis]:
                raise ShapeError(f"output_padding={op[axis]} must be smaller than the stride {s[axis]}",
                                 hint="Keras refuses it too")
            if any(is_concrete(v) and v > 1 for v in s) and any(is_concrete(v) and v > 1 for v in d):
                raise SpecError(f"padding {spec.padding!r} with both a stride and a dilation above 1",
                                hint="Keras refuses it too; give torch's padding in numbers")
            left, length = keras_transpose(n, span, s[axis], spec.padding, op[axis])
        else:
            extra = 0 if op[axis] is None else op[axis]
            if is_concrete(extra) and extra >= max(s[axis], d[axis]):
                raise ShapeError(f"output_padding={extra} must be smaller than stride or dilation",
                                 hint="torch refuses it too")
            # out = (n - 1) * s - 2p + d * (k - 1) + output_padding + 1
            left, length = p[axis], (n - 1) * s[axis] - 2 * p[axis] + span + extra
        out.append(positive_out(length, axis, "padding removes the whole output", "reduce padding"))
        windows.append(transposed_window(k[axis], s[axis], left, d[axis]))
    taps = (c_out // groups) * prod(k)  # outputs fed by one input element
    in_numel = c_in * prod(x[1:])
    out_numel = c_out * prod(out)
    return Cost(
        shape=(c_out, *out),
        params=c_in * taps + (c_out if spec.bias else 0),  # weight [c_in, c_out/g, *k] + bias [c_out]
        macs=in_numel * taps,
        flops={"conv": 2 * in_numel * taps, "bias": out_numel if spec.bias else 0},
        rf=tuple(windows),
    )
