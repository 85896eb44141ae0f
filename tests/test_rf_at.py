"""Receptive field where a user asks: the network's field in the summary, and every figure at a named layer (--at).

Expected figures come from the recurrence written out here (Araujo, Norris & Sim, Distill 2019: r' = r + (k - 1) j,
j' = j s), from Distill's VGG-16 table, and from torchvision's ResNet-18 cut at layer4 under FlopCounterMode.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import archcalc
from archcalc.cli import main
from archcalc.walk.at import network_field

ROOT = Path(__file__).resolve().parent.parent
RESNET18 = str(ROOT / "specs" / "resnet18.yaml")


def resnet18_fields() -> dict[str, tuple[int, int]]:
    """ResNet-18's field (size, jump) after each stage, by the recurrence: conv1 7x7/2, maxpool 3x3/2, then per
    stage four 3x3 convs on the main path, the first of stages 2-4 with stride 2 (the shortcuts are shorter)."""
    size, jump = 1, 1
    size, jump = size + 6 * jump, jump * 2  # conv1: 7
    size, jump = size + 2 * jump, jump * 2  # maxpool: 11, jump 4
    out = {}
    for stage in range(1, 5):
        stride = 1 if stage == 1 else 2
        size, jump = size + 2 * jump, jump * stride  # the first 3x3 conv, its stride after its window
        out[f"layer{stage}.0.conv1"] = (size, jump)
        size += 3 * 2 * jump  # three more 3x3 convs at that jump
        out[f"layer{stage}"] = (size, jump)
    return out


def test_the_recurrence_gives_the_published_435():
    assert resnet18_fields()["layer4"] == (435, 32)  # seeds' 004: ResNet-18's field before the global pool


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_names_the_network_field(capsys):
    report = archcalc.analyze(archcalc.load(RESNET18))
    field = network_field(report)
    assert field.name == "layer4" and field.then.name == "avgpool"
    assert [(a.size, a.jump) for a in field.rf.axes] == [resnet18_fields()["layer4"]] * 2
    code, out, _ = run(capsys, RESNET18)
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("receptive field"))
    assert line.startswith("receptive field 435, jump 32: layer4 (") and "then avgpool: global" in line
    code, out, _ = run(capsys, RESNET18, "-f", "markdown")
    assert "Receptive field 435, jump 32: layer4 (" in out


def test_html_summary_names_the_network_field():
    from archcalc.outputs.html import render_html
    page = render_html(archcalc.analyze(archcalc.load(RESNET18)), "")
    summary = page[page.index('<section id="summary">'):]
    summary = summary[:summary.index("</section>")]
    assert "Receptive field 435, jump 32: layer4 (" in summary


def test_vgg16_field_is_distill_pool5():
    # Distill 2019's table: VGG-16 pool5, size 212, effective stride 32; the flatten after it mixes positions
    report = archcalc.analyze(archcalc.load(ROOT / "specs" / "vgg16.yaml"))
    field = network_field(report)
    assert [(a.size, a.jump) for a in field.rf.axes] == [(212, 32)] * 2
    assert report.layers.index(field.layer) < report.layers.index(field.then)
    assert field.then.type == "flatten"


def test_at_layer_cuts_every_figure(capsys):
    code, out, _ = run(capsys, RESNET18, "--at", "layer4", "-f", "json")
    assert code == 0
    data = json.loads(out)
    fc = 512 * 1000 + 1000  # all that follows layer4: the global pool (no weights) and fc
    assert int(data["totals"]["params"]) == 11_689_512 - fc  # torchvision's published ResNet-18 count
    assert data["output_shape"] == [1, 512, 7, 7]
    assert data["rf"]["size"] == [435, 435] and data["rf"]["jump"] == [32, 32]
    assert data["at"]["layer"].startswith("layer4.1.")
    assert [b["name"] for b in data["blocks"]] == ["layer1", "layer2", "layer3", "layer4"]
    code, out, _ = run(capsys, RESNET18, "--rf-at", "layer4")  # the alias, the table
    assert "at layer4: every figure up to and including layer4.1." in out
    assert "avgpool" not in out and "fc " not in out


def test_at_cuts_a_block_in_two(capsys):
    code, out, _ = run(capsys, RESNET18, "--at", "layer4.0.conv1", "-f", "json")
    data = json.loads(out)
    assert data["rf"]["size"] == [resnet18_fields()["layer4.0.conv1"][0]] * 2  # 211 + 2 x 16 = 243
    layer4 = next(b for b in data["blocks"] if b["name"] == "layer4")
    assert int(layer4["params"]) == 3 * 3 * 256 * 512  # conv1 alone (no bias) of the cut block
    assert {"layer4", "layer4.0"} <= set(data["at"]["cut"])  # the blocks the cut goes through
    code, out, _ = run(capsys, RESNET18, "--at", "layer4.0.conv1")
    line = next(x for x in out.splitlines() if x.startswith("receptive field"))
    assert line.startswith("receptive field 243, jump 32: layer4.0.conv1, ") and line.endswith("at the output")


def test_at_unknown_name_names_the_closest(capsys):
    code, out, err = run(capsys, RESNET18, "--at", "layr4")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no layer or block named 'layr4'" in err and "layer4" in err


def test_formula_at_layer(capsys):
    code, out, _ = run(capsys, "formula", RESNET18, "--metric", "rf", "--at", "layer3")
    assert code == 0 and out.startswith("size = [211, 211]; jump = [16, 16]")
    code, out, _ = run(capsys, "formula", RESNET18, "--metric", "params", "--at", "layer4", "--symbolic", "H", "W")
    assert out.strip() == str(11_689_512 - 512 * 1000 - 1000)


def test_formula_rf_at_layer_symbolic(capsys, tmp_path):
    spec = tmp_path / "k.yaml"
    spec.write_text("name: k\nvariables: {k: 3}\ninput: [1, 64, 64]\nlayers:\n"
                    "  - conv2d: {name: a, out_channels: 4, kernel_size: k, stride: 2}\n"
                    "  - conv2d: {name: b, out_channels: 4, kernel_size: k}\n"
                    "  - conv2d: {name: c, out_channels: 4, kernel_size: 3}\n")
    code, out, err = run(capsys, "formula", str(spec), "--metric", "rf", "--at", "b", "--symbolic", "k")
    assert code == 0, err
    # a: 1 + (k - 1), jump 2; b: + (k - 1) x 2 -> 3k - 2
    assert out.strip() == "size = [3*k - 2, 3*k - 2]; jump = [2, 2]; padding = [0, 0]"


def test_formula_macs_at_layer_matches_torchvision(capsys):
    torch = pytest.importorskip("torch")
    from torchvision_oracle import models
    tv = models()
    if tv is None:
        pytest.skip("torchvision's model code is not importable")
    from torch.utils.flop_counter import FlopCounterMode
    with torch.device("meta"):
        net = tv.resnet18()
    backbone = torch.nn.Sequential(*list(net.children())[:-2]).eval()  # conv1 ... layer4

    def macs(size: int) -> tuple[int, list[int]]:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            y = backbone(torch.empty(1, 3, size, size, device="meta"))
        return counter.get_total_flops() // 2, list(y.shape)

    code, out, _ = run(capsys, "formula", RESNET18, "--at", "layer4", "--symbolic", "H", "W")
    import sympy
    formula = sympy.sympify(out.strip())
    for size in (224, 160):
        expected, _ = macs(size)
        assert formula.subs({"H": size, "W": size}) == expected
    expected, shape = macs(224)
    code, out, _ = run(capsys, RESNET18, "--at", "layer4", "-f", "json")
    data = json.loads(out)
    assert int(data["totals"]["macs"]) == expected and data["output_shape"] == shape
    assert int(data["totals"]["params"]) == sum(p.numel() for p in backbone.parameters())


def test_at_a_repeat_of_symbolic_count(capsys):
    tcn = str(ROOT / "specs" / "tcn.yaml")
    # kernel 2 at dilations 1, 2, ..., 512: each copy of the stack adds 1 + 2 + ... + 512 = 1023 positions
    code, out, _ = run(capsys, "formula", tcn, "--symbolic", "L", "--metric", "rf", "--at", "stack")
    assert code == 0 and out.startswith("size = [1023*L + 1]; jump = [1]")
    code, out, _ = run(capsys, tcn, "--symbolic", "L", "--at", "stack")
    line = next(x for x in out.splitlines() if x.startswith("receptive field"))
    assert line.startswith("receptive field 1023*L + 1, jump 1: stack (")
    # 10 convs of 32 -> 32 channels, kernel 2, with bias, per copy; the 1x1 embed conv 1 -> 32 before them
    code, out, _ = run(capsys, "formula", tcn, "--symbolic", "L", "--metric", "params", "--at", "stack")
    assert out.strip() == f"{10 * (32 * 32 * 2 + 32)}*L + {1 * 32 + 32}"
    # a layer inside the unit: its row stands for every copy, so it is refused
    code, out, err = run(capsys, tcn, "--symbolic", "L", "--at", "stack.i.level.3.conv")
    assert code == 2 and "inside the repeat 'stack'" in err and err.count("\n") == 1


def test_windows_view_names_the_papers_field(capsys):
    # wav2vec 2.0's feature encoder (Baevski et al. 2020): kernels (10, 3, 3, 3, 3, 2, 2), strides (5, 2, ..., 2),
    # "a receptive field of 400 input samples" at a stride of 320; its group norm makes the full field global
    size, jump = 1, 1
    for kernel, stride in zip((10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2)):
        size, jump = size + (kernel - 1) * jump, jump * stride
    assert (size, jump) == (400, 320)
    spec = str(ROOT / "specs" / "wav2vec2_feature_encoder.yaml")
    code, out, _ = run(capsys, spec, "--rf", "windows")
    line = next(x for x in out.splitlines() if x.startswith("receptive field"))
    assert line.startswith(f"receptive field {size}, jump {jump}: conv_layers (") and line.endswith("at the output")
    code, out, _ = run(capsys, spec)
    line = next(x for x in out.splitlines() if x.startswith("receptive field"))
    assert line.startswith("receptive field 10, jump 5: conv_layers.0.conv, ")  # the first conv, before the norm


def test_python_report_at():
    report = archcalc.analyze(archcalc.load(RESNET18))
    backbone = archcalc.at(report, "layer4")
    assert backbone.totals.params == report.totals.params - (512 * 1000 + 1000)  # less fc
    assert backbone.output_shape == (1, 512, 7, 7) and report.totals.params == 11_689_512  # the input is kept


def test_csv_states_the_cut_and_the_field(capsys):
    code, out, _ = run(capsys, RESNET18, "--at", "layer2", "-f", "csv")
    notes = [line for line in out.splitlines() if line.startswith("# ")]
    assert notes[0].startswith("# at layer2: every figure up to and including layer2.1.")
    size, jump = 1 + 6 + 2 * 2 + 4 * 2 * 4 + 2 * 4 + 3 * 2 * 8, 8  # conv1, maxpool, layer1, layer2 (99, jump 8)
    assert notes[1].startswith(f"# receptive field {size}, jump {jump}: layer2 (")
