"""The language-model zoo of issue 15 against Hugging Face transformers (5.24.0), built from configs in code.

Oracle: each model class (LlamaForCausalLM, MistralForCausalLM, ...) is built from the published config written
out here (never downloaded), with eager attention, on the meta device (no memory, no compute) or, where routing
needs real values (Mixtral's experts), at reduced sizes on CPU. Measured in eval mode under no_grad, batch 1:
- params: sum of parameters().numel() (a tied weight counted once), of the FULL published config;
- buffers: sum of buffers().numel(), compared as they are: each spec holds transformers' rotary embedding module
  (a rotary_embedding layer, once per model as rotary_emb: inv_freq and original_inv_freq, rotary_dim / 2 each);
- MACs: FlopCounterMode total / 2 at a small T. Eager attention computes every score and masks the hidden ones,
  so FlopCounterMode counts the full T x T square where archcalc's `causal: true` counts the pairs a causal kernel
  computes: the difference is layers x heads x 2 x head_dim MACs per hidden pair, the hidden pairs counted here
  by brute force over (query, key) positions;
- the output shape (logits [1, T, vocab]) and the K/V cache (elements of every key and value tensor the model
  returns with use_cache=True).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import archcalc

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402  (after the importorskip)

ROOT = Path(__file__).resolve().parent.parent
T = 8


def analyze(name: str, **overrides: Any) -> archcalc.Report:
    return archcalc.analyze(archcalc.load(ROOT / "specs" / f"{name}.yaml", **overrides))


def build(cls: Any, config: Any, device: str = "meta") -> Any:
    with torch.device(device):
        return cls(config).eval()


def count(model: Any) -> tuple[int, int]:
    return sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers())


def run(model: Any, t: int, device: str = "meta") -> dict[str, Any]:
    """MACs (FlopCounterMode / 2), output shape and cached K/V elements of one forward pass over t tokens."""
    ids = torch.arange(t, device=device)[None] % 50  # distinct tokens: each routed on its own
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(ids, use_cache=True)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    cache = out.cache
    kept = sum(layer.keys.numel() + layer.values.numel() for layer in cache.layers)
    return {"macs": flops // 2, "shape": tuple(out.logits.shape), "cache": kept}


def hidden_pairs(t: int, window: int | None = None) -> int:
    """(query, key) pairs a causal (sliding-window) mask hides from the t x t square, by brute force."""
    seen = sum(1 for q in range(t) for k in range(t) if k <= q and (window is None or k > q - window))
    return t * t - seen


def masked_macs(config: Any, t: int, window: int | None = None) -> int:
    """QK^T and AV MACs that eager attention computes on masked scores: 2 x head_dim per pair, head and layer."""
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    return config.num_hidden_layers * heads * 2 * head_dim * hidden_pairs(t, window)


def check(name: str, config: Any, cls: Any, published: int, window: int | None = None, **sizes: Any) -> None:
    """The full config on meta: params (and the published figure), buffers, MACs at T, shape, K/V cache."""
    model = build(cls, config)
    params, buffers = count(model)
    report = analyze(name, T=T, **sizes)
    assert report.totals.params == params == published
    assert report.totals.buffers == buffers
    got = run(model, T)
    assert report.totals.macs == got["macs"] - masked_macs(config, T, window)
    assert tuple(report.output_shape) == got["shape"]
    assert report.totals.cache == got["cache"]


def llama3_config(**changes: Any) -> Any:
    """Meta-Llama-3-8B's config.json."""
    return transformers.LlamaConfig(**{
        "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
        "max_position_embeddings": 8192, "tie_word_embeddings": False, "attn_implementation": "eager", **changes})


def test_llama3_8b():
    """8,030,261,248 params: 2 x 128,256 x 4096 (embedding, lm_head) + 32 x (4096 x (4096 + 2 x 1024 + 4096)
    + 3 x 4096 x 14,336 + 2 x 4096) + 4096."""
    published = 2 * 128256 * 4096 + 32 * (4096 * (4096 + 2 * 1024 + 4096) + 3 * 4096 * 14336 + 2 * 4096) + 4096
    assert published == 8_030_261_248
    check("llama3_8b", llama3_config(), transformers.LlamaForCausalLM, published)


def mistral_config(**changes: Any) -> Any:
    """Mistral-7B-v0.1's config.json."""
    return transformers.MistralConfig(**{
        "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "sliding_window": 4096, "max_position_embeddings": 32768, "tie_word_embeddings": False,
        "attn_implementation": "eager", **changes})


