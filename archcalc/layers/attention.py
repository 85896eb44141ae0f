"""Attention: ``multihead_attention`` (projections included) and ``scaled_dot_product_attention``.

Per sample the input is a sequence ``[T, d]``, or independent sequences ``[..., T, d]``
(layers/leading.py). With ``h`` query heads, ``g`` key/value heads (``g = h``:
multi-head; ``1 < g < h``: grouped-query; ``g = 1``: multi-query) of size ``dh``, and ``P`` the number of
(query, key) pairs each head scores:

    projections  T*d*h*dh (Q) + 2*T*d*g*dh (K, V) + T*h*dh*d (output)     MACs
    QK^T and AV  2 * h * P * dh                                          MACs
    softmax      3 per score: exp, sum, divide                          FLOPs
    scaling      1 per score (by 1/sqrt(dh))                             FLOPs
    rotary       3 per rotated element of Q and K, with ``rotary: true``  FLOPs
                 (``rotary_dim`` of each head's dh: partial rotary)

``P`` is where counters disagree. Without a mask every query meets every key: ``P = T*S`` with
``S = cache + T`` keys. ``causal: true`` counts only the lower triangle that a causal kernel computes:
query ``i`` (0-based, after ``cache`` earlier tokens) meets ``cache + i + 1`` keys, so
``P = T*cache + T*(T+1)/2``. A sliding ``window`` w caps each query at its last w keys. A decode step
is ``T = 1`` new token against ``cache`` cached ones: P = cache + 1, linear in the context where the
prefill's ``T*(T+1)/2`` is quadratic.

The K/V cache is what a layer keeps between decode steps: ``2 * g * dh`` elements per position held. Only
attention that generates keeps one: ``kv_cache`` defaults to true for a causal layer and for a decode step
(``cache > 0`` implies the earlier tokens' K and V are kept), false for an encoder's self-attention, which
sees its whole input at once. The positions held are those of the layer's own input, ``cache + T``: every one
a next query can see besides its own. With a sliding window w that is at most w - 1 (the next query's own K/V is
computed in its step), as transformers' DynamicSlidingWindowLayer keeps.

How the reference code computes the layer is ``call``: ``module`` (torch.nn.MultiheadAttention, the default where
that module computes the layer exactly) or ``explicit`` (projections and matmuls, as Hugging Face writes them). It
changes no count of archcalc's, only what the tool presets count (FlopCounterMode does not see the module's eval
fast path); ``qkv`` (fused or separate) changes no count at all.
"""
from __future__ import annotations

from typing import Any

from ..core.declare import TEXT, checked, choice, field, maybe
from ..core.errors import ShapeError, SpecError
from ..core.fields import Flag, NonNegInt, PositiveInt, fail, flag
from ..core.num import is_concrete, prod, ratio
from .base import (
    GLOBAL,
    Cost,
    LayerSpec,
    Pairs,
    Shape,
    Window,
    call_field,
    check_divides,
    check_equal,
    expect_rank,
    formula,
)
from .cross_attention import cross_attention, position_bias, why_not_cross
from .leading import over_leading_dims

SOFTMAX, SCALE = 3, 1  # FLOPs per score
ROTARY = 3  # FLOPs per element of Q and K: x * cos + rotate_half(x) * sin


PROJECTIONS = ("q", "k", "v", "out")


def projection_bias(value: Any, info: Any) -> Any:
    """``bias``: true or false for every projection, or ``{q: .., k: .., v: .., out: ..}``, one flag each (all
    four named: a projection left out would be a silent guess). One flag for all four reads back as that flag."""
    if not isinstance(value, dict):
        return flag(value, info)
    unknown = [str(k) for k in value if k not in PROJECTIONS]
    missing = [k for k in PROJECTIONS if k not in value]
    if unknown or missing:
        what = f"unknown projection {', '.join(unknown)}" if unknown else f"no flag for {', '.join(missing)}"
        raise fail(f"bias: {what}", "give one flag per projection: {q: true, k: false, v: true, out: true}, "
                                    "or true / false for all")
    flags = {k: flag(value[k], info) for k in PROJECTIONS}
    return flags["q"] if len(set(flags.values())) == 1 else flags


