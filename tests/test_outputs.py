"""Several network outputs (the ``outputs:`` header): each is reported (table, JSON, CSV, markdown), kept alive to
the end in the memory report, and returned, in order, as a tuple by the PyTorch export. Expected values are
arithmetic written out from the shapes below, and torch running the exported module."""
from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.analyses.memory import annotate
from archcalc.outputs.render import FORMATS

# stem [8, 16, 16] -> c2 [16, 8, 8] -> aux: pool + linear [10]; c3 from c2 [16, 8, 8] -> pool + head [10]
HEADS = """\
name: heads
input: [3, 16, 16]
outputs: {main: head, aux: aux_fc, feat: stem}
layers:
  - conv2d: {name: stem, out_channels: 8, kernel_size: 3, padding: 1}
  - relu
  - conv2d: {name: c2, out_channels: 16, kernel_size: 3, stride: 2, padding: 1}
  - global_avgpool: {name: gap1}
  - linear: {name: aux_fc, out_features: 10}
  - conv2d: {name: c3, out_channels: 16, kernel_size: 3, padding: 1, from: c2}
  - global_avgpool
  - linear: {name: head, out_features: 10}
"""


def run(text: str, **overrides):
    return archcalc.analyze(archcalc.load(text, **overrides))


def test_every_output_is_reported_with_its_shape_and_field() -> None:
    r = run(HEADS, batch=2)
    assert [(o.name, o.ref, o.output_shape) for o in r.outputs] == [
        ("main", "head", (2, 10)), ("aux", "aux_fc", (2, 10)), ("feat", "stem", (2, 8, 16, 16))]
    assert r.output_shape == (2, 10)  # the first output's
    assert r.outputs[2].rf.axes[0].size == 3 and r.outputs[0].rf.axes[0] == "global"
    data = json.loads(FORMATS["json"](r, None))
    assert [(o["name"], o["from"], o["output_shape"]) for o in data["outputs"]] == [
        ("main", "head", [2, 10]), ("aux", "aux_fc", [2, 10]), ("feat", "stem", [2, 8, 16, 16])]
    assert data["outputs"][2]["rf"]["size"] == [3, 3]
    for fmt in ("table", "csv", "markdown"):
        text = FORMATS[fmt](r, None)
        assert "output feat: [2, 8, 16, 16] from stem" in text.replace("\\", ""), fmt


def test_a_list_names_outputs_by_their_tensors_and_one_output_is_allowed() -> None:
    r = run(HEADS.replace("{main: head, aux: aux_fc, feat: stem}", "[c2]"))
    assert [(o.name, o.output_shape) for o in r.outputs] == [("c2", (1, 16, 8, 8))]
    assert r.output_shape == (1, 16, 8, 8)


def test_without_the_header_nothing_changes() -> None:
    r = run(HEADS.replace("outputs: {main: head, aux: aux_fc, feat: stem}\n", ""))
    assert r.outputs == [] and "outputs" not in r.to_dict()
    assert r.output_shape == (1, 10)


def test_outputs_stay_live_to_the_end() -> None:
    r = annotate(run(HEADS), "fp32", "adam")
    live = {row.name: row.extra["memory"]["live_bytes"] for row in r.layers}
    stem, aux = 8 * 16 * 16, 10
    # head reads its 16 pooled values and writes 10; stem's output and aux_fc's stay live through it (outputs)
    assert live["head"] == (16 + 10 + stem + aux) * 4
    assert any("outputs: header" in line for line in r.extra["memory"]["assumptions"])
    # without the header, stem is freed after relu reads it, aux_fc once written
    plain = annotate(run(HEADS.replace("outputs: {main: head, aux: aux_fc, feat: stem}\n", "")), "fp32", "adam")
    assert {row.name: row.extra["memory"]["live_bytes"] for row in plain.layers}["head"] == (16 + 10) * 4


@pytest.mark.parametrize("header, message", [
    ("outputs: [nope]", "unknown name 'nope'"),
    ("outputs: {a: head, b: nope}", "unknown name 'nope'"),
    ("outputs: []", "outputs is empty"),
    ("outputs: 3", "outputs must be a list of tensor names"),
    ("outputs: [head, 7]", "must be text"),
])
def test_bad_outputs_are_one_line_errors(header: str, message: str) -> None:
    with pytest.raises(archcalc.ArchcalcError) as info:
        run(HEADS.replace("outputs: {main: head, aux: aux_fc, feat: stem}", header))
    text = info.value.format()
    assert message in text and "\n" not in text and ":3:" in text  # the outputs: line


def test_symbolic_outputs_are_formulas() -> None:
    r = archcalc.analyze(archcalc.load(HEADS.replace("input: [3, 16, 16]", "variables: {H: 16}\ninput: [3, H, H]"),
                                       symbolic=["H"]))
    assert [str(d) for d in r.outputs[2].output_shape] == ["1", "8", "H", "H"]


def test_export_returns_the_outputs_as_a_tuple() -> None:
    torch = pytest.importorskip("torch")
    from archcalc.export import export
    namespace: dict = {}
    exec(compile(export(archcalc.load(HEADS)), "heads.py", "exec"), namespace)  # noqa: S102 (our generated file)
    model = namespace["Heads"]().eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 16, 16))
    assert isinstance(out, tuple) and [tuple(t.shape) for t in out] == [(1, 10), (1, 10), (1, 8, 16, 16)]
    # the feature output is the stem conv's own output, before the relu: equal to running the stem alone
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[2], model.stem(x))


def test_html_lists_every_output(tmp_path) -> None:
    from archcalc.outputs.html import write_report
    out = tmp_path / "heads.html"
    write_report(run(HEADS), HEADS, out)
    page = out.read_text()
    assert "Output <code>feat</code> (stem): <code>[1, 8, 16, 16]</code>" in page
    assert "Output <code>aux</code> (aux_fc): <code>[1, 10]</code>" in page
