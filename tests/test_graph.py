"""Graph constructs: branches, residuals, named tensors, blocks, repeats, custom layers, Keras names,
hierarchy in reports, and their errors. Expected values are worked out in the comments."""
from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.cli import main


def run(text: str, **overrides):
    return archcalc.analyze(archcalc.load(text), **overrides)


def err(text: str) -> str:
    with pytest.raises(archcalc.ArchcalcError) as info:
        run(text)
    return info.value.format()


HEAD = "name: t\ninput: [4, 8, 8]\n"


def test_residual_identity_adds_and_costs_one_add_per_element() -> None:
    r = run(HEAD + """layers:
  - residual: {body: [{conv2d: {out_channels: 4, kernel_size: 3, padding: 1, bias: false}}]}
""")
    # conv: 4*4*9 = 144 params, 144 * 64 positions = 9216 MACs; add: 4*8*8 = 256 FLOPs
    assert r.totals.params == 4 * 4 * 9
    assert r.totals.macs == 4 * 4 * 9 * 64
    assert r.totals.flops_by_kind["elementwise"] == 4 * 8 * 8
    assert [row.name for row in r.layers] == ["conv2d_1", "add"]  # unnamed residual: names in the parent


def test_parallel_concat_and_named_branches() -> None:
    r = run(HEAD + """layers:
  - parallel:
      name: mix
      branches:
        a: [{conv2d: {out_channels: 2, kernel_size: 1}}]
        b: [{maxpool2d: {kernel_size: 3, stride: 1, padding: 1}}]
      merge: concat
""")
    assert r.output_shape == (1, 2 + 4, 8, 8)
    assert [row.name for row in r.layers] == ["mix.a.conv2d_1", "mix.b.maxpool2d_1", "mix.concat"]
    assert r.blocks[0].name == "mix" and r.blocks[0].totals.params == 4 * 2 + 2


def test_mul_broadcasts_like_squeeze_and_excitation() -> None:
    r = run(HEAD + """layers:
  - parallel:
      branches:
        - []
        - [{global_avgpool: {keepdims: true}}, {conv2d: {out_channels: 4, kernel_size: 1}}, sigmoid]
      merge: mul
""")
    assert r.output_shape == (1, 4, 8, 8)
    assert r.layers[-1].flops == 4 * 8 * 8  # one multiply per output element
    assert r.rf.to_dict()["size"] == "global"  # the gate sees the whole input


def test_merge_shape_mismatch_names_both_branches() -> None:
    message = err(HEAD + """layers:
  - parallel:
      name: p
      branches: {left: [{conv2d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1}}], right: []}
      merge: add
""")
    assert "branch p.left [4, 4, 4]" in message and "branch p.right [4, 8, 8]" in message


def test_named_tensors_from_save_and_inputs() -> None:
    r = run(HEAD + """layers:
  - conv2d: {name: enc, out_channels: 6, kernel_size: 3, padding: 1, save: skip}
  - maxpool2d: {kernel_size: 2}
  - upsample: {scale_factor: 2}
  - concat: {inputs: [skip, "."]}
  - conv2d: {from: enc, name: side, out_channels: 1, kernel_size: 1}
""")
    assert r.layers[3].output_shape == (1, 12, 8, 8)
    assert r.layers[4].output_shape == (1, 1, 8, 8)


def test_unknown_reference_and_self_reference() -> None:
    assert "unknown name 'enx'" in err(HEAD + "layers:\n  - conv2d: {name: enc, out_channels: 4, kernel_size: 1}\n"
                                              "  - concat: {inputs: [enx, '.']}\n")
    assert "did you mean 'enc'" in err(HEAD + "layers:\n  - conv2d: {name: enc, out_channels: 4, kernel_size: 1}\n"
                                             "  - concat: {inputs: [enx, '.']}\n")
    assert "cycle" in err(HEAD + "layers:\n  - concat: {name: c, inputs: [c, '.']}\n")


def test_recursive_block_is_a_cycle() -> None:
    message = err(HEAD + """blocks:
  a: {layers: [b]}
  b: {layers: [a]}
layers: [a]
""")
    assert "a -> b -> a" in message


BLOCK = HEAD + """blocks:
  unit:
    args: {width: int, stride: 1, project: false}
    layers:
      - conv2d: {name: conv, out_channels: width, kernel_size: 3, stride: stride, padding: 1}
      - conv2d: {name: proj, out_channels: width, kernel_size: 1, if: project}
layers:
"""


