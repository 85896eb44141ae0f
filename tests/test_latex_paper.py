"""Paper-ready LaTeX (issue 17 item 7): ``formula --latex`` as an equation with its left-hand side, digits grouped in
thousands, integer coefficients under the spec's assumptions; checked by arithmetic and by parsing the LaTeX back
(sympy's lark backend) to the report's exact value."""
from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

import archcalc
from archcalc.cli import main

sympy = pytest.importorskip("sympy")
SPECS = Path(__file__).resolve().parent.parent / "specs"


def sym(name: str):
    return sympy.Symbol(name, integer=True, positive=True)


def parse_back(rhs: str):
    """A right-hand side as sympy, its symbols as positive integers (the report's)."""
    pytest.importorskip("lark")
    from sympy.parsing.latex import parse_latex
    rhs = re.sub(r"(?<=\d)\\,(?=\d)", "", rhs).replace(r"\,", " ")  # 2\,048 is 2048; 81\,456\,H is 81456 H
    rhs = rhs.replace(r"\left(", "(").replace(r"\right)", ")")  # lark reads "8 \left(" as 8 <= ft(...) too
    parsed = parse_latex(rhs, backend="lark")
    return parsed.subs({s: sym(str(s)) for s in parsed.free_symbols})


def ungrouped(text: str) -> list[str]:
    """Runs of four or more digits not split by ``\\,`` (a grouped number has at most three between thin spaces)."""
    return re.findall(r"\d{4,}", text)


def test_grouping_by_arithmetic() -> None:
    from archcalc.outputs.tex import tex
    assert tex(2_048_000) == r"2\,048\,000"
    assert tex(999) == "999"
    assert tex(-1234) == r"-1\,234"
    assert tex(Fraction(328267, 2)) == r"\frac{328\,267}{2}"
    H, W = sym("H"), sym("W")
    assert tex(81456 * H * W + 2048000) == r"81\,456\,H W + 2\,048\,000"  # the example
    assert tex(2 * H * W + 3) == "2 H W + 3"  # no thin space after a single group
    assert tex(328267 * H * W / 2) == r"\frac{328\,267\,H W}{2}"  # the FLOPs, as written without assumptions


