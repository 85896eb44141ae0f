"""The encoder-decoders of the zoo against Hugging Face transformers (5.24.0), each model built from its config on the
meta device (no weights, no downloads): parameters and buffers as sum(numel), MACs as FlopCounterMode / 2 of a
forward pass, the logits' shape, and the K/V cache the model hands back (``EncoderDecoderCache``: the decoder's
self-attention cache and the cross-attention cache of the encoder's K and V), after a prefill and after one decode
step. The decode step is the decoder and LM head alone (HF reuses the encoder's output): archcalc's ``decoder``
block subtotal plus the head rows.

FlopCounterMode counts the full score square of the decoder's causal self-attention, masked or not; archcalc counts
the lower triangle, so the test adds the hidden pairs: per layer 2 x heads x head_dim x (T^2 - T(T+1)/2)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import archcalc

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

SPECS = Path(__file__).resolve().parent.parent / "specs"
S, T = 7, 5  # encoder positions and decoder tokens of the prefill (small: the counts are in closed form anyway)


class Case(NamedTuple):
    spec: str
    model: Callable[[], Any]  # the HF model, built on the meta device
    inputs: Callable[[int], dict[str, Any]]  # the encoder's inputs for S positions
    layers: int  # decoder layers
    heads: int
    head_dim: int
    head_rows: tuple[str, ...]  # rows after the decoder block: the LM head (and BART's bias)
    sizes: dict[str, int]  # the spec's encoder size variable for the prefill


def t5_small() -> Any:
    config = transformers.T5Config(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6,
                                   num_decoder_layers=6, num_heads=8, relative_attention_num_buckets=32,
                                   relative_attention_max_distance=128, feed_forward_proj="relu",
                                   tie_word_embeddings=True, attn_implementation="eager")
    return transformers.T5ForConditionalGeneration(config)


def bart_base() -> Any:
    config = transformers.BartConfig(vocab_size=50265, d_model=768, encoder_layers=6, decoder_layers=6,
                                     encoder_attention_heads=12, decoder_attention_heads=12, encoder_ffn_dim=3072,
                                     decoder_ffn_dim=3072, max_position_embeddings=1024, activation_function="gelu",
                                     scale_embedding=False, attn_implementation="eager")
    return transformers.BartForConditionalGeneration(config)


def whisper_tiny() -> Any:
    config = transformers.WhisperConfig(vocab_size=51865, num_mel_bins=80, d_model=384, encoder_layers=4,
                                        decoder_layers=4, encoder_attention_heads=6, decoder_attention_heads=6,
                                        encoder_ffn_dim=1536, decoder_ffn_dim=1536, max_source_positions=1500,
                                        max_target_positions=448, activation_function="gelu",
                                        attn_implementation="eager")
    return transformers.WhisperForConditionalGeneration(config)


def mel_frames(s: int) -> dict[str, Any]:
    """Whisper's encoder takes exactly 30 s of audio: 3000 frames of 80 mel bins (1500 positions after conv2)."""
    return {"input_features": torch.zeros(1, 80, 3000)}


def token_ids(s: int) -> dict[str, Any]:
    return {"input_ids": torch.zeros(1, s, dtype=torch.long)}


CASES = {
    "t5_small": Case("t5_small", t5_small, token_ids, 6, 8, 64, ("lm_head",), {"S": S}),
    "whisper_tiny": Case("whisper_tiny", whisper_tiny, mel_frames, 4, 6, 64, ("proj_out",), {}),
    "bart_base": Case("bart_base", bart_base, token_ids, 6, 12, 64, ("lm_head", "final_logits_bias"), {"S": S}),
}


def build(case: Case) -> Any:
    with torch.device("meta"):
        return case.model().eval()


def cached(cache: Any) -> int:
    """Elements of every key and value tensor of a transformers cache (both halves of an EncoderDecoderCache)."""
    parts = [cache.self_attention_cache, cache.cross_attention_cache] if hasattr(cache, "cross_attention_cache") \
        else [cache]
    return sum(layer.keys.numel() + layer.values.numel() for part in parts for layer in part.layers)


def kept(output: Any) -> Any:
    """The cache a model's output hands to the next step (``cache`` in transformers 5.24, ``past_key_values``
    before)."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values


def run(model: Any, **inputs: Any) -> tuple[Any, int]:
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(**inputs, use_cache=True)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return out, flops // 2


def hidden(case: Case, t: int) -> int:
    """MACs torch spends on the decoder's masked scores: QK^T and AV over the pairs above the diagonal."""
    return case.layers * 2 * case.heads * case.head_dim * (t * t - t * (t + 1) // 2)


@pytest.fixture(scope="module", params=sorted(CASES))
def measured(request: Any) -> tuple[Case, Any, dict[str, Any]]:
    """The HF model, its prefill (S encoder positions, T decoder tokens) and a decode step of one token against
    both caches."""
    case = CASES[request.param]
    model = build(case)
    with torch.device("meta"):
        encoder = case.inputs(S)
        tokens = torch.zeros(1, T, dtype=torch.long)
    prefill, prefill_macs = run(model, **encoder, decoder_input_ids=tokens)
    prefill_cache = cached(kept(prefill))
    step, step_macs = run(model, encoder_outputs=(prefill.encoder_last_hidden_state,),
                          decoder_input_ids=tokens[:, :1], cache=kept(prefill))
    got = {"params": sum(p.numel() for p in model.parameters()), "buffers": sum(b.numel() for b in model.buffers()),
           "prefill_macs": prefill_macs, "prefill_shape": tuple(prefill.logits.shape), "prefill_cache": prefill_cache,
           "step_macs": step_macs, "step_shape": tuple(step.logits.shape),
           "step_cache": cached(kept(step))}
    return case, model, got


def test_prefill_is_exact(measured: Any) -> None:
    case, _, got = measured
    report = archcalc.analyze(archcalc.load(SPECS / f"{case.spec}.yaml", T=T, **case.sizes))
    assert report.totals.params == got["params"]
    assert report.totals.buffers == got["buffers"]
    assert report.totals.macs + hidden(case, T) == got["prefill_macs"]
    assert report.output_shape == got["prefill_shape"]
    assert report.totals.cache == got["prefill_cache"]  # decoder self-attention at T, cross-attention at S


def test_decode_step_against_both_caches_is_exact(measured: Any) -> None:
    case, _, got = measured
    report = archcalc.analyze(archcalc.load(SPECS / f"{case.spec}.yaml", T=1, cache=T, **case.sizes))
    decoder = next(b for b in report.blocks if b.name == "decoder")
    rows = {r.name: r for r in report.layers}
    assert decoder.totals.macs + sum(rows[name].macs for name in case.head_rows) == got["step_macs"]
    assert report.output_shape == got["step_shape"]
    # the self-attention cache has grown by the new token; the cross-attention cache still holds S positions
    assert report.totals.cache == got["step_cache"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_symbolic_in_the_sequence_lengths(name: str) -> None:
    """Symbolic mode in the natural symbols, and equal to the numeric walk at a point."""
    import sympy
    report = archcalc.analyze(archcalc.load(SPECS / f"{name}.yaml", symbolic=("T",), **CASES[name].sizes))
    numeric = archcalc.analyze(archcalc.load(SPECS / f"{name}.yaml", T=T, **CASES[name].sizes))
    macs = sympy.sympify(str(report.totals.macs))  # a formula in T (test code: sympy is the oracle here)
    assert macs.subs("T", T) == numeric.totals.macs
