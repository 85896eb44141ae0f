"""Roofline bounds (archcalc.analyses.roofline). Expected values are arithmetic written out here from the layer formulas
and the datasheet figures (NVIDIA A100 datasheet, 80GB SXM: BF16 312 TFLOPS dense, 2,039 GB/s), never copied
from archcalc's output."""
from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

import archcalc
from archcalc.analyses.roofline import BUILTIN, NOTE, annotate, device, listing, load_file
from archcalc.cli import main
from archcalc.core.errors import ArchcalcError, SpecError
from archcalc.outputs.render import FORMATS

ROOT = Path(__file__).resolve().parent.parent

A100_BF16 = 312 * 10**12  # FLOP/s, dense
A100_BW = 2_039 * 10**9  # bytes/s
BF16 = 2  # bytes per value

CONV = """\
name: conv
input: [64, 56, 56]
layers:
  - conv2d: {name: conv, out_channels: 64, kernel_size: 3, padding: 1, bias: false}
"""
LINEAR = """\
name: fc
input: [4096]
layers:
  - linear: {name: fc, out_features: 4096}
"""
BOTH = """\
name: both
input: [64, 56, 56]
layers:
  - conv2d: {name: conv, out_channels: 64, kernel_size: 3, padding: 1, bias: false}
  - global_avgpool: {name: pool}
  - linear: {name: fc, out_features: 10}
"""


def analysed(text: str, hardware: str = "a100-80gb-sxm", dtype: str = "bf16", efficiency: object = 1):
    return annotate(archcalc.analyze(archcalc.load(text)), hardware, dtype, efficiency)


def fig(value: object) -> Fraction:
    """An exact JSON value back to a Fraction: an int, or a string 'p/q'."""
    assert isinstance(value, (int, str)) and not isinstance(value, bool), value
    return Fraction(value)


# ---------------------------------------------------------------- the two reference layers

def test_conv_layer_is_compute_bound_on_a100_bf16() -> None:
    report = analysed(CONV)
    r = report.layers[0].extra["roofline"]
    params = 64 * 64 * 3 * 3                      # no bias
    inputs = 64 * 56 * 56                         # batch 1
    outputs = 64 * 56 * 56                        # padding 1 keeps 56 x 56
    flops = 2 * (64 * 56 * 56) * (64 * 3 * 3)     # 2 x MACs, no bias adds
    moved = (params + inputs + outputs) * BF16    # = 876,544 bytes
    assert moved == 876_544
    assert (r["flops"], r["bytes"]) == (flops, moved)
    intensity = Fraction(flops, moved)            # about 263.8 FLOP/byte
    ridge = Fraction(A100_BF16, A100_BW)          # 312e12 / 2.039e12, about 153.0 FLOP/byte
    assert fig(r["intensity"]) == intensity
    assert intensity > ridge and r["bound"] == "compute"
    compute = Fraction(flops, A100_BF16)          # about 0.741 us
    memory = Fraction(moved, A100_BW)             # about 0.430 us
    assert fig(r["compute_time_s"]) == compute and fig(r["memory_time_s"]) == memory
    assert fig(r["time_lower_bound_s"]) == compute == fig(r["time_at_efficiency_s"])
    section = report.extra["roofline"]
    assert fig(section["ridge_point"]) == ridge == Fraction(312_000, 2_039)
    assert (section["peak_flops"], section["bandwidth"], section["bytes_per_value"]) == (A100_BF16, A100_BW, 2)


def test_linear_layer_at_batch_1_is_memory_bound_on_a100_bf16() -> None:
    report = analysed(LINEAR)
    r = report.layers[0].extra["roofline"]
    params = 4096 * 4096 + 4096                   # weight + bias
    flops = 2 * 4096 * 4096 + 4096                # 2 x MACs + one bias add per output
    moved = (params + 4096 + 4096) * BF16         # weights, the input vector, the output vector
    assert (r["flops"], r["bytes"]) == (flops, moved)
    intensity = Fraction(flops, moved)            # about 1 FLOP/byte: every weight is used once
    assert fig(r["intensity"]) == intensity and Fraction(99, 100) < intensity < 1
    assert intensity < Fraction(A100_BF16, A100_BW) and r["bound"] == "memory"
    assert fig(r["time_lower_bound_s"]) == Fraction(moved, A100_BW)  # about 16.5 us
    assert fig(r["compute_time_s"]) == Fraction(flops, A100_BF16)    # about 0.11 us


