"""The Keras vocabulary and ``layout: channels_last`` without Keras: figures by arithmetic, the trainable /
non-trainable split in the table and JSON, and what is refused in one line. (tests/test_keras.py checks the same
layers against Keras 3 itself.)"""
from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.cli import main
from archcalc.core.errors import ArchcalcError

CONV1D_DENSE = """name: conv1d_dense
layout: channels_last
input: [100, 4]
layers:
  - Conv1D: {name: conv, filters: 16, kernel_size: 3}
  - Dense: {name: fc, units: 5}
"""

DCGAN_HEAD = """name: dcgan_head
layout: channels_last
input: [100]
layers:
  - Dense: {name: project, units: 3136, use_bias: false}
  - BatchNormalization: {name: bn0}
  - LeakyReLU: {name: act0}
  - Reshape: {name: reshape, target_shape: [7, 7, 64]}
  - Conv2DTranspose: {name: up, filters: 32, kernel_size: 5, strides: 2, padding: same, use_bias: false}
"""

MOBILE = """name: mobile
layout: channels_last
input: [32, 32, 3]
layers:
  - Conv2D: {name: stem, filters: 16, kernel_size: 3, strides: 2, padding: same, use_bias: false}
  - BatchNormalization: {name: stem_bn}
  - ReLU: {name: stem_relu, max_value: 6}
  - DepthwiseConv2D: {name: dw1, kernel_size: 3, padding: same, use_bias: false}
  - BatchNormalization: {name: dw1_bn}
  - GlobalAveragePooling2D: {name: gap}
"""


def test_the_issue_figures():
    """Conv1D(16, 3) then Dense(5) on [100, 4]: 4*3*16 + 16 = 208 and 16*5 + 5 = 85, 293 params, output (98, 5);
    Dense(3136) then Reshape [7, 7, 64] is [7, 7, 64], and a 'same' Conv2DTranspose by 2 doubles H and W."""
    report = archcalc.analyze(archcalc.load(CONV1D_DENSE))
    assert report.totals.params == 4 * 3 * 16 + 16 + 16 * 5 + 5 == 293
    assert report.output_shape == (1, 98, 5)
    rows = {row.name: row for row in archcalc.analyze(archcalc.load(DCGAN_HEAD)).layers}
    assert rows["reshape"].output_shape == (1, 7, 7, 64)
    assert rows["up"].output_shape == (1, 14, 14, 32)
    assert rows["up"].params == 5 * 5 * 64 * 32  # kernel [5, 5, 32, 64], no bias
    # BatchNormalization on 3136 features: 2 * 3136 trainable (gamma, beta), 2 * 3136 moving statistics
    bn0 = rows["bn0"]
    assert (bn0.trainable, bn0.non_trainable, bn0.buffers) == (2 * 3136, 2 * 3136, 2 * 3136)


