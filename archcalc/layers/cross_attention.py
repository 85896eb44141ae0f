"""Encoder-decoder attention: ``multihead_attention`` with ``kv_from`` (cross-attention), and T5's relative
position bias. The layer's model and its one formula are in attention.py; this is the maths they add.

Cross-attention takes its queries from its input ``[T, d]`` and its keys and values from another tensor
``[S, e]`` (``kv_from``: the encoder's output), of another length and possibly another width. With ``h`` query
heads, ``g`` key/value heads of size ``dh``:

    projections  T*d*h*dh (Q) + 2*S*e*g*dh (K, V) + T*h*dh*d (output)    MACs
    QK^T and AV  2 * h * T*S * dh                                        MACs (every query meets every key)

Its K/V cache differs from self-attention's: the encoder's K and V are projected once, at the decoder's first
step, and held (``2 * g * dh * S`` elements, kept by default: a cross-attention sits in a decoder that generates).
A decode step (``cache > 0``: earlier decoder tokens exist; a symbolic cache counts as one) reads them from that
cache: no K or V projection, while the self-attention cache grows with the step.

A relative position bias (``relative_buckets: n``, T5) adds a learned scalar per (bucket, head) to every score:
the table is ``n x h`` parameters, in the layer that owns it (``relative_table``: T5's first layer; later layers
add the same bias and own no table), and it costs one add per score. T5 does not scale its scores
(``scaling: false``: its initialisation folds 1/sqrt(dh) into W_q).
"""
from __future__ import annotations

from typing import Any

from ..core.errors import SpecError
from ..core.num import is_concrete
from .base import GLOBAL, Cost, Pairs, Shape, check_equal, expect_rank

SOFTMAX = 3  # FLOPs per score: exp, sum, divide (as attention.py)


def decoding(spec: Any) -> bool:
    """A decode step: earlier tokens are cached (a symbolic cache is a positive size)."""
    return not (is_concrete(spec.cache) and spec.cache == 0)


def why_not_cross(spec: Any) -> str | None:
    """What keeps torch.nn.MultiheadAttention (as the presets count it) from this layer's extra options."""
    if spec.kv_from is not None:
        return "kv_from"
    if spec.relative_buckets:
        return "a relative position bias"
    if not spec.scaling:
        return "scaling: false"
    return None


def cross_attention(spec: Any, x: Shape, kv: Shape, h: Any, g: Any, dh: Any) -> Cost:
    """The cost of queries from ``x`` [T, d] attending to keys and values projected from ``kv`` [S, e]."""
    expect_rank(kv, 2, f"[positions, features] from kv_from: {spec.kv_from}")
    for what, holds in (("causal: true", spec.causal), ("a window", spec.window is not None),
                        ("rotary: true", spec.rotary), ("a relative position bias", spec.relative_buckets)):
        if holds:
            raise SpecError(f"cross-attention (kv_from) with {what}: the queries and keys are different sequences",
                            hint=f"drop {what.split(':')[0].removeprefix('a ')}, or kv_from for self-attention")
    t, d = x
    s, e = kv
    check_equal(spec.embed_dim, d, "embed_dim", "features in its last dimension")
    cached = decoding(spec)  # K and V come from the cache, projected at the first step
    q, kv_proj, out = d * h * dh, 2 * e * g * dh, (h * dh * d if spec.out_proj else 0)
    proj_macs = t * (q + out) + (0 if cached else s * kv_proj)
    has = spec.biases()  # per projection (Whisper's k_proj has none)
    if has["out"] and not spec.out_proj and isinstance(spec.bias, dict):
        raise SpecError("bias: out: true, but out_proj: false leaves no output projection",
                        hint="out: false, or out_proj: true")
    q_bias, kv_bias = (h * dh if has["q"] else 0) + (d if has["out"] and spec.out_proj else 0), \
        (g * dh if has["k"] else 0) + (g * dh if has["v"] else 0)
    bias = q_bias + kv_bias
    bias_adds = t * q_bias + (0 if cached else s * kv_bias)  # the new tokens' Q and output; K and V at the first step
    p = t * s  # (query, key) pairs per head: no mask
    macs = 2 * h * p * dh
    scale = 1 if spec.scaling else 0
    flops = {"linear": 2 * proj_macs, "bias": bias_adds, "attention": 2 * macs, "softmax": SOFTMAX * h * p,
             "elementwise": scale * h * p}
    scored = Pairs(p, t, 0, False, 2 * h * dh, {"attention": 4 * h * dh, "softmax": SOFTMAX * h,
                                                 "elementwise": scale * h})
    keeps = True if spec.kv_cache is None else spec.keeps_kv()
    width = d if spec.out_proj else h * dh
    return Cost(shape=(t, width), params=q + kv_proj + out + bias, macs=proj_macs + macs, flops=flops, rf=GLOBAL,
                cache=2 * g * dh * s if keeps else 0, bias=bias,
                workspace=0 if spec.kernel == "fused" else h * t * s, pairs=scored)


def position_bias(spec: Any, cost: Cost, h: Any) -> Cost:
    """Self-attention with T5's relative position bias (a table of buckets x heads, one add per score) and without
    the 1/sqrt(dh) scaling when ``scaling: false``."""
    p = cost.pairs.scored if cost.pairs is not None else 0
    if spec.relative_buckets:
        if spec.relative_table:
            cost.params += spec.relative_buckets * h
            cost.active = cost.params
        cost.flops["elementwise"] += h * p
        cost.pairs.flops["elementwise"] += h
    if not spec.scaling:
        cost.flops["elementwise"] -= h * p
        cost.pairs.flops["elementwise"] -= h
    return cost
