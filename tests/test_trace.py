"""The engine's trace and the convention interface: ``Convention.count(step, batch, tokens)``.

Expected numbers are the arithmetic written in each test (Kaplan et al. 2020, Table 1, for Kaplan's N and
C_forward), never archcalc's own output.
"""
from __future__ import annotations

from fractions import Fraction

import pytest

import archcalc
from archcalc.count.convention import ARCHCALC, KAPLAN
from archcalc.count.preset import load, variables
from archcalc.read.graph import Group
from archcalc.walk.engine import walk

RESIDUAL = """name: r
input: [4, 8, 8]
layers:
  - conv2d: {name: stem, out_channels: 4, kernel_size: 3, padding: 1}
  - residual:
      name: block
      body:
        - conv2d: {name: conv, out_channels: 4, kernel_size: 3, padding: 1, bias: false}
        - relu: {name: act}
  - linear: {name: head, out_features: 4, from: stem}
"""


def test_steps_read_and_write_buffers_in_walk_order():
    """A group's step comes before its layers; each layer reads the buffers the spec names (the merge reads the
    branch outputs, ``from: stem`` the stem's output); the names table maps paths to buffers."""
    _, trace = walk(archcalc.load(RESIDUAL))
    kinds = [(s.node.path, isinstance(s.node, Group)) for s in trace.steps]
    assert kinds == [("stem", False), ("block", True), ("block.conv", False), ("block.act", False),
                     ("block.add", False), ("head", False)]
    by = {s.node.path: s for s in trace.steps}
    assert trace.input == 0 and by["stem"].reads == (0,)
    stem = by["stem"].out
    assert by["block"].reads == (stem,) and by["block.conv"].reads == (stem,)
    assert by["block.act"].reads == (by["block.conv"].out,)
    assert by["block.add"].reads == (by["block.act"].out, stem)  # the branch, then the identity
    assert by["block"].out == by["block.add"].out
    assert by["head"].reads == (stem,) and trace.output == by["head"].out
    assert trace.names["stem"] == stem and trace.names["block"] == by["block.add"].out
    outs = [s.out for s in trace.layers()]
    assert len(set(outs)) == len(outs)  # one buffer per tensor written
    # a buffer's size is its elements with the batch: the stem writes 4 x 8 x 8
    assert trace.buffers[stem][0] == 4 * 8 * 8


def test_step_holds_the_cost_as_the_formula_returned_it():
    _, trace = walk(archcalc.load(RESIDUAL, batch=3))
    conv = next(s for s in trace.steps if s.node.path == "block.conv")
    assert conv.cost.macs == 4 * 4 * 3 * 3 * 8 * 8  # per sample: the batch is the convention's to apply
    assert conv.seen == ((4, 8, 8),) and conv.inputs == 4 * 8 * 8 and not conv.moved


KERAS_CONV = """name: k
layout: channels_last
input: [10, 6]
layers:
  - Conv1D: {name: conv, filters: 5, kernel_size: 3}
"""


def test_channels_last_step_is_moved_and_sees_channels_first():
    text = KERAS_CONV
    _, trace = walk(archcalc.load(text))
    (conv,) = trace.layers()
    assert conv.moved and conv.seen == ((6, 10),)  # [C, L] as the formula reads it
    assert tuple(conv.cost.shape) == (5, 8) and conv.shape == (8, 5)  # given channels first, held channels last


def test_tied_owner_is_resolved_by_the_engine():
    text = """name: t
input: [6]
layers:
  - embedding: {name: embed, num_embeddings: 11, embedding_dim: 4}
  - linear: {name: out, out_features: 11, bias: false, tied_to: embed}
"""
    _, trace = walk(archcalc.load(text))
    assert [s.owner for s in trace.layers()] == [None, "embed"]


def test_archcalc_counts_the_cost_times_the_batch():
    _, trace = walk(archcalc.load(RESIDUAL))
    conv = next(s for s in trace.steps if s.node.path == "block.conv")
    counted = ARCHCALC.count(conv, 3)
    macs = 4 * 4 * 3 * 3 * 8 * 8
    assert counted.params == 4 * 4 * 3 * 3  # no bias
    assert counted.macs == 3 * macs
    assert counted.flops_by_kind == {"conv": 3 * 2 * macs} and counted.flops == 3 * 2 * macs


