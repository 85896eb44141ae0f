"""The counting presets against the tools they describe, run on archcalc's own exports.

For every spec in specs/ (and the cases below): export it (archcalc export --to pytorch), build the module (seeded,
eval mode), check that its parameters, buffers and output shape are archcalc's, then run each counter on it and
assert that archcalc's total under the matching preset equals the tool's total exactly:

    torch      FlopCounterMode(display=False).get_total_flops(), eval, under torch.no_grad()  vs .totals.flops
    fvcore     FlopCountAnalysis(model, (x,)).total()                                         vs .totals.macs
    ptflops    get_model_complexity_info(model, input_res, as_strings=False,
               print_per_layer_stat=False)[0], pytorch backend                                 vs .totals.macs
    thop       thop.profile(model, inputs=(x,))[0]                                            vs .totals.macs
    torchinfo  summary(model, input_data=x, verbose=0).total_mult_adds                        vs .totals.macs

archcalc's side is archcalc.analyze(network, convention=archcalc.preset.load(tool)) on the very network that was
exported (same overrides). Each tool gets its own copy of the pristine module (thop and ptflops attach buffers,
hooks and attributes). The input is the export's example_input() (random token ids for a token input); ptflops gets
it through input_constructor, its input_res being the per-sample shape (it adds the batch itself). ptflops returns
int() of a float total, so its preset total is compared floored (only a batch > 1 makes it fractional). Where a tool
cannot run a case at all (it raises, or ptflops reports that its run failed), that one pair is skipped with the
tool's error as the reason; a number that differs is always a failure.

The cases:
- every zoo spec, at batch 1;
- four of them at batch 2 or 3 (ptflops divides module counts by the batch but not functional ones);
- LAYERS: small specs that use every layer type and option the zoo does not, so that every rule of every preset
  is exercised. Every layer's output reaches the network output there: fvcore counts from a JIT trace, which drops
  dead code.
Not described by the presets, so not in the cases (the preset notes say why): Keras' "same" pooling (exported with
F.pad or a helper function), fractional upsampling factors under ptflops, broadcast matmuls and non-bmm einsums
under fvcore.

Sizes. The tools really compute on the CPU (fvcore traces, ptflops and thop run forward hooks), so the zoo runs at
reduced sizes where a spec has variables for it (SIZES). A reduced size changes only the shapes each layer sees,
never which layers there are, which torch module each becomes or which rule of a tool counts it; each rule is an
expression in those shapes, so it is checked all the same. The sizes keep each network's structure: every adaptive
pool maps its input as at full size (VGG and AlexNet stay at 224 x 224, where theirs is an identity), inception_v3
stays above its 75-pixel minimum, U-Net runs on its smallest valid tile, and the transformers keep their head
counts, so that per-head splits and torch's even-heads fast-path condition are those of the full models (narrower
heads, fewer layers, shorter sequences, smaller vocabularies). ResNet-50 runs at full size, where
tests/test_conventions.py checks the presets against each tool's published figure for torchvision's ResNet-50.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import io
import logging
import math
import re
import warnings
from pathlib import Path

import pytest
from torchvision_oracle import models

import archcalc
from archcalc.preset import load

torch = pytest.importorskip("torch")
# ptflops imports torchvision.ops when torchvision is installed, and torchvision 0.28.0's package __init__ raises
# against this torch (tests/torchvision_oracle.py says why): register its bare package first, as the oracle does.
models()

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
TOOLS = ("torch", "fvcore", "ptflops", "thop", "torchinfo")

IMAGE = {"H": 64, "W": 64}
SIZES: dict[str, dict] = {
    "alexnet": {},  # 224: its adaptive pool is 6 x 6 -> 6 x 6 only there
    "bert_base": {"T": 32, "vocab": 500, "max_positions": 64, "width": 96, "depth": 2},
    "convnet1d": {},
    "convnext_tiny": IMAGE,
    "densenet121": IMAGE,
    "densenet161": IMAGE,
    "densenet169": IMAGE,
    "densenet201": IMAGE,
    "efficientnet_b0": IMAGE,
    "efficientnet_b1": IMAGE,
    "googlenet": IMAGE,
    "gpt2": {"T": 32, "vocab": 500, "n_ctx": 64, "width": 96, "depth": 2},
    "gpt_kaplan": {"n_layer": 2, "d_model": 96, "d_attn": 96, "d_ff": 384, "n_ctx": 32, "n_vocab": 500},
    "inception_v3": {"H": 107, "W": 107},
    "lenet5": {},
    "llama2_7b": {"T": 16, "vocab": 500, "width": 128, "depth": 2, "ffn": 344},
    "lstm_lm": {"vocab": 1000, "hidden": 128},
    "mnasnet0_5": IMAGE,
    "mnasnet1_0": IMAGE,
    "mobilenet_v2": IMAGE,
    "mobilenet_v3_large": IMAGE,
    "mobilenet_v3_small": IMAGE,
    "regnet_x_400mf": IMAGE,
    "regnet_y_400mf": IMAGE,
    "resnet101": IMAGE,
    "resnet152": IMAGE,
    "resnet18": IMAGE,
    "resnet34": IMAGE,
    "resnet50": {},  # full size: the figures tests/test_conventions.py checks against torchvision's
    "resnext50_32x4d": IMAGE,
    "resnext101_32x8d": IMAGE,
    "shufflenet_v2_x0_5": IMAGE,
    "shufflenet_v2_x1_0": IMAGE,
    "squeezenet1_0": IMAGE,
    "squeezenet1_1": IMAGE,
    "tcn": {},
    "unet": {"H": 188, "W": 188},  # the smallest valid tile
    "vgg11": {},
    "vgg11_bn": {},
    "vgg13": {},
    "vgg13_bn": {},
    "vgg16": {},
    "vgg16_bn": {},
    "vgg19": {},
    "vgg19_bn": {},
    "vit_b_16": {"image": 64, "depth": 2},
    "vit_b_32": {"image": 96, "depth": 2},
    "wide_resnet50_2": IMAGE,
    "wide_resnet101_2": IMAGE,
}


# Beyond the zoo: each layer type and option the zoo does not use, in small specs (one forward is microseconds).
# Every layer's output reaches the network's output: fvcore counts from a JIT trace, which drops dead code.
LAYERS: dict[str, str] = {
    "channels_last": """
