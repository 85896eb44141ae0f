"""Sequence and audio networks of the zoo against independent oracles: specs/mamba_130m.yaml against Hugging Face's
MambaForCausalLM (built from a config, never downloaded), specs/wav2vec2_feature_encoder.yaml against Hugging Face's
Wav2Vec2FeatureEncoder, specs/wavenet.yaml against a WaveNet written in torch here.

MACs are torch.utils.flop_counter.FlopCounterMode's total / 2. It sees matmuls and convolutions only, so the
elementwise work of Mamba's selective scan is checked against the arithmetic written out below; and it sees what the
oracle's code computes, so where that code computes more than the layer needs (Hugging Face's slow path pads the
causal conv on both sides and drops the extra outputs) the difference is written out too.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import archcalc

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def counted_macs(model, *args, **kwargs) -> int:
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(*args, **kwargs)
    return counter.get_total_flops() // 2


def numel(params) -> int:
    return sum(p.numel() for p in params)


# ---------------------------------------------------------------- Mamba

def mamba_config(width: int, depth: int, vocab: int, state: int = 16):
    transformers = pytest.importorskip("transformers")
    return transformers.MambaConfig(vocab_size=vocab, hidden_size=width, num_hidden_layers=depth, state_size=state,
                                    expand=2, conv_kernel=4, use_bias=False, use_conv_bias=True)


def mamba_report(**values) -> archcalc.Report:
    return archcalc.analyze(archcalc.load(SPECS / "mamba_130m.yaml"), **values)


def test_mamba_130m_parameters_on_the_meta_device() -> None:
    transformers = pytest.importorskip("transformers")
    config = mamba_config(768, 24, 50280)
    assert config.time_step_rank == 48 and config.intermediate_size == 1536 and config.vocab_size == 50280
    with torch.device("meta"):
        model = transformers.MambaForCausalLM(config)
    report = mamba_report()
    # parameters() yields the tied lm_head / embedding weight once
    assert report.totals.params == numel(model.parameters()) == 129_135_360
    assert report.totals.buffers == numel(model.buffers()) == 0
    e, k, n = 1536, 4, 16
    assert report.totals.cache == 24 * e * (k + n)  # conv state (the last 4 inputs) and SSM state, per layer


@pytest.mark.parametrize("batch", [1, 2])
def test_mamba_prefill_and_decode_step_on_hugging_face(batch: int) -> None:
    """A reduced Mamba (the 130m spec at width 64, 3 layers, vocabulary 500): params, output shape, MACs of a prefill
    and of a decode step with the state cache, the cache's size, and the scan's elementwise FLOPs."""
    transformers = pytest.importorskip("transformers")
    width, depth, vocab, t = 64, 3, 500, 7
    e, n, k, r = 2 * width, 16, 4, 4  # inner channels, states, conv kernel, dt rank ceil(64 / 16)
    torch.manual_seed(0)
    model = transformers.MambaForCausalLM(mamba_config(width, depth, vocab)).eval()
    sizes = {"B": batch, "width": width, "depth": depth, "vocab": vocab}
    report = mamba_report(T=t, **sizes)
    assert report.totals.params == numel(model.parameters())
    assert report.totals.buffers == 0
    ids = torch.randint(0, vocab, (batch, t))
    with torch.no_grad():
        out = model(ids, use_cache=True)
    assert list(out.logits.shape) == list(report.output_shape) == [batch, t, vocab]
    # Hugging Face's slow path convolves with padding k - 1 on both sides: T + k - 1 outputs, of which it keeps T
    overhang = batch * depth * e * k * (k - 1)
    assert counted_macs(model, ids) == report.totals.macs + overhang
    # the state it keeps: per layer a conv state of k inputs and an SSM state of n per inner channel
    cache = out.cache  # transformers 5: one DynamicCache, a conv and a recurrent state per layer
    held = sum(x.numel() for layer in range(depth) for x in (cache.layers[layer].conv_states[0],
                                                            cache.layers[layer].recurrent_states[0]))
    assert report.totals.cache == held == batch * depth * e * (k + n)

    # a decode step: one token against the cached state. The conv update runs on the k cached inputs and the new one
    # (k + 1 positions, no padding: 2 outputs, the last kept), one more output than the layer needs.
    step = mamba_report(T=1, **sizes)
    nxt = torch.randint(0, vocab, (batch, 1))
    decode = counted_macs(model, nxt, cache=cache, use_cache=True)
    assert decode == step.totals.macs + batch * depth * e * k
    assert step.totals.cache == report.totals.cache  # the state does not grow with the context

    # per token, a layer's MACs: in_proj d*2E, conv E*k, x_proj E*(r + 2n), dt_proj r*E, readout E*n, out_proj E*d
    mixer = [row for row in report.layers if row.type == "mamba"]
    assert len(mixer) == depth
    per_token = width * 2 * e + e * k + e * (r + 2 * n) + r * e + e * n + e * width
    assert all(row.macs == batch * t * per_token for row in mixer)
    # the selective scan's elementwise FLOPs, which no counter sees, per token and inner channel: for each of the n
    # states exp(A dt) (mul, exp), dt B (mul), h = dA h + dB x (mul, mul, add); then y + D x (mul, add) and the
    # gate's multiply; activations silu (4) after the conv and on the gate, softplus (3: exp, add, log) on dt
    for row in mixer:
        assert row.flops_by_kind["elementwise"] == batch * t * e * (6 * n + 3)
        assert row.flops_by_kind["activation"] == batch * t * e * (4 + 4 + 3)
        assert row.flops_by_kind["bias"] == batch * t * (e + e)  # the conv's bias and dt_proj's


def test_mamba_is_linear_in_t_in_symbolic_mode() -> None:
    pytest.importorskip("sympy")
    report = archcalc.analyze(archcalc.load(SPECS / "mamba_130m.yaml", symbolic=["T"]))
    import sympy
    t = sympy.Symbol("T", positive=True, integer=True)
    numeric = mamba_report(T=100)
    for metric in ("macs", "flops", "params", "cache"):
        value = sympy.sympify(getattr(report.totals, metric))
        assert value.subs({s: 100 for s in value.free_symbols if s.name == "T"}) == getattr(numeric.totals, metric)
    assert sympy.degree(sympy.sympify(report.totals.macs), sympy.Symbol("T", **t.assumptions0)) <= 1


def test_mamba_refuses_a_width_it_is_not_given() -> None:
    with pytest.raises(archcalc.ArchcalcError, match="d_model=32 but the incoming tensor has 24"):
        archcalc.analyze(archcalc.load("name: m\ninput: [5, 24]\nlayers:\n  - mamba: {d_model: 32}\n"))
    with pytest.raises(archcalc.ArchcalcError, match="rank-2 input"):
        archcalc.analyze(archcalc.load("name: m\ninput: [24]\nlayers:\n  - mamba\n"))