def test_mistral_7b():
    """7,241,732,096 params: Llama 3's layers with a 32,000-token vocabulary."""
    published = 2 * 32000 * 4096 + 32 * (4096 * (4096 + 2 * 1024 + 4096) + 3 * 4096 * 14336 + 2 * 4096) + 4096
    assert published == 7_241_732_096
    check("mistral_7b", mistral_config(), transformers.MistralForCausalLM, published)


def test_mistral_sliding_window_shorter_than_the_prompt():
    """A window of 3 at T = 8, full widths on meta: each query scores its last 3 keys. The K/V cache: window - 1
    positions per layer, the keys a next query can still see besides its own, as transformers'
    DynamicSlidingWindowLayer keeps."""
    config = mistral_config(sliding_window=3)
    report = analyze("mistral_7b", T=T, window=3)
    got = run(build(transformers.MistralForCausalLM, config), T)
    assert report.totals.macs == got["macs"] - masked_macs(config, T, window=3)
    assert report.totals.cache == got["cache"] == 32 * 2 * 8 * 128 * (3 - 1)


def test_qwen2_7b():
    """7,615,616,512 params: 2 x 152,064 x 3584 + 28 x (3584 x (3584 + 2 x 512 + 3584) + 3584 + 2 x 512 (the Q, K,
    V biases; o_proj has none) + 3 x 3584 x 18,944 + 2 x 3584) + 3584."""
    published = 2 * 152064 * 3584 + 28 * (3584 * (3584 + 2 * 512 + 3584) + 3584 + 2 * 512 + 3 * 3584 * 18944
                                          + 2 * 3584) + 3584
    assert published == 7_615_616_512
    config = transformers.Qwen2Config(
        vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
        num_key_value_heads=4, rms_norm_eps=1e-6, rope_theta=1e6, max_position_embeddings=131072,
        use_sliding_window=False, tie_word_embeddings=False, attn_implementation="eager")
    check("qwen2_7b", config, transformers.Qwen2ForCausalLM, published)


def test_falcon_7b():
    """6,921,720,704 params: 65,024 x 4544 (tied to lm_head) + 32 x (2 x 4544 (one LayerNorm) + 4544 x (4544 + 2
    x 64) (fused multi-query QKV) + 4544 x 4544 + 2 x 4544 x 18,176) + 2 x 4544. The parallel block: attention and
    MLP read the same layer norm, their outputs and the input are summed."""
    published = 65024 * 4544 + 32 * (2 * 4544 + 4544 * (4544 + 2 * 64) + 4544 * 4544 + 2 * 4544 * 18176) + 2 * 4544
    assert published == 6_921_720_704
    config = transformers.FalconConfig(
        vocab_size=65024, hidden_size=4544, num_hidden_layers=32, num_attention_heads=71, multi_query=True,
        parallel_attn=True, new_decoder_architecture=False, bias=False, alibi=False, layer_norm_epsilon=1e-5,
        max_position_embeddings=2048, tie_word_embeddings=True, attn_implementation="eager")
    check("falcon_7b", config, transformers.FalconForCausalLM, published)


def mixtral_config(**changes: Any) -> Any:
    """Mixtral-8x7B-v0.1's config.json."""
    return transformers.MixtralConfig(**{
        "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 8, "num_local_experts": 8, "num_experts_per_tok": 2,
        "rms_norm_eps": 1e-5, "rope_theta": 1e6, "sliding_window": None, "max_position_embeddings": 32768,
        "tie_word_embeddings": False, "attn_implementation": "eager",
        "experts_implementation": "eager", **changes})  # a loop of F.linear per expert, which FlopCounterMode sees


def test_mixtral_8x7b_params_on_meta():
    """46,702,792,704 params: Mistral's attention, and per layer a 4096 x 8 router and 8 SwiGLU experts; 2 of
    them per token: 12,879,925,248 active."""
    attention = 4096 * (4096 + 2 * 1024 + 4096)
    expert = 3 * 4096 * 14336
    outside = 2 * 32000 * 4096 + 4096
    published = outside + 32 * (attention + 4096 * 8 + 8 * expert + 2 * 4096)
    assert published == 46_702_792_704
    params, buffers = count(build(transformers.MixtralForCausalLM, mixtral_config()))
    report = analyze("mixtral_8x7b", T=T)
    assert report.totals.params == params == published
    assert report.totals.buffers == buffers == 128
    assert report.totals.active_params == outside + 32 * (attention + 4096 * 8 + 2 * expert + 2 * 4096) \
        == 12_879_925_248


