"""A report in Python: its one-line repr, its table, a notebook's display and a pandas frame.

Expected values: the arithmetic written out below for one 3x3 convolution, 3 -> 4 channels, on 3x8x8 (output 4x6x6).
"""
from __future__ import annotations

import pytest

import archcalc
from archcalc.outputs.render import table

SPEC = "name: {name}\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {{out_channels: 4, kernel_size: 3}}\n"
PARAMS = 4 * 3 * 3 * 3 + 4  # 112: weights + biases
MACS = 4 * 6 * 6 * 3 * 3 * 3  # 3,888: an output element costs 27 MACs
FLOPS = 2 * MACS + 4 * 6 * 6  # 7,920: 2 per MAC, and a bias add per output element
OUTPUTS = 4 * 6 * 6  # 144


def report(name: str = "tiny") -> archcalc.Report:
    return archcalc.analyze(archcalc.load(SPEC.format(name=name)))


def test_repr_is_the_totals_in_one_line():
    assert repr(report()) == (f"<Report tiny: params {PARAMS:,}, buffers 0, MACs {MACS:,}, FLOPs {FLOPS:,}, "
                              f"activations {OUTPUTS:,} (convention archcalc)>")


def test_table_is_the_command_lines_table():
    r = report()
    assert r.table() == table(r) and r.table(depth=1) == table(r, 1)
    assert r.table().splitlines()[0] == "tiny  input [1, 3, 8, 8]"


def test_notebook_display_escapes_the_spec_text():
    html = report('"a <b>bold</b> & net"')._repr_html_()
    assert html.startswith("<pre>") and html.endswith("</pre>")
    assert "<b>" not in html and "&lt;b&gt;bold&lt;/b&gt; &amp; net" in html


def test_to_frame():
    pytest.importorskip("pandas")
    frame = report().to_frame()
    assert list(frame["name"]) == ["conv2d_1"] and list(frame["type"]) == ["conv2d"]
    row = frame.iloc[0]
    assert (row["params"], row["macs"], row["flops"], row["activations"]) == (PARAMS, MACS, FLOPS, OUTPUTS)
    assert row["output_shape"] == (1, 4, 6, 6)
