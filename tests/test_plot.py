"""Plots: every kind renders to PNG, SVG and PDF, and what is drawn is the report's figures exactly."""
from __future__ import annotations

import functools
import sys
import xml.etree.ElementTree as ET
from itertools import accumulate
from pathlib import Path

import pytest

import archcalc
from archcalc.cli import main
from archcalc.core.errors import SpecError
from archcalc.walk.report import BlockResult, LayerResult
from archcalc.walk.rf import GLOBAL, AxisRF

ROOT = Path(__file__).resolve().parent.parent
SPECS = ("vgg16", "resnet50", "convnet1d")
KINDS = ("layers", "cumulative", "rf", "summary")
FORMATS = ("png", "svg", "pdf")
# Each spec draws every kind; the format rotates so that every kind is written in every format.
CASES = [(spec, kind, FORMATS[(i + j) % 3]) for i, spec in enumerate(SPECS) for j, kind in enumerate(KINDS)]


@functools.cache
def report(name: str) -> archcalc.Report:
    return archcalc.analyze(archcalc.load(ROOT / "specs" / f"{name}.yaml"))


def check_file(path: Path, fmt: str) -> None:
    data = path.read_bytes()
    if fmt == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    elif fmt == "svg":
        root = ET.fromstring(data)
        assert root.tag.rsplit("}", 1)[-1] == "svg"
    else:
        assert data.startswith(b"%PDF")
        assert data.rstrip().endswith(b"%%EOF")


def axis_by_label(fig, start: str, which: str = "y"):
    found = [ax for ax in fig.axes if (ax.get_ylabel() if which == "y" else ax.get_xlabel()).startswith(start)]
    assert len(found) == 1, [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes]
    return found[0]


def bars(ax) -> list:
    (container,) = ax.containers  # the one bar chart of the panel
    return list(container.patches)


def rf_sizes(r: archcalc.Report, axis: int, input_size: int) -> list[float]:
    out = []
    for row in r.layers:
        a = row.rf.axes[axis]
        out.append(float(a.size) if isinstance(a, AxisRF) else float(input_size) if a == GLOBAL else float("nan"))
    return out


def first_cover(r: archcalc.Report, axis: int, input_size: int) -> str:
    for row in r.layers:
        a = row.rf.axes[axis]
        if a == GLOBAL or (isinstance(a, AxisRF) and a.size >= input_size):
            return row.name
    raise AssertionError("never covers")


def check_title(fig, r: archcalc.Report) -> None:
    title = fig.get_suptitle()
    assert title.startswith(f"{r.name}: ")
    from archcalc.outputs.render import human
    assert human(r.totals.params) in title and human(r.totals.macs) in title
    notes = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert " ".join(r.convention.summary().split()) in [" ".join(n.split()) for n in notes]


def check_rf_axes(ax, r: archcalc.Report) -> None:
    sizes = r.input_shape[2:]
    line = next(li for li in ax.get_lines() if li.get_label().startswith("RF size"))
    # the zoo's inputs are square (or 1-D): one line stands for every axis
    assert line.get_label() in ("RF size, height and width", "RF size, length")
    assert list(line.get_xdata()) == list(range(1, len(r.layers) + 1))
    assert list(line.get_ydata()) == rf_sizes(r, 0, sizes[0])
    if len(sizes) == 2:
        assert rf_sizes(r, 1, sizes[1]) == rf_sizes(r, 0, sizes[0])
    inputs = [li for li in ax.get_lines() if li.get_label().startswith("input ")]
    assert len(inputs) == 1 and set(inputs[0].get_ydata()) == {float(sizes[0])}
    notes = [t.get_text() for t in ax.texts if t.get_text().startswith("covers the input")]
    assert len(notes) == 1 and f" at {first_cover(r, 0, sizes[0])}\n" in notes[0]
    assert ax.get_ylabel().startswith("receptive field size\n(input ")