def test_totals_sum_the_layer_bounds_and_give_the_whole_network_intensity() -> None:
    report = analysed(BOTH)
    t = report.extra["roofline"]["totals"]
    conv_flops, conv_bytes = 2 * 64 * 56 * 56 * 64 * 9, (64 * 64 * 9 + 2 * 64 * 56 * 56) * BF16
    pool_flops, pool_bytes = 64 * 56 * 56, (64 * 56 * 56 + 64) * BF16  # (56*56 - 1) adds + 1 divide per channel
    fc_flops, fc_bytes = 2 * 64 * 10 + 10, (64 * 10 + 10 + 64 + 10) * BF16
    bounds = [max(Fraction(f, A100_BF16), Fraction(b, A100_BW))
              for f, b in ((conv_flops, conv_bytes), (pool_flops, pool_bytes), (fc_flops, fc_bytes))]
    assert [r.extra["roofline"]["bytes"] for r in report.layers] == [conv_bytes, pool_bytes, fc_bytes]
    assert t["flops"] == conv_flops + pool_flops + fc_flops == report.totals.flops
    assert t["bytes"] == conv_bytes + pool_bytes + fc_bytes
    assert fig(t["intensity"]) == Fraction(t["flops"], t["bytes"])
    assert fig(t["time_lower_bound_s"]) == sum(bounds)
    assert (t["compute_bound_layers"], t["memory_bound_layers"]) == (1, 2)
    section = report.extra["roofline"]
    assert section["dtype"] == "bf16" and section["device"]["name"] == "a100-80gb-sxm"
    assert "lower bounds, not predictions" in section["note"] and section["assumptions"]
    assert any("read" in a and "once" in a for a in section["assumptions"])


def test_batch_scales_activations_but_weights_are_read_once() -> None:
    one = analysed(LINEAR).layers[0].extra["roofline"]
    eight = annotate(archcalc.analyze(archcalc.load(LINEAR), batch=8), "a100-80gb-sxm", "bf16").layers[0]
    r = eight.extra["roofline"]
    assert r["bytes"] == (4096 * 4096 + 4096 + 8 * 4096 + 8 * 4096) * BF16
    assert r["flops"] == 8 * (2 * 4096 * 4096 + 4096)
    assert fig(r["intensity"]) > 7 * fig(one["intensity"])


def test_dtype_sets_bytes_per_value_and_peak() -> None:
    fp32 = analysed(CONV, dtype="fp32").layers[0].extra["roofline"]
    int8 = analysed(CONV, dtype="int8").layers[0].extra["roofline"]
    moved = 64 * 64 * 9 + 2 * 64 * 56 * 56
    assert (fp32["bytes"], int8["bytes"]) == (4 * moved, moved)
    flops = 2 * 64 * 56 * 56 * 64 * 9
    assert fig(fp32["compute_time_s"]) == Fraction(flops, 19_500 * 10**9)  # A100 FP32 19.5 TFLOPS
    assert fig(int8["compute_time_s"]) == Fraction(flops, 624 * 10**12)    # A100 INT8 624 TOPS


# ---------------------------------------------------------------- efficiency

@pytest.mark.parametrize("efficiency, factor", [(0.5, 2), (0.25, 4), (0.3, Fraction(10, 3)), (1, 1), ("1/8", 8)])
def test_efficiency_divides_the_bound_exactly(efficiency: object, factor: Fraction) -> None:
    report = analysed(BOTH, efficiency=efficiency)
    for row in report.layers:
        r = row.extra["roofline"]
        assert fig(r["time_at_efficiency_s"]) == fig(r["time_lower_bound_s"]) * factor
    t = report.extra["roofline"]["totals"]
    assert fig(t["time_at_efficiency_s"]) == fig(t["time_lower_bound_s"]) * factor
    assert fig(report.extra["roofline"]["efficiency"]) == 1 / Fraction(factor)