def test_mixtral_8x7b_small_on_cpu():
    """Routing needs real values: width 64, 2 layers, 4 heads / 2 K/V heads, 8 experts of 96, top 2, on CPU.
    FlopCounterMode counts each expert on the tokens routed to it: k of 8 per token."""
    sizes = {"vocab": 100, "width": 64, "depth": 2, "heads": 4, "kv_heads": 2, "ffn": 96}
    config = mixtral_config(vocab_size=100, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=2)
    torch.manual_seed(0)
    model = build(transformers.MixtralForCausalLM, config, "cpu")
    params, buffers = count(model)
    report = analyze("mixtral_8x7b", T=T, **sizes)
    assert report.totals.params == params
    assert report.totals.buffers == buffers == 16
    got = run(model, T, "cpu")
    assert report.totals.macs == got["macs"] - masked_macs(config, T)
    assert tuple(report.output_shape) == got["shape"]
    assert report.totals.cache == got["cache"]


def test_phi_2():
    """2,779,683,840 params: 51,200 x 2560 embedding; 32 x (LayerNorm 2 x 2560 + Q, K, V, dense 4 x (2560^2 + 2560)
    + fc1, fc2 2 x 2560 x 10,240 + 10,240 + 2560); final LayerNorm; lm_head 2560 x 51,200 + 51,200."""
    published = (51200 * 2560 + 32 * (2 * 2560 + 4 * (2560 * 2560 + 2560) + 2 * 2560 * 10240 + 10240 + 2560)
                 + 2 * 2560 + 2560 * 51200 + 51200)
    assert published == 2_779_683_840
    config = transformers.PhiConfig(
        vocab_size=51200, hidden_size=2560, intermediate_size=10240, num_hidden_layers=32, num_attention_heads=32,
        num_key_value_heads=32, partial_rotary_factor=0.4, hidden_act="gelu_new", layer_norm_eps=1e-5,
        max_position_embeddings=2048, qk_layernorm=False, tie_word_embeddings=False, attn_implementation="eager")
    check("phi_2", config, transformers.PhiForCausalLM, published)  # rotary_emb: 2 x 16 (0.4 x 80 features)


def test_pythia_160m():
    """162,322,944 params: embed_in and embed_out 2 x 50,304 x 768; 12 x (2 LayerNorms 4 x 768 + fused QKV 768 x
    2304 + 2304 + dense 768^2 + 768 + MLP 2 x 768 x 3072 + 3072 + 768); final LayerNorm 2 x 768."""
    published = 2 * 50304 * 768 + 12 * (4 * 768 + 768 * 2304 + 2304 + 768 * 768 + 768 + 2 * 768 * 3072 + 3072
                                        + 768) + 2 * 768
    assert published == 162_322_944
    config = transformers.GPTNeoXConfig(
        vocab_size=50304, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        rotary_pct=0.25, max_position_embeddings=2048, use_parallel_residual=True, hidden_act="gelu",
        layer_norm_eps=1e-5, tie_word_embeddings=False, attn_implementation="eager")
    check("pythia_160m", config, transformers.GPTNeoXForCausalLM, published)  # rotary_emb: 2 x 8 (0.25 x 64)


@pytest.mark.parametrize("name, rotated, head_dim", [("phi_2", 32, 80), ("pythia_160m", 16, 64)])
def test_partial_rotary_flops(name, rotated, head_dim):
    """archcalc's convention: rotary costs 3 FLOPs (x cos + rotate(x) sin) per rotated feature of Q and K, so a
    partial rotary adds 3 x T x 2 heads x rotated per layer where full rotary adds 3 x T x 2 heads x head_dim."""
    partial = analyze(name, T=T)
    full = analyze(name, T=T, rotary_dim=head_dim)
    depth, heads = (32, 32) if name == "phi_2" else (12, 12)
    assert full.totals.flops - partial.totals.flops == depth * 3 * T * 2 * heads * (head_dim - rotated)
    assert full.totals.macs == partial.totals.macs