def test_the_table_and_json_give_keras_split(capsys, tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MOBILE)
    assert main([str(path)]) == 0
    table = capsys.readouterr().out
    # moving statistics: 2 * 16 + 2 * 16 of the two BatchNormalizations
    assert " 64  (64)" in table.split("non-trainable")[1].splitlines()[0]
    assert main([str(path), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # stem 3*3*3*16, stem_bn 2*16, dw1 3*3*16, dw1_bn 2*16
    assert data["totals"]["trainable"] == data["totals"]["params"] == 3 * 9 * 16 + 2 * 16 + 9 * 16 + 2 * 16
    assert data["totals"]["non_trainable"] == 64
    assert {row["name"]: row["non_trainable"] for row in data["layers"]}["stem_bn"] == 32
    torch_style = tmp_path / "t.yaml"
    torch_style.write_text("name: t\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 3}\n"
                           "  - batchnorm2d\n")
    assert main([str(torch_style), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # channels first (torch): the running statistics are buffers only; 3*9*4 + 4 + 2*4 trainable
    assert data["totals"]["non_trainable"] == 0 and data["totals"]["trainable"] == 3 * 9 * 4 + 4 + 2 * 4
    assert main([str(torch_style)]) == 0
    assert "non-trainable" not in capsys.readouterr().out


# ---- what is refused, in one line ----

@pytest.mark.parametrize("layer, message", [
    ("Lambda: {}", "custom layer"),
    ("Conv2DTransposed: {filters: 2, kernel_size: 2}", "'Conv2DTranspose'"),
    ("ReLU: {threshold: 0.5}", "threshold"),
    ("BatchNormalization: {center: false}", "center and scale"),
    ("Bidirectional: {layer: {LSTM: {units: 2}}, merge_mode: sum}", "merge_mode"),
    ("TimeDistributed: {layer: GlobalAveragePooling2D}", "TimeDistributed(global_avgpool)"),
    ("LSTM: {units: 2, go_backwards: true}", "go_backwards"),
    ("Conv2D: {filters: 2, kernel_size: 2, padding: causal}", "causal"),
    ("Conv2DTranspose: {filters: 2, kernel_size: 3, strides: 2, dilation_rate: 2}", "a stride and a dilation"),
    ("Conv2DTranspose: {filters: 2, kernel_size: 3, strides: 2, output_padding: 2}", "smaller than the stride"),
    ("DepthwiseConv2D: {kernel_size: 3, groups: 3}", "remove groups"),
    ("Lambda: {function: x}", "custom layer"),
    ("Conv2D: {filters: 2, kernel_size: 2, data_format: channels_first}", "data_format"),
])
def test_refusals(layer, message):
    spec = f"name: r\nlayout: channels_last\ninput: [8, 8, 3]\nlayers:\n  - {layer}\n"
    with pytest.raises(ArchcalcError) as e:
        archcalc.analyze(archcalc.load(spec))
    assert message in e.value.format()


def test_causal_windows_see_only_the_past():
    """Causal Conv1D, kernel 3, dilation 2: all 2 * (3 - 1) = 4 padded positions before, so output t reads inputs
    t - 4, t - 2, t: a field of 5 ending at t (padding 4). Stacked with dilation 4: 5 + 2 * 4 = 13, padding 12."""
    report = archcalc.analyze(archcalc.load("""name: c
layout: channels_last
input: [32, 2]
layers:
  - Conv1D: {filters: 4, kernel_size: 3, dilation_rate: 2, padding: causal}
  - Conv1D: {filters: 4, kernel_size: 3, dilation_rate: 4, padding: causal}
"""))
    assert [row.output_shape for row in report.layers] == [(1, 32, 4), (1, 32, 4)]
    assert [(row.rf.to_dict()["size"], row.rf.to_dict()["padding"]) for row in report.layers] == [
        ([5], [4]), ([13], [12])]


def test_time_distributed_keeps_the_steps_apart():
    """TimeDistributed(Conv2D 3 x 3) on [T, H, W, C] is a convolution with a window of 1 along T: the field is
    1 x 3 x 3, the params those of one Conv2D (3*3*2*4 + 4)."""
    report = archcalc.analyze(archcalc.load("""name: td
layout: channels_last
input: [5, 9, 9, 2]
layers:
  - TimeDistributed: {name: conv, layer: {Conv2D: {filters: 4, kernel_size: 3}}}
  - TimeDistributed: {name: dense, layer: {Dense: {units: 3}}}
"""))
    conv, dense = report.layers
    assert conv.output_shape == (1, 5, 7, 7, 4) and conv.params == 3 * 3 * 2 * 4 + 4
    assert conv.rf.to_dict()["size"] == [1, 3, 3]
    assert dense.output_shape == (1, 5, 7, 7, 3) and dense.params == 4 * 3 + 3


def test_channel_dims_default_to_the_channels():
    """concat, chunk and scale default to the channels: the last dimension under layout: channels_last, so a
    parallel block's concat merges channels as it does channels first."""
    report = archcalc.analyze(archcalc.load("""name: p
layout: channels_last
input: [8, 8, 3]
layers:
  - parallel:
      branches:
        - [{Conv2D: {filters: 4, kernel_size: 1}}]
        - [{Conv2D: {filters: 6, kernel_size: 3, padding: same}}]
  - chunk: {chunks: 2}
  - scale
"""))
    assert [row.output_shape for row in report.layers[-3:]] == [(1, 8, 8, 10), (1, 8, 8, 5), (1, 8, 8, 5)]
    assert report.layers[-1].params == 5
