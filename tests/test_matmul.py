"""``matmul`` and ``einsum`` between named tensors: shapes, MACs, FLOPs, receptive fields, errors, symbols.

Expected values are written as the arithmetic they stand for (torch.matmul's shape rules, the counting
rules of archcalc/count/convention.py); the oracle tests check the MACs against torch's FlopCounterMode / 2 and
every layer's output shape against the tensor torch computes, at batch 1 and 3.
"""
from __future__ import annotations

import re
import subprocess
import sys
from math import prod
from pathlib import Path

import pytest

import archcalc
from archcalc.cli import main
from archcalc.count.convention import ARCHCALC

ROOT = Path(__file__).resolve().parent.parent
GLOBAL_RF = {"size": "global", "jump": "global", "padding": "global"}


def spec(layers: str, input: str, batch: int = 1, variables: str = "{}") -> str:
    """A spec whose layers are YAML list items, one per line, flow style (the leading '- ' optional)."""
    items = "\n".join(f"  - {item.strip().removeprefix('- ')}" for item in layers.strip().splitlines())
    return f"name: t\nvariables: {variables}\ninput: {input}\nbatch: {batch}\nlayers:\n{items}\n"


def analyze(layers: str, input: str, batch: int = 1):
    return archcalc.analyze(archcalc.load(spec(layers, input, batch)))


def last(layers: str, input: str, batch: int = 1):
    return analyze(layers, input, batch).layers[-1]


