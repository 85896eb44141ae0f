"""Transformer layers and the language-model zoo, by arithmetic and published figures.

Where the expected numbers come from:
- per-layer counts: the arithmetic written out next to each literal (d width, h heads, g kv heads, dh head
  size, T tokens, S keys);
- GPT-2 small 124,439,808 and BERT-base 109,482,240 params: shared/reference/published.md ("well-known
  parameter counts"); Llama-2-7B 6,738,415,616: Touvron et al. 2023 / Hugging Face's config, and the sum
  written out below;
- ViT-B/16 and B/32: tests/data/torchvision_reference.json (torchvision 0.29.1) and torchvision's metadata
  _ops (17.564 and 4.409 GMACs);
- Kaplan et al. 2020, Table 1 (shared/reference/published.md): N = 2 d_model n_layer (2 d_attn + d_ff) and
  C_forward = 2N + 2 n_layer n_ctx d_attn.
The torch oracle checks of the same layers are in tests/test_torch_transformer.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import archcalc
from archcalc.core.errors import ArchcalcError
from archcalc.count.convention import KAPLAN

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = json.loads((Path(__file__).parent / "data" / "torchvision_reference.json").read_text())["models"]


def run(layers: str, input: str = "[T, d]", variables: str = "{T: 10, d: 64}", **overrides) -> archcalc.Report:
    text = f"name: t\nvariables: {variables}\ninput: {input}\nlayers:\n{layers}"
    return archcalc.analyze(archcalc.load(text, **overrides))


def zoo(name: str, **overrides) -> archcalc.Report:
    return archcalc.analyze(archcalc.load(ROOT / "specs" / f"{name}.yaml", **overrides))


def row(report: archcalc.Report, type: str) -> archcalc.LayerResult:
    return next(r for r in report.layers if r.type == type)


# ---------------------------------------------------------------- multihead attention

def test_attention_params_and_macs_full_square():
    r = row(run("  - multihead_attention: {num_heads: 4}\n"), "multihead_attention")
    d, h, dh, t = 64, 4, 16, 10
    assert r.params == 4 * d * d + 4 * d  # Q, K, V, out weights + biases (torch.nn.MultiheadAttention)
    projections = t * (3 * d * h * dh + h * dh * d)
    scores = 2 * h * (t * t) * dh  # QK^T and AV over T x T pairs
    assert r.macs == projections + scores
    assert r.flops_by_kind["attention"] == 2 * scores
    assert r.flops_by_kind["softmax"] == 3 * h * t * t
    assert r.flops_by_kind["elementwise"] == h * t * t  # the 1/sqrt(dh) scaling
    assert r.flops_by_kind["bias"] == t * 4 * d
    assert r.output_shape == (1, t, d)


def test_causal_counts_the_lower_triangle():
    full = row(run("  - multihead_attention: {num_heads: 4}\n"), "multihead_attention")
    causal = row(run("  - multihead_attention: {num_heads: 4, causal: true}\n"), "multihead_attention")
    h, dh, t = 4, 16, 10
    assert full.macs - causal.macs == 2 * h * dh * (t * t - t * (t + 1) // 2)  # 45 pairs of 100 dropped
    assert causal.flops_by_kind["softmax"] == 3 * h * 55


def test_grouped_and_multi_query_attention():
    d, h, dh, t = 64, 8, 8, 10
    for g in (8, 2, 1):
        r = row(run(f"  - multihead_attention: {{num_heads: 8, kv_heads: {g}, bias: false}}\n"),
                "multihead_attention")
        assert r.params == d * h * dh + 2 * d * g * dh + h * dh * d
        assert r.macs == t * (d * h * dh + 2 * d * g * dh + h * dh * d) + 2 * h * t * t * dh
        assert r.cache == 0  # an encoder's self-attention (no mask, no cache) keeps no K and V
        kept = row(run(f"  - multihead_attention: {{num_heads: 8, kv_heads: {g}, bias: false, kv_cache: true}}\n"),
                   "multihead_attention")
        assert kept.cache == 2 * g * dh * t  # K and V of every token, per kv head


def test_head_dim_may_differ_from_width_over_heads():
    r = row(run("  - multihead_attention: {num_heads: 2, head_dim: 48, out_proj: false, bias: false}\n"),
            "multihead_attention")
    assert r.output_shape == (1, 10, 96)  # without the output projection: h * dh features
    assert r.params == 3 * 64 * 96


def test_sliding_window_caps_the_keys_per_query():
    r = row(run("  - multihead_attention: {num_heads: 4, causal: true, window: 4}\n"), "multihead_attention")
    h, dh = 4, 16
    pairs = 1 + 2 + 3 + 4 * 7  # positions 1..10 see min(4, p) keys
    assert r.flops_by_kind["softmax"] == 3 * h * pairs
    assert r.cache == 2 * h * dh * (4 - 1)  # the last 3 tokens: a next query's window of 4 besides its own


def test_decode_step_is_linear_in_the_context_and_prefill_quadratic():
    d, h, dh = 64, 4, 16

    def decode(cache: int) -> int:
        return row(run(f"  - multihead_attention: {{num_heads: 4, causal: true, cache: {cache}}}\n",
                       variables="{T: 1, d: 64}"), "multihead_attention").macs

    def prefill(t: int) -> int:
        return row(run("  - multihead_attention: {num_heads: 4, causal: true}\n", variables=f"{{T: {t}, d: 64}}"),
                   "multihead_attention").macs

    # one new token: projections 4 d^2, then QK^T and AV against cache + 1 keys
    for cache in (0, 7, 100, 4095):
        assert decode(cache) == 4 * d * d + 2 * h * dh * (cache + 1)
    steps = [decode(c) for c in range(0, 40, 8)]
    assert len({b - a for a, b in zip(steps, steps[1:])}) == 1  # constant first difference: linear
    fills = [prefill(t) for t in range(8, 48, 8)]
    second = [c - 2 * b + a for a, b, c in zip(fills, fills[1:], fills[2:])]
    assert len(set(second)) == 1 and second[0] == 2 * h * dh * 8 * 8  # T(T+1)/2 pairs: second difference 8^2


def test_kv_cache_after_a_decode_step():
    r = row(run("  - multihead_attention: {num_heads: 4, kv_heads: 2, causal: true, cache: 99}\n",
                variables="{T: 1, d: 64}"), "multihead_attention")
    assert r.cache == 2 * 2 * 16 * 100  # K and V, 2 kv heads of 16, 99 cached + 1 new token


def test_only_attention_that_generates_keeps_a_kv_cache():
    """kv_cache defaults to causal or cache > 0: a decoder keeps 2 x g x dh per position it holds (cache + T),
    an encoder's self-attention none. It changes no count."""
    h, g, dh, t = 4, 2, 16, 10

    def attention(fields: str, type: str = "multihead_attention", width: int = 64) -> archcalc.LayerResult:
        return row(run(f"  - {type}: {{num_heads: 4, kv_heads: 2, {fields}}}\n",
                       variables=f"{{T: {t}, d: {width}}}"), type)
    assert attention("causal: false").cache == 0  # BERT, ViT: the whole input at once, nothing kept
    assert attention("causal: true").cache == 2 * g * dh * t  # GPT: K and V of the T tokens of a prefill
    assert attention("causal: false, cache: 5").cache == 2 * g * dh * (5 + t)  # a decode step keeps its context
    assert attention("causal: false, kv_cache: true").cache == 2 * g * dh * t  # an explicit cache
    assert attention("causal: true, kv_cache: false").cache == 0  # causal, run once over its input
    assert attention("causal: true, window: 4").cache == 2 * g * dh * 3  # window - 1: the next query adds its own
    qkv = (h + 2 * g) * dh  # scaled_dot_product_attention reads fused Q, K and V
    assert attention("head_dim: 16", "scaled_dot_product_attention", qkv).cache == 0
    assert attention("head_dim: 16, causal: true", "scaled_dot_product_attention", qkv).cache == 2 * g * dh * t
    plain, kept = attention("causal: true, kv_cache: false"), attention("causal: true")
    assert (plain.params, plain.macs, plain.flops) == (kept.params, kept.macs, kept.flops)