ATTENTION = """name: a
input: [5, 8]
layers:
  - multihead_attention: {name: attn, num_heads: 2, causal: true, call: explicit}
"""


def test_kaplan_count_of_an_attention_step():
    """One causal attention layer, d_model = d_attn = 8, n_ctx = 5 (odd: Kaplan's n_ctx^2 / 2 pairs are not a
    whole number). Kaplan's N = 4 d^2 (the Q, K, V and output matrices, biases left out) and C_forward per token
    = 2N + 2 n_ctx d_attn."""
    t, d = 5, 8
    network = archcalc.load(ATTENTION)
    _, trace = walk(network, KAPLAN)
    (step,) = trace.layers()
    assert KAPLAN.tokens(network) == t
    counted = KAPLAN.count(step, 1, t)
    n = 4 * d * d
    assert counted.params == n
    assert counted.flops == 2 * n + 2 * t * d
    # QK^T and AV: 2 x d MACs per pair over T^2/2 pairs; the projections T x 4 d^2
    assert counted.macs == t * 4 * d * d + 2 * d * Fraction(t * t, 2)
    assert set(counted.flops_by_kind) == {"linear", "attention"}
    # archcalc counts the exact triangle, T(T+1)/2 pairs, and every kind
    exact = ARCHCALC.count(step, 1)
    assert exact.macs == t * 4 * d * d + 2 * d * (t * (t + 1) // 2)
    assert {"softmax", "bias", "elementwise"} <= set(exact.flops_by_kind)


def test_kaplan_report_equals_its_count_of_the_steps():
    report = archcalc.analyze(archcalc.load(ATTENTION), convention=KAPLAN)
    assert report.totals.params == 4 * 8 * 8
    assert report.totals.flops == 2 * 4 * 8 * 8 + 2 * 5 * 8


def test_kaplan_needs_a_sequence_input():
    with pytest.raises(archcalc.SpecError, match="per-token figures need a sequence input"):
        KAPLAN.tokens(archcalc.load(RESIDUAL))


def test_a_convention_file_rule_sees_the_step_variables(tmp_path):
    """A user's rule reads the step: shapes as the formula saw and gave them (channels first under channels
    last), the layer's fields, and archcalc's own figures with the batch."""
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\ntool: a test\nunit: macs\nmac: one\nflop: two\n"
                    "rules:\n  conv1d: in0 * 1000 + in1 * 10 + kprod\n")
    text = KERAS_CONV
    mine = load(str(path))
    network = archcalc.load(text, batch=2)
    _, trace = walk(network, mine)
    (step,) = trace.layers()
    own = ARCHCALC.count(step, 2)
    env = variables(step, own, 2)
    macs = 5 * 6 * 3 * 8  # filters x channels x kernel x output positions
    assert (env["in0"], env["in1"], env["out0"], env["out1"], env["kprod"]) == (6, 10, 5, 8, 3)
    assert (env["in_numel"], env["out_numel"], env["batch"]) == (2 * 6 * 10, 2 * 5 * 8, 2)
    assert (env["macs"], env["params"], env["bias_adds"]) == (2 * macs, 5 * 6 * 3 + 5, 2 * 5 * 8)
    assert env["flops_conv"] == 2 * 2 * macs and env["archcalc_flops"] == 2 * 2 * macs + 2 * 5 * 8
    counted = mine.count(step, 2)
    assert counted.macs == 6 * 1000 + 10 * 10 + 3 and counted.flops == 2 * counted.macs
    report = archcalc.analyze(network, convention=mine)
    assert report.totals.macs == counted.macs and report.layers[0].flops_by_kind == {"conv": 2 * counted.macs}


def test_analyze_rebuilds_with_overrides():
    network = archcalc.load(RESIDUAL)
    assert archcalc.analyze(network, batch=3).totals.macs == 3 * archcalc.analyze(network).totals.macs
