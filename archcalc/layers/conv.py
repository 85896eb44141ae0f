"""Convolutions, ``conv1d/2d/3d`` and ``conv_transpose1d/2d/3d``: model and cost formula."""
from __future__ import annotations

from math import gcd
from typing import Any

from ..declare import choice, field, maybe
from ..errors import ShapeError
from ..expr import FUNCTIONS
from ..fields import Flag, NonNegAxes, Padding, PositiveAxes, PositiveInt
from ..num import ceil_div, conv_out, is_concrete, prod
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


class ConvSpec(_ConvBase):
    """A convolution over 1, 2 or 3 spatial axes, as torch.nn.Conv1d/2d/3d."""

    TYPES = ("conv1d", "conv2d", "conv3d")
    padding = field(Padding, 0, "Zero padding per side: an int, a per-axis list, 'same' or 'valid'.")


class ConvTransposeSpec(_ConvBase):
    """A transposed convolution, as torch.nn.ConvTranspose1d/2d/3d."""

    TYPES = ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    padding = field(NonNegAxes, 0, "Implicit padding removed from each side of the output, per axis.")
    output_padding = field(NonNegAxes, 0, "Extra size added to one side of the output, per axis.")


def _channels(spec: _ConvBase, x: Shape) -> tuple[Any, Any]:
    """Check the channel fields against the input; returns (c_in, c_out)."""
    expect_rank(x, spec.ndim + 1, "[channels, *spatial]")
    c_in, c_out, g = x[0], spec.out_channels, spec.groups
    check_equal(spec.in_channels, c_in, "in_channels", "channels")
    check_divides(g, c_in, f"groups={g} does not divide in_channels={c_in}",
                  "groups must divide both in_channels and out_channels")
    check_divides(g, c_out, f"groups={g} does not divide out_channels={c_out}",
                  "groups must divide both in_channels and out_channels")
    return c_in, c_out


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
    c_in, c_out = _channels(spec, x)
    nd = spec.ndim
    k, s, d = (per_axis(v, nd, f) for v, f in ((spec.kernel_size, "kernel_size"), (spec.stride, "stride"),
                                               (spec.dilation, "dilation")))
    out, windows = [], []
    for axis, n in enumerate(x[1:]):
        if spec.padding == "same":
            left, total = same_padding(n, k[axis], s[axis], d[axis])
        else:
            p = 0 if spec.padding == "valid" else per_axis(spec.padding, nd, "padding")[axis]
            left, total = p, 2 * p
        span = d[axis] * (k[axis] - 1) + 1  # the dilated kernel
        out.append(positive_out(conv_out(n, k[axis], s[axis], total, d[axis]), axis,
                                f"kernel {span} is larger than the padded input {n} + {total}",
                                "reduce kernel_size or dilation, or add padding"))
        windows.append(Window(span, s[axis], left, d[axis]))
    taps = (c_in // spec.groups) * prod(k)  # weights behind one output element
    out_numel = c_out * prod(out)
    return Cost(
        shape=(c_out, *out),
        params=c_out * taps + (c_out if spec.bias else 0),  # weight [c_out, c_in/g, *k] + bias [c_out]
        macs=out_numel * taps,
        flops={"conv": 2 * out_numel * taps, "bias": out_numel if spec.bias else 0},
        rf=tuple(windows),
    )


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
    c_in, c_out = _channels(spec, x)
    nd = spec.ndim
    k, s, d, p, op = (per_axis(v, nd, f) for v, f in (
        (spec.kernel_size, "kernel_size"), (spec.stride, "stride"), (spec.dilation, "dilation"),
        (spec.padding, "padding"), (spec.output_padding, "output_padding")))
    out, windows = [], []
    for axis, n in enumerate(x[1:]):
        if is_concrete(op[axis]) and op[axis] >= max(s[axis], d[axis]):
            raise ShapeError(f"output_padding={op[axis]} must be smaller than stride or dilation",
                             hint="torch refuses it too")
        # out = (n - 1) * s - 2p + d * (k - 1) + output_padding + 1
        length = (n - 1) * s[axis] - 2 * p[axis] + d[axis] * (k[axis] - 1) + op[axis] + 1
        out.append(positive_out(length, axis, "padding removes the whole output", "reduce padding"))
        windows.append(transposed_window(k[axis], s[axis], p[axis], d[axis]))
    taps = (c_out // spec.groups) * prod(k)  # outputs fed by one input element
    in_numel = c_in * prod(x[1:])
    out_numel = c_out * prod(out)
    return Cost(
        shape=(c_out, *out),
        params=c_in * taps + (c_out if spec.bias else 0),  # weight [c_in, c_out/g, *k] + bias [c_out]
        macs=in_numel * taps,
        flops={"conv": 2 * in_numel * taps, "bias": out_numel if spec.bias else 0},
        rf=tuple(windows),
    )