def test_a_decode_step_without_a_kv_cache_is_refused():
    with pytest.raises(ArchcalcError) as info:
        run("  - multihead_attention: {num_heads: 4, causal: true, cache: 5, kv_cache: false}\n")
    message = info.value.format()
    assert "cache: 5" in message and "kv_cache: false" in message and "\n" not in message


def test_encoders_keep_no_kv_cache_and_decoders_keep_theirs():
    """BERT-base and ViT-B are encoders: no K/V cache. GPT-2 small keeps K and V of 768 in each of its 12
    layers for every one of its T = 1024 positions; Llama-2-7B 4096 in each of 32 layers at T = 4096."""
    assert zoo("bert_base").totals.cache == 0
    assert zoo("vit_b_16").totals.cache == zoo("vit_b_32").totals.cache == 0
    assert zoo("gpt2").totals.cache == 2 * 12 * 768 * 1024 == 18_874_368
    assert zoo("gpt2", T=1, cache=1023).totals.cache == 2 * 12 * 768 * 1024  # the 1024th token's decode step
    assert zoo("llama2_7b").totals.cache == 2 * 32 * 4096 * 4096 == 1_073_741_824


def test_rotary_adds_three_flops_per_query_and_key_element():
    plain = row(run("  - multihead_attention: {num_heads: 4}\n"), "multihead_attention")
    rope = row(run("  - multihead_attention: {num_heads: 4, rotary: true}\n"), "multihead_attention")
    assert rope.flops - plain.flops == 3 * 10 * (4 + 4) * 16 and rope.macs == plain.macs


