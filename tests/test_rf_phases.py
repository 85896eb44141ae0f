"""Receptive fields that differ by phase, statistics and the field of the windows alone, worked out by hand.

Where the expected numbers come from: the arithmetic of each layer's reads, written out next to each literal (unit o
of a resampled map reads the inputs around src(o); a transposed convolution's output o reads the i with
o = i*s - p + t*d). tests/test_rf_oracle.py checks the same composition against torch's gradient support.
"""
from __future__ import annotations

import json

import sympy

import archcalc
from archcalc.cli import main


def analyze(text: str) -> archcalc.Report:
    return archcalc.analyze(archcalc.load(text))


def rf(row_or_report, key: str = "rf") -> dict:
    return json.loads(json.dumps(getattr(row_or_report, key).to_dict()))


LINEAR_X3 = "name: t\ninput: [1, 30]\nlayers:\n  - upsample: {scale_factor: 3, mode: linear}\n"


def test_linear_x3_units_see_one_or_two_inputs() -> None:
    # src(o) = (o + 1/2) / 3 - 1/2 = (o - 1) / 3: o = 0 -> -1/3 reads -1 and 0; o = 1 -> 0, an integer, whose second
    # tap weighs exactly 0: reads 0 only; o = 2 -> 1/3 reads 0 and 1; o + 3 reads one further. Jump 1/3. The
    # envelope: padding = max(0 - (-1), 1/3 - 0, 2/3 - 0) = 1, ends last - o/3 = 0, -1/3, 1/3, so 1/3 + 1 + 1 = 7/3.
    assert rf(analyze(LINEAR_X3)) == {
        "size": [2], "jump": ["1/3"], "padding": [1], "envelope": ["7/3"],
        "phases": [{"period": 3, "shift": 1, "sizes": [1, 2], "first": [-1, 0, 0], "last": [0, 0, 1]}]}


def test_table_marks_a_size_that_varies_by_phase(tmp_path, capsys) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(LINEAR_X3)
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("upsample_1"))
    assert row.split()[-2:] == ["2~", "1/3"]
    assert "~ units differ by phase" in out
    assert main([str(path), "-f", "markdown"]) == 0
    assert "| 2~ | 1/3 |" in capsys.readouterr().out
    assert main([str(path), "-f", "csv"]) == 0  # CSV stays a number
    assert capsys.readouterr().out.splitlines()[1].split(",")[-3:] == ["2", "1/3", "1"]


def test_nearest_x2_after_a_conv_every_unit_sees_the_same_size() -> None:
    r = analyze("name: t\ninput: [1, 16]\nlayers:\n  - conv1d: {out_channels: 1, kernel_size: 3}\n"
                "  - upsample: {scale_factor: 2}\n")
    # unit o copies floor(o/2), which sees [floor(o/2), floor(o/2) + 2]: 3 each, no mark
    assert rf(r)["phases"] == [{"period": 2, "shift": 1, "sizes": [3, 3], "first": [0, 0], "last": [2, 2]}]
    assert not archcalc.walk.rf.varies(r.rf.axes[0])


def test_transposed_conv_with_kernel_below_stride_leaves_units_without_input() -> None:
    r = analyze("name: t\ninput: [1, 16]\nlayers:\n"
                "  - conv_transpose1d: {out_channels: 1, kernel_size: 1, stride: 2}\n"
                "  - conv1d: {out_channels: 1, kernel_size: 2}\n")
    first, second = r.layers
    # o = 2i + 0: even outputs read i = o/2, odd ones read nothing (their value is the bias)
    assert rf(first)["phases"] == [{"period": 2, "shift": 1, "sizes": [1, 1], "first": [0, None], "last": [0, None]}]
    # then k2: output o reads o and o + 1, exactly one of which is even: output 2m reads 2m (which sees m) and 2m + 1
    # (nothing); output 2m + 1 reads nothing and 2m + 2 (m + 1). One input each, [m, m] and [m + 1, m + 1]: jump 1/2,
    # padding max(0 - 0, 1/2 - 1) = 0, envelope max(0 - 0, 1 - 1/2) + 0 + 1 = 3/2
    assert rf(second) == {"size": [1], "jump": ["1/2"], "padding": [0], "envelope": ["3/2"],
                          "phases": [{"period": 2, "shift": 1, "sizes": [1, 1], "first": [0, 1], "last": [0, 1]}]}


def test_a_stride_after_upsampling_can_make_the_field_affine_again() -> None:
    r = analyze("name: t\ninput: [1, 16]\nlayers:\n  - upsample: {scale_factor: 2}\n"
                "  - conv1d: {out_channels: 1, kernel_size: 3, stride: 2}\n")
    # conv output o reads upsampled 2o..2o+2, i.e. inputs o, o, o + 1: [o, o + 1], period 1
    assert rf(r) == {"size": [2], "jump": [1], "padding": [0]}


def test_groupnorm_statistics_span_the_group_in_a_sequence_layout() -> None:
    # a sequence [T, d] read as channels first: dimension 0 (the positions) holds the channels, 8 in 2 groups of 4:
    # position 4q + r sees positions 4q .. 4q + 3; the features (dimension 1) hold no position
    r = analyze("name: t\nlayout: sequence\ninput: [8, 4]\nlayers:\n  - groupnorm: {num_groups: 2}\n")
    assert rf(r)["phases"] == [{"period": 4, "shift": 4, "sizes": [4, 4], "first": [0] * 4, "last": [3] * 4}]
    assert rf(r)["size"] == [4]
    assert rf(r, "rf_windows") == {"size": [1], "jump": [1], "padding": [0]}


