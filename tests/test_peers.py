"""The counting presets against the tools they describe, run on archcalc's own exports.

For every spec in specs/ (and the cases below): export it (archcalc export --to pytorch), build the module (seeded,
eval mode), check that its parameters, buffers and output shape are archcalc's, then run each counter on it and
assert that archcalc's total under the matching preset equals the tool's total exactly. How each tool is run, and
the reduced sizes the zoo runs at (SIZES), are in tests/peer_tools.py, which tests/test_peers_torchvision.py shares.

archcalc's side is archcalc.analyze(network, convention=archcalc.preset.load(tool)) on the very network that was
exported (same overrides). The input is the export's example_input() (random token ids for a token input).

The cases:
- every zoo spec, at batch 1;
- four of them at batch 2 or 3 (ptflops divides module counts by the batch but not functional ones);
- LAYERS: small specs that use every layer type and option the zoo does not, and every form a layer's `call` can
  name (module, function, reduction, parameter, explicit), so that every rule of every preset is exercised. Every
  layer's output reaches the network output there: fvcore counts from a JIT trace, which drops dead code.
Not described by the presets, so not in the cases (the preset notes say why): Keras' "same" pooling (exported with
F.pad or a helper function), fractional upsampling factors under ptflops, broadcast matmuls and non-bmm einsums
under fvcore.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from peer_tools import IMAGE, SIZES, TOOLS, check, measure, preset_total, quiet
from torchvision_oracle import models

import archcalc

torch = pytest.importorskip("torch")
# ptflops imports torchvision.ops when torchvision is installed, and torchvision 0.28.0's package __init__ raises
# against this torch (tests/torchvision_oracle.py says why): register its bare package first, as the oracle does.
models()

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))

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
    "pixel_shuffle": """
input: [3, 12, 10]
batch: 2
layers:
  - conv2d: {out_channels: 18, kernel_size: 3, padding: 1}
  - pixel_shuffle: {upscale_factor: 3}
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - pixel_unshuffle: {downscale_factor: 2}
  - conv2d: {out_channels: 4, kernel_size: 1}
  - pixel_shuffle: {upscale_factor: 1}
""",
    "pixel_shuffle_channels_last": """