@pytest.mark.parametrize("body, words", [
    ("{num_heads: 5}", "num_heads=5 does not divide the width 64"),
    ("{num_heads: 8, kv_heads: 3}", "kv_heads=3 does not divide num_heads=8"),
    ("{num_heads: 4, window: 3}", "window needs causal: true"),
    ("{num_heads: 4, embed_dim: 32}", "embed_dim=32"),
    ("{num_heads: 4, qkv: split}", "qkv"),
])
def test_attention_errors(body, words):
    with pytest.raises(ArchcalcError) as info:
        run(f"  - multihead_attention: {body}\n")
    assert words in info.value.format()


def test_attention_needs_a_sequence():
    with pytest.raises(ArchcalcError) as info:
        run("  - multihead_attention: {num_heads: 4}\n", input="[8]")
    assert "rank-2 input [positions, features]" in info.value.format()


def test_sdpa_alone():
    # input: fused Q, K, V of 2 query heads and 1 kv head of 8: (2 + 2) * 8 = 32 features
    r = row(run("  - scaled_dot_product_attention: {num_heads: 2, kv_heads: 1, head_dim: 8}\n",
                variables="{T: 6, d: 32}"), "scaled_dot_product_attention")
    assert r.output_shape == (1, 6, 16) and r.params == 0
    assert r.macs == 2 * 2 * 36 * 8


# ---------------------------------------------------------------- embeddings, norms, MLPs

def test_embedding_positions_and_class_token():
    rep = run("  - embedding: {num_embeddings: 100, embedding_dim: 8}\n"
              "  - class_token\n"
              "  - positional_embedding: {max_positions: 16}\n", input="[T]")
    emb, cls, pos = rep.layers
    assert (emb.params, emb.macs, emb.flops) == (100 * 8, 0, 0) and emb.output_shape == (1, 10, 8)
    assert cls.params == 8 and cls.output_shape == (1, 11, 8)
    assert pos.params == 16 * 8 and pos.flops == 11 * 8  # one add per element


def test_weight_tying_counts_the_table_once():
    layers = ("  - embedding: {name: wte, num_embeddings: 100, embedding_dim: 8}\n"
              "  - linear: {name: head, out_features: 100, bias: false, tied_to: wte}\n")
    rep = run(layers, input="[T]")
    assert rep.totals.params == 100 * 8
    assert rep.layers[1].macs == 10 * 8 * 100  # the tied layer still computes
    with pytest.raises(ArchcalcError, match="no earlier layer named 'wtf'"):
        run(layers.replace("tied_to: wte", "tied_to: wtf"), input="[T]")
    with pytest.raises(ArchcalcError, match="fewer than the 1,600"):
        run(layers.replace("out_features: 100", "out_features: 200"), input="[T]")


def test_positional_table_too_short():
    with pytest.raises(ArchcalcError, match="set max_positions: 10 or more"):
        run("  - positional_embedding: {max_positions: 8}\n")


def test_rmsnorm():
    r = row(run("  - rmsnorm: {normalized_shape: d}\n"), "rmsnorm")
    assert r.params == 64  # a weight, no bias
    assert r.flops == 10 * 64 * (2 + 1 + 1)  # square and sum, multiply by 1/rms, scale


