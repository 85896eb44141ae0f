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
    # the 50,280 rows are the table as Hugging Face builds it: no further padding of the vocabulary
    assert model.backbone.embeddings.num_embeddings == model.lm_head.out_features == 50280
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


# ---------------------------------------------------------------- wav2vec 2.0 feature encoder

def wav2vec2_encoder():
    transformers = pytest.importorskip("transformers")
    from transformers.models.wav2vec2.modeling_wav2vec2 import Wav2Vec2FeatureEncoder
    config = transformers.Wav2Vec2Config()  # the BASE model's defaults: feat_extract_norm "group", no conv bias
    assert config.conv_kernel == (10, 3, 3, 3, 3, 2, 2) and config.conv_stride == (5, 2, 2, 2, 2, 2, 2)
    torch.manual_seed(0)
    return Wav2Vec2FeatureEncoder(config).eval()


def test_wav2vec2_feature_encoder_on_hugging_face() -> None:
    model = wav2vec2_encoder()
    report = archcalc.analyze(archcalc.load(SPECS / "wav2vec2_feature_encoder.yaml"))
    assert report.totals.params == numel(model.parameters())
    assert report.totals.buffers == numel(model.buffers()) == 0
    audio = torch.randn(1, 16000)
    with torch.no_grad():
        out = model(audio)
    assert list(out.shape) == list(report.output_shape) == [1, 512, 49]
    assert report.totals.macs == counted_macs(model, audio)


def test_wav2vec2_feature_encoder_receptive_field_on_hugging_face() -> None:
    """The gradient-support oracle of tests/test_rf_oracle.py on Hugging Face's own module: its group norm makes the
    field global; without the statistics (the windows alone) a frame sees 400 samples, 320 apart."""
    from test_rf_oracle import Oracle, check, positive
    nn = torch.nn

    class Audio(nn.Module):  # the oracle's input is [B, channels, T]; the encoder takes [B, T]
        def __init__(self, encoder) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, x):
            return self.encoder(x[:, 0])

    t = 4000
    for windows in (False, True):
        model = wav2vec2_encoder()
        for layer in model.conv_layers:  # linearise: GELUActivation (not an nn.GELU) becomes the identity
            layer.activation = nn.Identity()
            if windows and hasattr(layer, "layer_norm"):
                layer.layer_norm = nn.Identity()
        model = positive(Audio(model))
        report = archcalc.analyze(archcalc.load(SPECS / "wav2vec2_feature_encoder.yaml", T=t))
        rf = report.rf_windows if windows else report.rf
        record = check(f"wav2vec2 feature encoder ({'windows' if windows else 'field'})", Oracle(model, (1, t)), rf)
        assert record == ([(400, 400)] if windows else [("global", t)])
    assert report.rf_windows.axes[0].jump == 320


# ---------------------------------------------------------------- WaveNet

def wavenet_oracle(quantization: int, residual: int, dilation_channels: int, skip: int, dilations: list[int]):
    """WaveNet as van den Oord et al. 2016 (Fig. 4) draw it and ibab/tensorflow-wavenet builds it, in torch: a causal
    conv (no bias), per layer tanh(filter) * sigmoid(gate) of dilated causal convs, a 1x1 dense conv added to the
    layer's input and a 1x1 skip conv; the skips summed, then ReLU, 1x1, ReLU, 1x1. Causal: zeros on the left."""
    nn = torch.nn

    class Causal(nn.Module):
        def __init__(self, cin: int, cout: int, dilation: int, bias: bool = True) -> None:
            super().__init__()
            self.pad = dilation  # (kernel 2 - 1) x dilation
            self.conv = nn.Conv1d(cin, cout, 2, dilation=dilation, bias=bias)

        def forward(self, x):
            return self.conv(torch.nn.functional.pad(x, (self.pad, 0)))

    class Layer(nn.Module):
        def __init__(self, dilation: int) -> None:
            super().__init__()
            self.filter, self.gate = Causal(residual, dilation_channels, dilation), Causal(residual, dilation_channels,
                                                                                          dilation)
            self.tanh, self.sigmoid = nn.Tanh(), nn.Sigmoid()
            self.dense = nn.Conv1d(dilation_channels, residual, 1)
            self.skip = nn.Conv1d(dilation_channels, skip, 1)

        def forward(self, x):
            out = self.tanh(self.filter(x)) * self.sigmoid(self.gate(x))
            return x + self.dense(out), self.skip(out)

    class WaveNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.causal_layer = Causal(quantization, residual, 1, bias=False)
            self.dilated_stack = nn.ModuleList(Layer(d) for d in dilations)
            self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()
            self.postprocess1 = nn.Conv1d(skip, skip, 1)
            self.postprocess2 = nn.Conv1d(skip, quantization, 1)

        def forward(self, x):
            x = self.causal_layer(x)
            total = 0
            for layer in self.dilated_stack:
                x, s = layer(x)
                total = total + s
            return self.postprocess2(self.relu2(self.postprocess1(self.relu1(total))))

    torch.manual_seed(0)
    return WaveNet().eval()


