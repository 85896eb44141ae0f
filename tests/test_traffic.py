"""Memory traffic: the bytes each layer reads and writes (its inputs, its params and buffers, its output) at a
dtype, batch included, weights read once per batch. Expected values are arithmetic written out here from the layer
shapes, and for a convolution the bytes of real torch tensors."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

import archcalc
from archcalc.analyses.memory import annotate
from archcalc.analyses.roofline import annotate as roofline
from archcalc.cli import main

CONV_NET = """\
name: tiny_conv
batch: 2
input: [3, 8, 8]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
  - relu: {}
  - maxpool2d: {kernel_size: 2}
  - flatten: {}
  - linear: {out_features: 10}
"""
# Elements read and written per layer, batch 2 (inputs + params + buffers + output):
CONV_TRAFFIC = [
    2 * 3 * 8 * 8 + (4 * 3 * 3 * 3 + 4) + 2 * 4 * 8 * 8,  # conv: input 384, weight 108 + bias 4, output 512
    2 * 4 * 8 * 8 + 2 * 4 * 8 * 8,                        # relu: 512 in, 512 out
    2 * 4 * 8 * 8 + 2 * 4 * 4 * 4,                        # maxpool 2: 512 in, 128 out
    2 * 64 + 2 * 64,                                      # flatten: a copy of 128
    2 * 64 + (64 * 10 + 10) + 2 * 10,                     # linear 64 -> 10: 128 in, 650 weights, 20 out
]

ATTENTION = """\
name: attn
input: [10, 64]
layers:
  - multihead_attention: {num_heads: 4}