@pytest.mark.parametrize("spec, kind, fmt", CASES)
def test_every_kind_in_every_format(tmp_path: Path, spec: str, kind: str, fmt: str) -> None:
    pytest.importorskip("matplotlib")
    from archcalc.outputs.plot import plot
    r = report(spec)
    path = tmp_path / f"{spec}_{kind}.{fmt}"
    fig = plot(r, kind, path)
    check_file(path, fmt)
    check_title(fig, r)
    n = len(r.layers)
    if kind == "layers":
        ax_p = axis_by_label(fig, "parameters (count", "x")
        ax_m = axis_by_label(fig, "MACs (multiply-accumulates, batch 1", "x")
        assert [p.get_width() for p in bars(ax_p)] == [row.params for row in r.layers]
        assert [p.get_width() for p in bars(ax_m)] == [row.macs for row in r.layers]
        assert [t.get_text() for t in ax_p.get_yticklabels()] == [row.name for row in r.layers]
        assert ax_p.get_ylabel() == "layer (execution order)"
        assert ax_p.get_title().startswith("parameters per layer") and ax_m.get_title().startswith("MACs per layer")
    elif kind == "cumulative":
        for label, key in (("cumulative parameters", "params"), ("cumulative MACs", "macs")):
            ax = axis_by_label(fig, label)
            line = ax.get_lines()[0]
            assert list(line.get_xdata()) == list(range(1, n + 1))
            assert list(line.get_ydata()) == list(accumulate(getattr(row, key) for row in r.layers))
            assert line.get_ydata()[-1] == getattr(r.totals, key)
            assert ax.get_title()
        assert axis_by_label(fig, "cumulative MACs").get_xlabel().startswith("layer")
    elif kind == "rf":
        ax = axis_by_label(fig, "receptive field size")
        check_rf_axes(ax, r)
        assert ax.get_xlabel().startswith("layer") and ax.get_title().startswith("receptive field size per layer")
    else:
        ax_p = axis_by_label(fig, "parameters\n(count")
        ax_f = axis_by_label(fig, "FLOPs\n(batch 1")
        ax_r = axis_by_label(fig, "receptive field size")
        assert [p.get_height() for p in bars(ax_p)] == [row.params for row in r.layers]
        assert [p.get_height() for p in bars(ax_f)] == [row.flops for row in r.layers]
        assert [p.get_x() + p.get_width() / 2 for p in bars(ax_p)] == list(range(1, n + 1))
        assert ax_p.get_yscale() == "log" and "log scale" in ax_p.get_ylabel()
        check_rf_axes(ax_r, r)
        assert ax_r.get_xlabel().startswith("layer")
        assert all(ax.get_title() for ax in (ax_p, ax_f, ax_r))
        if n <= 60:  # few layers: the shared axis names them
            assert [t.get_text() for t in ax_r.get_xticklabels()] == [row.name for row in r.layers]


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_layers_with_depth_draws_collapsed_blocks_by_their_subtotals(tmp_path: Path, depth: int) -> None:
    pytest.importorskip("matplotlib")
    from archcalc.outputs.plot import plot
    r = report("resnet50")
    fig = plot(r, "layers", tmp_path / "layers.png", depth=depth)
    ax_p = axis_by_label(fig, "parameters (count", "x")
    ax_m = axis_by_label(fig, "MACs (multiply-accumulates", "x")
    rows = [o for o in r.outline if (isinstance(o, LayerResult) and o.depth < depth)
            or (isinstance(o, BlockResult) and o.depth == depth - 1)]
    figures = [o.totals if isinstance(o, BlockResult) else o for o in rows]
    assert [p.get_width() for p in bars(ax_p)] == [f.params for f in figures]
    assert [p.get_width() for p in bars(ax_m)] == [f.macs for f in figures]
    assert sum(p.get_width() for p in bars(ax_p)) == r.totals.params
    assert sum(p.get_width() for p in bars(ax_m)) == r.totals.macs
    labels = [t.get_text() for t in ax_p.get_yticklabels()]
    assert [label.split()[0] for label in labels] == [o.name for o in rows]
    if depth == 1:
        assert labels[4] == "layer1  [repeat, 32 layers]"
        assert [o.name for o in rows] == ["conv1", "bn1", "relu_1", "maxpool", "layer1", "layer2", "layer3",
                                          "layer4", "avgpool", "fc"]
    assert f"blocks below depth {depth} collapsed" in fig.get_suptitle()
    assert ax_p.get_ylabel() == "layer, or block (subtotal)"


def test_cli_plot_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "vgg.svg"
    assert main(["plot", str(ROOT / "specs" / "vgg16.yaml"), "--kind", "rf", "-o", str(out)]) == 0
    check_file(out, "svg")
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == f"wrote {out}: the rf chart of vgg16 (convention archcalc)\n"  # one line, what and where


