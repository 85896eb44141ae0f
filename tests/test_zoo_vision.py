"""Attention beyond one [T, d] sequence, and the vision zoo that needs it, against independent oracles.

Where the expected numbers come from: torchvision 0.28.0's own modules and models (tests/torchvision_oracle.py
loads them without the C extension), built with random weights (nothing downloaded) and measured by torch as in
the other oracle tests: params = sum of parameters().numel(), buffers = sum of buffers().numel(), MACs =
torch.utils.flop_counter.FlopCounterMode total / 2 of one eval-mode forward under no_grad, and the output shape.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from torchvision_oracle import models

import archcalc

torch = pytest.importorskip("torch")
SPECS = Path(__file__).resolve().parent.parent / "specs"


def figures(spec: str | Path, **overrides) -> tuple[int, int, int, tuple[int, ...]]:
    report = archcalc.analyze(archcalc.load(spec, **overrides))
    return (report.totals.params, report.totals.buffers, report.totals.macs, tuple(report.output_shape))


def measured(model, x) -> tuple[int, int, int, tuple[int, ...]]:
    from torch.utils.flop_counter import FlopCounterMode
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(x)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return (sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers()), flops // 2,
            tuple(y.shape))


def torchvision():
    tv = models()
    if tv is None:
        pytest.skip("torchvision's model code is not importable (pip install --no-deps torchvision==0.28.0)")
    return tv


# (H, W, C, heads, window, shift): padded maps (10 -> 12 rows), shifts on one axis, a window covering an axis
WINDOWS = [(14, 14, 32, 2, [7, 7], [3, 3]), (10, 9, 16, 4, [4, 3], [2, 1]), (7, 12, 24, 3, [7, 7], [3, 3]),
           (8, 8, 16, 1, [4, 4], [0, 0]), (6, 20, 8, 2, [3, 5], [0, 2])]


@pytest.mark.parametrize("h,w,c,heads,window,shift", WINDOWS)
def test_window_attention_is_torchvisions(h, w, c, heads, window, shift):
    from importlib import import_module
    torchvision()
    swin = import_module("torchvision.models.swin_transformer")
    spec = f"""
name: window
input: [{h}, {w}, {c}]
layers:
  - window_attention: {{num_heads: {heads}, window_size: {window}, shift_size: {shift}}}