ProjectionBias = checked(projection_bias, {"anyOf": [
    Flag.json, {"type": "object", "properties": {k: Flag.json for k in PROJECTIONS}, "required": list(PROJECTIONS),
                "additionalProperties": False}]})


class _AttentionBase(LayerSpec):
    num_heads = field(PositiveInt, description="Query heads (h).")
    kv_heads = field(maybe(PositiveInt), None, "Key/value heads (g): default num_heads; 1 is multi-query, "
                                               "1 < g < h grouped-query attention. Must divide num_heads.")
    head_dim = field(maybe(PositiveInt), None, "Size of one head (dh); default embed_dim / num_heads.")
    causal = field(Flag, False, "Causal mask: count only the (query, key) pairs a causal kernel computes, "
                                "the lower triangle. false counts the full square.")
    window = field(maybe(PositiveInt), None, "Sliding-window attention: each query sees at most its last "
                                             "`window` keys (itself included). Needs causal: true.")
    cache = field(NonNegInt, 0, "Tokens already in the KV cache: the input's T tokens are new and attend to "
                                "cache + T keys (a decode step is T = 1). 0: a prefill or an encoder.")
    kv_cache = field(maybe(Flag), None, "Keeps its K and V between decode steps (the KV cache of the memory "
                     "report): 2 x kv_heads x head_dim per position held. Default: true when causal or cache > 0 "
                     "(a decoder), false otherwise (an encoder's self-attention keeps none).")
    kernel = field(choice("dense", "fused"), "dense", "dense: the h x T x (cache + T) score matrix is "
                   "materialised (torch's math attention, nn.MultiheadAttention): memory holds it while the layer "
                   "runs and saves it for training; fused: a FlashAttention-style kernel keeps none. The counts "
                   "are the same.")
    kind = "attention"

    def keeps_kv(self) -> bool:
        """Whether the layer keeps its K and V between decode steps (``kv_cache``, or its default)."""
        decoding = not (is_concrete(self.cache) and self.cache == 0)  # a symbolic cache is a positive size
        if self.kv_cache is None:
            return self.causal or decoding
        if decoding and not self.kv_cache:
            raise SpecError(f"cache: {self.cache} attends to the K and V of earlier tokens, which kv_cache: false "
                            "does not keep", hint="drop kv_cache: false, or count the earlier tokens in T with "
                                                  "cache: 0 (recomputed, not cached)")
        return self.kv_cache