@pytest.mark.parametrize("efficiency", [0, -0.5, 1.5, float("nan"), float("inf"), "x", True])
def test_efficiency_outside_0_1_is_a_one_line_error(efficiency: object) -> None:
    with pytest.raises(ArchcalcError) as e:
        analysed(CONV, efficiency=efficiency)
    assert "\n" not in e.value.format() and "(0, 1]" in e.value.format()


def test_cli_efficiency_error(capsys, tmp_path: Path) -> None:
    spec = tmp_path / "conv.yaml"
    spec.write_text(CONV)
    assert main([str(spec), "--hardware", "a100-80gb-sxm", "--efficiency", "1.5"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("archcalc: --efficiency: ") and "(0, 1]" in err


# ---------------------------------------------------------------- built-in table and devices

def test_builtin_figures_are_the_datasheet_numbers() -> None:
    T, G = 10**12, 10**9
    a100, h100, h200, rtx = (BUILTIN[n] for n in ("a100-80gb-sxm", "h100-sxm", "h200-sxm", "rtx-4090"))
    assert a100.peak_flops == {"fp32": 19_500 * G, "bf16": 312 * T, "fp16": 312 * T, "int8": 624 * T}
    assert a100.bandwidth == 2_039 * G
    # H100 SXM datasheet: 1,979 TFLOPS BF16 and 3,958 TOPS INT8 are "with sparsity"; dense is half
    assert h100.peak_flops == {"fp32": 67 * T, "bf16": 989_500 * G, "fp16": 989_500 * G, "int8": 1_979 * T}
    assert h100.bandwidth == 3_350 * G
    assert h200.peak_flops == h100.peak_flops and h200.bandwidth == 4_800 * G
    assert rtx.peak_flops == {"fp32": 82_600 * G, "bf16": 165_200 * G, "fp16": 165_200 * G, "int8": 660_600 * G}
    assert rtx.bandwidth == 21 * 384 // 8 * G  # 21 Gbps GDDR6X on a 384-bit bus = 1,008 GB/s
    assert BUILTIN["m2-max"].peak_flops == {"fp32": 38 * 128 * 2 * 1_398 * 10**6}
    assert BUILTIN["m2-max"].bandwidth == 400 * G
    cpu = BUILTIN["generic-cpu-avx512"]
    assert cpu.peak_flops["fp32"] == 16 * 2 * 16 * 2 * 3 * G and cpu.bandwidth == 2 * 8 * 5_600 * 10**6
    assert "illustrative" in cpu.title.lower()
    for d in BUILTIN.values():
        assert d.source and all(isinstance(v, int) and v > 0 for v in d.peak_flops.values())
        assert isinstance(d.bandwidth, int)


def test_names_are_case_and_separator_insensitive() -> None:
    assert device("A100-80GB-SXM") is BUILTIN["a100-80gb-sxm"]
    assert device("rtx_4090") is BUILTIN["rtx-4090"]


def test_unknown_device_suggests_a_name() -> None:
    with pytest.raises(SpecError) as e:
        device("h100")
    assert "did you mean 'h100-sxm'?" in e.value.format() and "\n" not in e.value.format()


def test_missing_dtype_of_a_builtin_device() -> None:
    with pytest.raises(SpecError) as e:
        analysed(CONV, hardware="m2-max", dtype="bf16")
    assert "no published bf16 peak" in e.value.format()


def test_symbolic_report_is_not_supported() -> None:
    report = archcalc.analyze(archcalc.load(ROOT / "specs" / "vgg16.yaml", symbolic=["H", "W"]))
    with pytest.raises(SpecError) as e:
        annotate(report, "a100-80gb-sxm", "bf16")
    assert "symbolic" in e.value.format() and "\n" not in e.value.format()
    assert "roofline" not in report.extra


def test_hardware_list(capsys, tmp_path: Path) -> None:
    text = listing()
    for name, d in BUILTIN.items():
        assert name in text and d.source in text
    assert "312 TFLOP/s" in text and "2.039 TB/s" in text
    assert main(["--hardware", "list"]) == 0
    assert capsys.readouterr().out == text + "\n"
    done = subprocess.run([sys.executable, "-m", "archcalc", "--hardware", "list"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == text + "\n" and done.stderr == ""
    spec = tmp_path / "conv.yaml"
    spec.write_text(CONV)
    assert main([str(spec), "--hardware", "list"]) == 2  # the listing takes no spec
    assert "archcalc --hardware list" in capsys.readouterr().err


# ---------------------------------------------------------------- user entries

def write(tmp_path: Path, text: str, name: str = "hw.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_user_entry_from_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "lab-gpu:\n  peak_flops: {fp32: 1e13, bf16: 40 T, int8: 80000000000000}\n"
                           "  bandwidth: '1.5e12'\n  source: our measurement\n")
    report = analysed(CONV, hardware=str(path), dtype="bf16")
    r = report.layers[0].extra["roofline"]
    flops, moved = 2 * 64 * 56 * 56 * 64 * 9, (64 * 64 * 9 + 2 * 64 * 56 * 56) * BF16
    assert fig(r["time_lower_bound_s"]) == max(Fraction(flops, 40 * 10**12), Fraction(moved, 15 * 10**11))
    dev = report.extra["roofline"]["device"]
    assert dev["name"] == "lab-gpu" and dev["source"] == "our measurement"
    assert dev["peak_flops"] == {"fp32": 10**13, "bf16": 40 * 10**12, "int8": 8 * 10**13}


def test_user_file_with_several_entries_needs_a_name(tmp_path: Path) -> None:
    path = write(tmp_path, "a:\n  peak_flops: {fp32: 1e12}\n  bandwidth: 1e11\n"
                           "b:\n  peak_flops: {fp32: 2e12}\n  bandwidth: 2e11\n")
    assert set(load_file(str(path))) == {"a", "b"}
    assert device(f"{path}:b").peak_flops == {"fp32": 2 * 10**12}
    with pytest.raises(SpecError) as e:
        device(str(path))
    assert "2 devices" in e.value.format() and f"{path}:a" in e.value.format()
    with pytest.raises(SpecError) as e:
        device(f"{path}:c")
    assert "no device 'c'" in e.value.format()


@pytest.mark.parametrize("text, line, words", [
    ("gpu:\n  peak_flops: {fp32: 1e12}\n  bandwith: 1e11\n", 3, "unknown field 'bandwith' (did you mean 'bandwidth'?)"),
    ("gpu:\n  peak_flops:\n    fp32: 1e12\n    bf61: 2e12\n  bandwidth: 1e11\n", 4, "did you mean 'bf16'?"),
    ("gpu:\n  peak_flops: {fp32: -1e12}\n  bandwidth: 1e11\n", 2, "expected a positive number per second"),
    ("gpu:\n  peak_flops: {fp32: fast}\n  bandwidth: 1e11\n", 2, "expected a number per second, got 'fast'"),
    ("gpu:\n  peak_flops: {fp32: 1e12}\n  bandwidth: 0.5\n", 3, "expected a whole number per second"),
    ("gpu:\n  peak_flops: {fp32: 1e12}\n", 2, "missing required field 'bandwidth'"),
    ("gpu:\n  peak_flops: {}\n  bandwidth: 1e11\n", 2, "peak_flops gives no figure"),
    ("gpu:\n  peak_flops: {fp32: 1e12}\n  bandwidth: 1e11\n", 2, "peak_flops has no bf16 figure"),
    ("gpu: 5\n", 1, "an entry is a mapping with peak_flops and bandwidth"),
    ("- gpu\n", 1, "a hardware file is a mapping of device names to entries"),
    ("", 1, "the hardware file is empty"),
    ("gpu: {peak_flops: {fp32: 1e12}\n", 1, "YAML syntax error"),
])
def test_user_entry_errors_are_one_line_with_file_and_line(capsys, tmp_path: Path, text: str, line: int,
                                                           words: str) -> None:
    spec = write(tmp_path, CONV, "conv.yaml")
    path = write(tmp_path, text)
    assert main([str(spec), "--hardware", str(path), "--dtype", "bf16"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"archcalc: {path}:{line}: "), err
    assert words in err, err
    if "gpu:" in text and words.startswith(("unknown", "expected", "missing", "peak_flops", "an entry")):
        assert "hardware entry gpu: " in err


def test_missing_hardware_file(capsys, tmp_path: Path) -> None:
    spec = write(tmp_path, CONV, "conv.yaml")
    assert main([str(spec), "--hardware", str(tmp_path / "none.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


# ---------------------------------------------------------------- output formats

def test_json_output_contains_the_roofline(capsys, tmp_path: Path) -> None:
    spec = write(tmp_path, BOTH, "both.yaml")
    assert main([str(spec), "--hardware", "a100-80gb-sxm", "--dtype", "bf16", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    section = data["roofline"]
    assert section["note"] == NOTE and "lower bounds, not predictions" in NOTE
    assert section["device"]["peak_flops"]["bf16"] == A100_BF16
    assert [layer["roofline"]["bound"] for layer in data["layers"]] == ["compute", "memory", "memory"]
    conv = data["layers"][0]["roofline"]
    assert conv["bytes"] == (64 * 64 * 9 + 2 * 64 * 56 * 56) * BF16
    assert fig(conv["intensity"]) == Fraction(2 * 64 * 56 * 56 * 64 * 9, conv["bytes"])


def test_table_prints_columns_device_totals_and_the_statement(capsys, tmp_path: Path) -> None:
    spec = write(tmp_path, BOTH, "both.yaml")
    assert main([str(spec), "--hardware", "a100-80gb-sxm", "--dtype", "bf16", "--efficiency", "0.5"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("name "))
    assert header.split()[-3:] == ["intensity", "bound", "time"]
    conv_line = next(line for line in out.splitlines() if line.startswith("conv "))
    # 263.78 FLOP/byte; 2 x 0.741 us at efficiency 0.5
    assert "263.78" in conv_line and "compute" in conv_line and "1.48 µs" in conv_line
    assert "NVIDIA A100 80GB SXM" in out and "ridge point 153.02 FLOP/byte" in out
    assert "at efficiency 0.5" in out
    assert "lower bounds, not predictions" in out


def test_without_hardware_nothing_changes(capsys, tmp_path: Path) -> None:
    spec = write(tmp_path, BOTH, "both.yaml")
    assert main([str(spec)]) == 0
    out = capsys.readouterr().out
    assert "intensity" not in out and "predictions" not in out


def test_markdown_and_csv(tmp_path: Path) -> None:
    report = analysed(BOTH)
    md = FORMATS["markdown"](report, None)
    assert "| intensity | bound | time |" in md and "lower bounds, not predictions" in md
    assert all(line.count("|") == md.splitlines()[4].count("|") for line in md.splitlines() if line.startswith("|"))
    rows = FORMATS["csv"](report, None).splitlines()
    assert rows[0].endswith(",bytes,intensity,bound,time_lower_bound_s,time_at_efficiency_s")
    conv = rows[1].split(",")
    assert conv[0] == "conv" and int(conv[-5]) == (64 * 64 * 9 + 2 * 64 * 56 * 56) * BF16
    assert Fraction(conv[-4]) == Fraction(2 * 64 * 56 * 56 * 64 * 9, int(conv[-5])) and conv[-3] == "compute"
    total = next(row for row in rows if row.startswith("total,")).split(",")  # `#` lines may follow it
    assert total[0] == "total" and int(total[-5]) == report.extra["roofline"]["totals"]["bytes"]


def test_zoo_network_with_blocks_and_depth() -> None:
    report = annotate(archcalc.analyze(archcalc.load(ROOT / "specs" / "resnet18.yaml")), "h100-sxm", "fp16", 0.5)
    layers = [r.extra["roofline"] for r in report.layers]
    t = report.extra["roofline"]["totals"]
    assert sum(fig(r["time_lower_bound_s"]) for r in layers) == fig(t["time_lower_bound_s"])
    assert sum(r["bytes"] for r in layers) == t["bytes"]
    text = FORMATS["table"](report, 1)
    assert "mixed" in text and "lower bounds, not predictions" in text
    json.loads(FORMATS["json"](report, None))
