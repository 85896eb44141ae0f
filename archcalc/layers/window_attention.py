"""``window_attention``: Swin's (shifted) window multi-head self-attention with its relative position bias, on a
channels-last feature map ``[H, W, C]``, as torchvision's ShiftedWindowAttention computes it.

With windows of ``Mh x Mw`` (``N = Mh*Mw`` tokens), ``h`` heads of ``dh = C / h``, the map padded at the end of
each axis to ``Hp x Wp`` (multiples of the window; the padded tokens are attended to, as torchvision does) and
``nW = Hp*Wp / N`` windows, tokens ``L = Hp*Wp``:

    qkv projection   L * C * 3C                  MACs
    QK^T and AV      2 * nW * h * N * N * dh     MACs   (= 2 * L * N * C)
    output proj      L * C * C                   MACs
    softmax          3 per score, scaling 1, the relative position bias 1, the shift's mask 1    FLOPs

A score is one (query, key) pair of one head of one window: ``nW * h * N^2`` of them. A shift ``s`` rolls the map
by ``-s`` before the windows are cut and back after; the rolled windows wrap around, and a mask (-100 between
tokens from different regions) keeps them apart. Where the window covers a whole (padded) axis, torchvision drops
that axis's shift, and so does this layer. The roll costs nothing.

The bias is a learned table of ``(2Mh - 1)(2Mw - 1) x h`` parameters, one per relative offset and head, read
through an ``N^2`` index buffer (int64, as torch holds it).

Receptive field: the tokens of one window mix; along an unshifted axis an output reads the ``M`` positions of its
window, a pattern that repeats every ``M`` positions, clipped at the end (the padding): exact. Along a shifted axis
the last window wraps around to the first positions (the mask, -100 in torchvision, damps them but does not cut
them off): reported non-uniform. Every channel mixes every channel.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from ..core.declare import field, maybe
from ..core.errors import SpecError
from ..core.expr import FUNCTIONS
from ..core.fields import Flag, NonNegAxes, PositiveAxes, PositiveInt
from ..core.num import ceil_div, is_concrete
from .attention import SCALE, SOFTMAX
from .base import (
    GLOBAL,
    NON_UNIFORM,
    SYMBOLIC_PHASES,
    Cost,
    LayerSpec,
    PeriodicWindow,
    Shape,
    check_divides,
    check_equal,
    expect_rank,
    formula,
    per_axis,
)

BIAS, MASK = 1, 1  # FLOPs per score: the relative position bias add, the shifted windows' mask add


class WindowAttentionSpec(LayerSpec):
    """(Shifted) window self-attention on [H, W, C], as torchvision.models.swin_transformer.ShiftedWindowAttention:
    fused QKV and output projections, one relative position bias table."""

    TYPES = ("window_attention",)
    num_heads = field(PositiveInt, description="Heads (h); must divide the channels C.")
    window_size = field(PositiveAxes, description="Window size: one value for both axes, or [Mh, Mw].")
    shift_size = field(NonNegAxes, 0, "Cyclic shift of the windows (torch.roll by -shift before, +shift after), "
                                      "one value or [sh, sw]; each must be smaller than the window. Swin shifts "
                                      "every second block by window_size // 2.")
    embed_dim = field(maybe(PositiveInt), None, "Channels C; inferred from the last dimension, checked when given.")
    qkv_bias = field(Flag, True, "A bias on the fused QKV projection.")
    proj_bias = field(Flag, True, "A bias on the output projection.")
    relative_position_bias = field(Flag, True, "The learned relative position bias: a ((2Mh-1)(2Mw-1), heads) "
                                               "parameter table and an (Mh Mw)^2 int64 index buffer.")
    kind = "attention"

    def dense_scores(self, x: Shape) -> dict[str, Any]:
        """Per sample, the scores of every window and head, and the QK^T and AV MACs over them (no mask hides a
        score: a shift's mask adds -100, it skips none)."""
        windows = _windows(self, x)
        return {"dense_scores": windows.scores, "dense_score_macs": windows.core}


def _shift_applies(size: Any, window: Any) -> Any:
    """1 where a shift moves the windows (the padded axis is longer than the window), else 0: torchvision drops
    the shift of an axis the window covers. ``size - window`` is a non-negative integer, so min(1, it) is the
    indicator, on int and sympy alike."""
    return FUNCTIONS["min"](1, size - window)


def _axis_rf(size: Any, window: int, shift: int) -> Any:
    """One axis: output p reads the M positions of its window, [floor(p / M) M, + M - 1] (clipped at the end, where
    the map is padded); the pattern repeats every M positions. A shift makes the last window wrap around to the
    first positions, and torchvision's mask (-100, not -inf) still lets them through: non-uniform."""
    applies = _shift_applies(size, window) if shift else 0
    if not is_concrete(applies):
        return SYMBOLIC_PHASES  # whether the shift applies depends on a symbol: give it a value
    if applies:
        return NON_UNIFORM
    first = tuple(r // window * window for r in range(window))
    return PeriodicWindow(window, window, first, tuple(f + window - 1 for f in first))


class Windows(NamedTuple):
    """The windows a layer cuts from its input: window and shift per axis, padded sizes, tokens, scores, MACs of
    QK^T and AV."""

    window: tuple[Any, Any]
    shift: tuple[Any, Any]
    padded: tuple[Any, Any]
    tokens: Any
    scores: Any
    core: Any


def _windows(spec: WindowAttentionSpec, x: Shape) -> Windows:
    expect_rank(x, 3, "[H, W, C] (channels last, as Swin holds its feature maps)")
    height, width, c = x
    check_equal(spec.embed_dim, c, "embed_dim", "channels in its last dimension")
    h = spec.num_heads
    check_divides(h, c, f"num_heads={h} does not divide the {c} channels", "choose num_heads dividing C")
    mh, mw = per_axis(spec.window_size, 2, "window_size")
    sh, sw = per_axis(spec.shift_size, 2, "shift_size")
    if sh >= mh or sw >= mw:
        raise SpecError(f"shift_size {[sh, sw]} must be smaller than the window {[mh, mw]}",
                        hint="Swin shifts by window_size // 2")
    hp, wp = ceil_div(height, mh) * mh, ceil_div(width, mw) * mw  # padded to whole windows
    tokens = hp * wp
    scores = tokens * mh * mw * h  # nW * h * N^2, with nW * N = tokens
    return Windows((mh, mw), (sh, sw), (hp, wp), tokens, scores, 2 * scores * (c // h))  # QK^T and AV


@formula(WindowAttentionSpec)
def window_attention(spec: WindowAttentionSpec, x: Shape) -> Cost:
    c, h = x[-1], spec.num_heads
    windows = _windows(spec, x)
    (mh, mw), (sh, sw), (hp, wp) = windows.window, windows.shift, windows.padded
    n, tokens, scores, core = mh * mw, windows.tokens, windows.scores, windows.core
    qkv, proj = tokens * c * 3 * c, tokens * c * c
    bias = (3 * c if spec.qkv_bias else 0) + (c if spec.proj_bias else 0)
    table = (2 * mh - 1) * (2 * mw - 1) * h if spec.relative_position_bias else 0
    shifted = (_shift_applies(hp, mh) if sh else 0) + (_shift_applies(wp, mw) if sw else 0)
    masked = FUNCTIONS["min"](1, shifted) if not (is_concrete(shifted) and shifted == 0) else 0
    elementwise = scores * (SCALE + (BIAS if spec.relative_position_bias else 0)) + scores * MASK * masked
    return Cost(shape=x, params=3 * c * c + c * c + bias + table,
                buffers=n * n if spec.relative_position_bias else 0,
                macs=qkv + proj + core,
                flops={"linear": 2 * (qkv + proj), "bias": tokens * bias, "attention": 2 * core,
                       "softmax": SOFTMAX * scores, "elementwise": elementwise},
                rf={0: _axis_rf(hp, mh, sh), 1: _axis_rf(wp, mw, sw), 2: GLOBAL},
                bias=bias, workspace=h * tokens * n)