def test_gemma_7b():
    """8,537,680,896 params: 256,000 x 3072 (tied to lm_head) + 28 x (3072 x 4096 x 4 (q, k, v, o; 16 heads of 256)
    + 3 x 3072 x 24,576 + 2 x 3072) + 3072. The embedding's x sqrt(3072) is an elementwise multiply: no MACs."""
    published = 256000 * 3072 + 28 * (4 * 3072 * 4096 + 3 * 3072 * 24576 + 2 * 3072) + 3072
    assert published == 8_537_680_896
    config = transformers.GemmaConfig(
        vocab_size=256000, hidden_size=3072, intermediate_size=24576, num_hidden_layers=28, num_attention_heads=16,
        num_key_value_heads=16, head_dim=256, hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6,
        rope_theta=10000.0, max_position_embeddings=8192, tie_word_embeddings=True, attn_implementation="eager")
    check("gemma_7b", config, transformers.GemmaForCausalLM, published)  # rotary_emb 2 x 128, embed_scale 1


def test_gemma_normalizer_is_one_multiply_per_element():
    """The scalar_mul after the embedding: T x 3072 multiplies by sqrt(3072) under archcalc's convention, none
    counted by FlopCounterMode (an elementwise aten.mul); its one buffer is GemmaTextScaledWordEmbedding's
    embed_scale."""
    report = analyze("gemma_7b", T=T)
    (row,) = [r for r in report.layers if r.type == "scalar_mul"]
    assert (row.params, row.buffers, row.macs, row.flops) == (0, 1, 0, T * 3072)


def decode(model: Any, prompt: int) -> dict[str, Any]:
    """A prefill of `prompt` tokens, then one decode step against its cache: the step's MACs, shape and cache."""
    ids = torch.zeros(1, prompt, dtype=torch.long, device="meta")
    with torch.no_grad():
        cache = model(ids, use_cache=True).cache
        step = torch.zeros(1, 1, dtype=torch.long, device="meta")
        with FlopCounterMode(display=False) as counter:
            out = model(step, cache=cache, use_cache=True)
    kept = sum(layer.keys.numel() + layer.values.numel() for layer in out.cache.layers)
    return {"macs": counter.get_total_flops() // 2, "shape": tuple(out.logits.shape), "cache": kept}


def test_llama3_8b_decode_step():
    """One token against a cache of 8: nothing masked (the query sees every key), so FlopCounterMode's count is
    archcalc's exactly; the cache then holds 9 positions."""
    got = decode(build(transformers.LlamaForCausalLM, llama3_config()), T)
    report = analyze("llama3_8b", T=1, cache=T)
    assert (report.totals.macs, tuple(report.output_shape), report.totals.cache) == \
        (got["macs"], got["shape"], got["cache"]) and got["cache"] == 32 * 2 * 8 * 128 * (T + 1)


def test_mistral_decode_step_with_a_window():
    """Window 3, one token after 8: it scores its last 3 keys (2 cached and its own), as archcalc counts. The K/V
    cache after it holds window - 1 = 2 positions per layer, as after a prefill."""
    got = decode(build(transformers.MistralForCausalLM, mistral_config(sliding_window=3)), T)
    report = analyze("mistral_7b", T=1, cache=T, window=3)
    assert report.totals.macs == got["macs"]
    assert report.totals.cache == got["cache"] == 32 * 2 * 8 * 128 * (3 - 1)


def test_exported_partial_rotary_is_gpt_neox_rotary():
    """The exported rotary_embedding with dim = 16 of 64 features computes what transformers' GPTNeoX does
    (apply_rotary_pos_emb on its rotary embedding's cos and sin): the first 16 rotated, the other 48 passed on."""
    from transformers.models.gpt_neox import modeling_gpt_neox as neox

    from archcalc.export.torch_sequence import ROTARY
    namespace: dict = {"torch": torch}
    exec(ROTARY, namespace)
    config = transformers.GPTNeoXConfig(hidden_size=256, num_attention_heads=4, rotary_pct=0.25)
    rotary = neox.GPTNeoXRotaryEmbedding(config)
    torch.manual_seed(0)
    q, k = torch.randn(2, 4, 6, 64), torch.randn(2, 4, 6, 64)
    cos, sin = rotary(q, torch.arange(6)[None].expand(2, -1))
    want_q, want_k = neox.apply_rotary_pos_emb(q, k, cos, sin)
    torch.testing.assert_close(namespace["rotary_embedding"](q, 0, 16), want_q)
    torch.testing.assert_close(namespace["rotary_embedding"](k, 0, 16), want_k)
