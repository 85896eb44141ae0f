"""Pooling: ``maxpool``/``avgpool`` (1d/2d/3d), adaptive pooling and global pooling."""
from __future__ import annotations

from typing import Any

from ..core.declare import checked, field, maybe
from ..core.errors import ShapeError
from ..core.fields import Flag, Padding, PositiveAxes, PositiveInt, fail, positive_int
from ..core.num import ceil_div, conv_out, is_concrete, prod
from .base import (
    GLOBAL,
    NON_UNIFORM,
    Cost,
    LayerSpec,
    Shape,
    Window,
    call_field,
    expect_rank,
    formula,
    per_axis,
    positive_out,
)
from .conv import same_padding


class _PoolBase(LayerSpec):
    kernel_size = field(PositiveAxes, description="Window size per spatial axis.")
    stride = field(maybe(PositiveAxes), None, "Stride per spatial axis; defaults to kernel_size.")
    padding = field(Padding, 0, "Implicit padding per side (-inf for max, 0 for average): an int, a "
                                    "per-axis list, or Keras' 'same' / 'valid'.")
    ceil_mode = field(Flag, False, "Use ceil instead of floor for the output size.")
    call = call_field("module", module="nn.MaxPool2d / nn.AvgPool2d (1d, 3d), registered in __init__",
                      function="F.max_pool2d / F.avg_pool2d (1d, 3d), called in forward (torchvision's Inception "
                               "v3 blocks)")
    kind = "pool"
    channels_first = True


class MaxPoolSpec(_PoolBase):
    """Max pooling, as torch.nn.MaxPool1d/2d/3d."""

    TYPES = ("maxpool1d", "maxpool2d", "maxpool3d")
    dilation = field(PositiveAxes, 1, "Spacing between window taps.")


class AvgPoolSpec(_PoolBase):
    """Average pooling, as torch.nn.AvgPool1d/2d/3d."""

    TYPES = ("avgpool1d", "avgpool2d", "avgpool3d")
    count_include_pad = field(Flag, True, "Include padded zeros in the average (no count changes).")
    divisor_override = field(maybe(PositiveInt), None, "Divide by this instead of the window size.")


def _pool_out(n: Any, k: Any, s: Any, p: Any, d: Any, ceil_mode: bool) -> Any:
    out = conv_out(n, k, s, 2 * p, d, ceil_mode)
    # torch: with ceil_mode the last window must start inside the input or the left padding
    if ceil_mode and is_concrete(out) and (out - 1) * s >= n + p:
        out -= 1
    return out


@formula(MaxPoolSpec)
@formula(AvgPoolSpec)
def pool(spec: MaxPoolSpec | AvgPoolSpec, x: Shape) -> Cost:
    """Sliding-window pooling. FLOPs per output: max k-1 comparisons; average k-1 adds and 1 divide."""
    nd = spec.ndim
    expect_rank(x, nd + 1, "[channels, *spatial]")
    k = per_axis(spec.kernel_size, nd, "kernel_size")
    s = per_axis(spec.stride if spec.stride is not None else spec.kernel_size, nd, "stride")
    d = per_axis(spec.dilation if isinstance(spec, MaxPoolSpec) else 1, nd, "dilation")
    out, windows = [], []
    for axis, n in enumerate(x[1:]):
        span = d[axis] * (k[axis] - 1) + 1
        if spec.padding == "same":  # Keras: output ceil(n / s), padded positions ignored
            left, total = same_padding(n, k[axis], s[axis], d[axis])
            length = ceil_div(n, s[axis])
        else:
            p = 0 if spec.padding == "valid" else per_axis(spec.padding, nd, "padding")[axis]
            if is_concrete(p) and is_concrete(k[axis]) and 2 * p > k[axis]:  # torch checks the undilated kernel
                raise ShapeError(f"padding {p} is more than half the kernel size {k[axis]}",
                                 hint="torch requires padding <= kernel_size / 2")
            left, total = p, 2 * p
            length = _pool_out(n, k[axis], s[axis], p, d[axis], spec.ceil_mode)
        out.append(positive_out(length, axis, f"window {span} is larger than the padded input {n} + {total}",
                                "reduce kernel_size or add padding"))
        windows.append(Window(span, s[axis], left, d[axis]))
    window = prod(k)
    out_numel = x[0] * prod(out)
    per_output = window - 1 if spec.type.startswith("max") else window
    return Cost(shape=(x[0], *out), flops={"pool": out_numel * per_output}, rf=tuple(windows))


def _output_size(value: Any, info: Any) -> Any:
    if value is None:
        raise fail("output_size cannot be null; use a list with null for axes to keep")
    if isinstance(value, (list, tuple)):
        return tuple(None if v is None else positive_int(v, info) for v in value)
    return positive_int(value, info)


OutputSize = checked(_output_size, {"anyOf": [
    {"type": "integer", "minimum": 1}, {"type": "string"},
    {"type": "array", "items": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"},
                                          {"type": "null"}]}}]})


class AdaptivePoolSpec(LayerSpec):
    """Adaptive pooling to a fixed output size, as torch.nn.AdaptiveAvgPool2d / AdaptiveMaxPool2d."""

    TYPES = ("adaptive_avgpool1d", "adaptive_avgpool2d", "adaptive_avgpool3d",
             "adaptive_maxpool1d", "adaptive_maxpool2d", "adaptive_maxpool3d")
    output_size = field(OutputSize, description="Output size per spatial axis; null keeps that axis.")
    call = call_field("module", module="nn.AdaptiveAvgPool2d / nn.AdaptiveMaxPool2d (1d, 3d), registered in "
                                       "__init__", function="F.adaptive_avg_pool2d / F.adaptive_max_pool2d (1d, 3d)")
    kind = "pool"
    channels_first = True


