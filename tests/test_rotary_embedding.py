"""rotary_embedding (RoPE's frequency tables as buffers) against transformers' rotary embedding modules (5.24.0),
built from configs written here: LlamaRotaryEmbedding (full rotary, Llama 3's theta) and GPTNeoXRotaryEmbedding
(partial rotary, 25% of each head). Measured: buffers().numel(), parameters().numel(), and the inv_freq and
original_inv_freq tables the exported module holds, value for value."""
from __future__ import annotations

import pytest

import archcalc

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def spec(dim: str, *options: str) -> str:
    extra = "".join(f", {o}" for o in options)
    return f"""name: tables
variables: {{width: 64, heads: 4}}
input: [5, width]
layers:
  - rotary_embedding: {{name: rotary_emb, dim: {dim}{extra}}}
"""


def exported(text: str) -> torch.nn.Module:
    from archcalc.export import export
    namespace: dict = {"__name__": "rotary_export"}
    exec(compile(export(archcalc.load(text)), "<export>", "exec"), namespace)
    return namespace["Tables"]().eval()


def test_llama_rotary_embedding():
    """head_dim 16, rope_theta 500,000: inv_freq and original_inv_freq, 8 frequencies each, no parameters."""
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding
    config = transformers.LlamaConfig(hidden_size=64, num_attention_heads=4, rope_theta=500000.0)
    oracle = LlamaRotaryEmbedding(config)
    text = spec("width / heads", "base: 500000")
    report = archcalc.analyze(archcalc.load(text))
    assert report.totals.buffers == sum(b.numel() for b in oracle.buffers()) == 2 * 8
    assert report.totals.params == sum(p.numel() for p in oracle.parameters()) == 0
    assert (report.totals.macs, report.totals.flops) == (0, 0)
    assert tuple(report.output_shape) == (1, 5, 64)  # the identity on the hidden states
    model = exported(text)
    assert sum(b.numel() for b in model.buffers()) == report.totals.buffers
    torch.testing.assert_close(model.rotary_emb.inv_freq, oracle.inv_freq)
    torch.testing.assert_close(model.rotary_emb.original_inv_freq, oracle.original_inv_freq)
    x = torch.randn(2, 5, 64)
    assert torch.equal(model(x), x)


def test_gpt_neox_partial_rotary_embedding():
    """rotary_pct 0.25 of head_dim 16: dim 4, 2 frequencies in each table."""
    from transformers.models.gpt_neox.modeling_gpt_neox import GPTNeoXRotaryEmbedding
    config = transformers.GPTNeoXConfig(hidden_size=64, num_attention_heads=4, rotary_pct=0.25)
    oracle = GPTNeoXRotaryEmbedding(config)
    text = spec("4")
    assert archcalc.analyze(archcalc.load(text)).totals.buffers == sum(b.numel() for b in oracle.buffers()) == 4
    torch.testing.assert_close(exported(text).rotary_emb.inv_freq, oracle.inv_freq)


def test_inv_freq_alone():
    """original_inv_freq: false holds the one table (dim / 2 = 8), as transformers before version 5."""
    text = spec("16", "original_inv_freq: false")
    assert archcalc.analyze(archcalc.load(text)).totals.buffers == 8
    assert [n for n, _ in exported(text).named_buffers()] == ["rotary_emb.inv_freq"]


def test_an_odd_dim_is_refused():
    with pytest.raises(archcalc.ArchcalcError) as e:
        archcalc.analyze(archcalc.load(spec("5")))
    assert "dim=5" in str(e.value) and "rotary_emb" in str(e.value) and "\n" not in e.value.message


def test_symbolic_dim():
    """A symbolic dim: two tables of d / 2 frequencies, d buffers."""
    report = archcalc.analyze(archcalc.load(spec("d").replace("heads: 4}", "heads: 4, d: 16}"), symbolic=["d"]))
    buffers = report.totals.buffers
    assert not isinstance(buffers, int) and str(buffers) == "d"