def test_bad_file_names_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    spec = str(ROOT / "specs" / "convnet1d.yaml")
    assert main(["plot", spec, "-o", str(tmp_path / "x.gif")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "x.gif" in err and ".png, .svg or .pdf" in err
    assert main(["plot", spec, "-o", str(tmp_path / "missing" / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write the image" in err
    assert main(["plot", spec, "--kind", "layers", "--depth", "0", "-o", str(tmp_path / "x.png")]) == 2


def test_symbolic_report_points_to_sweep() -> None:
    pytest.importorskip("matplotlib")
    from archcalc.outputs.plot import plot
    sym = archcalc.analyze(archcalc.load(ROOT / "specs" / "convnet1d.yaml", symbolic=["L"]))
    with pytest.raises(SpecError) as e:
        plot(sym, "summary", None)
    assert "symbolic" in str(e.value) and "archcalc sweep" in str(e.value) and "--plot" in str(e.value)


def test_sweep_plot_draws_the_swept_totals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    from archcalc.analyses.sweep import sweep
    from archcalc.outputs.plot_sweep import plot_sweep
    sym = archcalc.analyze(archcalc.load(ROOT / "specs" / "convnet1d.yaml", symbolic=["L"]))
    columns = sweep(sym, [("L", [64, 128, 256])], ["params", "macs"])
    fig = plot_sweep(columns, str(tmp_path / "sweep.pdf"), "convnet1d")
    check_file(tmp_path / "sweep.pdf", "pdf")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "L" and ax.get_ylabel().startswith("total") and ax.get_title().startswith("convnet1d")
    lines = {li.get_label(): li for li in ax.get_lines()}
    assert list(lines["macs"].get_xdata()) == [64, 128, 256]
    assert list(lines["macs"].get_ydata()) == columns["macs"]
    assert list(lines["params"].get_ydata()) == columns["params"]
    out = tmp_path / "sweep.png"
    assert main(["sweep", str(ROOT / "specs" / "convnet1d.yaml"), "--vary", "L=64:128:32", "--plot", str(out)]) == 0
    check_file(out, "png")


def test_without_matplotlib_one_line_error_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    from archcalc.outputs.plot import plot
    with pytest.raises(SpecError) as e:
        plot(report("convnet1d"), "summary", tmp_path / "x.png")
    assert e.value.message == "plotting needs matplotlib" and "archcalc[plot]" in e.value.hint
    assert main(["plot", str(ROOT / "specs" / "convnet1d.yaml"), "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("archcalc: ") and "pip install 'archcalc[plot]'" in err
    assert not (tmp_path / "x.png").exists()
    from archcalc.outputs.plot_sweep import plot_sweep
    with pytest.raises(SpecError, match=r"archcalc\[plot\]"):
        plot_sweep({"L": [1, 2], "macs": [3, 4]}, str(tmp_path / "s.png"))


def test_totals_chart_labels_resnet18_exactly():
    """ResNet-18's totals chart (the seeds' bar chart): 11,689,512 parameters (torchvision's published count), and
    the receptive field of layer4, the last local one, by hand: conv1 7 at jump 2, maxpool + 2 x 2 = 11 at 4,
    layer1 four 3x3 convs + 4 x 2 x 4 = 43, layer2 + 2 x 4 (its stride-2 conv) + 3 x 2 x 8 = 99 at 8,
    layer3 + 2 x 8 + 3 x 2 x 16 = 211 at 16, layer4 + 2 x 16 + 3 x 2 x 32 = 435 at 32."""
    pytest.importorskip("matplotlib")
    from archcalc.outputs.plot import plot
    r = report("resnet18")
    fig = plot(r, "totals")
    panels = {ax.get_title().split(" (")[0]: ax for ax in fig.axes if ax.get_title()}
    params, flops, field = panels["parameters"], panels["FLOPs"], panels["receptive field"]
    assert [t.get_text() for t in params.texts] == ["11,689,512"]
    assert [b.get_height() for b in bars(params)] == [11_689_512]
    assert [t.get_text() for t in flops.texts] == [f"{r.totals.flops:,}"]
    assert [t.get_text() for t in field.texts] == ["435", "435"] and "layer4" in field.get_title()
    assert [b.get_height() for b in bars(field)] == [435, 435]
    assert r.convention.name in " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_totals_chart_says_global_rather_than_drawing_zero(tmp_path):
    """No layer with a local field (a flatten first): the panel says global; no bar of zero."""
    pytest.importorskip("matplotlib")
    from archcalc.outputs.plot import plot
    spec = tmp_path / "flat.yaml"
    spec.write_text("name: flat\ninput: [3, 8, 8]\nlayers:\n  - flatten\n  - linear: {out_features: 10}\n")
    fig = plot(archcalc.analyze(archcalc.load(spec)), "totals", tmp_path / "t.svg")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "receptive field:\nglobal" in texts
    assert (tmp_path / "t.svg").read_bytes().lstrip().startswith(b"<?xml")