layout: channels_last
input: [12, 10, 3]
layers:
  - conv2d: {out_channels: 8, kernel_size: 3, stride: 2, padding: 1}
  - batchnorm2d
  - relu
  - conv_transpose2d: {out_channels: 4, kernel_size: 2, stride: 2}
  - softmax: {dim: 1}
""",
    "keras_convolutions": """
layout: channels_last
input: [12, 10, 3]
layers:
  - DepthwiseConv2D: {kernel_size: 3, depth_multiplier: 2, padding: same}
  - SeparableConv2D: {filters: 6, kernel_size: 3, strides: 2}
  - ReLU: {max_value: 4}
  - Cropping2D: {cropping: [[1, 0], [0, 2]]}
  - Conv2DTranspose: {filters: 4, kernel_size: 3, strides: 2, padding: same}
  - Conv2DTranspose: {filters: 3, kernel_size: 2, strides: 3}
  - Conv2DTranspose: {filters: 2, kernel_size: 4, strides: 2, padding: same, output_padding: 1}
  - LayerNormalization
""",
    "keras_sequences": """
layout: channels_last
input: [16, 3]
layers:
  - Conv1D: {filters: 4, kernel_size: 3, padding: causal, dilation_rate: 2}
  - Bidirectional: {layer: {LSTM: {units: 5, return_sequences: true}}}
  - SimpleRNN: {units: 4, return_sequences: true}
  - GRU: {units: 3, return_sequences: true}
  - LSTM: {units: 3}
