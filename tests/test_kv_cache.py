"""The K/V cache against Hugging Face transformers: the K and V tensors a model returns with ``use_cache=True``.

The oracle: each zoo language model is built from a config in code (random weights, never downloaded), at reduced
sizes, and run once in eval mode; its cache (``past_key_values``, a DynamicCache in transformers 5) holds one key
and one value tensor [B, kv_heads, positions, head_dim] per layer. Their total number of elements must equal
archcalc's ``totals.cache`` for the same spec at the same sizes (batch included), after a prefill and after a decode
step that appends one token. BERT is an encoder (``is_decoder=False``): it returns no cache at all, and archcalc's
must be 0. The parameter counts are compared too, so that the spec and the model are the same network.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

import archcalc

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

ROOT = Path(__file__).resolve().parent.parent
BATCH = 2


def spec(name: str, **sizes: Any) -> archcalc.Report:
    return archcalc.analyze(archcalc.load(ROOT / "specs" / f"{name}.yaml", B=BATCH, **sizes))


def kept(output: Any) -> Any:
    """The cache a model's output hands to the next step (``cache`` in transformers 5, ``past_key_values`` before)."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else getattr(output, "past_key_values", None)


def cached_elements(output: Any) -> int | None:
    """Elements of every K and V tensor a model's output keeps for the next step, or None without a cache."""
    cache = kept(output)
    if cache is None:
        return None
    if hasattr(cache, "layers"):  # transformers >= 4.56: one layer object per decoder layer, with keys and values
        return sum(layer.keys.numel() + layer.values.numel() for layer in cache.layers)
    if hasattr(cache, "key_cache"):  # DynamicCache of transformers 4.3x-4.5x
        return sum(k.numel() + v.numel() for k, v in zip(cache.key_cache, cache.value_cache))
    return sum(k.numel() + v.numel() for k, v, *_ in cache)  # the legacy tuple of (key, value) per layer


def run(model: Any, tokens: Any, **kwargs: Any) -> Any:
    with torch.no_grad():
        return model.eval()(tokens, use_cache=True, **kwargs)


def test_gpt2_keeps_what_archcalc_counts_after_a_prefill_and_a_decode_step() -> None:
    """GPT-2 at width 96 (12 heads of 8), 2 layers, T = 32: 2 x 2 layers x 96 x 32 x batch 2 = 24,576 elements."""
    torch.manual_seed(0)
    sizes = {"vocab": 500, "n_ctx": 64, "width": 96, "depth": 2, "heads": 12}
    config = transformers.GPT2Config(vocab_size=500, n_positions=64, n_embd=96, n_layer=2, n_head=12,
                                     bos_token_id=0, eos_token_id=0)
    model = transformers.GPT2LMHeadModel(config)
    assert spec("gpt2", T=32, **sizes).totals.params == sum(p.numel() for p in model.parameters())
    prompt = torch.randint(0, 500, (BATCH, 32))
    prefill = run(model, prompt)
    assert cached_elements(prefill) == spec("gpt2", T=32, **sizes).totals.cache == 2 * 2 * 96 * 32 * BATCH
    past = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"  # 5.x: cache
    step = run(model, torch.randint(0, 500, (BATCH, 1)), **{past: kept(prefill)})
    assert cached_elements(step) == spec("gpt2", T=1, cache=32, **sizes).totals.cache == 2 * 2 * 96 * 33 * BATCH


def test_llama_grouped_query_cache_keeps_only_the_kv_heads() -> None:
    """Llama at width 128, 8 query heads of 16 and 2 K/V heads, 2 layers, T = 16: 2 x 2 layers x 2 x 16 x 16 x
    batch 2 = 4,096 elements, a quarter of what 8 K/V heads would keep."""
    torch.manual_seed(0)
    sizes = {"vocab": 500, "width": 128, "depth": 2, "heads": 8, "kv_heads": 2, "ffn": 344}
    config = transformers.LlamaConfig(vocab_size=500, hidden_size=128, intermediate_size=344, num_hidden_layers=2,
                                      num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=64,
                                      bos_token_id=0, eos_token_id=0, pad_token_id=0)
    model = transformers.LlamaForCausalLM(config)
    assert spec("llama2_7b", T=16, **sizes).totals.params == sum(p.numel() for p in model.parameters())
    # rotary_emb's inv_freq and original_inv_freq, head_dim / 2 = 8 each
    assert spec("llama2_7b", T=16, **sizes).totals.buffers == sum(b.numel() for b in model.buffers()) == 2 * 8
    prefill = run(model, torch.randint(0, 500, (BATCH, 16)))
    assert cached_elements(prefill) == spec("llama2_7b", T=16, **sizes).totals.cache == 2 * 2 * 2 * 16 * 16 * BATCH


def test_bert_an_encoder_keeps_no_cache() -> None:
    torch.manual_seed(0)
    sizes = {"vocab": 500, "max_positions": 64, "width": 96, "depth": 2, "heads": 12}
    config = transformers.BertConfig(vocab_size=500, hidden_size=96, num_hidden_layers=2, num_attention_heads=12,
                                     intermediate_size=384, max_position_embeddings=64)
    model = transformers.BertModel(config)
    report = archcalc.analyze(archcalc.load(ROOT / "specs" / "bert_base.yaml", T=32, batch=BATCH, **sizes))
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert cached_elements(run(model, torch.randint(0, 500, (BATCH, 32)))) is None
    assert report.totals.cache == 0