def test_gated_and_plain_mlp():
    d, f, t = 64, 128, 10
    gated = row(run("  - gated_mlp: {hidden_features: 128}\n"), "gated_mlp")
    assert gated.params == 3 * d * f and gated.macs == t * 3 * d * f
    assert gated.flops_by_kind["activation"] == t * f * 4  # silu: x * sigmoid(x)
    assert gated.flops_by_kind["elementwise"] == t * f  # the gate's multiply
    plain = row(run("  - gated_mlp: {hidden_features: 128, gated: false, bias: true, activation: gelu}\n"),
                "gated_mlp")
    assert plain.params == 2 * d * f + f + d and plain.macs == t * 2 * d * f


def test_mixture_of_experts_total_and_active():
    d, f, e, k, t = 64, 128, 8, 2, 10
    r = row(run("  - moe: {hidden_features: 128, experts: 8, top_k: 2}\n"), "moe")
    expert = 3 * d * f
    assert r.params == d * e + e * expert  # router + every expert
    assert r.macs == t * (d * e + k * expert)  # router + the k experts a token visits
    assert r.flops_by_kind["softmax"] == t * 3 * e
    assert r.active_params == d * e + k * expert  # what one token uses
    with pytest.raises(ArchcalcError, match="top_k=9 is more than the 8 experts"):
        run("  - moe: {hidden_features: 128, experts: 8, top_k: 9}\n")


def test_select_drops_a_dimension():
    r = row(run("  - select: {dim: 1, index: -1}\n"), "select")
    assert r.output_shape == (1, 64)
    with pytest.raises(ArchcalcError, match="index 10 is out of range"):
        run("  - select: {dim: 1, index: 10}\n")


# ---------------------------------------------------------------- the zoo

def test_gpt2_params_tied():
    rep = zoo("gpt2")
    wte, wpe, block, ln_f = 50257 * 768, 1024 * 768, 12 * (2 * 2 * 768 + 4 * 768 * 768 + 4 * 768
                                                           + 2 * 768 * 3072 + 3072 + 768), 2 * 768
    assert rep.totals.params == wte + wpe + block + ln_f == 124_439_808


def test_bert_base_params_with_pooler():
    assert zoo("bert_base").totals.params == 109_482_240


def test_llama2_7b_params():
    d, f, v, layers = 4096, 11008, 32000, 32
    assert zoo("llama2_7b").totals.params == 2 * v * d + layers * (4 * d * d + 3 * d * f + 2 * d) + d \
        == 6_738_415_616


@pytest.mark.parametrize("name, ops", [("vit_b_16", 17.564), ("vit_b_32", 4.409)])
def test_vit_against_torchvision(name, ops):
    """Params equal torchvision's. archcalc counts every matmul: its MACs round to torchvision's _ops. The
    reference MACs (FlopCounterMode / 2) miss the attention, which eval-mode nn.MultiheadAttention runs
    on torch's fused fast path that the counter does not see (tests/test_torch_transformer.py shows it)."""
    ref, rep = REFERENCE[name], zoo(name)
    assert (rep.totals.params, rep.totals.buffers) == (ref["params"], ref["buffers"])
    assert round(rep.totals.macs / 1e9, 3) == ops
    attention = sum(r.macs for r in rep.layers if r.type == "multihead_attention")
    assert rep.totals.macs - attention == ref["macs"]


def test_kaplan_table_1_symbolically():
    import sympy
    n_layer, d_model, d_attn, d_ff, n_ctx = sympy.symbols("n_layer d_model d_attn d_ff n_ctx",
                                                          integer=True, positive=True)
    rep = archcalc.analyze(archcalc.load(ROOT / "specs" / "gpt_kaplan.yaml",
                                         symbolic=["n_layer", "d_model", "d_attn", "d_ff", "n_ctx", "n_vocab"]),
                           convention=KAPLAN)
    n = 2 * d_model * n_layer * (2 * d_attn + d_ff)
    assert sympy.expand(rep.totals.params - n) == 0
    assert sympy.expand(rep.totals.flops - (2 * n + 2 * n_layer * n_ctx * d_attn)) == 0