def test_cli_shows_the_field_of_the_windows_alone(tmp_path, capsys) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("name: t\ninput: [1, 32, 32]\nlayers:\n"
                    "  - conv2d: {out_channels: 2, kernel_size: 3, stride: 2, padding: 1}\n"
                    "  - groupnorm: {num_groups: 1}\n"
                    "  - conv2d: {out_channels: 2, kernel_size: 3, padding: 1}\n")
    assert main([str(path)]) == 0
    last = capsys.readouterr().out.splitlines()[5]
    assert last.startswith("conv2d_2") and last.split()[-2:] == ["global", "global"]
    assert main([str(path), "--rf", "windows"]) == 0
    out = capsys.readouterr().out
    # 3, then 3 + (3 - 1) * 2 = 7 with jump 2
    assert out.splitlines()[5].split()[-2:] == ["7", "2"]
    assert "the field of the convolution and pooling windows alone" in out
    assert main([str(path), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rf"]["size"] == "global" and data["rf_windows"]["size"] == [7, 7]
    assert data["layers"][1]["rf"]["size"] == "global" and data["layers"][1]["rf_windows"]["size"] == [3, 3]


def test_broadcast_input_with_a_finite_field_is_not_aligned_with_the_others() -> None:
    r = analyze("""name: t
input: [2, 8, 8]
layers:
  - conv2d: {name: a, out_channels: 2, kernel_size: 3, padding: 1}
  - avgpool2d: {name: column, kernel_size: [8, 1]}
  - mul: {inputs: [a, column]}
""")
    # every output row reads the one row of `column` (fixed input positions) and its own window of `a` (moving):
    # no single window describes that along H; along W both have 8 positions and compose as usual
    assert rf(r)["size"] == ["non-uniform", 3]
    assert rf(r, "rf_windows")["size"] == [3, 3]  # the windows alone ignore the broadcast input along H


def test_symbols_with_phases_exact_or_marked() -> None:
    text = """name: t
symbols: [H, s]
input: [1, H]
layers:
  - crop: {size: 8}
  - conv1d: {out_channels: 1, kernel_size: 3, stride: 2, padding: 1}
  - upsample: {scale_factor: 2}
  - conv1d: {out_channels: 1, kernel_size: 3, padding: 1}
  - conv1d: {out_channels: 1, kernel_size: 3, stride: s}
"""
    symbolic = analyze(text)
    numeric = analyze(text.replace("symbols: [H, s]", "variables: {H: 32, s: 2}"))
    H = sympy.Symbol("H", integer=True, positive=True)
    up, conv = symbolic.layers[2].rf.axes[0], symbolic.layers[3].rf.axes[0]
    for sym, num in ((up, numeric.layers[2].rf.axes[0]), (conv, numeric.layers[3].rf.axes[0])):
        assert sym.size == num.size and sym.jump == num.jump
        assert [sympy.sympify(v).subs(H, 32) for v in sym.phases.first] == list(num.phases.first)
    # a symbolic stride after resampling: the phase pattern depends on it
    assert symbolic.layers[4].rf.axes == ("symbolic-phases",)


def test_symbolic_repeat_of_a_resampling_unit_is_marked() -> None:
    text = """name: t
symbols: [L]
input: [1, 64]
blocks:
  unit:
    layers:
      - conv1d: {out_channels: 1, kernel_size: 3, stride: 2, padding: 1}
      - upsample: {scale_factor: 2}
layers:
  - unit: {repeat: L}
"""
    assert analyze(text).rf.axes == ("symbolic-phases",)
    # with a number, the same units compose exactly: after one, unit o sees [2 floor(o/2) - 1, 2 floor(o/2) + 1]
    assert rf(analyze(text.replace("symbols: [L]", "variables: {L: 1}")))["size"] == [3]


def test_phase_patterns_are_bounded() -> None:
    # 10007 -> 10009: src = o * 10007 / 10009, a period of 10009 phases, over MAX_PERIOD (10,000)
    r = analyze("name: t\ninput: [1, 10007]\nlayers:\n  - upsample: {size: 10009}\n")
    assert r.rf.axes == ("non-uniform",)
    # a field that is not monotone (a dilated transposed convolution: 4 phases, 1001 -> 4007 positions), resampled
    # to 1002 (src = o * 4007 / 1002: 1002 phases, so 4 * 1002 = 4008 in all, still not monotone): composing a conv
    # onto it would look at 4008 units for each of 4008 phases, over MAX_WORK (1,000,000)
    r = analyze("name: t\ninput: [1, 1001]\nlayers:\n"
                "  - conv_transpose1d: {out_channels: 1, kernel_size: 3, stride: 4, dilation: 3}\n"
                "  - upsample: {size: 1002}\n"
                "  - conv1d: {out_channels: 1, kernel_size: 3}\n")
    assert r.layers[0].rf.axes[0].phases.period == 4 and r.layers[1].rf.axes[0].phases.period == 4008
    assert r.layers[-1].rf.axes == ("non-uniform",)
