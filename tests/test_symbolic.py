"""Symbolic mode: closed forms that agree with numeric runs, hand-derived polynomials and RF formulas.

Every expected formula below is derived by hand in the comments; the consistency tests compare the
symbolic engine with the numeric engine (two different number types through the same formulas).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import archcalc

sympy = pytest.importorskip("sympy")
SPECS = Path(__file__).resolve().parent.parent / "specs"
METRICS = ("params", "buffers", "macs", "flops", "activations")


def sym(name: str):
    return sympy.Symbol(name, integer=True, positive=True)


def at(expr, values: dict[str, int]):
    """Evaluate a report figure at numbers (figures are sympy expressions in the user's symbols)."""
    if not isinstance(expr, sympy.Basic):
        return expr
    return int(expr.subs({sym(k): v for k, v in values.items()}))


def _variables(path: Path) -> dict[str, int]:
    import yaml
    data = yaml.safe_load(path.read_text())
    return {k: v for k, v in (data.get("variables") or {}).items() if isinstance(v, int) and not isinstance(v, bool)}


ZOO = sorted(p for p in SPECS.glob("*.yaml") if {"H", "W"} <= set(_variables(p)))


@pytest.mark.parametrize("path", ZOO, ids=lambda p: p.stem)
def test_zoo_symbolic_totals_equal_numeric_totals(path: Path) -> None:
    """Acceptance 1: symbolic totals in (H, W), evaluated at the zoo's numbers, equal the numeric totals."""
    numeric = archcalc.analyze(archcalc.load(path))
    symbolic = archcalc.analyze(archcalc.load(path, symbolic=["H", "W"]))
    values = _variables(path)
    for metric in METRICS:
        assert at(getattr(symbolic.totals, metric), values) == getattr(numeric.totals, metric), metric
    assert [at(d, values) for d in symbolic.output_shape] == list(numeric.output_shape)


def test_vgg16_macs_is_a_polynomial_in_hw() -> None:
    """Acceptance 2. Conv MACs per input pixel (3x3 kernels, 2x2 pools quartering the area each stage):
    stage 1: 3*64*9 + 64*64*9                     = 38592
    stage 2: (64*128*9 + 128*128*9) / 4           = 55296
    stage 3: (128*256*9 + 2*256*256*9) / 16       = 92160
    stage 4: (256*512*9 + 2*512*512*9) / 64       = 92160
    stage 5: 3*512*512*9 / 256                    = 27648      sum = 305856
    Classifier (after the 7x7 adaptive pool): 25088*4096 + 4096*4096 + 4096*1000 = 123633664.
    """
    report = archcalc.analyze(archcalc.load(SPECS / "vgg16.yaml", symbolic=["H", "W"]))
    H, W = sym("H"), sym("W")
    assert sympy.expand(report.totals.macs - (305856 * H * W + 123633664)) == 0
    assert not report.totals.macs.has(sympy.floor)
    # at 224x224 it is torchvision's figure (shared/reference/torchvision.json)
    assert at(report.totals.macs, {"H": 224, "W": 224}) == 15_470_264_320


def test_resnet50_macs_polynomial() -> None:
    """With H, W multiples of 32, ResNet-50's MACs are c*H*W + 2048*1000 (the fc layer), and at 224 they
    equal torchvision's 4,089,184,256 (shared/reference/torchvision.json): c = (4089184256 - 2048000) / 224^2."""
    report = archcalc.analyze(archcalc.load(SPECS / "resnet50.yaml", symbolic=["H", "W"]))
    H, W = sym("H"), sym("W")
    c = sympy.Rational(4_089_184_256 - 2_048_000, 224 * 224)
    assert sympy.expand(report.totals.macs - (c * H * W + 2_048_000)) == 0


def test_tcn_receptive_field_is_linear_in_repeats() -> None:
    """Acceptance 3. Each level pads left by d = 2^i and convolves with kernel 2 and dilation d:
    r += (2 - 1) * d = d, P += d (jump stays 1). One stack of 10 levels adds 1 + 2 + ... + 512 = 1023,
    L stacks add 1023 L, so r = 1 + 1023 L and the output sees [-1023 L, 0]: P = 1023 L."""
    report = archcalc.analyze(archcalc.load(SPECS / "tcn.yaml", symbolic=["L"]))
    L = sym("L")
    rf = report.rf
    assert sympy.expand(rf.axes[0].size - (1 + 1023 * L)) == 0
    assert sympy.expand(rf.axes[0].padding - 1023 * L) == 0
    assert rf.axes[0].jump == 1
    # the same at L = 4 from a numeric run: 1 + 1023 * 4 = 4093
    numeric = archcalc.analyze(archcalc.load(SPECS / "tcn.yaml"))
    assert numeric.rf.axes[0].size == 4093
    # params are L times one stack: 10 levels of (32*32*2 + 32) = 20800, plus embed 1*32 + 32 and head 32 + 1
    assert sympy.expand(report.totals.params - (20800 * L + 64 + 33)) == 0


def test_symbolic_repeat_with_stride_gives_a_geometric_series() -> None:
    """A unit conv k3 s1 p1 repeated L times on a shape-preserving path: r = 1 + 2L (jump 1)."""
    spec = """
name: t
symbols: [L]
input: [4, 64]
layers:
  - conv1d: {out_channels: 4, kernel_size: 3, padding: 1, repeat: L}
"""
    report = archcalc.analyze(archcalc.load(spec))
    L = sym("L")
    assert sympy.expand(report.rf.axes[0].size - (1 + 2 * L)) == 0
    # params: L * (4 * 4 * 3 + 4) = 52 L
    assert sympy.expand(report.totals.params - 52 * L) == 0


def test_symbolic_repeat_must_keep_the_shape() -> None:
    spec = """
name: t
symbols: [L]
input: [4, 64]
layers:
  - conv1d: {out_channels: 4, kernel_size: 3, stride: 2, repeat: L}
"""
    with pytest.raises(archcalc.ArchcalcError, match="keeps the shape"):
        archcalc.analyze(archcalc.load(spec))


def test_without_assumptions_floors_stay_and_are_exact() -> None:
    """Without multiple_of, a stride-2 conv keeps floor((H - 1) / 2) + 1, which is exact for every H."""
    spec = """
name: t
symbols: [H]
input: [1, H]
layers:
  - conv1d: {out_channels: 1, kernel_size: 3, stride: 2, padding: 1, bias: false}
"""
    report = archcalc.analyze(archcalc.load(spec))
    assert report.totals.macs.has(sympy.floor)
    for h in range(1, 40):
        numeric = archcalc.analyze(archcalc.load(spec.replace("symbols: [H]", f"variables: {{H: {h}}}")))
        # MACs = out_len * 3, out_len = floor((h + 2 - 2 - 1) / 2) + 1
        assert at(report.totals.macs, {"H": h}) == numeric.totals.macs == ((h - 1) // 2 + 1) * 3


def test_numeric_analysis_does_not_import_sympy() -> None:
    code = ("import sys, archcalc; r = archcalc.analyze(archcalc.load('specs/resnet50.yaml')); "
            "print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=SPECS.parent, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_numeric_run_does_not_import_sympy() -> None:
    code = ("import sys, io, contextlib; from archcalc.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(['specs/vgg16.yaml', '-f', 'json'])\n"
            "print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=SPECS.parent, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_latex_totals_parse_back() -> None:
    """Acceptance 5 without a TeX engine: each total in the align block parses back to the same formula."""
    lark = pytest.importorskip("lark")  # noqa: F841  (sympy's LaTeX parser backend)
    from sympy.parsing.latex import parse_latex

    from archcalc.outputs.render import latex
    report = archcalc.analyze(archcalc.load(SPECS / "resnet50.yaml", symbolic=["H", "W"]))
    text = latex(report)
    block = text[text.index(r"\begin{align}") + len(r"\begin{align}"):text.index(r"\end{align}")]
    lines = [line.rstrip(" \\") for line in block.strip().splitlines()]
    assert len(lines) == 3
    for line, metric in zip(lines, ("params", "macs", "flops")):
        rhs, _, where = line.split("&=", 1)[1].partition(r" \qquad ")
        parsed = parse_latex(rhs.replace(r"\,", ""), backend="lark")
        parsed = parsed.subs({s: sym(str(s)) for s in parsed.free_symbols})
        # integer coefficients in the assumptions' variables: "(H = 32\,h,\ W = 32\,w)" puts h = H / 32 back
        assert bool(where) == (metric == "flops")  # FLOPs: layer4 relus of 512 x H/32 x W/32 = H W / 2
        for big, m, small in re.findall(r"(\w+) = (\d+)\\,(\w+)", where):
            parsed = parsed.subs(sym(small), sym(big) / int(m))
        assert sympy.simplify(parsed - sympy.sympify(getattr(report.totals, metric))) == 0, metric


def test_latex_compiles_when_a_tex_engine_is_available(tmp_path: Path) -> None:
    import shutil
    engine = shutil.which("pdflatex")
    if engine is None:
        pytest.skip("no TeX engine (pdflatex) installed; the parse-back test covers the formulas")
    from archcalc.outputs.render import latex
    report = archcalc.analyze(archcalc.load(SPECS / "vgg16.yaml", symbolic=["H", "W"]))
    doc = ("\\documentclass{article}\\usepackage{booktabs}\\usepackage{amsmath}\\begin{document}\n"
           + latex(report, 1) + "\n\\end{document}\n")
    (tmp_path / "t.tex").write_text(doc)
    run = subprocess.run([engine, "-interaction=nonstopmode", "t.tex"], cwd=tmp_path, capture_output=True)
    assert run.returncode == 0, run.stdout[-2000:]


def test_sweep_and_solve_agree_with_numeric_runs() -> None:
    from archcalc.analyses.solve import solve
    from archcalc.analyses.sweep import sweep
    report = archcalc.analyze(archcalc.load(SPECS / "vgg16.yaml", symbolic=["H", "W"]))
    table = sweep(report, [("H", [32, 224]), ("W", [224])], ["macs"])
    assert table["macs"] == [archcalc.analyze(archcalc.load(SPECS / "vgg16.yaml"), H=h).totals.macs
                             for h in (32, 224)]
    one = archcalc.analyze(archcalc.load(SPECS / "vgg16.yaml", symbolic=["H"]))
    # 305856 * H * 224 + 123633664 <= 1e10  ->  H <= 144.16..., and H is a multiple of 32: 128
    value, achieved = solve(one, "macs", 10**10, "H", 10**6)
    assert value == 128
    assert achieved == 305856 * 128 * 224 + 123633664


def test_json_formulas_parse_back_with_sympy(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from archcalc.cli import main
    assert main([str(SPECS / "vgg16.yaml"), "--symbolic", "H", "W", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    macs = sympy.sympify(data["totals"]["macs"], locals={"H": sym("H"), "W": sym("W")})
    assert sympy.expand(macs - (305856 * sym("H") * sym("W") + 123633664)) == 0
    assert data["symbols"] == {"H": "H", "W": "W"} and data["multiple_of"] == {"H": 32, "W": 32}


def test_set_substitutes_into_a_symbolic_report(capsys: pytest.CaptureFixture[str]) -> None:
    from archcalc.cli import main
    # W = 224 leaves MACs = 305856 * 224 * H + 123633664 = 68511744 * H + 123633664
    assert main(["formula", str(SPECS / "vgg16.yaml"), "--symbolic", "H", "W", "--set", "W=224"]) == 0
    assert capsys.readouterr().out.strip() == "68511744*H + 123633664"


def test_sweep_and_solve_commands(capsys: pytest.CaptureFixture[str]) -> None:
    from archcalc.cli import main
    assert main(["sweep", str(SPECS / "vgg16.yaml"), "--vary", "H=32:64:32", "--vary", "W=224",
                 "--metric", "macs"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    # 305856 * 32 * 224 + 123633664 = 2316009472; at H = 64: 4508385280
    assert lines == ["H,W,macs", "32,224,2316009472", "64,224,4508385280"]
    assert main(["solve", str(SPECS / "vgg16.yaml"), "--budget", "macs=5G", "--for", "H", "--set", "W=224"]) == 0
    # 68511744 * H + 123633664 <= 5e9  ->  H <= 71.2, multiples of 32: H = 64
    assert capsys.readouterr().out.startswith("H = 64 ")
    assert main(["sweep", str(SPECS / "vgg16.yaml"), "--vary", "H=30:60:30"]) == 2  # not multiples of 32


def test_symbolic_merge_of_branches_with_undecidable_padding_order() -> None:
    """Two crops of different sizes merged: the union needs min/max of symbolic paddings (sympy Min/Max)."""
    spec = """
name: t
symbols: [H]
input: [1, H, H]
layers:
  - identity: {name: x}
  - crop: {name: a, size: 8}
  - crop: {name: b9, size: 9, from: x}
  - crop: {name: b, size: 8}
  - concat: {inputs: [a, b]}
"""
    report = archcalc.analyze(archcalc.load(spec))
    numeric = archcalc.analyze(archcalc.load(spec.replace("symbols: [H]", "variables: {H: 32}")))
    # crop to 8 of 32: offset 12, so a sees [12, 12] (P = -12); b9 has offset 11 and b then offset 0: [11, 11]
    assert numeric.rf.to_dict()["size"] == [2, 2] and numeric.rf.to_dict()["padding"] == [-11, -11]
    assert at(report.rf.axes[0].size, {"H": 32}) == 2


def test_crop_by_margin_keeps_a_symbolic_size() -> None:
    spec = "name: t\nsymbols: [H]\ninput: [3, H, H]\nlayers:\n  - crop: {margin: [4, 2]}\n"
    report = archcalc.analyze(archcalc.load(spec))
    assert report.output_shape == (1, 3, sym("H") - 8, sym("H") - 4)


def test_symbolic_active_params_are_shown_like_params() -> None:
    """Every figure is presented in the same form: without experts a token uses every parameter, so the total
    active_params is the params formula itself (and the table adds no "active" line)."""
    report = archcalc.analyze(archcalc.load(SPECS / "gpt_kaplan.yaml", symbolic=("n_layer", "d_model", "d_ff")))
    assert str(report.totals.active_params) == str(report.totals.params)
    assert all(str(row.active_params) == str(row.params) for row in report.layers)
    from archcalc.outputs.render import table
    assert "\nactive " not in table(report)