def test_integer_form_by_arithmetic() -> None:
    from archcalc.outputs.tex import integer_form
    H, W = sym("H"), sym("W")
    h = sym("h")
    # 145159 H W / 2 with H = 32 h: 145159 * 32 / 2 = 2322544 h W (W has no assumption, so it stays)
    value, subs = integer_form(145159 * H * W / 2 + 7, {"H": 32})
    assert sympy.expand(value - (2322544 * h * W + 7)) == 0 and subs == [(H, 32, h)]
    # integer coefficients already: nothing to substitute
    assert integer_form(4 * H * W, {"H": 32, "W": 32}) == (4 * H * W, [])
    # no assumption: the exact fraction stays
    value, subs = integer_form(H * (H + 1) / 2, {})
    assert subs == [] and value == H * (H + 1) / 2
    # a name already taken by a symbol: the new variable is H hat, not h
    _, subs = integer_form(H * sym("h") / 2, {"H": 2})
    assert [str(new) for _, _, new in subs] == ["Hhat"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out.strip()


def test_formula_latex_macs_is_an_equation(capsys: pytest.CaptureFixture[str]) -> None:
    report = archcalc.analyze(archcalc.load(SPECS / "resnet18.yaml", symbolic=["H", "W"]))
    out = run(capsys, "formula", str(SPECS / "resnet18.yaml"), "--symbolic", "H", "W", "--latex")
    lhs, rhs = out.split(" = ", 1)
    assert lhs == r"\mathrm{MACs}(H, W)"
    assert not ungrouped(out), out
    assert sympy.simplify(parse_back(rhs) - report.totals.macs) == 0
    # torchvision's ResNet-18 at 224 x 224: 1.81 GMACs (1,814,073,344 with the fc's 512 x 1000)
    assert parse_back(rhs).subs({sym("H"): 224, sym("W"): 224}) == 1_814_073_344


def test_formula_latex_flops_has_integer_coefficients(capsys: pytest.CaptureFixture[str]) -> None:
    """ResNet-18's FLOPs have a half in H W; with H and W multiples of 32 (its spec) they are written in h = H/32,
    w = W/32, and parse back to the exact total."""
    report = archcalc.analyze(archcalc.load(SPECS / "resnet18.yaml", symbolic=["H", "W"]))
    assert any(not c.is_Integer for c in sympy.Poly(report.totals.flops, sym("H"), sym("W")).coeffs())
    out = run(capsys, "formula", str(SPECS / "resnet18.yaml"), "--symbolic", "H", "W", "--latex", "--metric", "flops")
    assert r"\frac" not in out and not ungrouped(out), out
    equation, where = out.split(r" \qquad ")
    assert where == r"(H = 32\,h,\ W = 32\,w)"
    lhs, rhs = equation.split(" = ", 1)
    assert lhs == r"\mathrm{FLOPs}(H, W)"
    back = parse_back(rhs).subs({sym("h"): sym("H") / 32, sym("w"): sym("W") / 32})
    assert sympy.simplify(back - report.totals.flops) == 0
    assert all(c.is_Integer for c in sympy.Poly(parse_back(rhs), sym("h"), sym("w")).coeffs())


def test_formula_latex_constant_has_no_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    # ResNet-18's parameters (torchvision: 11,689,512) do not depend on the input size
    out = run(capsys, "formula", str(SPECS / "resnet18.yaml"), "--symbolic", "H", "W", "--latex", "--metric",
              "params")
    assert out == r"N_{\mathrm{params}} = 11\,689\,512"


def latex_table(spec: str, *args: str) -> list[str]:
    from archcalc.outputs.render import latex
    report = archcalc.analyze(archcalc.load(SPECS / spec, symbolic=list(args)))
    return latex(report, 1).splitlines()


def test_latex_table_caption_is_short_and_the_convention_a_note() -> None:
    lines = latex_table("resnet18.yaml")
    caption = next(line for line in lines if line.startswith(r"\caption"))
    assert caption == r"\caption[resnet18: cost by layer]{resnet18: cost by layer$^{\dagger}$}"
    note = next(line for line in lines if r"$^{\dagger}$\," in line and not line.startswith(r"\caption"))
    assert "convention archcalc: MAC = one multiply-accumulate" in note
    assert lines.index(note) < lines.index(r"\end{table}")


def test_latex_table_has_an_output_shape_column() -> None:
    lines = latex_table("resnet18.yaml")
    assert r"Layer & Type & Output shape & Params & MACs & FLOPs \\" in lines
    # conv1: 64 filters of 7 x 7 at stride 2 with padding 3: (224 + 6 - 7) // 2 + 1 = 112;
    # params 64 * 3 * 7 * 7 = 9408, MACs 9408 * 112 * 112 = 118,013,952
    assert r"conv1 & conv2d & $[1, 64, 112, 112]$ & $9\,408$ & $118\,013\,952$ & " in "\n".join(lines)
    assert r"fc & linear & $[1, 1\,000]$ & " in "\n".join(lines)  # 1000 classes
    total = next(line for line in lines if line.startswith("Total & & "))
    assert total.startswith(r"Total & & $[1, 1\,000]$ & $11\,689\,512$ & ")


def test_latex_table_symbolic_shapes_and_grouped_formulas() -> None:
    lines = latex_table("resnet18.yaml", "H", "W")
    conv1 = next(line for line in lines if line.startswith("conv1 & "))
    # with H, W multiples of 32 the stride-2 conv gives H/2 x W/2; MACs 9408 * (H/2) * (W/2) = 2352 H W
    assert conv1.startswith(r"conv1 & conv2d & $[1, 64, \frac{H}{2}, \frac{W}{2}]$ & $9\,408$ & $2\,352\,H W$ & ")


def test_readme_latex_examples_are_archcalc_output(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's ``formula --latex`` examples ("Symbolic mode") are what the commands print."""
    readme = (SPECS.parent / "README.md").read_text().splitlines()
    examples = [(line[2:].split(), readme[i + 1]) for i, line in enumerate(readme)
                if line.startswith("$ archcalc formula") and "--latex" in line]
    assert len(examples) == 2
    for command, shown in examples:
        args = [str(SPECS.parent / a) if a.startswith("specs/") else a for a in command[1:]]
        assert run(capsys, *args) == shown


def test_formula_latex_rf_per_axis(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # one conv of kernel 3 x 5, padding 1 x 2: it sees 3 x 5 inputs, moves by 1, starts 1 and 2 before the input
    spec = tmp_path / "k.yaml"
    spec.write_text("name: k\ninput: [3, 16, 16]\nlayers:\n"
                    "  - conv2d: {out_channels: 4, kernel_size: [3, 5], padding: [1, 2]}\n")
    out = run(capsys, "formula", str(spec), "--metric", "rf", "--latex")
    assert out == (r"\mathrm{RF}_{\mathrm{size}} = (3, 5),\quad \mathrm{RF}_{\mathrm{jump}} = 1,\quad "
                   r"\mathrm{RF}_{\mathrm{padding}} = (1, 2)")


def test_formula_latex_rf_symbolic(capsys: pytest.CaptureFixture[str]) -> None:
    # the TCN's header: L stacks of kernel-2 convs at dilations 1 .. 2^9 see 1 + L (2^10 - 1) = 1023 L + 1 inputs;
    # causal, so all but the newest are to the left: padding 1023 L
    out = run(capsys, "formula", str(SPECS / "tcn.yaml"), "--symbolic", "L", "--metric", "rf", "--latex")
    size, jump, padding = out.split(r",\quad ")
    assert size.startswith(r"\mathrm{RF}_{\mathrm{size}}(L) = ") and jump == r"\mathrm{RF}_{\mathrm{jump}} = 1"
    L = sym("L")
    assert sympy.expand(parse_back(size.split(" = ")[1]) - (1023 * L + 1)) == 0
    assert padding.startswith(r"\mathrm{RF}_{\mathrm{padding}}(L) = ")
    assert sympy.expand(parse_back(padding.split(" = ")[1]) - 1023 * L) == 0


def test_formula_latex_rf_global_is_text(capsys: pytest.CaptureFixture[str]) -> None:
    # ResNet-18 ends in a global average pool: every output sees the whole input
    out = run(capsys, "formula", str(SPECS / "resnet18.yaml"), "--metric", "rf", "--latex")
    assert out == r",\quad ".join(rf"\mathrm{{RF}}_{{\mathrm{{{k}}}}} = \text{{global}}"
                                  for k in ("size", "jump", "padding"))


def test_formula_latex_keeps_a_factored_form(capsys: pytest.CaptureFixture[str]) -> None:
    """--simplify factor gives (145159 H W + 2050000) / 2; in h = H/32, w = W/32 that is
    (145159 * 1024 h w + 2050000) / 2 = 8 (9290176 h w + 128125), a product still, with no fraction."""
    out = run(capsys, "formula", str(SPECS / "resnet18.yaml"), "--symbolic", "H", "W", "--latex", "--metric", "flops",
              "--simplify", "factor")
    equation, where = out.split(r" \qquad ")
    assert r"\frac" not in out and where == r"(H = 32\,h,\ W = 32\,w)"
    h, w = sym("h"), sym("w")
    assert sympy.expand(parse_back(equation.split(" = ", 1)[1]) - 8 * (9290176 * h * w + 128125)) == 0
    assert equation.split(" = ", 1)[1].startswith("8 ")


def test_integer_form_never_reuses_a_name() -> None:
    from archcalc.outputs.tex import integer_form
    H, h, Hhat = sym("H"), sym("h"), sym("Hhat")
    _, subs = integer_form(H * h * Hhat / 2, {"H": 2})
    assert [str(new) for _, _, new in subs] == ["Hhathat"]


def test_equations_and_table_compile_when_a_tex_engine_is_available(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The table (caption with its dagger, the note, shapes) and formula --latex's equations (the substitution
    after them, the receptive field's markers as text) are valid LaTeX."""
    import shutil
    import subprocess
    engine = shutil.which("pdflatex")
    if engine is None:
        pytest.skip("no TeX engine (pdflatex) installed; the parse-back tests cover the formulas")
    from archcalc.outputs.render import latex
    spec = str(SPECS / "resnet18.yaml")
    equations = [run(capsys, "formula", spec, "--symbolic", "H", "W", "--latex", "--metric", m)
                 for m in ("macs", "flops", "params", "rf")]
    equations.append(run(capsys, "formula", str(SPECS / "tcn.yaml"), "--symbolic", "L", "--metric", "rf", "--latex"))
    report = archcalc.analyze(archcalc.load(SPECS / "resnet18.yaml", symbolic=["H", "W"]))
    # a hostile name in the caption's short form (brackets), the note and a row
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text('name: "[1cm]*<|>\\\\input{x}$_^~%#&"\ninput: [3, 16, 16]\nlayers:\n'
                       '  - conv2d: {name: "a]b[c*", out_channels: 4, kernel_size: 3}\n')
    doc = ("\\documentclass{article}\\usepackage{booktabs}\\usepackage{amsmath}\\begin{document}\n\\listoftables\n"
           + latex(report, 1) + "\n" + latex(archcalc.analyze(archcalc.load(hostile))) + "\n"
           + "".join(f"\\begin{{equation}}{e}\\end{{equation}}\n" for e in equations)
           + "\\end{document}\n")
    (tmp_path / "t.tex").write_text(doc)
    for _ in range(2):  # twice: the list of tables reads the caption's short form back
        done = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                              capture_output=True)
        assert done.returncode == 0, done.stdout[-2000:]