DILATIONS = [2 ** k for k in range(10)] * 5  # ibab/tensorflow-wavenet's wavenet_params.json


def test_wavenet_against_a_torch_wavenet() -> None:
    t = 1600
    model = wavenet_oracle(256, 32, 32, 512, DILATIONS)
    report = archcalc.analyze(archcalc.load(SPECS / "wavenet.yaml", T=t))
    # causal 256*32*2; per layer two gated convs (32*32*2 + 32), dense 32*32 + 32, skip 32*512 + 512; the output convs
    assert report.totals.params == numel(model.parameters()) == 256 * 32 * 2 + 50 * (
        2 * (32 * 32 * 2 + 32) + 32 * 32 + 32 + 32 * 512 + 512) + 512 * 512 + 512 + 512 * 256 + 256 == 1_515_968
    assert report.totals.buffers == numel(model.buffers()) == 0
    x = torch.randn(1, 256, t)
    with torch.no_grad():
        assert list(model(x).shape) == list(report.output_shape) == [1, 256, t]
    assert report.totals.macs == counted_macs(model, x)
    # the skip sum: 49 adds of [512, T] (the first layer's skip starts it), each its own row
    sums = [row for row in report.layers if row.name.endswith("accumulate_skips")]
    assert len(sums) == 49 and all(row.flops == 512 * t for row in sums)
    assert report.layers[-1].rf.axes[0].size == (2 - 1) * sum(DILATIONS) + 1 + (2 - 1) == 5117  # ibab's formula


def test_wavenet_receptive_field_against_the_gradient_support() -> None:
    """The gradient-support oracle of tests/test_rf_oracle.py. Its linearisation (activations -> identity) would make
    the gated product square the signal at every layer (overflow by layer 10), so here tanh and sigmoid stay, and the
    residual branch is scaled down (and the biases zeroed) so that no pre-activation saturates: with positive weights
    and inputs every derivative on every path is positive (tanh' sigmoid, tanh sigmoid', the ReLUs' 1), and no two
    paths cancel."""
    from test_rf_oracle import Oracle, check, positive
    t = 12000
    model = positive(wavenet_oracle(2, 2, 2, 2, DILATIONS))
    with torch.no_grad():
        for layer in model.dilated_stack:
            layer.dense.weight.mul_(1 / len(DILATIONS))
        for conv in model.modules():
            if isinstance(conv, torch.nn.Conv1d) and conv.bias is not None:
                conv.bias.zero_()  # a bias changes no support; positive()'s 1s would add up and saturate tanh
    small = {"T": t, "quantization": 2, "residual": 2, "dilation_channels": 2, "skip": 2}
    report = archcalc.analyze(archcalc.load(SPECS / "wavenet.yaml", **small))
    assert check("wavenet", Oracle(model, (2, t)), report.rf) == [(5117, 5117)]


def test_wavenet_and_wav2vec2_are_symbolic_in_t() -> None:
    pytest.importorskip("sympy")
    for name, t in (("wavenet", 1600), ("wav2vec2_feature_encoder", 16000)):
        symbolic = archcalc.analyze(archcalc.load(SPECS / f"{name}.yaml", symbolic=["T"]))
        numeric = archcalc.analyze(archcalc.load(SPECS / f"{name}.yaml", T=t))
        for metric in ("macs", "flops", "params"):
            value = getattr(symbolic.totals, metric)
            free = {s: t for s in getattr(value, "free_symbols", ()) if s.name == "T"}
            assert (value.subs(free) if free else value) == getattr(numeric.totals, metric), (name, metric)