class MultiheadAttentionSpec(_AttentionBase):
    """Self-attention with its Q, K, V and output projections, as torch.nn.MultiheadAttention (which has
    fused QKV and biases) or a Llama-style block (separate, no bias, grouped-query)."""

    TYPES = ("multihead_attention",)
    embed_dim = field(maybe(PositiveInt), None, "Model width d; inferred from the last dimension, checked "
                                                "when given.")
    bias = field(ProjectionBias, True, "Biases on the Q, K, V and output projections: one flag for all, or one per "
                 "projection, {q: true, k: false, v: true, out: true} (Whisper's k_proj has none; Qwen2's o_proj "
                 "none). qkv: fused has one bias for Q, K and V: their flags must agree.")
    qkv = field(choice("fused", "separate"), "fused", "One [d, (h + 2g) dh] projection (torch's in_proj) or "
                                                      "three; the counts are the same either way, under every "
                                                      "convention.")
    out_proj = field(Flag, True, "The output projection [h dh, d].")
    rotary = field(Flag, False, "Rotary position embedding (RoPE) on Q and K: x cos + rotate(x) sin, 3 FLOPs "
                                "per element; the frequency tables are a rotary_embedding layer's buffers.")
    rotary_dim = field(maybe(PositiveInt), None, "Partial rotary: the first rotary_dim features of each Q and K "
                       "head are rotated, the rest pass through (Phi-2 rotates 32 of 80, Pythia 16 of 64; "
                       "transformers' partial_rotary_factor x head_dim). Default head_dim; needs rotary: true.")
    call = call_field(None, "module where nn.MultiheadAttention computes the layer, else explicit",
                      module="torch.nn.MultiheadAttention (batch_first, called with need_weights=False, as "
                             "torchvision's ViT); it computes biased projections, width / heads per head, no mask, "
                             "cache or rotary",
                      explicit="explicit projections and matmuls, as Hugging Face's eager attention writes them "
                               "(nn.Linear projections, torch.matmul for QK^T and AV, F.softmax)")
    # Encoder-decoders (cross_attention.py): cross-attention, T5's relative position bias and unscaled scores.
    kv_from = field(maybe(TEXT), None, "Cross-attention: keys and values from this earlier tensor [S, e] (the "
                    "encoder's output), queries from the input; S*T pairs, no mask. Its K/V cache holds the S "
                    "positions' K and V once (kept by default); a decode step (cache > 0) reads them from it, "
                    "projecting no K or V.")
    relative_buckets = field(NonNegInt, 0, "A learned relative position bias added to every score (T5): a table of "
                             "relative_buckets x num_heads, one add per score. 0: none.")
    relative_table = field(Flag, True, "The layer owns the relative bias table (T5's first layer); false: it adds "
                           "the bias an earlier layer computed (T5's later layers), owning no parameters.")
    scaling = field(Flag, True, "Scores scaled by 1/sqrt(head_dim), 1 FLOP each; false: unscaled (T5).")

    def reads(self) -> tuple[str, ...]:
        return (self.kv_from,) if self.kv_from is not None else ()

    def biases(self) -> dict[str, bool]:
        """Whether each projection (q, k, v, out) has a bias."""
        return dict(self.bias) if isinstance(self.bias, dict) else dict.fromkeys(PROJECTIONS, self.bias)

    def why_not_module(self) -> str | None:
        """What keeps torch.nn.MultiheadAttention from computing exactly this layer; None when it can."""
        if why_not_cross(self) is not None:
            return why_not_cross(self)
        for reason, holds in (("bias: false", not all(self.biases().values())), ("out_proj: false", not self.out_proj),
                              ("rotary: true", self.rotary), ("causal: true", self.causal),
                              ("a window", self.window is not None),
                              ("a cache", not (is_concrete(self.cache) and self.cache == 0)),
                              ("head_dim given", self.head_dim is not None),
                              ("kv_heads other than num_heads", self.kv_heads not in (None, self.num_heads))):
            if holds:
                return reason
        return None

    @property
    def torch_native(self) -> bool:
        """torch.nn.MultiheadAttention computes this layer (``call: module``, the default where that module computes
        it exactly); otherwise explicit projections and matmuls do. The exporter writes it so, and the counting
        presets of other tools count it so."""
        return self.call == "module" if self.call is not None else self.why_not_module() is None


class SDPASpec(_AttentionBase):
    """Scaled dot-product attention alone, as torch.nn.functional.scaled_dot_product_attention: softmax(Q
    K^T / sqrt(dh)) V on projections made elsewhere. The input is [T, h*dh + 2*g*dh] (Q, K and V
    side by side, as a fused projection gives them); the output is [T, h*dh]."""

    TYPES = ("scaled_dot_product_attention",)


def dense_scores(spec: _AttentionBase, x: Shape, kv: Shape | None = None) -> dict[str, Any]:
    """Per sample, what an implementation that computes every (query, key) score and then masks does:
    ``dense_scores`` h x T x (cache + T) (cross-attention: h x T x S) and ``dense_score_macs`` (QK^T and AV over
    them). Counters that see the dense matmuls (torch's FlopCounterMode) count these, whatever the mask.
    ``sequences``: the [T, d] sequences per sample (1, or the product of the leading dimensions of [..., T, d]);
    ``positions``: T."""
    *lead, t, width = x  # [..., T, d]: prod(lead) independent sequences
    h = spec.num_heads
    dh = spec.head_dim or width // h
    scores = prod(lead) * h * t * (spec.cache + t if kv is None else kv[0])
    return {"dense_scores": scores, "dense_score_macs": 2 * scores * dh, "sequences": prod(lead),
            "positions": t}