def test_block_args_repeat_and_index() -> None:
    r = run(BLOCK + '  - unit: {name: stage, repeat: 3, width: "4 * (i + 1)", stride: "2 if i == 0 else 1", '
                    'project: "i == 2"}\n')
    names = [row.name for row in r.layers]
    assert names == ["stage.0.conv", "stage.1.conv", "stage.2.conv", "stage.2.proj"]
    assert [row.output_shape for row in r.layers] == [(1, 4, 4, 4), (1, 8, 4, 4), (1, 12, 4, 4), (1, 12, 4, 4)]
    # conv params: 4*4*9+4=148, 8*4*9+8=296, 12*8*9+12=876; proj 12*12+12=156
    assert r.totals.params == 148 + 296 + 876 + 156
    assert r.blocks[0].totals.params == r.totals.params
    assert [b.name for b in r.blocks[0].children] == ["stage.0", "stage.1", "stage.2"]


def test_block_argument_errors() -> None:
    assert "needs argument 'width'" in err(BLOCK + "  - unit: {stride: 2}\n")
    assert "no argument 'widht'" in err(BLOCK + "  - unit: {widht: 4}\n")
    assert "did you mean 'width'" in err(BLOCK + "  - unit: {widht: 4}\n")
    assert "must be a bool" in err(BLOCK + "  - unit: {width: 4, project: 3}\n")


def test_custom_layer_is_marked_user_defined() -> None:
    r = run(HEAD + """custom:
  s2d:
    args: {block: 2}
    output: ["in0 * block * block", "in1 // block", "in2 // block"]
    macs: "out_numel"
    rf: {kernel: block, stride: block}
layers:
  - s2d
""")
    row = r.layers[0]
    assert row.user_defined and row.output_shape == (1, 16, 4, 4)
    assert row.macs == 16 * 4 * 4 and row.flops == 2 * 16 * 4 * 4  # flops default: 2 * macs
    assert r.rf.to_dict()["size"] == [2, 2] and r.rf.to_dict()["jump"] == [2, 2]
    assert json.loads(json.dumps(r.to_dict()))["layers"][0]["user_defined"] is True


def test_keras_vocabulary_and_channels_last() -> None:
    r = run("""name: k
layout: channels_last
input: [28, 28, 1]
layers:
  - Conv2D: {filters: 8, kernel_size: 3, activation: relu, padding: same}
  - MaxPool2D: {pool_size: 2}
  - max_pooling2d: {pool_size: 2}
  - BatchNormalization
  - Flatten
  - Dense: {units: 10, activation: softmax}
""")
    assert r.input_shape == (1, 28, 28, 1)
    assert r.layers[0].output_shape == (1, 28, 28, 8)  # reported channels last
    # Conv2D 1->8 3x3: 8*9 + 8 = 80; BN: 2*8 params (Keras keeps 2*8 moving statistics, no counter);
    # Dense 8*7*7=392 -> 10: 3930
    assert r.totals.params == 80 + 16 + 3930
    assert r.totals.buffers == 16
    assert [row.type for row in r.layers] == ["conv2d", "relu", "maxpool2d", "maxpool2d", "batchnorm", "flatten",
                                              "linear", "softmax"]


def test_channels_last_holds_keras_order() -> None:
    """Under layout: channels_last the tensor is [H, W, C] for every layer: a custom layer's in0, in1, in2 are H, W, C;
    its windows (and a convolution's) run along H and W; Dense and a reshape act on the tensor as held."""
    r = run("""name: k
layout: channels_last
input: [8, 6, 3]
custom:
  widen:
    output: ["in0", "in1", "in2 * 2"]
    params: "in2"
    macs: 0
    rf: {kernel: [3, 1], stride: 1, padding: [1, 0]}
layers:
  - widen
  - Conv2D: {filters: 4, kernel_size: [1, 5], padding: same}
  - Dense: {units: 7}
  - Reshape: {target_shape: [48, 7]}
""")
    shapes = [row.output_shape[1:] for row in r.layers]
    assert shapes == [(8, 6, 6), (8, 6, 4), (8, 6, 7), (48, 7)]
    assert r.layers[0].params == 3  # in2 is the channels
    # conv 6 -> 4 channels, 1 x 5 kernel: 6*5*4 + 4; dense 4 -> 7: 4*7 + 7
    assert [row.params for row in r.layers[1:3]] == [6 * 5 * 4 + 4, 4 * 7 + 7]
    assert r.layers[2].rf.to_dict()["size"] == [3, 5]  # the custom window on H, the conv's on W; Dense mixes C only