def test_kaplan_numbers_at_gpt2_small():
    rep = archcalc.analyze(archcalc.load(ROOT / "specs" / "gpt_kaplan.yaml"), convention=KAPLAN)
    n = 2 * 768 * 12 * (2 * 768 + 3072)  # 84,934,656
    assert rep.totals.params == n
    assert rep.totals.flops == 2 * n + 2 * 12 * 1024 * 768
    assert "kaplan" in rep.convention.summary()


def test_mixtral_layer_active_parameters_in_totals():
    """Mixtral 8x7B's expert layer (Jiang et al. 2024: d 4096, f 14336, 8 experts, top 2) plus a norm."""
    rep = run("  - rmsnorm: {normalized_shape: d}\n  - moe: {hidden_features: 14336, experts: 8, top_k: 2}\n",
              variables="{T: 4, d: 4096}")
    expert = 3 * 4096 * 14336
    assert rep.totals.params == 4096 + 4096 * 8 + 8 * expert
    assert rep.totals.active_params == 4096 + 4096 * 8 + 2 * expert
    assert rep.to_dict()["totals"]["active_params"] == rep.totals.active_params


def test_patch_embedding_as_conv_or_reshape_and_linear():
    """ViT's patch embedding two ways: a 16x16 stride-16 conv, or cutting the image into patches and a linear
    layer on each. Same params (768 x 3*16*16 + 768) and MACs (196 patches x 768 x 768)."""
    head = "name: t\ninput: [3, 224, 224]\nlayers:\n"
    conv = archcalc.analyze(archcalc.load(
        head + "  - conv2d: {out_channels: 768, kernel_size: 16, stride: 16}\n  - flatten: {start_dim: 2}\n"
               "  - permute: {dims: [0, 2, 1]}\n"))
    linear = archcalc.analyze(archcalc.load(
        head + "  - reshape: {shape: [3, 14, 16, 14, 16]}\n  - permute: {dims: [0, 2, 4, 1, 3, 5]}\n"
               "  - reshape: {shape: [196, 768]}\n  - linear: {out_features: 768}\n"))
    for rep in (conv, linear):
        assert rep.output_shape == (1, 196, 768)
        assert rep.totals.params == 768 * 3 * 16 * 16 + 768
        assert rep.totals.macs == 196 * 768 * 768


def test_dense_attention_holds_its_scores_and_fused_does_not():
    """Memory: a dense kernel materialises h x T x S scores while the layer runs, and saves them for training."""
    from archcalc.analyses.memory import annotate
    d, h, t = 64, 4, 10
    reports = {}
    for kernel in ("dense", "fused"):
        rep = run(f"  - multihead_attention: {{num_heads: 4, kernel: {kernel}}}\n")
        annotate(rep, "fp32", "sgd")
        reports[kernel] = rep
    dense, fused = (reports[k].layers[0] for k in ("dense", "fused"))
    assert fused.live == t * d + t * d  # its input and output
    assert dense.live == fused.live + h * t * t and dense.workspace == h * t * t
    saved = [reports[k].extra["memory"]["training"]["saved_activation_bytes"] for k in ("dense", "fused")]
    assert saved[0] - saved[1] == 4 * h * t * t  # fp32: 4 bytes a score
    assert dense.macs == fused.macs and dense.flops == fused.flops


def test_sliding_window_receptive_field_grows_by_window_per_layer():
    """layout: sequence puts the receptive field on the positions; L causal window-w layers see L(w-1) + 1
    (Beltagy et al. 2020; Jiang et al. 2023, Mistral: k layers move information up to k x W tokens)."""
    text = ("name: swa\nlayout: sequence\nvariables: {T: 64, L: 4, w: 4}\ninput: [T, 32]\nlayers:\n"
            "  - multihead_attention: {num_heads: 4, causal: true, window: w, repeat: L}\n")
    rep = archcalc.analyze(archcalc.load(text))
    assert [r.rf.axes[0].size for r in rep.layers] == [4, 7, 10, 13]  # 1 + k * (4 - 1)
    assert rep.rf.axes[0].jump == 1
    sym = archcalc.analyze(archcalc.load(text, symbolic=["L"]))
    import sympy
    assert sympy.simplify(sym.rf.axes[0].size - (3 * sympy.Symbol("L", integer=True, positive=True) + 1)) == 0
    full = archcalc.analyze(archcalc.load(text.replace(", window: w", "")))
    assert full.rf.axes == ("global",)
