"""Per-layer formulas: shapes, params, buffers, MACs, FLOPs and receptive fields, one small spec at a time.

Every expected value is written as the arithmetic it stands for (torch's shape formulas, weight shapes,
the FLOP rules of archcalc/count/convention.py), never copied from archcalc's output. Shapes are batch first.
``test_torch_agrees`` checks the same layers' output shapes, params and buffers against torch when it is
installed.
"""
from __future__ import annotations

import json
from fractions import Fraction

import pytest

import archcalc
from archcalc.core.errors import ArchcalcError, ShapeError
from archcalc.count.convention import ARCHCALC


def rows(layers: str, input: str, batch: int = 1) -> list:
    """Analyse a spec whose layers are given as YAML list items (one per line, flow style)."""
    items = "\n".join(f"  - {item.strip()}" for item in layers.strip().splitlines())
    text = f"name: t\ninput: {input}\nbatch: {batch}\nlayers:\n{items}\n"
    return archcalc.analyze(archcalc.load(text)).layers


def one(layer: str, input: str, batch: int = 1):
    """The row of a one-layer network."""
    (row,) = rows(layer, input, batch)
    return row


def rf(row) -> dict:
    """The receptive field as the JSON output gives it (rationals as strings, markers as text)."""
    return json.loads(json.dumps(row.rf.to_dict()))


# ---------------------------------------------------------------- convolutions

def test_conv2d_basic():
    r = one("conv2d: {out_channels: 64, kernel_size: 3, padding: 1}", "[3, 32, 32]")
    assert r.output_shape == (1, 64, 32, 32)  # (32 + 2*1 - 3) // 1 + 1 = 32
    assert r.params == 64 * (3 * 3 * 3) + 64  # weight [64, 3, 3, 3] + bias [64] = 1792
    assert r.params == 1792
    assert r.buffers == 0
    assert r.macs == (64 * 32 * 32) * (3 * 3 * 3)  # per output element: 3 in x 3x3 taps
    assert r.flops_by_kind == {"conv": 2 * 64 * 32 * 32 * 27, "bias": 64 * 32 * 32}
    assert r.flops == 2 * r.macs + 64 * 32 * 32
    assert r.activations == 64 * 32 * 32


def test_conv2d_stride_and_per_axis_padding():
    r = one("conv2d: {out_channels: 2, kernel_size: 3, stride: 2, padding: [1, 0]}", "[3, 9, 10]")
    # H: (9 + 2*1 - 3) // 2 + 1 = 5;  W: (10 + 2*0 - 3) // 2 + 1 = 4
    assert r.output_shape == (1, 2, 5, 4)
    assert r.macs == (2 * 5 * 4) * (3 * 9)


def test_conv2d_per_axis_kernel_and_stride():
    r = one("conv2d: {out_channels: 4, kernel_size: [1, 3], stride: [1, 2]}", "[2, 5, 11]")
    # H: (5 - 1) // 1 + 1 = 5;  W: (11 - 3) // 2 + 1 = 5
    assert r.output_shape == (1, 4, 5, 5)
    assert r.params == 4 * 2 * (1 * 3) + 4


def test_conv2d_padding_valid():
    r = one("conv2d: {out_channels: 4, kernel_size: 3, padding: valid}", "[1, 8, 8]")
    assert r.output_shape == (1, 4, 6, 6)  # 8 - 3 + 1


def test_conv2d_padding_same_even_kernel():
    # stride 1: total padding d*(k-1) = 3, left 3 // 2 = 1 (the odd one goes after, as in torch)
    r = one("conv2d: {out_channels: 4, kernel_size: 4, padding: same}", "[1, 7, 7]")
    assert r.output_shape == (1, 4, 7, 7)
    assert rf(r) == {"size": [4, 4], "jump": [1, 1], "padding": [1, 1]}


def test_conv2d_padding_same_strided_keras_rule():
    # out = ceil(7 / 2) = 4; total = max((4 - 1)*2 + 3 - 7, 0) = 2, left = 1
    r = one("conv2d: {out_channels: 4, kernel_size: 3, stride: 2, padding: same}", "[1, 7, 8]")
    # W: out = ceil(8 / 2) = 4
    assert r.output_shape == (1, 4, 4, 4)
    assert rf(r)["padding"] == [1, 0]  # W: total = max(3*2 + 3 - 8, 0) = 1, left 0


def test_conv2d_dilation():
    r = one("conv2d: {out_channels: 1, kernel_size: 3, dilation: 2}", "[1, 10, 10]")
    # dilated span 2*(3-1) + 1 = 5: (10 - 5) // 1 + 1 = 6
    assert r.output_shape == (1, 1, 6, 6)
    assert r.params == 1 * 1 * 9 + 1  # dilation adds no weights
    assert r.macs == 6 * 6 * 9