"""
# Self-attention on T = 10 tokens of width d = 64: Q, K, V and output projections with biases (4 d^2 + 4 d), the
# input read once (the engine counts the tensor it reads, once), the output written once; the dense kernel's
# score matrix (4 x 10 x 10) is workspace, not traffic.
ATTENTION_TRAFFIC = 10 * 64 + (4 * 64 * 64 + 4 * 64) + 10 * 64


def run(capsys: Any, tmp_path: Path, text: str, *args: str) -> str:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    assert main([str(spec), *args]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


@pytest.mark.parametrize("dtype, size", [("fp32", 4), ("bf16", 2), ("int8", 1)])
def test_conv_net_traffic_in_json(capsys: Any, tmp_path: Path, dtype: str, size: int) -> None:
    data = json.loads(run(capsys, tmp_path, CONV_NET, "--memory", "--dtype", dtype, "-f", "json"))
    assert [row["memory"]["traffic_bytes"] for row in data["layers"]] == [n * size for n in CONV_TRAFFIC]
    assert data["memory"]["traffic_bytes"] == sum(CONV_TRAFFIC) * size
    assert "traffic" not in data["totals"] and "traffic" not in data["layers"][0]  # bytes only at a dtype


def test_attention_traffic(capsys: Any, tmp_path: Path) -> None:
    data = json.loads(run(capsys, tmp_path, ATTENTION, "--memory", "--dtype", "bf16", "-f", "json"))
    assert data["layers"][0]["memory"]["traffic_bytes"] == ATTENTION_TRAFFIC * 2
    assert data["memory"]["traffic_bytes"] == ATTENTION_TRAFFIC * 2


def test_traffic_in_every_format(capsys: Any, tmp_path: Path) -> None:
    """fp32 (4 bytes a value): total 3,726 elements = 14,904 bytes; the conv reads and writes 1,008 x 4 = 4,032."""
    total, conv = sum(CONV_TRAFFIC) * 4, CONV_TRAFFIC[0] * 4
    assert (total, conv) == (14_904, 4_032)
    table = run(capsys, tmp_path, CONV_NET, "--memory")
    head = table.splitlines()[1].split()
    assert head[-1] == "traffic"
    conv_line = next(line for line in table.splitlines() if line.startswith("conv2d_1"))
    assert conv_line.split()[-2:] == ["4.03", "KB"]  # 4,032 bytes in decimal units
    assert f"traffic           {total:,} bytes (14.90 KB)" in table

    rows = list(csv.reader(io.StringIO(run(capsys, tmp_path, CONV_NET, "--memory", "-f", "csv"))))
    column = rows[0].index("traffic_bytes")
    assert [int(r[column]) for r in rows[1:6]] == [n * 4 for n in CONV_TRAFFIC]
    assert rows[6][0] == "total" and int(rows[6][column]) == total

    md = run(capsys, tmp_path, CONV_NET, "--memory", "-f", "markdown")
    md_head = next(line for line in md.splitlines() if line.startswith("| name"))
    assert md_head.endswith("| traffic (bytes) |")
    assert next(line for line in md.splitlines() if "conv2d_1" in line).endswith(f"| {conv:,} |")
    assert f"- Traffic: {total:,} bytes" in md

    tex = run(capsys, tmp_path, CONV_NET, "--memory", "-f", "latex")
    assert r"Layer & Type & Output shape & Params & MACs & FLOPs & Traffic (bytes) \\" in tex
    assert next(line for line in tex.splitlines() if line.startswith("conv2d")).endswith(r"& $4\,032$ \\")
    assert r"\mathrm{traffic} &= 14\,904" in tex

    out = tmp_path / "report.html"
    spec = tmp_path / "spec.yaml"
    assert main(["report", str(spec), "--memory", "-o", str(out)]) == 0
    page = out.read_text()
    assert 'title="sort by memory.traffic_bytes">traffic_bytes</th>' in page
    assert f'data-value="{total}">{total:,}</td>' in page


def test_default_outputs_show_no_traffic(capsys: Any, tmp_path: Path) -> None:
    """Without a dtype there are no bytes: the default views stay as they were."""
    for fmt in ("table", "json", "csv", "markdown", "latex"):
        assert "traffic" not in run(capsys, tmp_path, CONV_NET, "-f", fmt).lower()


def test_symbolic_traffic_is_a_formula(capsys: Any, tmp_path: Path) -> None:
    """--symbolic H W: conv 3 -> 4 (3x3, padding 1) keeps H x W, a global pool gives 4 values. Per layer (batch 1):
    conv 3HW + 112 + 4HW, relu 4HW + 4HW, pool 4HW + 4, flatten 4 + 4, linear 4 + 50 + 10: 19HW + 188 values,
    76HW + 752 bytes in fp32."""
    import sympy
    text = ("name: sym\nsymbols: [H, W]\ninput: [3, H, W]\nlayers:\n"
            "  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}\n  - relu: {}\n  - global_avgpool: {}\n"
            "  - flatten: {}\n  - linear: {out_features: 10}\n")
    H, W = sympy.symbols("H W", integer=True, positive=True)
    data = json.loads(run(capsys, tmp_path, text, "--memory", "-f", "json"))
    per_layer = [7 * H * W + 112, 8 * H * W, 4 * H * W + 4, 8, 64]
    shown = [row["memory"]["traffic_bytes"] for row in data["layers"]]
    assert shown == [str(sympy.expand(4 * n)) if not isinstance(n, int) else 4 * n for n in per_layer]
    assert data["memory"]["traffic_bytes"] == str(sympy.expand(4 * sum(per_layer))) == "76*H*W + 752"
    table = run(capsys, tmp_path, text, "--memory")
    assert "traffic           76*H*W + 752 bytes" in table


def test_symbolic_attention_traffic(capsys: Any, tmp_path: Path) -> None:
    """T tokens, a multiple of 8: 2 x 64 T values in and out plus 16,640 weights, in bf16; no internal T_8."""
    import sympy
    text = ATTENTION.replace("input: [10, 64]", "symbols: {T: {multiple_of: 8}}\ninput: [T, 64]")
    T = sympy.Symbol("T", integer=True, positive=True)
    data = json.loads(run(capsys, tmp_path, text, "--memory", "--dtype", "bf16", "-f", "json"))
    expected = sympy.expand(2 * (T * 64 + 4 * 64 * 64 + 4 * 64 + T * 64))
    assert data["layers"][0]["memory"]["traffic_bytes"] == str(expected) == "256*T + 33280"


def test_the_roofline_moves_the_traffic() -> None:
    """The roofline's bytes per layer are the traffic at the same dtype."""
    report = archcalc.analyze(archcalc.load(CONV_NET))
    annotate(report, "bf16")
    roofline(report, "a100-80gb-sxm", "bf16")
    assert [r.extra["roofline"]["bytes"] for r in report.layers] == [r.extra["memory"]["traffic_bytes"]
                                                                     for r in report.layers]
    assert report.extra["roofline"]["totals"]["bytes"] == sum(CONV_TRAFFIC) * 2


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_conv_traffic_against_torch_tensors(capsys: Any, tmp_path: Path, dtype: str) -> None:
    """A conv's traffic is the bytes of the tensors torch reads and writes: input, weight, bias and output."""
    torch = pytest.importorskip("torch")
    conv = torch.nn.Conv2d(3, 4, 3, padding=1).to(getattr(torch, dtype))
    x = torch.zeros(2, 3, 8, 8, dtype=getattr(torch, dtype))
    y = conv(x)
    measured = sum(t.numel() * t.element_size() for t in (x, conv.weight, conv.bias, y))
    archcalc_dtype = {"float32": "fp32", "bfloat16": "bf16"}[dtype]
    data = json.loads(run(capsys, tmp_path, CONV_NET, "--dtype", archcalc_dtype, "-f", "json"))
    assert data["layers"][0]["memory"]["traffic_bytes"] == measured
