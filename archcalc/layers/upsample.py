"""``upsample``: nearest and interpolating resampling, with its exact (fractional) receptive-field step."""
from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..core.declare import TEXT, checked, choice, field, maybe
from ..core.errors import ShapeError, SpecError
from ..core.fields import Flag, PositiveAxes, number
from ..core.num import is_concrete, prod
from .base import (
    MAX_PERIOD,
    NON_UNIFORM,
    SYMBOLIC_PHASES,
    Cost,
    LayerSpec,
    PeriodicWindow,
    Shape,
    call_field,
    expect_rank,
    formula,
    per_axis,
    positive_out,
)

_TAPS = {"linear": (0, 1), "bilinear": (0, 1), "trilinear": (0, 1), "bicubic": (-1, 0, 1, 2)}
_RANK = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}


def _scale(value: Any, info: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(number(v, info) for v in value)
    return number(value, info)


Scale = checked(_scale, {"anyOf": [
    {"type": "number", "exclusiveMinimum": 0}, {"type": "string"},
    {"type": "array", "items": {"anyOf": [{"type": "number"}, {"type": "string"}]}}]})


class UpsampleSpec(LayerSpec):
    """Upsampling by a scale factor or to a size, as torch.nn.Upsample."""

    TYPES = ("upsample",)
    scale_factor = field(maybe(Scale), None, "Multiplier per spatial axis: a number or a list.")
    size = field(maybe(PositiveAxes), None, "Output size per spatial axis (instead of scale_factor).")
    size_of = field(maybe(TEXT), None, "The name of an earlier tensor whose spatial size the output takes, as "
                                       "F.interpolate(x, size=y.shape[-2:]) (DeepLabV3's ASPP pooling, FPN); "
                                       "instead of scale_factor and size.")
    mode = field(choice("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear"), "nearest",
                 "Interpolation mode, as in torch.")
    align_corners = field(maybe(Flag), None, "Align corner pixels (linear modes only), as in torch.")
    call = call_field("module", module="nn.Upsample, registered in __init__",
                      function="F.interpolate, called in forward (as FPN and U-Net code often does)")
    kind = "resize"
    channels_first = True


def _resample_window(step: Any, offset: Any, taps: tuple[int, ...]) -> Any:
    """The RF step of an interpolation whose output o reads the inputs around src(o) = o*step + offset.

    Nearest modes read floor(src); interpolating ones floor(src) + taps, except that where src is an integer
    the other taps weigh exactly 0 (linear: 1 - 0 and 0; cubic: the kernel vanishes at 1 and 2) and only
    floor(src) is read. With step = a/b in lowest terms, src(o + b) = src(o) + a: b phases, shift a.
    """
    if not is_concrete(step) or not is_concrete(offset):
        return SYMBOLIC_PHASES
    step, offset = Fraction(step), Fraction(offset)
    period = step.denominator
    if period > MAX_PERIOD:
        return NON_UNIFORM
    first, last = [], []
    for o in range(period):
        src = o * step + offset
        base = src.numerator // src.denominator
        exact = src == base
        first.append(base if exact else base + taps[0])
        last.append(base if exact else base + taps[-1])
    return PeriodicWindow(period, step.numerator, tuple(first), tuple(last))


def sized_as(spec: UpsampleSpec, target: Shape, last: bool) -> UpsampleSpec:
    """The layer with ``size_of`` resolved: a copy whose ``size`` is the spatial dimensions of ``target`` (held
    channels last if ``last``)."""
    if spec.size is not None or spec.scale_factor is not None:
        raise SpecError("give exactly one of scale_factor, size and size_of")
    if len(target) < 2:
        raise ShapeError(f"size_of {spec.size_of!r} names a tensor of shape {list(target)}, which has no spatial "
                         "dimensions", hint="name a tensor [channels, *spatial]")
    copy = UpsampleSpec._make({**spec.__dict__, "size_of": None,
                               "size": tuple(target[:-1] if last else target[1:])})
    return copy


@formula(UpsampleSpec)
def upsample(spec: UpsampleSpec, x: Shape) -> Cost:
    """Nearest: a copy, 0 FLOPs. Linear modes: per output element t taps, t multiplies and t-1 adds."""
    expect_rank(x, tuple(range(2, 5)), "[channels, *spatial]")
    nd = len(x) - 1
    if (spec.scale_factor is None) == (spec.size is None):
        raise SpecError("give exactly one of scale_factor, size and size_of")
    if spec.mode in _RANK and _RANK[spec.mode] != nd:
        raise ShapeError(f"mode {spec.mode!r} needs {_RANK[spec.mode]} spatial axes, the input has {nd}",
                         hint="use linear (1-D), bilinear or bicubic (2-D), trilinear (3-D)")
    if spec.align_corners is not None and spec.mode not in _TAPS:
        raise SpecError("align_corners applies only to the linear and cubic modes")
    windows, out = [], []
    for axis, n in enumerate(x[1:]):
        if spec.size is not None:
            o = per_axis(spec.size, nd, "size")[axis]
            step = Fraction(n, o) if is_concrete(n) and is_concrete(o) else n / o  # torch: in / out
        else:
            f = per_axis(spec.scale_factor, nd, "scale_factor")[axis]
            if is_concrete(f) and f <= 0:
                raise SpecError(f"scale_factor must be positive, got {f}")
            o = positive_out((n * f) // 1, axis, f"scale_factor {f} shrinks {n} to nothing",  # torch floors
                             "use a larger scale_factor, or size")
            step = 1 / Fraction(f) if is_concrete(f) else 1 / f
        if spec.align_corners:
            step = Fraction(n - 1, o - 1) if is_concrete(n) and is_concrete(o) and o > 1 else NON_UNIFORM
        out.append(o)
        if step is NON_UNIFORM:
            windows.append(NON_UNIFORM)
        elif is_concrete(n) and n == 1:  # every output reads the one input, whatever the size (ASPP pooling)
            windows.append(PeriodicWindow(1, 0, (0,), (0,)))
        elif spec.mode == "nearest":  # src = floor(o * step)
            windows.append(_resample_window(step, 0, (0,)))
        elif spec.mode == "nearest-exact":  # src = floor((o + 1/2) * step)
            windows.append(_resample_window(step, step / 2, (0,)))
        else:  # src = (o + 1/2) * step - 1/2, or o * step with align_corners
            offset = 0 if spec.align_corners else (step - 1) / 2
            windows.append(_resample_window(step, offset, _TAPS[spec.mode]))
    out_numel = x[0] * prod(out)
    taps = len(_TAPS[spec.mode]) ** nd if spec.mode in _TAPS else 0
    return Cost(shape=(x[0], *out), flops={"resize": out_numel * (2 * taps - 1) if taps else 0},
                rf=tuple(windows))