""",
    "conv1d": """
input: [4, 17]
layers:
  - conv1d: {out_channels: 6, kernel_size: 4, stride: 2, padding: same}
  - conv1d: {out_channels: 6, kernel_size: 3, dilation: 2, groups: 2, bias: false, padding: same, padding_mode: reflect}
  - conv_transpose1d: {out_channels: 2, kernel_size: 5, stride: 3, output_padding: 2}
""",
    "conv2d": """
input: [3, 15, 12]
layers:
  - conv2d: {out_channels: 8, kernel_size: [3, 5], stride: [2, 1], padding: [1, 2], dilation: [1, 2]}
  - conv2d: {out_channels: 8, kernel_size: 3, stride: 2, padding: same, groups: 8}
  - conv2d: {out_channels: 4, kernel_size: 2, padding: same, padding_mode: circular}
  - conv_transpose2d: {out_channels: 6, kernel_size: [3, 4], stride: [2, 3], padding: [1, 0], output_padding: [1, 2],
                       groups: 2, bias: false}
  - conv_transpose2d: {out_channels: 3, kernel_size: 3, dilation: 2}
""",
    "conv3d": """
input: [2, 6, 7, 8]
batch: 2
layers:
  - conv3d: {out_channels: 4, kernel_size: 3, padding: 1, stride: [1, 2, 2]}
  - conv_transpose3d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1, output_padding: 1, groups: 2}
""",
    "pools": """
input: [3, 20]
batch: 2
layers:
  - maxpool1d: {kernel_size: 3, stride: 2, padding: 1, dilation: 2, ceil_mode: true}
  - avgpool1d: {kernel_size: 3, stride: 2, padding: 1, count_include_pad: false, ceil_mode: true}
  - avgpool1d: {kernel_size: 2, padding: 1, divisor_override: 3}
  - adaptive_maxpool1d: {output_size: 3}
  - adaptive_avgpool1d: {output_size: 2}
  - global_maxpool: {keepdims: true}
  - upsample: {size: 15}
  - reshape: {shape: [3, 5, 3]}
  - avgpool2d: {kernel_size: 2, stride: 1, padding: 1, divisor_override: 3, ceil_mode: true}
  - maxpool2d: {kernel_size: 2, padding: valid}
  - adaptive_maxpool2d: {output_size: [3, null]}
  - adaptive_avgpool2d: {output_size: 2}
  - global_avgpool: {keepdims: true}
  - reshape: {shape: [3, 1, 1, 1]}
  - upsample: {scale_factor: 4}
  - maxpool3d: {kernel_size: 2}
  - avgpool3d: {kernel_size: [1, 2, 2], padding: [0, 1, 1], count_include_pad: false}
  - adaptive_maxpool3d: {output_size: [2, 2, 3]}
  - adaptive_avgpool3d: {output_size: 1}
  - global_avgpool
""",
    "norms": """
input: [4, 6, 5]
layers:
  - batchnorm2d: {eps: 1.0e-3, momentum: 0.01}
  - batchnorm2d: {affine: false, num_batches_tracked: false}
  - batchnorm2d: {track_running_stats: false}
  - instancenorm2d: {affine: true, track_running_stats: true}
  - instancenorm2d
  - groupnorm: {num_groups: 2, eps: 1.0e-6}
  - groupnorm: {num_groups: 4, affine: false}
  - layernorm: {normalized_shape: [6, 5], bias: false}
  - layernorm: {normalized_shape: 5, elementwise_affine: false}
  - rmsnorm: {normalized_shape: 5, eps: 1.0e-6}
  - rmsnorm: {normalized_shape: [6, 5], elementwise_affine: false}
  - flatten
  - batchnorm1d
  - reshape: {shape: [8, 15]}
  - instancenorm1d
  - dropout1d
  - batchnorm
  - reshape: {shape: [3, 2, 4, 5]}
  - dropout3d
  - batchnorm3d
  - instancenorm3d: {affine: true}