def pairs(t: Any, cache: Any, causal: bool, window: Any) -> Any:
    """(query, key) pairs scored per head; see the module docstring."""
    if not causal:
        if window is not None:
            raise SpecError("window needs causal: true", hint="a sliding window here is causal (Mistral)")
        return t * (cache + t)
    if window is None:
        return t * cache + ratio(t * (t + 1), 2)
    # the query at absolute position p (1-based) sees min(window, p) keys, for p = cache + 1 .. cache + t
    return _window_keys(cache + t, window) - _window_keys(cache, window)


def _window_keys(n: Any, window: Any) -> Any:
    """sum of min(window, p) for p = 1 .. n: the ramp 1 + 2 + ... + m up to m = min(n, window), then window keys
    for each of the n - m later positions. Closed form, so T and window may be symbols (a Min in the formula)."""
    m = _min(n, window)
    return ratio(m * (m + 1), 2) + (n - m) * window


def _heads(spec: _AttentionBase, d: Any) -> tuple[Any, Any, Any]:
    h, g = spec.num_heads, spec.kv_heads or spec.num_heads
    check_divides(g, h, f"kv_heads={g} does not divide num_heads={h}", "each key/value head serves a whole "
                  "group of query heads: choose kv_heads dividing num_heads")
    if spec.head_dim is not None:
        return h, g, spec.head_dim
    check_divides(h, d, f"num_heads={h} does not divide the width {d}", "set head_dim, or a num_heads "
                  "dividing the width")
    return h, g, d // h


def _scores(spec: _AttentionBase, t: Any, h: Any, g: Any, dh: Any) -> tuple[Any, dict[str, Any], Any, Pairs]:
    """MACs of QK^T and AV, their FLOPs by kind, the K/V cache it keeps (elements) after this call, and the
    pairs they count."""
    p = pairs(t, spec.cache, spec.causal, spec.window)
    macs = 2 * h * p * dh
    flops = {"attention": 2 * macs, "softmax": SOFTMAX * h * p, "elementwise": SCALE * h * p}
    # per pair over all heads: QK^T and AV 2 * dh MACs per head (2 FLOPs each), softmax and scaling per score
    scored = Pairs(p, t, spec.cache, spec.causal and spec.window is None, 2 * h * dh,
                   {"attention": 4 * h * dh, "softmax": SOFTMAX * h, "elementwise": SCALE * h})
    if not spec.keeps_kv():
        return macs, flops, 0, scored
    kept = spec.cache + t if spec.window is None else _min(spec.cache + t, spec.window - 1)
    return macs, flops, 2 * g * dh * kept, scored


def _workspace(spec: _AttentionBase, t: Any) -> Any:
    """A dense kernel's score matrix: every (query, key) pair of every head, masked or not."""
    return 0 if spec.kernel == "fused" else spec.num_heads * t * (spec.cache + t)


def _rf(spec: _AttentionBase) -> dict[int, Any]:
    """Along the positions (dimension 0): a causal sliding window sees the last `window` positions, a
    window of that size ending at the query; otherwise every position (the last query of a causal mask sees
    all of them). Every feature mixes every feature."""
    positions = Window(spec.window, 1, spec.window - 1) if spec.window is not None else GLOBAL
    return {0: positions, 1: GLOBAL}


def _min(a: Any, b: Any) -> Any:
    if is_concrete(a) and is_concrete(b):
        return min(a, b)
    from ..core.expr import FUNCTIONS  # sympy's Min, imported only for symbols
    return FUNCTIONS["min"](a, b)