MAX_SYMBOLIC_TERMS = 256  # closed forms of adaptive pooling over symbolic sizes: one term per divisor, per axis


def _window_total(n: Any, o: int) -> Any:
    """Sum of the window lengths of adaptive pooling from n to o along one axis.

    torch's window i covers [floor(i*n/o), ceil((i+1)*n/o)). Summing over i (Hermite's floor-sum
    identity) gives n + o - gcd(n, o). For a symbolic n, gcd(n, o) = sum over the divisors d of o of
    phi(d) * [d divides n], and [d divides n] = floor(n/d) - floor((n-1)/d).
    """
    if is_concrete(n):
        from math import gcd
        return n + o - gcd(n, o)
    return n + o - sum(_phi(d) * (n // d - (n - 1) // d) for d in _divisors(o))


def _divisors(o: int) -> list[int]:
    """The divisors of o, in O(sqrt(o)); refused beyond what a closed form can hold."""
    if o > MAX_SYMBOLIC_TERMS ** 2:
        raise ShapeError(f"adaptive pooling of a symbolic size to {o} outputs has no practical closed form",
                         hint="give the symbol a value, or a smaller output_size")
    small = [d for d in range(1, int(o ** 0.5) + 1) if o % d == 0]
    return sorted({*small, *(o // d for d in small)})


def _phi(d: int) -> int:
    """Euler's totient, by trial division."""
    result, m, p = d, d, 2
    while p * p <= m:
        if m % p == 0:
            while m % p == 0:
                m //= p
            result -= result // p
        p += 1
    if m > 1:
        result -= result // m
    return result


def _adaptive_axis(n: Any, o: Any) -> tuple[Any, Any]:
    """Total window length along one axis, and the axis' RF step."""
    if not is_concrete(o):
        raise ShapeError(f"adaptive pooling to a symbolic size {o} has no closed form",
                         hint="give output_size a number")
    total = _window_total(n, o)
    if o == 1:
        return total, GLOBAL
    if is_concrete(n):
        return total, Window(n // o, n // o, 0) if n % o == 0 else NON_UNIFORM
    return total, NON_UNIFORM  # uniform only when o divides n, which a symbol does not promise


@formula(AdaptivePoolSpec)
def adaptive_pool(spec: AdaptivePoolSpec, x: Shape) -> Cost:
    """Adaptive pooling: windows tile the input; FLOPs as for pooling, summed over the actual windows."""
    nd = spec.ndim
    expect_rank(x, nd + 1, "[channels, *spatial]")
    sizes = per_axis(spec.output_size, nd, "output_size")
    out = tuple(n if o is None else o for n, o in zip(x[1:], sizes))
    terms = prod(len(_divisors(o)) for n, o in zip(x[1:], out) if is_concrete(o) and not is_concrete(n))
    if terms > MAX_SYMBOLIC_TERMS:
        raise ShapeError(f"adaptive pooling of symbolic sizes to {list(out)} has a closed form of {terms} terms, "
                         f"above the limit of {MAX_SYMBOLIC_TERMS}", hint="give the symbols values, or an "
                         "output_size with fewer divisors")
    axes = [_adaptive_axis(n, o) for n, o in zip(x[1:], out)]
    taps = x[0] * prod(t for t, _ in axes)  # sum over outputs of the window size (windows are separable)
    out_numel = x[0] * prod(out)
    flops = taps - out_numel if spec.type.startswith("adaptive_max") else taps
    return Cost(shape=(x[0], *out), flops={"pool": flops}, rf=tuple(step for _, step in axes))


class GlobalPoolSpec(LayerSpec):
    """Global pooling over every spatial axis (Keras GlobalAveragePooling2D)."""

    TYPES = ("global_avgpool", "global_maxpool")
    keepdims = field(Flag, False, "Keep the spatial axes with size 1 (torch AdaptiveAvgPool(1)) "
                                      "instead of dropping them (Keras).")
    call = call_field("module", module="nn.AdaptiveAvgPool2d(1) / nn.AdaptiveMaxPool2d(1) (1d, 3d), then "
                                       "torch.flatten(x, 1) unless keepdims (torchvision's ResNet)",
                      function="F.adaptive_avg_pool2d(x, 1) / F.adaptive_max_pool2d(x, 1), then torch.flatten "
                               "(torchvision's DenseNet, MobileNet v2)",
                      reduction="a tensor reduction over the spatial axes, x.mean([2, 3]) / x.amax([2, 3]) "
                                "(torchvision's MNASNet, ShuffleNet v2); the only form beyond 3 spatial axes")
    kind = "pool"
    channels_first = True


@formula(GlobalPoolSpec)
def global_pool(spec: GlobalPoolSpec, x: Shape) -> Cost:
    """One reduction over all positions per channel: n-1 comparisons (max) or n-1 adds and 1 divide (avg)."""
    expect_rank(x, tuple(range(2, 9)), "[channels, *spatial]")
    n = prod(x[1:])
    per_channel = n - 1 if spec.type == "global_maxpool" else n
    shape = (x[0], *(1 for _ in x[1:])) if spec.keepdims else (x[0],)
    return Cost(shape=shape, flops={"pool": x[0] * per_channel}, rf=GLOBAL, dims=None if spec.keepdims else ((0,),))