""",
    "activations": """
input: [4, 6]
batch: 2
layers:
  [relu, relu6, sigmoid, tanh, silu, hardswish, hardsigmoid, {leaky_relu: {negative_slope: 0.2}},
   {elu: {alpha: 0.5}}, gelu, {gelu: {approximate: tanh}}, {softmax: {dim: 1}}, softmax, {softmax: {dim: -2}}]
""",
    "moving_data": """
input: [8, 6, 4]
layers:
  - channel_shuffle: {groups: 4}
  - chunk: {chunks: 3, index: 2, dim: 1}
  - pad: {padding: [[1, 2], 0], mode: reflect}
  - pad: {padding: 1, value: 0.5}
  - dropout2d: {p: 0.1}
  - stochastic_depth: {p: 0.2}
  - crop: {size: [5, 4]}
  - scale: {dim: 1, bias: true}
  - permute: {dims: [0, 2, 3, 1]}
  - scale: {dim: -1}
  - dropout: {p: 0.3}
  - select: {dim: 2, index: -1}
  - reshape: {shape: [-1, 2]}
  - flatten: {start_dim: 1, end_dim: 2}
  - identity
""",
    "upsample": """
input: [2, 5, 6]
layers:
  - upsample: {scale_factor: 2}
  - upsample: {size: [12, 14], mode: bilinear, align_corners: true}
  - upsample: {size: [7, 9], mode: bicubic}
  - upsample: {size: [4, 3], mode: nearest-exact}
  - flatten: {start_dim: 2}
  - upsample: {scale_factor: 3, mode: linear}
  - reshape: {shape: [2, 3, 4, 3]}
  - upsample: {size: [4, 3, 6], mode: trilinear}
""",
    "merges": """
input: [4, 3, 3]
batch: 2
layers:
  - identity: {name: x0}
  - global_avgpool: {name: g}
  - linear: {name: v, out_features: 3}
  - add: {name: broadcast, inputs: [x0, v]}
  - global_maxpool: {name: gm, keepdims: true, from: x0}
  - mul: {name: gated, inputs: [broadcast, gm, gm]}
  - concat: {inputs: [., x0], dim: 2}
  - concat: {inputs: [., .], dim: -1}
  - conv2d: {out_channels: 4, kernel_size: 1}
  - parallel:
      branches:
        a: [{conv2d: {out_channels: 2, kernel_size: 1}}]
        b: []
      merge: {concat: {dim: 1}}
  - residual:
      body: [{conv2d: {out_channels: 6, kernel_size: 3, padding: 1}}]
      shortcut: [{conv2d: {out_channels: 6, kernel_size: 1}}]
  - parallel:
      branches: [[sigmoid], [tanh]]
      merge: mul
""",
    "products": """
input: [3, 4, 5]
batch: 2
layers:
  - identity: {name: a}
  - linear: {name: q, out_features: 8}
  - linear: {name: k, out_features: 8, from: a}
  - matmul: {name: scores, inputs: [q, k], transpose_b: true}
  - matmul: {name: mixed, inputs: [scores, a]}
  - select: {name: row, dim: 1, index: 0}
  - einsum: {name: gram, equation: "ij,ik->jk", inputs: [row, row]}
  - einsum: {name: back, equation: "ij,kj->ki", inputs: [gram, row]}
  - select: {name: vec, dim: 1, index: 0}
  - matmul: {name: mat_vec, inputs: [back, vec]}
""",
    "tokens": """
input: [6]
batch: 2
layers:
  - embedding: {name: wte, num_embeddings: 50, embedding_dim: 8, padding_idx: 0}
  - linear: {name: proj, out_features: 8, bias: false}
  - embedding: {name: again, num_embeddings: 8, embedding_dim: 8, tied_to: proj, from: input}
  - add: {inputs: [proj, again]}
  - positional_embedding: {max_positions: 10}
  - class_token: {tokens: 2}
  - positional_embedding
  - linear: {name: head, out_features: 50, bias: false, tied_to: wte}