"""
    module = swin.ShiftedWindowAttention(c, window, shift, heads)
    assert figures(spec) == measured(module, torch.zeros(1, h, w, c))


def test_window_attention_params_and_buffers_by_hand():
    """Heads 3, window 7, C 96: qkv 96 x 288 + 288, proj 96 x 96 + 96, the table 13 x 13 x 3; the index 49^2."""
    spec = "name: w\ninput: [56, 56, 96]\nlayers:\n  - window_attention: {num_heads: 3, window_size: 7}\n"
    params, buffers, macs, _ = figures(spec)
    assert params == 96 * 288 + 288 + 96 * 96 + 96 + 13 * 13 * 3
    assert buffers == 49 * 49
    # 3136 tokens: qkv and proj per token, then per window of 49 tokens QK^T and AV: 49 x 49 x 96 each
    assert macs == 3136 * (96 * 288 + 96 * 96) + 64 * 2 * 49 * 49 * 96


def test_roll_refusals_are_one_line():
    for fields, words in (("shifts: [1, 2], dims: [1]", "2 shifts for 1 dims"), ("shifts: [1, 1], dims: [1, -2]",
                                                                                 "names dimension -2 twice"),
                          ("shifts: 1, dims: 0", "batch dimension")):
        spec = f"name: r\ninput: [4, 6]\nlayers:\n  - roll: {{{fields}}}\n"
        with pytest.raises(archcalc.ArchcalcError, match=words):
            archcalc.analyze(archcalc.load(spec))


def test_roll_moves_elements_and_costs_nothing():
    spec = "name: r\ninput: [4, 6, 5]\nlayers:\n  - roll: {shifts: [2, -1], dims: [1, -1]}\n"
    report = archcalc.analyze(archcalc.load(spec))
    x = torch.arange(120.0).reshape(1, 4, 6, 5)
    assert tuple(report.output_shape) == tuple(torch.roll(x, shifts=(2, -1), dims=(1, -1)).shape)
    assert (report.totals.params, report.totals.macs, report.totals.flops) == (0, 0, 0)


@pytest.mark.parametrize("size", [(224, 224), (256, 192)])
def test_swin_t_is_torchvisions(size):
    """At 256 x 192 every stage pads to whole windows (64 -> 70, 48 -> 49, ...) and the last one still shifts."""
    tv = torchvision()
    h, w = size
    want = figures(SPECS / "swin_t.yaml", H=h, W=w)
    with torch.device("meta"):
        model = tv.swin_t(weights=None)
        got = measured(model, torch.zeros(1, 3, h, w))
    assert want == got


@pytest.mark.parametrize("name, sizes", [
    ("swin_t", ((224, 224), (256, 192), (448, 320), (32, 64))),
    ("mobilevit_s", ((256, 256), (192, 320), (64, 128))),
    ("levit_128", ((224, 224), (240, 208), (16, 48), (512, 128))),
])
def test_symbolic_in_h_w_is_the_numeric_figure(name, sizes):
    """In H and W every figure is a formula (for Swin: ceilings for the windows' padding, min(1, size - 7) for a
    shift that applies; for LeViT: the token grids' ceilings) equal to the numeric figure at each size."""
    sympy = pytest.importorskip("sympy")
    report = archcalc.analyze(archcalc.load(SPECS / f"{name}.yaml", symbolic=["H", "W"]))
    h, w = (sympy.Symbol(n, integer=True, positive=True) for n in "HW")
    for size in sizes:
        numeric = archcalc.analyze(archcalc.load(SPECS / f"{name}.yaml"), H=size[0], W=size[1]).totals
        for metric in ("params", "buffers", "macs", "flops", "activations"):
            value = getattr(report.totals, metric)
            value = value.subs({h: size[0], w: size[1]}) if isinstance(value, sympy.Basic) else value
            assert value == getattr(numeric, metric), (size, metric)


@pytest.mark.parametrize("lead", [(4,), (2, 3)])
def test_attention_on_leading_dims_is_timms_attention_over_the_sequences(lead):
    """timm's Attention (fused qkv with bias, explicit softmax(QK^T)V, proj) run on the sequences side by side in
    the batch, as MobileViT runs it on [B * P, N, d]."""
    pytest.importorskip("timm")
    from timm.layers import set_fused_attn
    from timm.models.vision_transformer import Attention
    set_fused_attn(False)  # torch's CPU scaled_dot_product_attention kernel is not seen by FlopCounterMode
    try:
        module = Attention(48, num_heads=4, qkv_bias=True)
        shape = (*lead, 10, 48)
        spec = f"name: a\ninput: {list(shape)}\nlayers:\n  - multihead_attention: {{num_heads: 4, call: explicit}}\n"
        want = figures(spec)
        got = measured(module, torch.zeros(shape).flatten(0, -3))
        assert want[:3] == got[:3] and want[3] == (1, *lead, 10, 48)
    finally:
        set_fused_attn(True)


def test_attention_on_leading_dims_refuses_what_it_does_not_model():
    for fields, words in (("num_heads: 2, cache: 4", "a cache"), ("num_heads: 2, call: explicit, causal: true",
                                                                  "causal: true")):
        spec = f"name: a\ninput: [3, 5, 8]\nlayers:\n  - multihead_attention: {{{fields}}}\n"
        with pytest.raises(archcalc.SpecError, match=words):
            archcalc.analyze(archcalc.load(spec))


def timm_model(name: str, device: str = "meta", **kwargs):
    """timm's model (random weights; nothing downloaded) with its explicit attention: FlopCounterMode does not see
    torch's CPU scaled_dot_product_attention kernel, which timm's fused attention calls."""
    timm = pytest.importorskip("timm")
    from timm.layers import set_fused_attn
    set_fused_attn(False)
    try:
        with torch.device(device):
            return timm.create_model(name, pretrained=False, **kwargs).eval()
    finally:
        set_fused_attn(True)


@pytest.mark.parametrize("size", [(256, 256), (192, 320)])
def test_mobilevit_s_is_timms(size):
    h, w = size
    want = figures(SPECS / "mobilevit_s.yaml", H=h, W=w)
    assert want[0] == 5_578_632 and want[3] == (1, 1000)  # timm's mobilevit_s.cvnets_in1k: 5.58 M params
    assert want == measured(timm_model("mobilevit_s"), torch.zeros(1, 3, h, w, device="meta"))


@pytest.mark.parametrize("size", [(224, 224), (256, 192), (240, 208)])
def test_levit_128_is_timms(size):
    """At 240 x 208 the token grid is 15 x 13: the subsampled queries take the ceiling (8 x 7, then 4 x 4)."""
    h, w = size
    want = figures(SPECS / "levit_128.yaml", H=h, W=w)
    got = measured(timm_model("levit_128", img_size=(h, w)), torch.zeros(1, 3, h, w, device="meta"))
    assert want == got


def test_levit_128_published_figures():
    """timm's levit_128 at 224: 9.21 M params; the attention bias indices are 4 x 196^2 + 196 x 49 + 4 x 49^2 + 49 x 16
    + 4 x 16^2 int64 buffers, the rest BatchNorm statistics."""
    params, buffers, _, shape = figures(SPECS / "levit_128.yaml")
    assert round(params / 1e6, 2) == 9.21 and shape == (1, 1000)
    indices = 4 * 196 ** 2 + 196 * 49 + 4 * 49 ** 2 + 49 * 16 + 4 * 16 ** 2
    report = archcalc.analyze(archcalc.load(SPECS / "levit_128.yaml"))
    assert sum(r.buffers for r in report.layers if r.type == "attention_bias") == indices


def test_token_batchnorm_and_attention_bias_are_timms_levit_modules():
    pytest.importorskip("timm")
    from timm.models.levit import Attention, LinearNorm
    norm = "name: n\ninput: [10, 12]\nlayers:\n  - linear: {out_features: 20, bias: false}\n  - token_batchnorm\n"
    assert figures(norm) == measured(LinearNorm(12, 20), torch.zeros(1, 10, 12))
    # one LeViT attention (dim 32, key_dim 8, 2 heads, attn_ratio 2) on a 3 x 5 grid, written as the zoo spec does
    spec = """
name: a
input: [15, 32]
layers:
  - linear: {out_features: 64, bias: false}                 # per head q 8, k 8, v 16
  - token_batchnorm
  - reshape: {name: per_head, shape: [15, 2, 32]}
  - split: {split_size_or_sections: [8, 8, 16], index: 0, dim: -1}
  - permute: {name: q, dims: [0, 2, 1, 3]}
  - split: {split_size_or_sections: [8, 8, 16], index: 1, dim: -1, from: per_head}
  - permute: {name: k, dims: [0, 2, 1, 3]}
  - split: {split_size_or_sections: [8, 8, 16], index: 2, dim: -1, from: per_head}
  - permute: {name: v, dims: [0, 2, 1, 3]}
  - matmul: {inputs: [q, k], transpose_b: true}
  - attention_bias: {resolution: [3, 5], scale: 0.35355}
  - softmax: {dim: -1}
  - matmul: {inputs: [".", v]}
  - permute: {dims: [0, 2, 1, 3]}
  - reshape: {shape: [15, 32]}
  - hardswish
  - linear: {out_features: 32, bias: false}
  - token_batchnorm
"""
    params, buffers, macs, _ = figures(spec)
    module = Attention(32, key_dim=8, num_heads=2, attn_ratio=2, resolution=(3, 5), act_layer=torch.nn.Hardswish)
    got = measured(module, torch.zeros(1, 15, 32))
    assert (params, buffers, macs) == got[:3]


def test_window_attention_field_is_its_window_by_gradient_support():
    """tests/test_rf_oracle.py's gradient-support oracle on the exported module: without a shift each output reads
    exactly its 7 x 7 window (the map padded from 26 to 28 rows); with one, the axis is reported non-uniform."""
    from test_rf_oracle import spec_check
    body = """
input: [2, 26, 21]
layers:
  - conv2d: {out_channels: 4, kernel_size: 1}
  - permute: {dims: [0, 2, 3, 1]}
  - window_attention: {num_heads: 2, window_size: 7%s}
  - permute: {dims: [0, 3, 1, 2]}
  - conv2d: {out_channels: 2, kernel_size: 1}
"""
    record, _ = spec_check("window_attention", "name: w\n" + body % "")
    assert record == [(7, 7), (7, 7)]
    shifted = archcalc.analyze(archcalc.load("name: w\n" + body % ", shift_size: [3, 0]"))
    assert shifted.rf.axes[0] == "non-uniform" and shifted.rf.axes[1].size == 7