def _rotated(spec: MultiheadAttentionSpec, dh: Any) -> Any:
    """Features of each Q and K head that rotary rotates: rotary_dim, or all dh."""
    rd = spec.rotary_dim
    if rd is None:
        return dh
    if is_concrete(rd) and is_concrete(dh) and (rd > dh or rd % 2):
        raise SpecError(f"rotary_dim={rd} must be even and at most head_dim={dh}",
                        hint="rotary turns pairs of features of one head: an even rotary_dim <= head_dim")
    return rd


def _bias(spec: MultiheadAttentionSpec, d: Any, h: Any, g: Any, dh: Any) -> Any:
    """Bias entries: h dh for Q, g dh each for K and V, d for the output projection, where each has one."""
    has = spec.biases()
    if spec.qkv == "fused" and len({has["q"], has["k"], has["v"]}) > 1:
        raise SpecError("qkv: fused is one projection with one bias, but bias gives Q, K and V different flags",
                        hint="qkv: separate (q_proj, k_proj, v_proj), or the same flag for q, k and v")
    if isinstance(spec.bias, dict) and has["out"] and not spec.out_proj:
        raise SpecError("bias: out: true, but out_proj: false leaves no output projection",
                        hint="out: false, or out_proj: true")
    sizes = {"q": h * dh, "k": g * dh, "v": g * dh, "out": d if spec.out_proj else 0}
    return sum(sizes[k] for k in PROJECTIONS if has[k])


@formula(MultiheadAttentionSpec)
@over_leading_dims  # [..., T, d]: independent sequences (layers/leading.py)
def multihead_attention(spec: MultiheadAttentionSpec, x: Shape, kv: Shape | None = None) -> Cost:
    expect_rank(x, 2, "[positions, features]")
    t, d = x
    check_equal(spec.embed_dim, d, "embed_dim", "features in its last dimension")
    why = spec.why_not_module() if spec.call == "module" else None
    if why is not None:
        raise SpecError(f"call: module, but torch.nn.MultiheadAttention cannot compute this layer ({why})",
                        hint="call: explicit writes it out with projections and matmuls")
    h, g, dh = _heads(spec, d)
    if spec.rotary_dim is not None and not spec.rotary:
        raise SpecError("rotary_dim without rotary: true rotates nothing", hint="add rotary: true, or drop rotary_dim")
    if kv is not None:  # kv_from: cross-attention
        return cross_attention(spec, x, kv, h, g, dh)
    q, kv, out = d * h * dh, 2 * d * g * dh, (h * dh * d if spec.out_proj else 0)
    proj_macs = t * (q + kv + out)
    bias = _bias(spec, d, h, g, dh)
    macs, flops, cache, scored = _scores(spec, t, h, g, dh)
    if spec.rotary:
        flops["elementwise"] += ROTARY * t * (h + g) * _rotated(spec, dh)
    width = d if spec.out_proj else h * dh
    return position_bias(spec, Cost(shape=(t, width), params=q + kv + out + bias, macs=proj_macs + macs,
                                    flops={"linear": 2 * proj_macs, "bias": t * bias, **flops}, rf=_rf(spec),
                                    cache=cache, bias=bias, workspace=_workspace(spec, t), pairs=scored), h)


@formula(SDPASpec)
def scaled_dot_product_attention(spec: SDPASpec, x: Shape) -> Cost:
    expect_rank(x, 2, "[positions, q + k + v features]")
    t, width = x
    if spec.head_dim is None:
        raise SpecError("scaled_dot_product_attention needs head_dim", hint="add head_dim: <size of one head>")
    h, g, dh = _heads(spec, width)
    if is_concrete(width) and is_concrete(h * dh + 2 * g * dh) and width != h * dh + 2 * g * dh:
        raise ShapeError(f"the input has {width} features but Q, K and V need (num_heads + 2 kv_heads) x "
                         f"head_dim = {h * dh + 2 * g * dh}", hint="feed the fused QKV projection")
    macs, flops, cache, scored = _scores(spec, t, h, g, dh)
    return Cost(shape=(t, h * dh), macs=macs, flops=flops, rf=_rf(spec), cache=cache,
                workspace=_workspace(spec, t), pairs=scored)