""",
    "attention": """
variables: {T: 6, d: 32}
input: [T, d]
batch: 2
layers:
  - multihead_attention: {num_heads: 4}
  - multihead_attention: {num_heads: 4, kv_heads: 2, head_dim: 6, qkv: separate, bias: false, causal: true,
                          rotary: true}
  - multihead_attention: {num_heads: 4, kv_heads: 1, causal: true, window: 3}
  - multihead_attention: {num_heads: 2, out_proj: false, causal: true, cache: 5, window: 4}
  - multihead_attention: {num_heads: 2, cache: 3}
  - linear: {out_features: 40}
  - scaled_dot_product_attention: {num_heads: 2, kv_heads: 1, head_dim: 10, causal: true, cache: 3}
  - linear: {out_features: 36}
  - scaled_dot_product_attention: {num_heads: 2, head_dim: 6}
  - linear: {out_features: 12}
  - scaled_dot_product_attention: {num_heads: 1, head_dim: 4, causal: true, window: 2}
""",
    "attention_odd_heads": """
input: [5, 12]
batch: 2
layers:
  - multihead_attention: {num_heads: 3}
  - multihead_attention: {num_heads: 1}
""",
    "decode_step": """
variables: {T: 1, d: 32}
input: [T, d]
layers:
  - multihead_attention: {num_heads: 4, kv_heads: 2, qkv: separate, bias: false, causal: true, cache: 9, rotary: true}
  - multihead_attention: {num_heads: 4, causal: true, cache: 9, window: 4}
""",
    "mlps": """
input: [5, 12]
batch: 2
layers:
  - gated_mlp: {hidden_features: 20}
  - gated_mlp: {hidden_features: 20, activation: gelu_tanh, bias: true, out_features: 8}
  - gated_mlp: {hidden_features: 16, gated: false, activation: relu}
  - gated_mlp: {hidden_features: 16, activation: gelu}
  - moe: {experts: 4, top_k: 2, hidden_features: 10}
  - moe: {experts: 3, top_k: 1, hidden_features: 6, gated: false, activation: gelu, bias: true, out_features: 4}
""",
    "recurrent": """
input: [7, 6]
batch: 2
layers:
  - lstm: {hidden_size: 8, num_layers: 2, bidirectional: true, proj_size: 3, dropout: 0.2}
  - gru: {hidden_size: 5, bias: false}
  - rnn: {hidden_size: 4, nonlinearity: relu, num_layers: 2, bidirectional: true}
  - gru: {hidden_size: 3, num_layers: 2, bidirectional: true}
  - lstm: {hidden_size: 3}
