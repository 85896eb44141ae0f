"""A bias per attention projection (``bias: {q: .., k: .., v: .., out: ..}``) against Hugging Face's attention classes.

Oracles: transformers' Qwen2Attention (biases on q_proj, k_proj and v_proj, none on o_proj) and WhisperAttention
(k_proj has none), built from a config in code on CPU (random weights, never downloaded). params and the bias adds
are compared: sum of parameters().numel(), and the biases' numel() x T (one add per output element of a biased
projection). MACs come from FlopCounterMode / 2 on HF's own forward, with the full square of scores (no mask).
"""
from __future__ import annotations

import pytest

import archcalc

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402  (after the importorskip)

T = 7


def report(layer: str, d: int) -> archcalc.Report:
    text = f"name: bias\ninput: [{T}, {d}]\nlayers:\n  - multihead_attention: {layer}\n"
    return archcalc.analyze(archcalc.load(text))


def biases(module) -> int:
    return sum(p.numel() for name, p in module.named_parameters() if name.endswith("bias"))


def macs(fn, *args, **kwargs) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn(*args, **kwargs)
    return counter.get_total_flops() // 2


def test_qwen2_attention_has_qkv_biases_and_no_output_bias():
    """Qwen2 at width 64: 8 query heads and 2 K/V heads of 8. Biases 64 + 16 + 16 = 96; no o_proj bias."""
    from transformers.models.qwen2 import modeling_qwen2
    config = transformers.Qwen2Config(hidden_size=64, num_attention_heads=8, num_key_value_heads=2,
                                      intermediate_size=128, num_hidden_layers=1, vocab_size=50,
                                      attn_implementation="eager")
    attention = modeling_qwen2.Qwen2Attention(config, layer_idx=0).eval()
    got = report("{num_heads: 8, kv_heads: 2, qkv: separate, bias: {q: true, k: true, v: true, out: false}}", 64)
    assert got.totals.params == sum(p.numel() for p in attention.parameters()) == 4 * 64 * 64 // 2 + 96 + 64 * 64 // 2
    assert biases(attention) == 96
    assert got.totals.flops_by_kind["bias"] == 96 * T
    x = torch.randn(1, T, 64)
    cos, sin = torch.ones(1, T, 8), torch.zeros(1, T, 8)  # rotary is elementwise: FlopCounterMode counts none
    assert got.totals.macs == macs(attention, x, (cos, sin), None)


def test_whisper_attention_k_proj_has_no_bias():
    """Whisper tiny's attention: width 384, 6 heads; q_proj, v_proj and out_proj have biases, k_proj none, so
    3 x 384 of them where bias: true would count 4 x 384 (the 384 too many per layer of the issue)."""
    from transformers.models.whisper import modeling_whisper
    config = transformers.WhisperConfig(d_model=384, encoder_attention_heads=6, attn_implementation="eager")
    attention = modeling_whisper.WhisperAttention(384, 6, config=config).eval()
    got = report("{num_heads: 6, qkv: separate, bias: {q: true, k: false, v: true, out: true}}", 384)
    assert got.totals.params == sum(p.numel() for p in attention.parameters()) == 4 * 384 * 384 + 3 * 384
    assert biases(attention) == 3 * 384
    assert report("{num_heads: 6, bias: true}", 384).totals.params - got.totals.params == 384
    assert got.totals.macs == macs(attention, torch.randn(1, T, 384))


def test_one_flag_for_every_projection_reads_as_that_flag():
    same = report("{num_heads: 4, bias: {q: false, k: false, v: false, out: false}}", 32)
    assert same.totals.params == report("{num_heads: 4, bias: false}", 32).totals.params == 4 * 32 * 32


@pytest.mark.parametrize("layer, message", [
    ("{num_heads: 4, bias: {q: true, k: false, v: true}}", "no flag for out"),
    ("{num_heads: 4, bias: {q: true, k: true, v: true, out: true, o: true}}", "unknown projection o"),
    ("{num_heads: 4, bias: {q: true, k: false, v: true, out: true}}", "qkv: fused is one projection"),
    ("{num_heads: 4, qkv: separate, out_proj: false, bias: {q: true, k: false, v: true, out: true}}",
     "out_proj: false"),
    ("{num_heads: 4, qkv: separate, bias: {q: true, k: false, v: true, out: true}, call: module}",
     "bias: false"),
])
def test_per_projection_bias_refusals_are_one_line(layer, message):
    with pytest.raises(archcalc.ArchcalcError) as e:
        report(layer, 32)
    assert message in str(e.value) and "\n" not in e.value.message