def test_depth_collapses_the_table(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(BLOCK + "  - unit: {name: stage, repeat: 2, width: 4}\n")
    assert main([str(path), "--depth", "1"]) == 0
    out = capsys.readouterr().out
    assert "stage " in out and "stage.0" not in out
    assert main([str(path), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [layer["name"] for layer in data["layers"]] == ["stage.0.conv", "stage.1.conv"]
    assert data["blocks"][0]["children"][1]["layers"] == ["stage.1.conv"]


def test_rf_unaligned_when_branch_jumps_differ() -> None:
    r = run(HEAD + """layers:
  - parallel:
      branches:
        - [{conv2d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1}}, {upsample: {scale_factor: 2}}]
        - [{conv2d: {out_channels: 4, kernel_size: 3, padding: 1}}]
      merge: add
""")
    # left: jump 2 then x2 upsample -> jump 1; right: jump 1. Equal jumps, so the union is defined.
    assert r.rf.to_dict()["jump"] == [1, 1]
    r = run(HEAD + """layers:
  - parallel:
      branches:
        - [{conv2d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1}}, {upsample: {size: 8}}]
        - [{conv2d: {out_channels: 4, kernel_size: 3, stride: 1, padding: 1}}, {avgpool2d: {kernel_size: 1}}]
      merge: add
""")
    assert r.rf.to_dict()["jump"] == [1, 1]
    r = run("name: t\ninput: [4, 8]\nlayers:\n  - parallel:\n      branches:\n"
            "        - [{conv1d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1}},\n"
            "           {pad: {padding: [[0, 4]]}}]\n"
            "        - [{conv1d: {out_channels: 4, kernel_size: 3, padding: 1}}]\n      merge: add\n")
    assert r.rf.to_dict()["size"] == "unaligned"  # jumps 2 and 1 cannot be aligned


def test_two_unnamed_residuals_in_one_block_get_distinct_names() -> None:
    r = run(HEAD + """blocks:
  two:
    layers:
      - residual: {body: [{conv2d: {out_channels: 4, kernel_size: 1}}],
                   shortcut: [{conv2d: {out_channels: 4, kernel_size: 1}}]}
      - residual: {body: [{conv2d: {out_channels: 4, kernel_size: 1}}],
                   shortcut: [{conv2d: {out_channels: 4, kernel_size: 1}}]}
layers: [two]
""")
    names = [row.name for row in r.layers]
    assert len(set(names)) == len(names) == 6
    assert names[2] == "two_1.add" and names[5] == "two_1.add_2"


def test_float_variables_and_arguments_are_exact():
    """A float is the rational it stands for: 0.5 * 16 = 8 channels, max(8, 16 * 0.75) = 12, and the totals are
    plain ints (a float made max() fall through to sympy, giving sympy Floats such as 2218512.00000000)."""
    report = archcalc.analyze(archcalc.load("""name: f
variables: {alpha: 0.5, beta: 0.75}
input: [3, 8, 8]
blocks:
  stem:
    args: {scale: 1.5}
    layers:
      - conv2d: {out_channels: "max(8, 16 * scale * alpha)", kernel_size: 1}
layers:
  - conv2d: {out_channels: "16 * alpha", kernel_size: 1}
  - conv2d: {out_channels: "max(8, 16 * beta)", kernel_size: 1}
  - stem
"""))
    # conv 3->8 (k1): 3*8 + 8 = 32; conv 8->12: 8*12 + 12 = 108; conv 12->12 (max(8, 16*1.5*0.5 = 12)): 12*12 + 12 = 156
    assert report.totals.params == 32 + 108 + 156
    assert type(report.totals.params) is int and type(report.totals.macs) is int
    assert [row.output_shape[1] for row in report.layers] == [8, 12, 12]


def test_analyze_overrides_keep_the_values_the_network_was_loaded_with():
    """analyze(load(spec, width=4), batch=2) is the network of width 4 at batch 2 (it used to rebuild from the raw
    spec and drop width=4). linear 8 -> width: params 8*4 + 4 = 36; MACs at batch 2: 2 * 8 * 4 = 64."""
    text = "name: w\nvariables: {width: 16}\ninput: [8]\nlayers:\n  - linear: {out_features: width}\n"
    report = archcalc.analyze(archcalc.load(text, width=4), batch=2)
    assert (report.totals.params, report.totals.macs) == (36, 64)