""",
}
# At batch > 1 as well: ptflops divides its module counts by the batch but not its functional ones.
BATCHED = {"resnet18": {**IMAGE, "batch": 2}, "vit_b_16": {**SIZES["vit_b_16"], "batch": 2},
           "gpt2": {**SIZES["gpt2"], "B": 2}, "lstm_lm": {**SIZES["lstm_lm"], "batch": 3}}

CASES = [*SPECS, *(f"{spec}@batch" for spec in BATCHED), *(f"layers:{name}" for name in LAYERS)]


def test_every_zoo_spec_has_a_size():
    assert set(SIZES) == set(SPECS)


def test_every_layer_type_is_checked():
    """Each layer type of the catalogue is in a case above, so every rule of every preset is exercised."""
    from archcalc.layers import LAYER_TYPES
    seen = {row.type for case in CASES for row in archcalc.analyze(network(case)).layers}
    assert set(LAYER_TYPES) - seen == set()


def network(case: str):
    if case.startswith("layers:"):
        name = case.removeprefix("layers:")
        return archcalc.load(f"name: {name}\n" + LAYERS[name].lstrip("\n"))
    spec, batched = case.removesuffix("@batch"), case.endswith("@batch")
    return archcalc.load(ROOT / "specs" / f"{spec}.yaml", **(BATCHED[spec] if batched else SIZES[spec]))


@functools.lru_cache(maxsize=1)  # the cases run one after another: one pristine module at a time
def prepared(case: str):
    """(network, pristine eval-mode module, example input) for a case."""
    from archcalc.export import export
    net = network(case)
    source = export(net)
    namespace: dict = {"__name__": "archcalc_peers_test"}
    exec(compile(source, f"<archcalc export {case}>", "exec"), namespace)
    cls = namespace[re.search(r"model = (\w+)\(\)\.eval\(\)", source).group(1)]
    torch.manual_seed(0)
    model = cls().eval()
    return net, model, namespace["example_input"]()


@contextlib.contextmanager
def quiet():
    """The tools print progress and warnings; their numbers are what is checked."""
    sink = io.StringIO()
    level = logging.getLogger("fvcore").level
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield sink
    finally:
        logging.getLogger("fvcore").setLevel(level)


def run_torch(model, x):
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops()


def run_fvcore(model, x):
    from fvcore.nn import FlopCountAnalysis
    analysis = FlopCountAnalysis(model, (x,))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return analysis.total()


def run_ptflops(model, x):
    from ptflops import get_model_complexity_info
    with quiet() as out:
        macs, _ = get_model_complexity_info(model, tuple(x.shape[1:]), input_constructor=lambda _: x,
                                            as_strings=False, print_per_layer_stat=False, backend="pytorch")
    if macs is None:  # ptflops catches the model's exception, prints it and returns None
        raise RuntimeError(out.getvalue().strip().splitlines()[-1])
    return macs


def run_thop(model, x):
    import thop
    return thop.profile(model, inputs=(x,), verbose=False)[0]


def run_torchinfo(model, x):
    import torchinfo
    return torchinfo.summary(model, input_data=x, verbose=0).total_mult_adds


RUN = {"torch": run_torch, "fvcore": run_fvcore, "ptflops": run_ptflops, "thop": run_thop,
       "torchinfo": run_torchinfo}
PACKAGE = {"fvcore": "fvcore", "ptflops": "ptflops", "thop": "thop", "torchinfo": "torchinfo"}


def preset_total(net, tool: str):
    """archcalc's total under the tool's preset: FLOPs for FlopCounterMode, MACs (as each tool counts) otherwise."""
    totals = archcalc.analyze(net, convention=load(tool)).totals
    return totals.flops if tool == "torch" else totals.macs


@pytest.mark.parametrize("case", CASES)
def test_module_is_archcalcs(case):
    """The exported module has archcalc's parameters (a tied weight once), buffers and output shape."""
    net, model, x = prepared(case)
    report = archcalc.analyze(net)
    with torch.no_grad(), quiet():
        y = model(x)
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    assert sum(b.numel() for b in model.buffers()) == report.totals.buffers
    assert tuple(y.shape) == tuple(report.output_shape)


PAIRS = [(case, tool) for case in CASES for tool in TOOLS]


@pytest.mark.parametrize("case, tool", PAIRS, ids=[f"{c}-{t}" for c, t in PAIRS])
def test_tool_total_is_the_presets(case, tool):
    if tool in PACKAGE:
        pytest.importorskip(PACKAGE[tool])
    net, model, x = prepared(case)
    want = preset_total(net, tool)
    try:
        with quiet():
            got = RUN[tool](copy.deepcopy(model), x)
    except Exception as e:  # noqa: BLE001  the tool cannot run this case: record it, skip only this pair
        pytest.skip(f"{tool} cannot run {case}: {type(e).__name__}: {str(e).strip().splitlines()[0][:200]}")
    if tool == "ptflops":  # ptflops returns int() of its float total; module counts divided by the batch can be
        want = math.floor(want)  # fractional (nn.Upsample's: one sample's output / the batch)
    assert got == want, f"{case}: {tool} reports {got}, archcalc's {tool} preset {want} (difference {got - want})"