def test_conv2d_groups():
    r = one("conv2d: {out_channels: 6, kernel_size: 3, groups: 2, padding: 1}", "[4, 5, 5]")
    assert r.output_shape == (1, 6, 5, 5)
    assert r.params == 6 * (4 // 2) * 9 + 6  # weight [6, 4/2, 3, 3] + bias = 114
    assert r.macs == (6 * 5 * 5) * (2 * 9)


def test_conv2d_depthwise_without_bias():
    r = one("conv2d: {out_channels: 8, kernel_size: 3, groups: 8, padding: 1, bias: false}", "[8, 6, 6]")
    assert r.params == 8 * 1 * 9  # weight [8, 1, 3, 3], no bias = 72
    assert r.macs == (8 * 6 * 6) * (1 * 9)
    assert r.flops_by_kind == {"conv": 2 * 8 * 36 * 9}  # no bias adds
    assert r.flops == 2 * r.macs


def test_conv1d():
    r = one("conv1d: {out_channels: 8, kernel_size: 5, stride: 2}", "[4, 100]")
    assert r.output_shape == (1, 8, 48)  # (100 - 5) // 2 + 1 = 48
    assert r.params == 8 * 4 * 5 + 8  # 168
    assert r.macs == 8 * 48 * (4 * 5)


def test_conv3d():
    r = one("conv3d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1}", "[2, 8, 8, 8]")
    assert r.output_shape == (1, 4, 4, 4, 4)  # (8 + 2 - 3) // 2 + 1 = 4
    assert r.params == 4 * 2 * 27 + 4  # 220
    assert r.macs == (4 * 4 * 4 * 4) * (2 * 27)


def test_conv_with_explicit_in_channels_and_expression():
    r = rows("conv2d: {in_channels: 3, out_channels: '2 * 8', kernel_size: 1}", "[3, 2, 2]")[0]
    assert r.output_shape == (1, 16, 2, 2)
    assert r.params == 16 * 3 + 16


def test_conv_transpose2d_output_padding():
    r = one("conv_transpose2d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1, output_padding: 1}",
            "[8, 5, 5]")
    # (5 - 1)*2 - 2*1 + 1*(3 - 1) + 1 + 1 = 10
    assert r.output_shape == (1, 4, 10, 10)
    assert r.params == 8 * 4 * 9 + 4  # weight [in 8, out 4, 3, 3] + bias [4] = 292
    assert r.macs == (8 * 5 * 5) * (4 * 9)  # each input element is scattered to 4 x 3x3 outputs
    assert r.flops_by_kind == {"conv": 2 * 8 * 25 * 36, "bias": 4 * 10 * 10}


def test_conv_transpose2d_groups():
    r = one("conv_transpose2d: {out_channels: 6, kernel_size: 2, stride: 2, groups: 2}", "[4, 3, 3]")
    assert r.output_shape == (1, 6, 6, 6)  # (3 - 1)*2 + (2 - 1) + 1 = 6
    assert r.params == 4 * (6 // 2) * 4 + 6  # weight [4, 6/2, 2, 2] + bias = 54
    assert r.macs == (4 * 9) * (3 * 4)


def test_conv_transpose1d_dilation():
    r = one("conv_transpose1d: {out_channels: 3, kernel_size: 3, dilation: 2, bias: false}", "[2, 10]")
    assert r.output_shape == (1, 3, 14)  # (10 - 1)*1 + 2*(3 - 1) + 1 = 14
    assert r.params == 2 * 3 * 3
    assert r.macs == (2 * 10) * (3 * 3)


def test_conv_transpose3d():
    r = one("conv_transpose3d: {out_channels: 2, kernel_size: 2, stride: 2}", "[2, 3, 3, 3]")
    assert r.output_shape == (1, 2, 6, 6, 6)  # (3 - 1)*2 + 1 + 1 = 6
    assert r.params == 2 * 2 * 8 + 2  # 34
    assert r.macs == (2 * 27) * (2 * 8)


def test_conv_transpose_output_padding_must_be_below_stride():
    with pytest.raises(ShapeError, match="output_padding"):
        one("conv_transpose2d: {out_channels: 2, kernel_size: 3, stride: 2, output_padding: 2}", "[1, 4, 4]")


# ---------------------------------------------------------------- linear

def test_linear_rank1():
    r = one("linear: {out_features: 10}", "[20]")
    assert r.output_shape == (1, 10)
    assert r.params == 20 * 10 + 10  # 210
    assert r.macs == 20 * 10
    assert r.flops_by_kind == {"linear": 2 * 200, "bias": 10}


def test_linear_rank3_keeps_leading_dims():
    r = one("linear: {out_features: 8}", "[4, 7, 16]")
    assert r.output_shape == (1, 4, 7, 8)
    assert r.params == 16 * 8 + 8
    assert r.macs == (4 * 7) * 16 * 8  # one 16-long dot product per output feature and row
    assert r.flops_by_kind == {"linear": 2 * 4 * 7 * 16 * 8, "bias": 4 * 7 * 8}


def test_linear_without_bias():
    r = one("linear: {in_features: 5, out_features: 3, bias: false}", "[5]")
    assert r.params == 15
    assert r.flops == 2 * 15


# ---------------------------------------------------------------- pooling

def test_maxpool2d_floor_and_ceil():
    r = one("maxpool2d: {kernel_size: 2, stride: 2}", "[3, 7, 7]")
    assert r.output_shape == (1, 3, 3, 3)  # (7 - 2) // 2 + 1 = 3
    assert r.flops == (3 * 3 * 3) * (2 * 2 - 1)  # k - 1 comparisons per output
    r = one("maxpool2d: {kernel_size: 2, stride: 2, ceil_mode: true}", "[3, 7, 7]")
    assert r.output_shape == (1, 3, 4, 4)  # ceil((7 - 2) / 2) + 1 = 4
    assert r.params == 0 and r.macs == 0


def test_maxpool1d_ceil_mode_drops_window_starting_in_right_padding():
    # ceil((5 + 2*1 - 3) / 3) + 1 = 3, but window 2 would start at 2*3 = 6 >= 5 + 1: torch drops it
    r = one("maxpool1d: {kernel_size: 3, stride: 3, padding: 1, ceil_mode: true}", "[2, 5]")
    assert r.output_shape == (1, 2, 2)


def test_maxpool_dilation_and_padding():
    r = one("maxpool2d: {kernel_size: 3, stride: 1, padding: 1, dilation: 2}", "[1, 9, 9]")
    assert r.output_shape == (1, 1, 7, 7)  # (9 + 2 - 2*(3-1) - 1) // 1 + 1 = 7


def test_maxpool_padding_limit_is_half_the_undilated_kernel():
    with pytest.raises(ShapeError, match="half"):  # torch: padding <= kernel_size / 2, whatever the dilation
        one("maxpool2d: {kernel_size: 3, padding: 2, dilation: 2}", "[1, 9, 9]")


def test_maxpool3d():
    r = one("maxpool3d: {kernel_size: 2}", "[4, 4, 6, 8]")
    assert r.output_shape == (1, 4, 2, 3, 4)  # stride defaults to kernel_size
    assert r.flops == (4 * 2 * 3 * 4) * (8 - 1)


def test_avgpool2d_with_padding():
    r = one("avgpool2d: {kernel_size: 3, stride: 2, padding: 1}", "[2, 8, 8]")
    assert r.output_shape == (1, 2, 4, 4)  # (8 + 2 - 3) // 2 + 1 = 4
    assert r.flops == (2 * 4 * 4) * 9  # 9 - 1 adds + 1 divide
    assert rf(r) == {"size": [3, 3], "jump": [2, 2], "padding": [1, 1]}


def test_avgpool1d_and_3d():
    r = one("avgpool1d: {kernel_size: 4, stride: 2, ceil_mode: true}", "[3, 11]")
    assert r.output_shape == (1, 3, 5)  # ceil((11 - 4) / 2) + 1 = 5; last start 8 < 11
    assert r.flops == 3 * 5 * 4
    r = one("avgpool3d: {kernel_size: [1, 2, 2]}", "[2, 3, 4, 4]")
    assert r.output_shape == (1, 2, 3, 2, 2)
    assert r.flops == (2 * 3 * 2 * 2) * (1 * 2 * 2)


def test_adaptive_avgpool_divisible():
    r = one("adaptive_avgpool2d: {output_size: 7}", "[512, 14, 14]")
    assert r.output_shape == (1, 512, 7, 7)
    # windows of 14/7 = 2 tile each axis: every input is summed once, plus 1 divide per output
    # = (2*2 - 1 adds + 1 divide) per output = 4 per output
    assert r.flops == (512 * 7 * 7) * 4
    assert rf(r) == {"size": [2, 2], "jump": [2, 2], "padding": [0, 0]}


def test_adaptive_pool_non_divisible():
    # torch's windows for 5 -> 3: [0, ceil(5/3)) = [0, 2), [floor(5/3), ceil(10/3)) = [1, 4), [3, 5)
    # window sizes 2 + 3 + 2 = 7
    r = one("adaptive_avgpool1d: {output_size: 3}", "[4, 5]")
    assert r.output_shape == (1, 4, 3)
    assert r.flops == 4 * 7  # average: (w - 1) adds + 1 divide = w per window
    assert rf(r)["size"] == "non-uniform"  # windows of 2, 3, 2: no single stride and size
    r = one("adaptive_maxpool1d: {output_size: 3}", "[4, 5]")
    assert r.flops == 4 * (7 - 3)  # max: w - 1 comparisons per window


def test_adaptive_pool_keeps_null_axis_and_3d():
    r = one("adaptive_maxpool2d: {output_size: [null, 2]}", "[3, 5, 8]")
    assert r.output_shape == (1, 3, 5, 2)
    # H 5 -> 5: windows of 1, total 5; W 8 -> 2: windows of 4, total 8
    assert r.flops == 3 * (5 * 8) - 3 * (5 * 2)
    r = one("adaptive_avgpool3d: {output_size: 1}", "[2, 2, 3, 4]")
    assert r.output_shape == (1, 2, 1, 1, 1)
    assert r.flops == 2 * (2 * 3 * 4)
    assert rf(r)["size"] == "global"


def test_global_pooling():
    r = one("global_avgpool", "[16, 4, 4]")
    assert r.output_shape == (1, 16)
    assert r.flops == 16 * 16  # per channel: 15 adds + 1 divide
    assert rf(r) == {"size": "global", "jump": "global", "padding": "global"}
    r = one("global_maxpool: {keepdims: true}", "[16, 4, 4]")
    assert r.output_shape == (1, 16, 1, 1)
    assert r.flops == 16 * 15  # per channel: 15 comparisons


# ---------------------------------------------------------------- normalisation

def test_batchnorm2d():
    r = one("batchnorm2d", "[8, 4, 4]")
    assert r.output_shape == (1, 8, 4, 4)
    assert r.params == 2 * 8  # weight, bias
    assert r.buffers == 2 * 8 + 1  # running_mean, running_var, num_batches_tracked
    assert r.flops == (8 * 16) * (2 + 2)  # subtract, divide; scale, shift


def test_batchnorm1d_rank1_and_rank2_and_3d():
    assert one("batchnorm1d", "[8]").params == 16
    r = one("batchnorm1d: {num_features: 8}", "[8, 10]")
    assert (r.params, r.buffers, r.flops) == (16, 17, 80 * 4)
    r = one("batchnorm3d", "[4, 2, 2, 2]")
    assert (r.params, r.buffers, r.flops) == (2 * 4, 2 * 4 + 1, 32 * 4)


def test_batchnorm_without_affine_or_running_stats():
    r = one("batchnorm2d: {affine: false}", "[8, 4, 4]")
    assert (r.params, r.buffers, r.flops) == (0, 17, 128 * 2)
    r = one("batchnorm2d: {track_running_stats: false}", "[8, 4, 4]")
    assert (r.params, r.buffers) == (16, 0)


def test_layernorm():
    r = one("layernorm: {normalized_shape: 32}", "[10, 32]")
    assert r.params == 32 + 32  # weight [32] + bias [32]
    assert r.buffers == 0
    assert r.flops == 320 * (3 + 2 + 2)  # statistics 3, normalise 2, scale 1, shift 1
    r = one("layernorm: {normalized_shape: [4, 4], bias: false}", "[3, 4, 4]")
    assert r.params == 16
    assert r.flops == 48 * (3 + 2 + 1)
    r = one("layernorm: {normalized_shape: 4, elementwise_affine: false}", "[3, 4]")
    assert (r.params, r.flops) == (0, 12 * 5)


def test_groupnorm():
    r = one("groupnorm: {num_groups: 4}", "[8, 5, 5]")
    assert r.params == 2 * 8  # per-channel weight and bias
    assert r.flops == 200 * (3 + 2 + 2)
    with pytest.raises(ShapeError, match="num_groups=3"):
        one("groupnorm: {num_groups: 3}", "[8, 5, 5]")


def test_instancenorm():
    r = one("instancenorm2d", "[8, 5, 5]")  # torch defaults: affine false, no running stats
    assert (r.params, r.buffers, r.flops) == (0, 0, 200 * (3 + 2))
    r = one("instancenorm1d: {affine: true, track_running_stats: true}", "[8, 5]")
    assert (r.params, r.buffers, r.flops) == (16, 17, 40 * (3 + 2 + 2))
    r = one("instancenorm3d", "[2, 2, 2, 2]")
    assert r.flops == 16 * 5


# ---------------------------------------------------------------- activations

# FLOPs per element, counted by hand from each function's arithmetic (exp/erf/tanh count 1):
ACTIVATIONS = {
    "relu": 1,  # max(x, 0)
    "relu6": 2,  # min(max(x, 0), 6)
    "hardtanh": 2,  # min(max(x, min_val), max_val)
    "leaky_relu": 2,  # a*x, max
    "elu": 3,  # exp, -1, *a
    "gelu": 5,  # x / sqrt2, erf, +1, *x, *1/2
    "gelu: {approximate: tanh}": 9,  # x*x*x (2), *0.044715, +x, *c, tanh, +1, *x, *1/2
    "sigmoid": 3,  # exp(-x), +1, 1/
    "tanh": 1,
    "silu": 4,  # sigmoid (3) and *x
    "hardswish": 5,  # +3, max, min, *x, /6
    "hardsigmoid": 4,  # +3, max, min, /6
    "softmax": 3,  # exp, add into the sum, divide
    "quick_gelu": 5,  # *1.702, sigmoid (3), *x
    "mish": 5,  # exp, +1, log, tanh, *x
    "softplus": 4,  # exp, +1, log, the comparison with the threshold
}


@pytest.mark.parametrize("layer", ACTIVATIONS)
def test_activation_flops_per_element(layer):
    r = one(layer, "[3, 5, 7]")
    assert r.output_shape == (1, 3, 5, 7)
    assert (r.params, r.buffers, r.macs) == (0, 0, 0)
    assert r.flops == (3 * 5 * 7) * ACTIVATIONS[layer]
    # pointwise, except softmax (default dim -1) whose sum mixes the whole last axis
    assert rf(r)["size"] == ([1, "global"] if layer == "softmax" else [1, 1])


def test_activation_table_matches_the_convention():
    rules = ARCHCALC.to_dict()["rules"]
    for layer, n in ACTIVATIONS.items():
        key = "gelu_tanh" if "approximate" in layer else layer
        assert rules[f"activation.{key}"].startswith(f"{n} per element")


def test_every_activation_type_is_tested():
    names = {layer.split(":")[0] for layer in ACTIVATIONS}
    from archcalc.layers import REGISTRY
    activation_types = {n for n, e in REGISTRY.items() if e.model.kind in ("activation", "softmax")}
    assert activation_types <= names


def test_softmax_dim():
    assert one("softmax: {dim: 1}", "[10]").output_shape == (1, 10)
    assert rf(one("softmax: {dim: 2}", "[3, 5, 7]"))["size"] == ["global", 1]  # mixes H only
    assert rf(one("softmax: {dim: 1}", "[3, 5, 7]"))["size"] == [1, 1]  # over channels: no spatial mixing
    with pytest.raises(ShapeError, match="batch"):
        one("softmax: {dim: 0}", "[10]")
    with pytest.raises(ShapeError, match="out of range"):
        one("softmax: {dim: 3}", "[10, 4]")


# ---------------------------------------------------------------- data movement

@pytest.mark.parametrize("layer", ["dropout", "dropout: {p: 0.1}", "dropout1d", "dropout2d", "dropout3d",
                                   "identity"])
def test_passthrough(layer):
    r = one(layer, "[2, 3, 4]")
    assert r.output_shape == (1, 2, 3, 4)
    assert (r.params, r.buffers, r.macs, r.flops) == (0, 0, 0, 0)


def test_flatten():
    assert one("flatten", "[3, 4, 5]").output_shape == (1, 3 * 4 * 5)
    assert one("flatten: {start_dim: 2}", "[3, 4, 5]").output_shape == (1, 3, 4 * 5)
    assert one("flatten: {start_dim: 1, end_dim: 2}", "[3, 4, 5]").output_shape == (1, 12, 5)


def test_reshape():
    assert one("reshape: {shape: [-1, 4]}", "[3, 4, 4]").output_shape == (1, 48 // 4, 4)
    assert one("reshape: {shape: [2, 24]}", "[3, 4, 4]").output_shape == (1, 2, 24)
    with pytest.raises(ShapeError, match="cannot reshape"):
        one("reshape: {shape: [5, -1]}", "[3, 4, 4]")  # 48 % 5 != 0


def test_pad():
    r = one("pad: {padding: 1}", "[3, 4, 4]")
    assert r.output_shape == (1, 3, 6, 6)
    assert r.flops == 0
    r = one("pad: {padding: [[1, 2], [0, 3]]}", "[3, 4, 4]")
    assert r.output_shape == (1, 3, 4 + 1 + 2, 4 + 0 + 3)
    assert rf(r) == {"size": [1, 1], "jump": [1, 1], "padding": [1, 0]}


def test_upsample_nearest_scale():
    r = one("upsample: {scale_factor: 2}", "[3, 4, 4]")
    assert r.output_shape == (1, 3, 8, 8)
    assert r.flops == 0  # a copy
    r = one("upsample: {scale_factor: 1.5}", "[3, 5]")
    assert r.output_shape == (1, 3, 7)  # floor(5 * 1.5) = 7


def test_upsample_bilinear_scale_and_size():
    r = one("upsample: {scale_factor: 2, mode: bilinear}", "[3, 4, 4]")
    assert r.output_shape == (1, 3, 8, 8)
    assert r.flops == (3 * 8 * 8) * (4 + 3)  # 2x2 = 4 taps: 4 multiplies + 3 adds
    r = one("upsample: {size: [6, 10], mode: bilinear}", "[3, 4, 4]")
    assert r.output_shape == (1, 3, 6, 10)
    assert r.flops == (3 * 6 * 10) * 7
    r = one("upsample: {size: 9}", "[2, 4]")
    assert (r.output_shape, r.flops) == ((1, 2, 9), 0)


def test_upsample_linear_and_trilinear():
    assert one("upsample: {scale_factor: 2, mode: linear}", "[1, 4]").flops == 8 * (2 + 1)
    assert one("upsample: {scale_factor: 2, mode: trilinear}", "[1, 2, 2, 2]").flops == 64 * (8 + 7)


def test_upsample_to_nothing_is_refused():
    with pytest.raises(ShapeError, match="scale_factor"):
        one("upsample: {scale_factor: 0.1}", "[1, 8, 8]")  # floor(8 * 0.1) = 0


# ---------------------------------------------------------------- batch

def test_batch_scales_work_not_weights():
    single = one("conv2d: {out_channels: 4, kernel_size: 3}", "[3, 8, 8]")
    four = one("conv2d: {out_channels: 4, kernel_size: 3}", "[3, 8, 8]", batch=4)
    assert four.output_shape == (4, 4, 6, 6)
    assert four.params == single.params == 4 * 27 + 4
    assert four.macs == 4 * single.macs == 4 * (4 * 36 * 27)
    assert four.flops == 4 * single.flops
    assert four.flops_by_kind == {k: 4 * v for k, v in single.flops_by_kind.items()}
    assert four.activations == 4 * (4 * 36)
    bn1, bn4 = one("batchnorm2d", "[3, 8, 8]"), one("batchnorm2d", "[3, 8, 8]", batch=4)
    assert bn4.buffers == bn1.buffers == 7 and bn4.flops == 4 * bn1.flops


def test_batch_totals():
    net = archcalc.load("name: t\ninput: [3, 8, 8]\nbatch: 2\nlayers:\n  - conv2d: {out_channels: 4, "
                        "kernel_size: 3}\n  - relu\n")
    report = archcalc.analyze(net)
    conv_flops = 2 * (2 * 4 * 36 * 27) + 2 * (4 * 36)  # batch 2: MAC FLOPs + bias adds
    relu_flops = 2 * (4 * 36)
    assert report.totals.flops == conv_flops + relu_flops
    assert report.totals.params == 4 * 27 + 4
    assert report.totals.activations == 2 * (4 * 36) * 2  # two layers of 2 x 4x6x6
    assert archcalc.analyze(net, batch=8).totals.macs == 8 * (4 * 36 * 27)


# ---------------------------------------------------------------- receptive fields
# Distill 2019: r' = r + (k - 1) * j,  j' = j * s,  P' = P + p * j  (k the dilated kernel span)

def test_rf_conv_chain_with_dilation():
    rs = rows("""
        conv2d: {out_channels: 2, kernel_size: 3, padding: 1}
        conv2d: {out_channels: 2, kernel_size: 3, dilation: 2, padding: 2}
        conv2d: {out_channels: 2, kernel_size: 3, stride: 2, padding: 1}
        conv2d: {out_channels: 2, kernel_size: 3, dilation: 3}
    """, "[1, 64, 64]")
    # 1: r = 1 + 2*1 = 3, j = 1, P = 0 + 1*1 = 1
    # 2: span 2*2 + 1 = 5: r = 3 + 4*1 = 7, j = 1, P = 1 + 2*1 = 3
    # 3: r = 7 + 2*1 = 9, j = 2, P = 3 + 1*1 = 4
    # 4: span 3*2 + 1 = 7: r = 9 + 6*2 = 21, j = 2, P = 4 + 0 = 4
    expected = [(3, 1, 1), (7, 1, 3), (9, 2, 4), (21, 2, 4)]
    for row, (r, j, p) in zip(rs, expected):
        assert rf(row) == {"size": [r, r], "jump": [j, j], "padding": [p, p]}


def test_rf_pooling_and_padding_layer():
    rs = rows("""
        pad: {padding: 2}
        maxpool2d: {kernel_size: 2}
        conv2d: {out_channels: 1, kernel_size: 3}
    """, "[1, 16, 16]")
    # pad: r = 1, j = 1, P = 2;  pool k2 s2: r = 2, j = 2, P = 2;  conv k3: r = 2 + 2*2 = 6, j = 2, P = 2
    assert rf(rs[-1]) == {"size": [6, 6], "jump": [2, 2], "padding": [2, 2]}


def test_rf_transposed_conv_jump_is_exactly_one_half():
    rs = rows("""
        conv_transpose1d: {out_channels: 1, kernel_size: 4, stride: 2, padding: 1}
        conv1d: {out_channels: 1, kernel_size: 3, stride: 2}
    """, "[1, 8]")
    # Output o reads inputs i with o = 2i - 1 + t, t in 0..3, i.e. the i in [(o - 2)/2, (o + 1)/2]: o = 0 reads
    # -1 and 0, o = 1 reads 0 and 1, and o + 2 reads one further: 2 phases, shift 1, each unit sees 2 inputs.
    # (The affine envelope [o*(1/2) - 1, o*(1/2) - 1 + 5/2 - 1] holding both phases, k = 1 + 3/2 = 5/2,
    # s = 1/2, p = 1, is what the JSON names the envelope; no unit sees 5/2 inputs.)
    assert rs[0].rf.axes[0].jump == Fraction(1, 2)
    assert rf(rs[0]) == {"size": [2], "jump": ["1/2"], "padding": [1], "envelope": ["5/2"],
                         "phases": [{"period": 2, "shift": 1, "sizes": [2, 2], "first": [-1, 0], "last": [0, 1]}]}
    # then k3 s2: output o reads units 2o, 2o + 1 and 2o + 2, which see [o - 1, o], [o, o + 1] and [o, o + 1]: the
    # union is [o - 1, o + 1], size 3, jump 1, padding 1 (the envelopes composed gave 7/2)
    assert rf(rs[1]) == {"size": [3], "jump": [1], "padding": [1]}
    report = archcalc.analyze(archcalc.load(
        "name: t\ninput: [1, 8]\nlayers:\n  - conv_transpose1d: {out_channels: 1, kernel_size: 4, stride: 2, "
        "padding: 1}\n"))
    assert json.loads(json.dumps(report.to_dict()))["layers"][0]["rf"]["jump"] == ["1/2"]


def test_rf_nearest_upsample_x2():
    rs = rows("""
        conv2d: {out_channels: 1, kernel_size: 3}
        upsample: {scale_factor: 2}
    """, "[1, 8, 8]")
    # Output o copies input floor(o/2), which sees [floor(o/2), floor(o/2) + 2]: every unit sees 3 inputs, but
    # units 2m and 2m + 1 see the same ones (2 phases, shift 1). The tightest affine window holding both phases,
    # [o/2 - p, o/2 - p + k - 1], has p = 1/2 (o = 1 starts at 0) and k = 7/2: the envelope, not a field.
    phases = {"period": 2, "shift": 1, "sizes": [3, 3], "first": [0, 0], "last": [2, 2]}
    assert rf(rs[1]) == {"size": [3, 3], "jump": ["1/2", "1/2"], "padding": ["1/2", "1/2"],
                         "envelope": ["7/2", "7/2"], "phases": [phases, phases]}


def test_rf_global_after_global_pool_and_after_flatten_linear():
    rs = rows("""
        conv2d: {out_channels: 2, kernel_size: 3}
        global_avgpool
    """, "[1, 8, 8]")
    assert rf(rs[-1]) == {"size": "global", "jump": "global", "padding": "global"}
    rs = rows("""
        conv2d: {out_channels: 2, kernel_size: 3}
        flatten
        linear: {out_features: 3}
    """, "[1, 8, 8]")
    assert rf(rs[1]) == {"size": [3, 3], "jump": [1, 1], "padding": [0, 0]}  # flatten moves, does not mix
    assert rf(rs[2]) == {"size": "global", "jump": "global", "padding": "global"}


def test_rf_linear_on_last_axis_only():
    r = one("linear: {out_features: 3}", "[2, 5, 7]")
    # mixes only the last dimension (spatial axis 1)
    assert rf(r) == {"size": [1, "global"], "jump": [1, "global"], "padding": [0, "global"]}


# ---------------------------------------------------------------- coverage and torch

LISTED_TYPES = {  # the types this file covers, as listed in its brief
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "linear",
    "maxpool1d", "maxpool2d", "maxpool3d", "avgpool1d", "avgpool2d", "avgpool3d",
    "adaptive_avgpool1d", "adaptive_avgpool2d", "adaptive_avgpool3d", "adaptive_maxpool1d",
    "adaptive_maxpool2d", "adaptive_maxpool3d", "global_avgpool", "global_maxpool",
    "batchnorm1d", "batchnorm2d", "batchnorm3d", "layernorm", "groupnorm",
    "instancenorm1d", "instancenorm2d", "instancenorm3d", "softmax", "dropout", "dropout1d", "dropout2d",
    "dropout3d", "flatten", "reshape", "identity", "pad", "upsample",
}


def test_listed_types_exist():
    from archcalc.layers import REGISTRY
    assert LISTED_TYPES <= set(REGISTRY)


# (input per sample, archcalc layer, torch module factory)
TORCH_CASES = [
    ("[3, 9, 10]", "conv2d: {out_channels: 2, kernel_size: 3, stride: 2, padding: [1, 0]}",
     lambda nn: nn.Conv2d(3, 2, 3, 2, (1, 0))),
    ("[1, 7, 7]", "conv2d: {out_channels: 4, kernel_size: 4, padding: same}",
     lambda nn: nn.Conv2d(1, 4, 4, padding="same")),
    ("[1, 10, 10]", "conv2d: {out_channels: 1, kernel_size: 3, dilation: 2}",
     lambda nn: nn.Conv2d(1, 1, 3, dilation=2)),
    ("[8, 6, 6]", "conv2d: {out_channels: 8, kernel_size: 3, groups: 8, padding: 1, bias: false}",
     lambda nn: nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)),
    ("[4, 100]", "conv1d: {out_channels: 8, kernel_size: 5, stride: 2}", lambda nn: nn.Conv1d(4, 8, 5, 2)),
    ("[2, 8, 8, 8]", "conv3d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1}",
     lambda nn: nn.Conv3d(2, 4, 3, 2, 1)),
    ("[8, 5, 5]", "conv_transpose2d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1, output_padding: 1}",
     lambda nn: nn.ConvTranspose2d(8, 4, 3, 2, 1, 1)),
    ("[4, 3, 3]", "conv_transpose2d: {out_channels: 6, kernel_size: 2, stride: 2, groups: 2}",
     lambda nn: nn.ConvTranspose2d(4, 6, 2, 2, groups=2)),
    ("[2, 10]", "conv_transpose1d: {out_channels: 3, kernel_size: 3, dilation: 2, bias: false}",
     lambda nn: nn.ConvTranspose1d(2, 3, 3, bias=False, dilation=2)),
    ("[2, 3, 3, 3]", "conv_transpose3d: {out_channels: 2, kernel_size: 2, stride: 2}",
     lambda nn: nn.ConvTranspose3d(2, 2, 2, 2)),
    ("[4, 7, 16]", "linear: {out_features: 8}", lambda nn: nn.Linear(16, 8)),
    ("[3, 7, 7]", "maxpool2d: {kernel_size: 2, stride: 2, ceil_mode: true}",
     lambda nn: nn.MaxPool2d(2, 2, ceil_mode=True)),
    ("[2, 5]", "maxpool1d: {kernel_size: 3, stride: 3, padding: 1, ceil_mode: true}",
     lambda nn: nn.MaxPool1d(3, 3, 1, ceil_mode=True)),
    ("[1, 9, 9]", "maxpool2d: {kernel_size: 3, stride: 1, padding: 1, dilation: 2}",
     lambda nn: nn.MaxPool2d(3, 1, 1, dilation=2)),
    ("[4, 4, 6, 8]", "maxpool3d: {kernel_size: 2}", lambda nn: nn.MaxPool3d(2)),
    ("[2, 8, 8]", "avgpool2d: {kernel_size: 3, stride: 2, padding: 1}", lambda nn: nn.AvgPool2d(3, 2, 1)),
    ("[3, 11]", "avgpool1d: {kernel_size: 4, stride: 2, ceil_mode: true}",
     lambda nn: nn.AvgPool1d(4, 2, ceil_mode=True)),
    ("[2, 3, 4, 4]", "avgpool3d: {kernel_size: [1, 2, 2]}", lambda nn: nn.AvgPool3d((1, 2, 2))),
    ("[4, 5]", "adaptive_avgpool1d: {output_size: 3}", lambda nn: nn.AdaptiveAvgPool1d(3)),
    ("[3, 5, 8]", "adaptive_maxpool2d: {output_size: [null, 2]}", lambda nn: nn.AdaptiveMaxPool2d((None, 2))),
    ("[2, 2, 3, 4]", "adaptive_avgpool3d: {output_size: 1}", lambda nn: nn.AdaptiveAvgPool3d(1)),
    ("[16, 4, 4]", "global_maxpool: {keepdims: true}", lambda nn: nn.AdaptiveMaxPool2d(1)),
    ("[8, 4, 4]", "batchnorm2d", lambda nn: nn.BatchNorm2d(8)),
    ("[8, 10]", "batchnorm1d", lambda nn: nn.BatchNorm1d(8)),
    ("[4, 2, 2, 2]", "batchnorm3d", lambda nn: nn.BatchNorm3d(4)),
    ("[8, 4, 4]", "batchnorm2d: {affine: false}", lambda nn: nn.BatchNorm2d(8, affine=False)),
    ("[3, 4, 4]", "layernorm: {normalized_shape: [4, 4], bias: false}", lambda nn: nn.LayerNorm([4, 4], bias=False)),
    ("[8, 5, 5]", "groupnorm: {num_groups: 4}", lambda nn: nn.GroupNorm(4, 8)),
    ("[8, 5]", "instancenorm1d: {affine: true, track_running_stats: true}",
     lambda nn: nn.InstanceNorm1d(8, affine=True, track_running_stats=True)),
    ("[8, 5, 5]", "instancenorm2d", lambda nn: nn.InstanceNorm2d(8)),
    ("[3, 4, 5]", "flatten: {start_dim: 2}", lambda nn: nn.Flatten(2)),
    ("[3, 4, 4]", "pad: {padding: [[1, 2], [0, 3]]}", lambda nn: nn.ZeroPad2d((0, 3, 1, 2))),
    ("[3, 5]", "upsample: {scale_factor: 1.5}", lambda nn: nn.Upsample(scale_factor=1.5)),
    ("[3, 4, 4]", "upsample: {size: [6, 10], mode: bilinear}", lambda nn: nn.Upsample((6, 10), mode="bilinear")),
    ("[1, 2, 2, 2]", "upsample: {scale_factor: 2, mode: trilinear}",
     lambda nn: nn.Upsample(scale_factor=2, mode="trilinear")),
    ("[3, 5, 7]", "softmax: {dim: 1}", lambda nn: nn.Softmax(1)),
]


@pytest.mark.parametrize("input, layer, make", TORCH_CASES, ids=[c[1].split(":")[0] + f"-{i}"
                                                                  for i, c in enumerate(TORCH_CASES)])
@pytest.mark.filterwarnings("ignore::UserWarning")  # torch on padding='same' with an even kernel
def test_torch_agrees(input, layer, make):
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode
    module = make(torch.nn).eval()
    shape = json.loads(input)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = module(torch.zeros(2, *shape))
    r = one(layer, input, batch=2)
    assert r.output_shape == tuple(y.shape)
    assert r.params == sum(p.numel() for p in module.parameters())
    assert r.buffers == sum(b.numel() for b in module.buffers())
    if layer.startswith(("conv", "linear")):  # FlopCounterMode counts only their multiply-accumulates, x2
        assert 2 * r.macs == counter.get_total_flops()


def test_torch_avgpool3d_refuses_input_smaller_than_kernel_before_padding():
    """A documented difference: torch's avg_pool3d rejects a depth below the kernel even when padding would
    make the window fit; archcalc (like avg_pool2d) follows the padded-size formula."""
    torch = pytest.importorskip("torch")
    r = one("avgpool3d: {kernel_size: 3, padding: 1}", "[1, 2, 4, 4]")
    assert r.output_shape == (1, 1, 1, 2, 2)  # stride = kernel = 3: D (2 + 2 - 3) // 3 + 1 = 1, H W 2
    with pytest.raises(RuntimeError):
        torch.nn.AvgPool3d(3, padding=1)(torch.zeros(1, 1, 2, 4, 4))


def test_error_types_are_archcalc_errors():
    with pytest.raises(ArchcalcError):
        one("conv2d: {out_channels: 2, kernel_size: 9}", "[1, 4, 4]")
