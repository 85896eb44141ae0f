"""Hostile inputs against archcalc's bounds (issue 12, "every input is bounded"; issue 13, "solve and sweep
apply every check a run applies").

Each case ends in exit status 0 with a report whose figures are checked by arithmetic written out here, or in
exit status 2 with exactly one ``archcalc: `` line on stderr and no traceback. Bounds are asserted as work done
(nodes built, bits, expression nodes, layers analysed), never as seconds.
"""
from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path

import pytest

import archcalc
from archcalc.analyses import explore, sweep
from archcalc.cli import main
from archcalc.core import symbolic
from archcalc.core.num import MAX_BITS, MAX_DIGITS
from archcalc.read import graph
from archcalc.walk import bounds

ROOT = Path(__file__).resolve().parent.parent
HEADER = "name: t\ninput: [3, 8, 8]\nlayers:\n"


# ---------------------------------------------------------------- helpers

def run(capsys, args: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def refused(capsys, args: list[str]) -> str:
    """The one line of a refusal: status 2, nothing on stdout, one ``archcalc: `` line, no traceback."""
    status, out, err = run(capsys, args)
    assert status == 2, (status, err)
    assert out == "" and "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("archcalc: "), err
    return lines[0]


def ok(capsys, args: list[str]) -> str:
    status, out, err = run(capsys, args)
    assert status == 0 and err == "", err
    return out


def spec(tmp_path: Path, text: str | bytes, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@pytest.fixture
def nodes_built(monkeypatch):
    """The largest node count the expander reached (every count() call, refused or not)."""
    seen = [0]
    original = graph.Expander.count

    def count(self, n=1, planned=0):
        seen[0] = max(seen[0], self.nodes + n)
        return original(self, n, planned)
    monkeypatch.setattr(graph.Expander, "count", count)
    return seen


# ---------------------------------------------------------------- 1. expansion counts every node

@pytest.mark.parametrize("layers, blocks", [
    # 10,000 x 10,000 copies of an empty sequential: no layer at all, 10**8 groups
    ("  - sequential: {repeat: 10000, layers: [{sequential: {repeat: 10000, layers: [{sequential: {layers: []}}]}}]}\n"
     "  - relu\n", ""),
    # the same with an empty block
    ("  - sequential: {repeat: 10000, layers: [{e: {repeat: 10000}}]}\n  - relu\n", "blocks:\n  e: {layers: []}\n"),
    # repeats of items that if: skips
    ("  - sequential: {repeat: 20000, layers: [{relu: {if: false}}]}\n  - relu\n", ""),
    # deep: blocks calling blocks, 200 x 200
    ("  - b\n", "blocks:\n  a: {layers: [{relu: {repeat: 200}}]}\n  b: {layers: [{a: {repeat: 200}}]}\n"),
], ids=["nested-empty-sequentials", "empty-blocks", "skipped-items", "deep-blocks"])
def test_expansion_bombs_are_refused_within_the_node_budget(capsys, tmp_path, nodes_built, layers, blocks):
    path = spec(tmp_path, f"name: t\ninput: [3, 8, 8]\n{blocks}layers:\n{layers}")
    line = refused(capsys, [path])
    assert f"the spec expands to more than {graph.MAX_NODES:,} layers and groups" in line
    assert nodes_built[0] <= graph.MAX_NODES + 1  # never more built than the budget


def test_a_repeat_is_refused_before_its_copies_are_built(capsys, tmp_path, nodes_built):
    """1,000 copies of a unit of 1 + 1,000 nodes cost 1,001,000: refused once the first copy shows its size."""
    path = spec(tmp_path, HEADER + "  - sequential: {repeat: 1000, layers: [{relu: {repeat: 1000}}]}\n")
    line = refused(capsys, [path])
    assert "expands to more than 20,000 layers and groups" in line
    assert nodes_built[0] <= 1 + 1000  # the first copy only


def test_wide_repeats_are_refused_before_building(capsys, tmp_path, nodes_built):
    """10,000 relus, then a repeat of 10,001: every copy is at least one node, so the second is refused unbuilt."""
    path = spec(tmp_path, HEADER + "  - relu: {repeat: 10000}\n  - relu: {repeat: 10001}\n")
    refused(capsys, [path])
    assert nodes_built[0] == 10_000


def test_copies_that_read_the_index_are_counted_as_built(capsys, tmp_path, monkeypatch):
    """With a limit of 150, copy 0 holds 1 + 100 nodes; assuming the other copies alike (3 x 101 = 303) would refuse
    the spec, but they read i and hold 1 + 1 each: 101 + 2 + 2 = 105 nodes, 100 + 1 + 1 = 102 layers."""
    monkeypatch.setattr(graph, "MAX_NODES", 150)
    path = spec(tmp_path, HEADER + "  - sequential: {repeat: 3, layers: [{relu: {repeat: '100 if i == 0 else 1'}}]}\n")
    out = ok(capsys, [path, "-f", "json"])
    assert len(json.loads(out)["layers"]) == 102


# ---------------------------------------------------------------- 2. numbers have a digit cap

def test_huge_dims_print_exactly_up_to_the_cap(capsys, tmp_path):
    """conv2d 3 -> 2**4000 channels, 1x1, on 8x8: params 3 * 2**4000 + 2**4000 (bias) = 2**4002, MACs
    3 * 2**4000 * 64; all under 4,096 bits, printed in full."""
    path = spec(tmp_path, HEADER + "  - conv2d: {out_channels: '2**2000 * 2**2000', kernel_size: 1}\n")
    data = json.loads(ok(capsys, [path, "-f", "json"]))
    assert data["totals"]["params"] == 2**4002
    assert data["totals"]["macs"] == 3 * 2**4000 * 64
    table = ok(capsys, [path])
    assert "5.27e+1204" in table  # 2**4002 = 10**(4002 log10 2) = 10**1204.72 = 5.27e1204, in human units
    assert 5.27 < 10 ** (4002 * math.log10(2) - 1204) < 5.28


@pytest.mark.parametrize("text, words", [
    # 2**4080 dims: their product (the input's size) passes the cap
    ("name: t\nvariables: {n: '2**2040 * 2**2040'}\ninput: [n, n]\nlayers: [relu]\n",
     "the input shape: a product of sizes has more than 4,096 bits"),
    # a 2**2100-wide linear layer: its weight holds 2**4200 parameters
    ("name: t\nvariables: {n: '2**2000 * 2**100'}\ninput: [n]\nlayers:\n  - linear: {out_features: n}\n",
     "layer linear_1: params has more than 4,096 bits"),
    # a long product of moderate dims: 5,000 dims of 2**100 (the product stops at the cap)
    ("name: t\nvariables: {n: '2**100'}\ninput: [" + ", ".join(["n"] * 5000) + "]\nlayers: [relu]\n",
     "the input shape: a product of sizes has more than 4,096 bits"),
    # a big exponent
    (HEADER + "  - conv2d: {out_channels: '2**2048 * 2**2049', kernel_size: 1}\n", "power too large"),
], ids=["dims-2**4080", "wide-linear", "long-product", "big-exponent"])
def test_digit_bombs_are_refused(capsys, tmp_path, text, words):
    assert words in refused(capsys, [spec(tmp_path, text)])


def test_a_long_product_under_the_cap_is_exact(capsys, tmp_path):
    """100 dims of 2**40: the relu's output has 2**4000 elements (4,001 bits)."""
    text = "name: t\nvariables: {n: '2**40'}\ninput: [" + ", ".join(["n"] * 100) + "]\nlayers: [relu]\n"
    data = json.loads(ok(capsys, [spec(tmp_path, text), "-f", "json"]))
    assert data["totals"]["activations"] == 2**4000 and (2**4000).bit_length() <= MAX_BITS


def test_the_numbers_of_a_report_are_bounded_in_all(capsys, tmp_path, monkeypatch):
    """Each relu on [2**1000] has 5 figures of ~1,000 bits (shape, activations, input elements, FLOPs, live):
    with 20,000 bits allowed for the whole report, the fifth relu passes it."""
    monkeypatch.setattr(bounds, "MAX_REPORT_BITS", 20_000)
    line = refused(capsys, [spec(tmp_path, "name: t\nvariables: {n: '2**1000'}\ninput: [n]\nlayers:\n"
                                           "  - relu: {repeat: 100}\n")])
    m = re.search(r"layer relu_1\.(\d+): the numbers of the report pass 20,000 bits", line)
    assert m and int(m.group(1)) < 10, line


def test_the_cap_sits_below_pythons_int_str_limit():
    """No conversion can meet Python's 4,300-digit limit: a 4,096-bit number has 1,234 digits."""
    assert len(str(2**MAX_BITS - 1)) == MAX_DIGITS < 4300


# ---------------------------------------------------------------- 3. values beyond float range

BIG = HEADER + "  - conv2d: {name: wide, out_channels: '2**1100', kernel_size: 1}\n"  # ~1.36e331 channels


@pytest.mark.parametrize("kind", ["summary", "layers", "cumulative"])
def test_a_chart_refuses_a_figure_no_float_holds(capsys, tmp_path, kind):
    pytest.importorskip("matplotlib")
    line = refused(capsys, ["plot", spec(tmp_path, BIG), "-o", tmp_path / "x.svg", "--kind", kind])
    assert "is beyond the range of a float" in line
    assert not (tmp_path / "x.svg").exists()


def test_the_html_report_keeps_exact_figures_beyond_float_range(capsys, tmp_path):
    """params: weight 3 * 2**1100 + bias 2**1100 = 2**1102; the page has them exactly, and no chart."""
    out = tmp_path / "r.html"
    ok(capsys, ["report", spec(tmp_path, BIG), "-o", out, "--hardware", "a100-80gb-sxm", "--memory"])
    page = out.read_text(encoding="utf-8")
    assert f"{2**1102:,}" in page
    if "matplotlib" in page or "chart not drawn" in page:  # with the plot extra: the charts are left out, said so
        assert "beyond the range of a float" in page


def test_roofline_times_beyond_float_range_are_exact(capsys, tmp_path):
    """One 1x1 conv 3 -> C = 2**1100 channels on a 1x1 input, A100 fp32 (19.5 TFLOP/s, 2,039 GB/s):
    FLOPs = 2 * 3C (MACs) + C (bias) = 7C; bytes = 4 * (params 4C + input 3 + output C) = 4 * (5C + 3)."""
    text = "name: t\ninput: [3, 1, 1]\nlayers:\n  - conv2d: {out_channels: '2**1100', kernel_size: 1}\n"
    c = 2**1100
    compute, memory = Fraction(7 * c, 19_500 * 10**9), Fraction(4 * (5 * c + 3), 2_039 * 10**9)
    data = json.loads(ok(capsys, [spec(tmp_path, text), "--hardware", "a100-80gb-sxm", "-f", "json"]))
    assert Fraction(data["roofline"]["totals"]["time_lower_bound_s"]) == max(compute, memory)
    table = ok(capsys, [spec(tmp_path, text), "--hardware", "a100-80gb-sxm"])
    assert re.search(r"time +>= \d\.\d\de\+\d+ s", table)  # scientific, from the exact value


def test_an_error_message_never_needs_a_float(capsys, tmp_path):
    path = spec(tmp_path, "name: t\ninput: [10, 4]\nlayers:\n  - lstm: {hidden_size: 4, dropout: '10**400 / 3'}\n")
    assert "layer lstm_1: dropout=3.33333e+399 is not a probability" in refused(capsys, [path])


def test_export_refuses_a_value_no_float_holds(capsys, tmp_path):
    path = spec(tmp_path, HEADER + "  - elu: {alpha: '10**400 / 3'}\n")
    line = refused(capsys, ["export", path, "--to", "pytorch"])
    assert ":4: layer elu_1: the value 3.33e+399 has no float" in line


def test_sweep_plot_refuses_totals_no_float_holds(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    text = ("name: t\nvariables: {C: 4}\ninput: [3, 1, 1]\nlayers:\n"
            "  - conv2d: {out_channels: 'C * 2**1100', kernel_size: 1}\n")
    line = refused(capsys, ["sweep", spec(tmp_path, text), "--vary", "C=4,5", "--plot", tmp_path / "s.png"])
    assert "--plot: params = " in line and "at C = 4 is beyond the range of a float" in line


# ---------------------------------------------------------------- 4. symbolic work has a budget

def chain(n: int, stride: int) -> str:
    return ("name: chain\nsymbols: [H, W]\ninput: [4, H, W]\nlayers:\n"
            + f"  - conv2d: {{out_channels: 4, kernel_size: 3, stride: {stride}}}\n" * n)


@pytest.fixture
def work_spent(monkeypatch):
    """The most symbolic work any one budget reached."""
    most = [0]
    original = symbolic.spend

    def spend(cost):
        try:
            original(cost)
        finally:
            meter = symbolic._METER.get()
            if meter is not None:
                most[0] = max(most[0], meter.used)
    monkeypatch.setattr(symbolic, "spend", spend)
    return most


def test_a_chain_of_200_unpadded_convs_is_refused_by_its_budget(capsys, tmp_path, monkeypatch, work_spent):
    """Each layer of the chain costs LAYER_WORK and the nodes of its figures: with a budget of 60,000 units the
    chain stops well before its 200th layer, and no more than one layer's work past the budget is spent."""
    monkeypatch.setattr(symbolic, "MAX_WORK", 60_000)
    line = refused(capsys, [spec(tmp_path, chain(200, 1))])
    m = re.search(r"layer conv2d_(\d+): the symbolic work passed its budget of 60,000 units", line)
    assert m and int(m.group(1)) < 200, line
    assert "give H and W a value with --set" in line
    assert 60_000 < work_spent[0] <= 60_000 + 5 * symbolic.LAYER_WORK


def test_nested_floors_of_a_strided_chain_are_refused(capsys, tmp_path):
    """Unpadded stride-2 convs nest one floor more per layer: refused where a figure nests more than 100 levels,
    with the total stride so far as the multiple_of to declare (2**k after k layers)."""
    line = refused(capsys, [spec(tmp_path, chain(200, 2))])
    m = re.search(r"layer conv2d_(\d+): \S+ is nested more than 100 levels deep", line)
    assert m and int(m.group(1)) < 60, line
    k = int(m.group(1))
    assert f"symbols: {{H: {{multiple_of: {2**k}}}, W: {{multiple_of: {2**k}}}}}" in line


def test_nested_floors_in_expressions_are_refused(capsys, tmp_path):
    """v_k = v_(k-1) // 2 + v_(k-1) // 3 doubles the expression at every variable: past 5,000 nodes by v_13."""
    names = "\n".join(f"  v{k}: 'v{k - 1} // 2 + v{k - 1} // 3'" for k in range(1, 30))
    text = f"name: t\nsymbols: [v0]\nvariables:\n{names}\ninput: [3, 8, 8]\nlayers: [relu]\n"
    line = refused(capsys, [spec(tmp_path, text)])
    m = re.search(r"variable v(\d+): a result in .* has more than 5,000 expression nodes", line)
    assert m and int(m.group(1)) <= 13, line


def test_a_product_of_many_floors_is_refused_before_it_is_multiplied_out(capsys, tmp_path):
    """14 distinct floors plus 1, multiplied: 2**14 = 16,384 terms once expanded, past 10,000."""
    factors = " * ".join(f"(floor(in1 / {d}) + 1)" for d in range(2, 16))
    text = (f"name: t\nsymbols: [H]\ninput: [1, H]\ncustom:\n  c: {{macs: '{factors}'}}\nlayers: [c]\n")
    line = refused(capsys, [spec(tmp_path, text)])
    assert "layer c_1: a result in '(floor(in1 / 2) + 1)" in line and "multiplies out to more than 10,000 terms" in line


def test_memory_peaks_spend_from_the_same_budget(capsys, tmp_path, monkeypatch, work_spent):
    """The memory report compares every layer's live memory symbolically: with a budget that the analysis alone
    just fits, --memory passes it, in one line."""
    path = spec(tmp_path, chain(20, 1))
    ok(capsys, [path])
    analysis = work_spent[0]
    monkeypatch.setattr(symbolic, "MAX_WORK", analysis + symbolic.FIGURE_WORK)
    ok(capsys, [path])
    line = refused(capsys, [path, "--memory"])
    assert "the symbolic work passed its budget" in line and "compares every layer's live memory" in line


def test_a_symbolic_chain_within_the_budget_is_exact(capsys, tmp_path):
    """3 unpadded 3x3 convs 4 -> 4: layer k (1-based) outputs (H - 2k) x (W - 2k) and has 4*4*9 = 144 MACs per
    output position: MACs = 144 * sum_k (H - 2k)(W - 2k)."""
    import sympy
    report = archcalc.analyze(archcalc.load(chain(3, 1)))
    H, W = (sympy.Symbol(n, integer=True, positive=True) for n in "HW")
    assert sympy.expand(report.totals.macs - sum(144 * (H - 2 * k) * (W - 2 * k) for k in (1, 2, 3))) == 0


# ---------------------------------------------------------------- 5. sweeps and solve: caps and refusals

TINY = """\
name: tiny
symbols: [T]
input: [T]
layout: sequence
layers:
  - embedding: {num_embeddings: 100, embedding_dim: 8}
  - positional_embedding: {max_positions: 512}
  - linear: {out_features: 4}
"""
# Per position: the linear layer 8 -> 4 does 8 * 4 = 32 MACs (a lookup and an add do none): MACs = 32 T.
# Outputs: embedding 8 T, positions 8 T, linear 4 T: activations = 20 T. The table holds 512 positions.


@pytest.mark.parametrize("args, words", [
    (["--vary", "T=1:100000000:1"], "--vary T has 100,000,000 values, above the limit of 100,000"),
    (["--vary", "T=1:10000:1", "--vary", "batch=1:10000:1"], "the grid has 100,000,000 points"),
    (["--vary", "T=8:16:8", "--vary", "T=32"], "--vary T is given twice"),
    (["--vary", "T=10:5"], "--vary T=10:5 is empty: the stop 5 is below the start 10"),
    (["--vary", "T=1:10:0"], "the step must be a positive integer"),
    (["--vary", "T=1:10**21:10**20"], "is not NAME=START:STOP:STEP"),
    (["--vary", f"T={'9' * 1300}"], "--vary T: a value is too large"),
    (["--vary", "Q=1,2"], "--vary Q: no such variable or symbol"),
], ids=["one-axis", "grid", "twice", "empty", "step-0", "expression", "digits", "unknown"])
def test_sweep_refusals(capsys, tmp_path, args, words):
    assert words in refused(capsys, ["sweep", spec(tmp_path, TINY), *args])


def test_huge_sweep_values_are_run_not_rounded(capsys, tmp_path):
    """The value 10**20 + 1 is beyond float64's exact range (2**53); a run refuses it (the table has 512 rows)."""
    line = refused(capsys, ["sweep", spec(tmp_path, TINY), "--vary", f"T=1:{10**21}:{10**20}"])
    assert f"at T = {10**20 + 1:,} a run refuses: the sequence has {10**20 + 1} positions but the table only 512" \
        in line and ":7: layer positional_embedding_1:" in line


def test_sweep_totals_beyond_2_53_are_exact(capsys, tmp_path):
    """linear C -> 3 on [C]: MACs = 3 C; at C = 2**53 + 1, 3 C is odd and above 2**53 (a float would round it)."""
    text = "name: t\nvariables: {C: 4}\ninput: [C]\nlayers:\n  - linear: {out_features: 3, bias: false}\n"
    c = 2**53 + 1
    out = ok(capsys, ["sweep", spec(tmp_path, text), "--vary", f"C={c}", "--metric", "macs"])
    assert out.splitlines() == ["C,macs", f"{c},{3 * c}"]


def test_sweep_work_is_bounded(capsys, tmp_path, monkeypatch):
    """Each point is a run of 3 layers: with 30 layer analyses allowed, 100 points (300 layers) are refused once
    the first run shows their size, and 10 points run."""
    monkeypatch.setattr(sweep, "MAX_SWEEP_LAYERS", 30)
    calls = []
    original = explore.Runs.__call__
    monkeypatch.setattr(explore.Runs, "__call__", lambda self, values: calls.append(values) or original(self, values))
    line = refused(capsys, ["sweep", spec(tmp_path, TINY), "--vary", "T=1:100"])
    assert "the sweep would analyse about 300 layers (100 points of 3), above the limit of 30" in line
    assert len(calls) == 1
    out = ok(capsys, ["sweep", spec(tmp_path, TINY), "--vary", "T=1:10", "--metric", "macs"])
    assert out.splitlines()[1:] == [f"{t},{32 * t}" for t in range(1, 11)]


@pytest.mark.parametrize("args, words", [
    (["--budget", "macs=1e99999999"], "--budget 'macs=1e99999999': the number is too large"),
    (["--budget", "macs=1e6", "--max", "0"], "--max '0' is not a positive whole number"),
    (["--budget", "macs=1e6", "--max", "1e19"], "--max 1e19 is above the limit of 1e18"),
    (["--budget", "macs=0.5"], "a budget is at least 1"),
    (["--budget", "joules=5"], "is not METRIC=NUMBER"),
    (["--budget", "macs=10"], "even T = 1 needs macs = 32, over the budget 10"),
], ids=["budget-digits", "max-0", "max-too-large", "budget-below-1", "metric", "impossible"])
def test_solve_refusals(capsys, tmp_path, args, words):
    assert words in refused(capsys, ["solve", spec(tmp_path, TINY), "--for", "T", *args])


# ---------------------------------------------------------------- 6. hardware and convention files

GPU = "g:\n  peak_flops: {fp32: 19.5e12}\n  bandwidth: %s\n"


@pytest.mark.parametrize("text, words", [
    (GPU % "'1e999999999'", ":3: hardware entry g: bandwidth: the number '1e999999999' is too large"),
    (GPU % "'1e-999999999'", "bandwidth: the number '1e-999999999' is too large"),
    (GPU % ("9" * 1300), "bandwidth: the number 9999"),
    (GPU % "'fast'", "bandwidth: expected a number per second, got 'fast'"),
    ("g:\n  peak_flops: 5\n  bandwidth: 1e12\n", ":2: hardware entry g: peak_flops: input should be a valid dict"),
    (GPU % "2e12" + "  title: 5\n", ":4: hardware entry g: title: input should be a valid string"),
    (GPU % ".inf", "bandwidth: expected a number per second"),
    (b"g:\n  peak_flops: {fp32: 1e12}\n  bandwidth: 2e12\n  source: \xff\n", ":4: the file is not UTF-8 text"),
], ids=["huge-exponent", "tiny-exponent", "1300-digits", "text", "peaks-not-a-mapping", "title-not-text", "inf",
        "not-utf8"])
def test_bad_hardware_files(capsys, tmp_path, text, words):
    hardware = spec(tmp_path, text, "hw.yaml")
    assert words in refused(capsys, [ROOT / "specs" / "lenet5.yaml", "--hardware", hardware])


CONVENTION = "name: x\ntool: x\nunit: macs\nmac: m\nflop: f\nrules: {conv2d: macs}\n"


@pytest.mark.parametrize("text, words", [
    (CONVENTION + "notes: 5\n", ":7: notes: input should be a valid list, got 5"),
    (CONVENTION.replace("tool: x", "tool: 5"), ":2: tool: input should be a valid string, got 5"),
    (CONVENTION.replace("tool: x\n", ""), "missing required field 'tool'"),
    (CONVENTION + "nmae: y\n", ":7: unknown field 'nmae'"),
    ("[1, 2]\n", ":1: a convention file is a mapping, not a list"),
    ("", ":1: the convention file is empty"),
    (CONVENTION.encode() + b"notes: [\xc0\xaf]\n", ":7: the file is not UTF-8 text"),
], ids=["notes-5", "tool-not-text", "tool-missing", "unknown-field", "a-list", "empty", "not-utf8"])
def test_bad_convention_files(capsys, tmp_path, text, words):
    convention = spec(tmp_path, text, "conv.yaml")
    assert words in refused(capsys, [ROOT / "specs" / "lenet5.yaml", "--convention", convention])


def test_a_valid_convention_file_still_counts(capsys, tmp_path):
    """lenet5 with only its convolutions counted: c1 6*28*28 outputs x 1*5*5 taps = 117,600; c3 16*10*10 x 6*5*5
    = 240,000; every other layer 0."""
    rules = "rules:\n  conv2d: macs\n  tanh avgpool2d flatten linear: 0\n"
    convention = spec(tmp_path, CONVENTION.replace("rules: {conv2d: macs}\n", rules) + "notes: [by hand]\n", "c.yaml")
    data = json.loads(ok(capsys, [ROOT / "specs" / "lenet5.yaml", "--convention", convention, "-f", "json"]))
    assert data["totals"]["macs"] == 117_600 + 240_000


# ---------------------------------------------------------------- 7. --set values

@pytest.mark.parametrize("value, words", [
    ("H=²", "variable H: cannot parse expression '²'"),  # str.isdigit() accepts it, int() does not
    ("H=１２", "variable H: cannot parse expression '１２'"),  # fullwidth digits: not ASCII, not a number here
    ("H=" + "9" * 5000, "--set H: the number is too large"),  # over Python's 4,300-digit int() limit
    ("H=" + "9" * 1234, "--set H: the number is too large"),  # 1,234 digits, but over 4,096 bits
    ("input=3,²,224", "input: cannot parse expression '²'"),
], ids=["superscript", "fullwidth", "5000-digits", "4099-bits", "input"])
def test_bad_set_values(capsys, value, words):
    assert words in refused(capsys, [ROOT / "specs" / "vgg16.yaml", "--set", value])


def test_set_values_in_ascii_digits_run(capsys):
    """VGG-16's MACs are 305,856 H W + 123,633,664 (test_symbolic derives it): at H = 64, W = 224, 4,508,385,280."""
    data = json.loads(ok(capsys, [ROOT / "specs" / "vgg16.yaml", "--set", "H=64", "--set", "W=+224", "-f", "json"]))
    assert data["totals"]["macs"] == 305_856 * 64 * 224 + 123_633_664


# ---------------------------------------------------------------- 8. solve and sweep apply every check of a run

def answer(out: str) -> tuple[int, str]:
    """(the value, the 'bound by' line) of solve's answer."""
    first = out.splitlines()[0]
    bound = next(line for line in out.splitlines() if line.startswith("  bound by: "))
    return int(first.split(" = ")[1].split()[0]), bound


def test_solve_never_answers_a_value_a_run_refuses(capsys, tmp_path):
    """MACs = 32 T <= 10**6 gives T <= 31,250, but the table holds 512 positions: T = 512."""
    out = ok(capsys, ["solve", spec(tmp_path, TINY), "--budget", "macs=1e6", "--for", "T"])
    value, bound = answer(out)
    assert value == min(10**6 // 32, 512) == 512
    assert "a run refuses T = 513: layer positional_embedding_1: the sequence has 513 positions" in bound
    assert out.startswith(f"T = 512  (macs = {32 * 512:,} <= 1,000,000)")


def test_solve_by_the_budget(capsys, tmp_path):
    """32 T <= 3,200: T = 100; at 101, 3,232 MACs."""
    value, bound = answer(ok(capsys, ["solve", spec(tmp_path, TINY), "--budget", "macs=3200", "--for", "T"]))
    assert value == 3200 // 32 == 100
    assert bound == f"  bound by: the macs budget: at T = 101, macs = {32 * 101:,} > 3,200"


@pytest.mark.parametrize("order", [0, 1])
def test_every_budget_binds(capsys, tmp_path, order):
    """MACs 32 T <= 10**6 (T <= 31,250) and activations 20 T <= 2,000 (T <= 100): T = 100, in either order."""
    budgets = [["--budget", "macs=1e6"], ["--budget", "activations=2000"]]
    args = budgets[order] + budgets[1 - order]
    out = ok(capsys, ["solve", spec(tmp_path, TINY), "--for", "T", *args])
    value, bound = answer(out)
    assert value == min(10**6 // 32, 2000 // 20, 512) == 100
    assert "the activations budget: at T = 101, activations = 2,020 > 2,000" in bound
    assert f"macs = {32 * 100:,} <= 1,000,000" in out and "activations = 2,000 <= 2,000" in out


def test_solve_stays_within_max(capsys, tmp_path):
    value, bound = answer(ok(capsys, ["solve", spec(tmp_path, TINY), "--budget", "macs=1e6", "--for", "T",
                                      "--max", "300"]))
    assert value == 300 and bound == "  bound by: --max 300"


def test_solve_states_the_multiple_of_that_shaped_it(capsys, tmp_path):
    """T a multiple of 64: 32 T <= 3,200 gives T <= 100, so 64; under 10**6 MACs, 512 (a multiple of 64)."""
    path = spec(tmp_path, TINY.replace("symbols: [T]", "symbols: {T: {multiple_of: 64}}"))
    out = ok(capsys, ["solve", path, "--budget", "macs=3200", "--for", "T"])
    assert answer(out)[0] == 100 // 64 * 64 == 64
    assert "T a multiple of 64 (the spec's symbols: {T: {multiple_of: 64}})" in out
    assert answer(ok(capsys, ["solve", path, "--budget", "macs=1e6", "--for", "T"]))[0] == 512
    line = refused(capsys, ["solve", path, "--budget", "macs=1e6", "--for", "T", "--max", "63"])
    assert "--max 63 is below the smallest value of T, 64" in line


def test_solve_starts_at_the_smallest_value_a_run_accepts(capsys, tmp_path):
    """conv1d k=5 on [1, L] refuses L < 5 (the kernel is larger than the input); MACs = 5 (L - 4) <= 100 gives
    L <= 24."""
    text = "name: t\nsymbols: [L]\ninput: [1, L]\nlayers:\n  - conv1d: {out_channels: 1, kernel_size: 5, bias: false}\n"
    out = ok(capsys, ["solve", spec(tmp_path, text), "--budget", "macs=100", "--for", "L"])
    assert answer(out)[0] == 100 // 5 + 4 == 24
    assert "from 5 to" in out and "below 5: a run refuses L = 4:" in out


def test_sweep_refuses_at_the_first_point_a_run_refuses(capsys, tmp_path):
    """T = 500, 504, ...: the first above the 512 positions is 516."""
    line = refused(capsys, ["sweep", spec(tmp_path, TINY), "--vary", "T=500:520:4"])
    assert "at T = 516 a run refuses: the sequence has 516 positions but the table only 512" in line


def test_sweep_points_must_be_multiples_the_spec_assumes(capsys, tmp_path):
    path = spec(tmp_path, TINY.replace("symbols: [T]", "symbols: {T: {multiple_of: 64}}"))
    line = refused(capsys, ["sweep", path, "--vary", "T=64:128:32"])
    assert "the spec assumes T is a multiple of 64 (96 is not)" in line


def test_sweep_columns_are_runs(capsys, tmp_path):
    """MACs 32 T and activations 20 T at T = 1, 2, 512; params: 100 x 8 + 512 x 8 + (8 x 4 + 4) = 4,932."""
    out = ok(capsys, ["sweep", spec(tmp_path, TINY), "--vary", "T=1,2,512", "--metric", "params", "macs",
                      "activations"])
    assert out.splitlines() == ["T,params,macs,activations"] + [f"{t},{100 * 8 + 512 * 8 + 8 * 4 + 4},{32 * t},{20 * t}"
                                                                for t in (1, 2, 512)]


def test_solve_and_sweep_run_the_network_under_the_convention(capsys, tmp_path):
    """Under a convention counting only linear layers' MACs (32 T, as archcalc), solve finds the same T."""
    rules = "rules:\n  linear: macs\n  embedding positional_embedding: 0\n"
    convention = spec(tmp_path, CONVENTION.replace("rules: {conv2d: macs}\n", rules), "c.yaml")
    value, _ = answer(ok(capsys, ["solve", spec(tmp_path, TINY), "--budget", "macs=3200", "--for", "T",
                                  "--convention", convention]))
    assert value == 100