layout: channels_last
input: [8, 6, 4]
layers:
  - pixel_unshuffle: {downscale_factor: 2}
  - conv2d: {out_channels: 12, kernel_size: 3, padding: 1}
  - pixel_shuffle: {upscale_factor: 2}
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
    # The forms a layer's `call` names besides the default, batched (ptflops divides module counts, not functions').
    "activation_functions": """
input: [4, 6]
batch: 2
layers:
  - relu: {call: function}
  - relu6: {call: function}
  - sigmoid: {call: function}
  - tanh: {call: function}
  - silu: {call: function}
  - hardswish: {call: function}
  - hardsigmoid: {call: function}
  - leaky_relu: {negative_slope: 0.2, call: function}
  - elu: {alpha: 0.5, call: function}
  - gelu: {call: function}
  - gelu: {approximate: tanh, call: function}
  - hardtanh: {min_val: -2, max_val: 2, call: function}
  - softmax: {dim: 1, call: function}
  - softmax: {call: function}
  - relu6  # the modules again, between functions
  - leaky_relu
  - softmax: {dim: -2}
  - relu: {call: bound}
  - relu6: {call: bound}
  - sigmoid: {call: bound}
  - tanh: {call: bound}
  - silu: {call: bound}
  - hardswish: {call: bound}
  - hardsigmoid: {call: bound}
  - leaky_relu: {negative_slope: 0.3, call: bound}
  - elu: {call: bound}
  - gelu: {call: bound}
  - gelu: {approximate: tanh, call: bound}
  - hardtanh: {call: bound}
  - softmax: {dim: 1, call: bound}
""",
    "pool_functions": """
input: [3, 20]
batch: 2
layers:
  - maxpool1d: {kernel_size: 3, stride: 2, padding: 1, dilation: 2, ceil_mode: true, call: function}
  - avgpool1d: {kernel_size: 3, stride: 2, padding: 1, count_include_pad: false, ceil_mode: true, call: function}
  - avgpool1d: {kernel_size: 2, padding: 1, divisor_override: 3, call: function}
  - adaptive_maxpool1d: {output_size: 3, call: function}
  - adaptive_avgpool1d: {output_size: 2, call: function}
  - global_maxpool: {keepdims: true, call: function}
  - upsample: {size: 15, call: function}
  - global_avgpool: {keepdims: true, call: reduction}
  - upsample: {scale_factor: 12, call: function}
  - reshape: {shape: [3, 4, 3]}
  - avgpool2d: {kernel_size: 2, stride: 1, padding: 1, divisor_override: 3, ceil_mode: true, call: function}
  - maxpool2d: {kernel_size: 2, padding: valid, call: function}
  - adaptive_maxpool2d: {output_size: [3, null], call: function}
  - adaptive_avgpool2d: {output_size: 2, call: function}
  - global_maxpool: {keepdims: true, call: reduction}
  - upsample: {size: [5, 6], mode: bilinear, call: function}
  - global_avgpool: {keepdims: true, call: function}
  - reshape: {shape: [3, 1, 1, 1]}
  - upsample: {scale_factor: 4, call: function}
  - maxpool3d: {kernel_size: 2, call: function}
  - avgpool3d: {kernel_size: [1, 2, 2], padding: [0, 1, 1], count_include_pad: false, call: function}
  - upsample: {size: [4, 3, 6], mode: trilinear, call: function}
  - adaptive_maxpool3d: {output_size: [2, 2, 3], call: function}
  - adaptive_avgpool3d: {output_size: 1, call: function}
  - reshape: {shape: [3, 1, 1, 1, 1]}
  - global_avgpool: {call: reduction}  # four spatial axes: a reduction is the only form
""",
    "more_functions": """
input: [4, 6, 5]
batch: 2
layers:
  - layernorm: {normalized_shape: [6, 5], call: function}
  - layernorm: {bias: false, call: function}
  - layernorm: {normalized_shape: 5, elementwise_affine: false, call: function}
  - upsample: {size: [7, 9], mode: bicubic, call: function}
  - upsample: {size: [4, 3], mode: nearest-exact, call: function}
  - dropout: {p: 0.3, call: function}
  - dropout2d: {p: 0.1, call: function}
  - stochastic_depth: {p: 0.2, call: module}
  - flatten: {start_dim: 2, call: module}
  - dropout1d: {call: function}
  - reshape: {shape: [4, 2, 3, 2]}
  - dropout3d: {call: function}
  - flatten: {call: module}
""",
    "parameters": """
input: [6]
batch: 2
layers:
  - embedding: {num_embeddings: 50, embedding_dim: 8}
  - positional_embedding: {max_positions: 10, call: parameter}
  - class_token: {tokens: 2, call: parameter}
  - scale: {dim: -1, bias: true, call: parameter}
  - scale: {dim: 1, call: parameter}
  - linear: {out_features: 5}
""",
    "attention_forms": """
input: [6, 32]
batch: 2
layers:
  - multihead_attention: {num_heads: 4, call: explicit}
  - multihead_attention: {num_heads: 4, qkv: separate}  # nn.MultiheadAttention by default, as qkv: fused
  - multihead_attention: {num_heads: 4, qkv: separate, call: explicit}
  - multihead_attention: {num_heads: 1, qkv: separate, call: module}  # one head: torch's slow path
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


def test_every_call_form_is_checked():
    """Each form a layer type's `call` names (module, function, ...) is in a case above, so that every preset's rule
    is checked on each form of the op the export writes."""
    from archcalc.layers import LAYER_TYPES
    forms = {(name, form) for name, entry in LAYER_TYPES.load_all().items() if "call" in entry.model.FIELDS
             for form in call_forms(entry.model)}
    assert len(forms) > 40  # activations, pools, norms, dropout, flatten, upsample, parameters, attention
    seen = set()
    for case in CASES:
        for row in archcalc.analyze(network(case)).layers:
            if "call" in type(row.spec).FIELDS:
                form = row.spec.call or ("module" if row.spec.torch_native else "explicit")  # attention's default
                seen.add((row.type, form))
    assert forms - seen == set()


def call_forms(model) -> list[str]:
    json = model.FIELDS["call"].kind.json
    return json.get("enum") or next(a["enum"] for a in json["anyOf"] if "enum" in a)


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
    net, model, x = prepared(case)
    want = preset_total(net, tool)
    check(tool, measure(tool, model, x, case), want, case)