def operands(*shapes: list[int]) -> str:
    """Layers giving operands a, b, ... of the given per-sample shapes from a [2] input: a linear projection
    to the right number of elements, then a reshape (the graph wiring: save, from)."""
    lines = ["identity: {name: x}"]
    for name, shape in zip("abc", shapes):
        lines.append(f"linear: {{out_features: {prod(shape)}, from: x}}")
        lines.append(f"reshape: {{shape: {list(shape)}, save: {name}}}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- matmul

QK = """
identity: {name: x}
linear: {name: q, out_features: 4}
linear: {name: k, out_features: 4, from: x}
"""


def test_matmul_scores_with_transpose_b():
    s = last(QK + "matmul: {inputs: [q, k], transpose_b: true}", "[6, 8]")
    assert s.output_shape == (1, 6, 6)  # [6, 4] @ [6, 4]^T
    assert s.macs == 6 * 4 * 6  # n * k * m = 144
    assert s.flops_by_kind == {"matmul": 2 * 6 * 4 * 6}
    assert s.params == s.buffers == 0
    assert s.input_elements == 6 * 4 + 6 * 4  # both operands are read
    assert s.rf.to_dict() == GLOBAL_RF


def test_matmul_scales_with_the_batch():
    s = last(QK + "matmul: {inputs: [q, k], transpose_b: true}", "[6, 8]", batch=3)
    assert s.output_shape == (3, 6, 6)
    assert s.macs == 3 * 6 * 4 * 6
    assert s.flops == 2 * 3 * 6 * 4 * 6


def test_matmul_of_the_current_tensor_with_itself():
    s = last("linear: {out_features: 5}\nmatmul: {inputs: [., .], transpose_b: true}", "[7, 3]")
    assert s.output_shape == (1, 7, 7)  # Gram matrix [7, 5] @ [5, 7]
    assert s.macs == 7 * 5 * 7


MATMUL_CASES = [
    # a, b, per-sample output, MACs (torch.matmul: a 1-D a is a row [1, k], a 1-D b a column [k, 1])
    ([4], [4], [], 4),                                    # dot product: a scalar per sample
    ([4], [4, 3], [3], 4 * 3),                            # row @ matrix, the added 1 dropped
    ([5, 4], [4], [5], 5 * 4),                            # matrix @ column
    ([2, 5, 4], [4], [2, 5], 2 * 5 * 4),
    ([4], [2, 4, 3], [2, 3], 2 * 4 * 3),
    ([5, 4], [4, 3], [5, 3], 5 * 4 * 3),
    ([5, 4], [2, 4, 3], [2, 5, 3], 2 * 5 * 4 * 3),        # a broadcast over b's leading 2
    ([2, 1, 5, 4], [7, 4, 3], [2, 7, 5, 3], 2 * 7 * 5 * 4 * 3),  # leading (2, 1) and (7,) broadcast
    ([1, 5, 4], [6, 4, 3], [6, 5, 3], 6 * 5 * 4 * 3),
]


@pytest.mark.parametrize("a, b, out, macs", MATMUL_CASES)
def test_matmul_follows_torch_shape_rules(a, b, out, macs):
    s = last(operands(a, b) + "matmul: {inputs: [a, b]}", "[2]")
    assert s.output_shape == (1, *out)
    assert s.macs == macs
    assert s.flops_by_kind == {"matmul": 2 * macs}


def test_matmul_transpose_b_on_a_batched_operand():
    s = last(operands([3, 5, 4], [3, 6, 4]) + "matmul: {inputs: [a, b], transpose_b: true}", "[2]")
    assert s.output_shape == (1, 3, 5, 6)  # [3, 5, 4] @ [3, 4, 6]
    assert s.macs == 3 * 5 * 4 * 6


# ---------------------------------------------------------------- einsum

def einsum(a: list[int], b: list[int] | None, equation: str):
    inputs = "[a, b]" if b is not None else "[a]"
    return last(operands(*([a] if b is None else [a, b])) + f"einsum: {{equation: '{equation}', inputs: {inputs}}}",
                "[2]")


def test_einsum_attention_scores():
    s = einsum([6, 2, 4], [7, 2, 4], "qhd,khd->hqk")
    assert s.output_shape == (1, 2, 6, 7)
    assert s.macs == 2 * 6 * 7 * 4  # every distinct letter: h q k d
    assert s.flops_by_kind == {"matmul": 2 * 2 * 6 * 7 * 4}


def test_einsum_and_matmul_agree_on_q_k_transposed():
    rows = analyze(QK + "matmul: {inputs: [q, k], transpose_b: true}\neinsum: {equation: 'qd,kd->qk', inputs: [q, k]}",
                   "[6, 8]").layers
    m, e = rows[-2:]
    assert (e.output_shape, e.macs, e.flops_by_kind) == (m.output_shape, m.macs, m.flops_by_kind)
    assert e.rf.to_dict() == m.rf.to_dict() == GLOBAL_RF


def test_einsum_letter_summed_in_one_operand_first():
    # 'ij,jk->i': k is only in b and not in the output, so b is summed over k first (3 * 5 - 3 adds),
    # then 'ij,j->i' is i * j = 4 * 3 MACs
    s = einsum([4, 3], [3, 5], "ij,jk->i")
    assert s.output_shape == (1, 4)
    assert s.macs == 4 * 3
    assert s.flops_by_kind == {"matmul": 2 * 4 * 3, "reduce": 3 * 5 - 3}


def test_einsum_outer_and_elementwise_products_are_multiplies_not_macs():
    outer = einsum([4], [3], "i,j->ij")
    assert outer.output_shape == (1, 4, 3)
    assert outer.macs == 0
    assert outer.flops_by_kind == {"elementwise": 4 * 3}  # one multiply per output element
    hadamard = einsum([4, 3], [4, 3], "ij,ij->ij")
    assert hadamard.macs == 0 and hadamard.flops_by_kind == {"elementwise": 4 * 3}


def test_einsum_row_dot_products():
    s = einsum([4, 3], [4, 3], "ij,ij->i")  # j contracted: 4 dot products of length 3
    assert s.output_shape == (1, 4)
    assert s.macs == 4 * 3


def test_einsum_implicit_output():
    # no '->': the letters used once, alphabetically: 'ba,bc' -> 'ac'
    s = einsum([5, 4], [5, 3], "ba,bc")
    assert s.output_shape == (1, 4, 3)
    assert s.macs == 5 * 4 * 3


def test_einsum_ignores_spaces_and_reads_capitals():
    s = einsum([4, 3], [3, 2], " iJ , Jk -> ik ")
    assert s.output_shape == (1, 4, 2)
    assert s.macs == 4 * 3 * 2


def test_einsum_ellipsis_broadcasts_leading_dimensions():
    s = einsum([1, 5, 4], [6, 4, 3], "...ij,...jk->...ik")
    assert s.output_shape == (1, 6, 5, 3)  # '...' is (1,) and (6,): broadcast to (6,)
    assert s.macs == 6 * 5 * 4 * 3


def test_einsum_ellipsis_left_out_of_the_output_is_summed():
    s = einsum([2, 5, 4], [2, 4, 3], "...ij,...jk->ik")
    assert s.output_shape == (1, 5, 3)
    assert s.macs == 2 * 5 * 4 * 3  # the '...' dimension is contracted like a letter


def test_einsum_ellipsis_with_no_dimensions():
    s = einsum([5, 4], [4, 3], "...ij,jk->...ik")
    assert s.output_shape == (1, 5, 3)
    assert s.macs == 5 * 4 * 3


def test_einsum_one_operand_sum_transpose_trace():
    total = einsum([4, 3, 2], None, "ijk->j")
    assert total.output_shape == (1, 3)
    assert total.macs == 0
    assert total.flops_by_kind == {"reduce": 4 * 3 * 2 - 3}  # 3 sums of 8 terms: 3 * 7 adds
    transpose = einsum([4, 3], None, "ij->ji")
    assert transpose.output_shape == (1, 3, 4) and transpose.flops == 0
    trace = einsum([4, 4], None, "ii->")
    assert trace.output_shape == (1,)
    assert trace.flops_by_kind == {"reduce": 4 - 1}  # the diagonal's 4 terms summed
    diagonal = einsum([4, 4], None, "ii->i")
    assert diagonal.output_shape == (1, 4) and diagonal.flops == 0


def test_einsum_one_operand_receptive_field_is_exact():
    """A permutation moves the spatial axes; summing one out makes only that axis global."""
    rows = analyze("""
        conv2d: {out_channels: 4, kernel_size: 3}
        einsum: {equation: "chw->wch", inputs: [.]}
        identity
        einsum: {equation: "wch->ch", inputs: [.]}
    """, "[2, 9, 10]").layers
    conv, permuted, _, summed = rows
    assert conv.rf.to_dict() == {"size": [3, 3], "jump": [1, 1], "padding": [0, 0]}
    assert permuted.output_shape == (1, 8, 4, 7)  # [4, 7, 8] -> [8, 4, 7]
    assert permuted.rf.to_dict() == conv.rf.to_dict()
    assert summed.output_shape == (1, 4, 7)
    # w (the second spatial axis) is summed out; h keeps its 3-wide window
    assert summed.rf.to_dict() == {"size": [3, "global"], "jump": [1, "global"], "padding": [0, "global"]}


def test_the_convention_states_the_rules():
    rules = ARCHCALC.to_dict()["rules"]
    assert "n x k x m" in rules["matmul"]
    assert "prod(output letters)" in rules["einsum"] and "3+ operands refused" in rules["einsum"]


def readme_example() -> str:
    section = (ROOT / "README.md").read_text().split("### Products of named tensors", 1)[1]
    return "name: attention\n" + re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


def test_readme_example():
    """The README's attention example; MACs per layer written out with T = 196."""
    t = 196
    layers = {r.name: r for r in archcalc.analyze(archcalc.load(readme_example())).layers}
    assert layers["matmul_1"].output_shape == (1, t, t)
    assert layers["matmul_1"].macs == t * 512 * t
    assert layers["einsum_1"].output_shape == (1, 8, t, t)
    assert layers["einsum_1"].macs == 8 * t * t * 64
    assert layers["matmul_2"].output_shape == (1, 8, t, 64)
    assert layers["matmul_2"].macs == 8 * t * t * 64


# ---------------------------------------------------------------- symbolic

def test_symbolic_sizes_give_closed_forms():
    sympy = pytest.importorskip("sympy")
    T = sympy.Symbol("T", integer=True, positive=True)
    report = archcalc.analyze(archcalc.load(readme_example(), symbolic=["T"]))
    layers = {r.name: r for r in report.layers}
    assert layers["einsum_1"].output_shape == (1, 8, T, T)
    assert sympy.expand(layers["einsum_1"].macs - 8 * 64 * T**2) == 0
    assert sympy.expand(layers["matmul_1"].macs - 512 * T**2) == 0
    # three projections 512 * 512 * T, and three products 512 * T**2 (one head of 512, twice 8 heads of 64)
    assert sympy.expand(report.totals.macs - (3 * 512 * 512 * T + 3 * 512 * T**2)) == 0


def test_symbolic_one_operand_sum():
    sympy = pytest.importorskip("sympy")
    n = sympy.Symbol("n", integer=True, positive=True)
    text = spec('einsum: {equation: "ij->i", inputs: [.]}', "[n, 4]", variables="{n: 3}")
    s = archcalc.analyze(archcalc.load(text, symbolic=["n"])).layers[-1]
    assert s.output_shape == (1, n)
    assert sympy.expand(s.flops - (4 * n - n)) == 0


def test_a_numeric_run_does_not_import_sympy():
    code = ("import sys, archcalc; r = archcalc.analyze(archcalc.load(sys.argv[1])); "
            "assert r.totals.macs > 0; print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, readme_example()], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- errors: one line, exit 2

def run_bad(capsys, tmp_path: Path, layers: str, input: str = "[2]") -> str:
    """The CLI's one-line error for a spec, without the 'archcalc: FILE:LINE: ' prefix."""
    path = tmp_path / "spec.yaml"
    path.write_text(spec(layers, input), encoding="utf-8")
    status = main([str(path)])
    out, err = capsys.readouterr()
    assert status == 2, err
    assert out == "" and "Traceback" not in err
    (line,) = err.splitlines()
    m = re.match(rf"archcalc: {re.escape(str(path))}:\d+: ", line)
    assert m, line
    return line[m.end():]


@pytest.mark.parametrize("layers, input, expected", [
    (QK + "matmul: {inputs: [q, k]}", "[6, 8]",
     "layer matmul_1: cannot multiply input 'q' [6, 4] and input 'k' [6, 4]: inner sizes differ (4 vs 6) "
     "(a's last dimension must equal b's second-to-last; transpose_b: true multiplies by b^T)"),
    (operands([2, 5, 4], [3, 4, 6]) + "matmul: {inputs: [a, b]}", "[2]",
     "layer matmul_1: cannot multiply input 'a' [2, 5, 4] and input 'b' [3, 4, 6]: leading dimensions do not "
     "broadcast (leading dimensions must match or be 1)"),
    (QK + "matmul: {inputs: [q, k, x]}", "[6, 8]", "layer matmul_1: matmul takes two inputs [a, b], got 3"),
    (operands([4], [4]) + "matmul: {inputs: [a, b], transpose_b: true}", "[2]",
     "layer matmul_1: cannot multiply input 'a' [4] and input 'b' [4]: transpose_b needs b of rank 2 or more"),
    (QK + "matmul: {inputs: [q, kk]}", "[6, 8]", "layer matmul_1: unknown name 'kk'"),
])
def test_matmul_errors(capsys, tmp_path, layers, input, expected):
    line = run_bad(capsys, tmp_path, layers, input)
    assert line.startswith(expected), line


def test_matmul_without_inputs_names_the_field(capsys, tmp_path):
    line = run_bad(capsys, tmp_path, QK + "matmul: {transpose_b: true}", "[6, 8]")
    assert "inputs" in line, line


@pytest.mark.parametrize("equation, shapes, expected", [
    ("qhd,khd->hqk", ([6, 2, 4], [7, 2, 5]),
     "'d' is 4 in input 'a' [6, 2, 4] but 5 in input 'b' [7, 2, 5] (dimensions sharing a letter must have "
     "the same size)"),
    ("ij,jk", ([4, 3],), "has 2 operands but inputs lists 1"),
    ("ij,jk,kl->il", ([4, 3], [3, 2]), "has 3 operands; archcalc counts one or two (chain einsum layers"),
    ("ij->ik", ([4, 3],), "output 'k' is in no operand"),
    ("ij->ii", ([4, 3],), "output 'i' appears twice"),
    ("i1,1j->ij", ([4, 3],), "unexpected '1'"),
    ("i.j->ij", ([4, 3],), "unexpected '.'"),
    ("...i...->i", ([4, 3],), "'...' twice"),
    ("ij->i->j", ([4, 3],), "more than one '->'"),
    ("ijk->i", ([4, 3],), "gives 3 dimensions to input 'a' [4, 3]"),
    ("ij,jk->ik", ([2, 4, 3], [3, 5]), "gives 2 dimensions to input 'a' [2, 4, 3]"),
    ("...ij,...jk->...ik", ([2, 4, 3], [5, 3, 6]), "the '...' dimensions of input 'a' [2, 4, 3] and input 'b' "
                                                   "[5, 3, 6] do not broadcast"),
])
def test_einsum_errors(capsys, tmp_path, equation, shapes, expected):
    inputs = ", ".join("ab"[:len(shapes)])
    line = run_bad(capsys, tmp_path, operands(*shapes) + f"einsum: {{equation: '{equation}', inputs: [{inputs}]}}")
    assert line.startswith("layer einsum_1: "), line
    assert expected in line, line


# ---------------------------------------------------------------- torch as the oracle

def oracle_cases(torch):
    """(name, spec layers, per-sample input, torch module): the module returns one tensor per spec layer."""
    nn = torch.nn
    vmap = torch.func.vmap

    class Operands(nn.Module):
        """Mirrors ``operands()``: per operand, a linear projection of x to its numel, reshaped."""

        def __init__(self, shapes, op):
            super().__init__()
            self.shapes, self.op = shapes, op
            self.proj = nn.ModuleList(nn.Linear(2, prod(s)) for s in shapes)

        def forward(self, x):
            outs, ops = [x], []
            for lin, s in zip(self.proj, self.shapes):
                y = lin(x)
                ops.append(y.reshape(x.shape[0], *s))
                outs += [y, ops[-1]]
            return [*outs, self.op(*ops)]

    class Attention(nn.Module):
        """The README example: Q K^T for one head, then 8 heads of 64 as einsum and matmul."""

        def __init__(self):
            super().__init__()
            self.norm = nn.LayerNorm(512)
            self.q, self.k, self.v = nn.Linear(512, 512), nn.Linear(512, 512), nn.Linear(512, 512)

        def forward(self, x):
            b, t, _ = x.shape
            x = self.norm(x)
            q, k, v = self.q(x), self.k(x), self.v(x)
            one_head = torch.matmul(q, k.transpose(-1, -2))
            qh, kh = q.reshape(b, t, 8, 64), k.reshape(b, t, 8, 64)
            scores = torch.einsum("zqhd,zkhd->zhqk", qh, kh)  # z: the batch
            attn = scores.softmax(-1)
            vr = v.reshape(b, t, 8, 64)
            vh = vr.permute(0, 2, 1, 3)
            return [x, q, k, v, one_head, qh, kh, scores, attn, vr, vh, torch.matmul(attn, vh)]

    def product(shapes, layer, op):
        return operands(*shapes) + layer, "[2]", Operands(shapes, op)

    cases = [("readme attention", readme_example().split("layers:\n", 1)[1], "[T, 512]", Attention())]
    for a, b, _, _ in MATMUL_CASES:  # per-sample torch.matmul, as vmap applies it
        cases.append((f"matmul {a} {b}", *product([a, b], "matmul: {inputs: [a, b]}", vmap(torch.matmul))))
    cases += [
        ("matmul batched transpose_b", *product([[3, 5, 4], [3, 6, 4]], "matmul: {inputs: [a, b], transpose_b: true}",
                                                lambda a, b: torch.matmul(a, b.transpose(-1, -2)))),
        ("einsum heads", *product([[6, 2, 4], [7, 2, 4]], "einsum: {equation: 'qhd,khd->hqk', inputs: [a, b]}",
                                  lambda a, b: torch.einsum("zqhd,zkhd->zhqk", a, b))),
        ("einsum presum", *product([[4, 3], [3, 5]], "einsum: {equation: 'ij,jk->i', inputs: [a, b]}",
                                   lambda a, b: torch.einsum("zij,zjk->zi", a, b))),
        ("einsum outer", *product([[4], [3]], "einsum: {equation: 'i,j->ij', inputs: [a, b]}",
                                  lambda a, b: torch.einsum("zi,zj->zij", a, b))),
        ("einsum row dots", *product([[4, 3], [4, 3]], "einsum: {equation: 'ij,ij->i', inputs: [a, b]}",
                                     lambda a, b: torch.einsum("zij,zij->zi", a, b))),
        ("einsum implicit", *product([[5, 4], [5, 3]], "einsum: {equation: 'ba,bc', inputs: [a, b]}",
                                     vmap(lambda a, b: torch.einsum("ba,bc", a, b)))),
        ("einsum ellipsis", *product([[1, 5, 4], [6, 4, 3]], "einsum: {equation: '...ij,...jk->...ik', inputs: [a, b]}",
                                     vmap(lambda a, b: torch.einsum("...ij,...jk->...ik", a, b)))),
        ("einsum ellipsis summed", *product([[2, 5, 4], [2, 4, 3]],
                                            "einsum: {equation: '...ij,...jk->ik', inputs: [a, b]}",
                                            lambda a, b: torch.einsum("zyij,zyjk->zik", a, b))),
        ("einsum sum", *product([[4, 3, 2]], "einsum: {equation: 'ijk->j', inputs: [a]}",
                                lambda a: torch.einsum("zijk->zj", a))),
    ]
    return cases


@pytest.mark.parametrize("batch", [1, 3])
def test_torch_flop_counter_agrees(batch):
    """FlopCounterMode / 2 equals archcalc's MACs (linear layers included) and every output shape matches."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    for name, layers, input, module in oracle_cases(torch):
        text = spec(layers, input, batch, variables="{T: 10}")
        report = archcalc.analyze(archcalc.load(text))
        per_sample = [10 if d == "T" else int(d) for d in input.strip("[]").split(",")]
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            outs = module(torch.randn(batch, *per_sample))
        assert counter.get_total_flops() == 2 * report.totals.macs, name
        assert [tuple(o.shape) for o in outs] == [r.output_shape for r in report.layers], name
