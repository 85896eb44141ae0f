"""Custom layer types under every counting convention.

A custom layer may declare the kind of op it is (``kind: conv``, ``elementwise``, ...). A preset counts it by the
rule its file gives for that kind (``kinds:`` in archcalc/count/conventions/*.yaml, whose comments say why: what the
tool counts for an op of that kind written in PyTorch); a convention file may give a custom type a rule of its own, by
its name, over the layer's figures and arguments; without a kind a preset refuses the layer in one line.

Where the expected numbers come from:
- the arithmetic written out below, per kind and preset, from each custom layer's declared shapes and formulas;
- the tools themselves (torch's FlopCounterMode, fvcore, ptflops, thop, torchinfo; each pair skips without its
  tool): the PyTorch implementation of each kind that the presets' comments describe (F.conv2d, F.linear,
  torch.matmul, F.softmax, F.avg_pool2d, tensor arithmetic, F.embedding, F.pixel_unshuffle), run through each tool,
  gives that preset's figure for the custom layer that declares its shapes and MACs.
"""
from __future__ import annotations

import contextlib
import copy
import io
import logging
import math
import warnings
from pathlib import Path

import pytest

import archcalc
from archcalc.cli import main
from archcalc.core.errors import ArchcalcError
from archcalc.count.convention import KAPLAN
from archcalc.count.preset import HERE, load
from archcalc.read.blocks import CUSTOM_KINDS

PRESETS = ("paper", "torch", "fvcore", "ptflops", "thop", "torchinfo")
B, C, H, W, T, D = 2, 8, 16, 16, 10, 16  # batch; an image [C, H, W]; a sequence [T, D]
IMAGE, SEQUENCE, TOKENS = "[8, 16, 16]", "[10, 16]", "[10]"

# Each kind of op, as a custom layer: (input, definition). The per-sample figures the definitions give:
CONV_MACS, CONV_PARAMS = 4 * C * 3 * 3 * H * W, 4 * C * 3 * 3  # 4 filters of C x 3 x 3 at every position
LINEAR_MACS, LINEAR_PARAMS = T * D * 12, D * 12  # a [D, 12] weight applied to each of T tokens
GRAM_MACS = T * T * D  # x x^T
ATTENTION_MACS = 2 * T * T * D  # softmax(x x^T / sqrt(D)) x: QK^T and AV, no projections
NORM_PARAMS, SCALE_PARAMS, BUCKETS = D, C, 50
CUSTOM = {
    "conv": (IMAGE, """myconv:
    kind: conv
    args: {out: 4, k: 3}
    output: ["out", "in1", "in2"]
    params: "out * in0 * k * k"
    macs: "out * in0 * k * k * in1 * in2"
    rf: {kernel: k, padding: k // 2}"""),
    "linear": (SEQUENCE, """scaled_linear:
    kind: linear
    args: {out: 12}
    output: ["in0", "out"]
    params: "in1 * out"
    macs: "in0 * in1 * out\""""),
    "matmul": (SEQUENCE, """gram:
    kind: matmul
    output: ["in0", "in0"]
    macs: "in0 * in0 * in1\""""),
    "attention": (SEQUENCE, """attend:
    kind: attention
    macs: "2 * in0 * in0 * in1"
    flops: "4 * in0 * in0 * in1 + 5 * in0 * in0"
    rf: global"""),
    "norm": (SEQUENCE, """rms:
    kind: norm
    params: in1
    flops: "4 * in_numel\""""),
    "activation": (IMAGE, """my_mish:  # (mish is a built-in type now)
    kind: activation
    flops: "5 * in_numel\""""),
    "elementwise": (IMAGE, """layer_scale:
    kind: elementwise
    params: in0
    flops: "2 * in_numel\""""),
    "softmax": (SEQUENCE, """temperature_softmax:
    kind: softmax
    flops: "4 * in_numel\""""),
    "pool": (IMAGE, """gem:
    kind: pool
    output: ["in0", 1, 1]
    flops: "3 * in_numel"
    rf: global"""),
    "embedding": (TOKENS, """hashed_embedding:
    kind: embedding
    args: {buckets: 50, dim: 16}
    output: ["in0", "dim"]
    params: "buckets * dim\""""),
    "reshape": (IMAGE, """space_to_depth:
    kind: reshape
    output: ["in0 * 4", "in1 // 2", "in2 // 2"]
    rf: {kernel: 2, stride: 2}"""),
}

# What each preset counts for the whole batch, in its unit (torch: FLOPs; the others: MACs).
EXPECTED = {
    "conv": {"paper": CONV_MACS * B, "torch": 2 * CONV_MACS * B, "fvcore": CONV_MACS * B,
             "ptflops": 0,  # F.conv2d is not among the functions ptflops patches
             "thop": 0,  # no hook for a module type of the user's
             "torchinfo": CONV_PARAMS * B * H * W},  # a "Conv" class: weight x batch x output positions
    "linear": {"paper": LINEAR_MACS * B, "torch": 2 * LINEAR_MACS * B, "fvcore": LINEAR_MACS * B,
               "ptflops": 0,  # F.linear's patch is disabled in ptflops 0.7.5
               "thop": 0, "torchinfo": LINEAR_PARAMS * B},  # weight x batch
    "matmul": {"paper": GRAM_MACS * B, "torch": 2 * GRAM_MACS * B, "fvcore": GRAM_MACS * B,
               "ptflops": GRAM_MACS * B,  # torch.matmul: left elements x right's last dim
               "thop": 0, "torchinfo": 0},  # no parameters
    "attention": {"paper": ATTENTION_MACS * B, "torch": 2 * ATTENTION_MACS * B, "fvcore": ATTENTION_MACS * B,
                  "thop": 0, "torchinfo": 0},  # ptflops: refused (below)
    "norm": {"paper": 0, "torch": 0, "fvcore": 0, "ptflops": 0, "thop": 0, "torchinfo": NORM_PARAMS * B},
    "activation": dict.fromkeys(PRESETS, 0),
    "elementwise": {"paper": 0, "torch": 0, "fvcore": 0, "ptflops": 0, "thop": 0, "torchinfo": SCALE_PARAMS * B},
    "softmax": {"paper": 0, "torch": 0, "fvcore": 0, "ptflops": B * T * D,  # F.softmax: its input's elements
                "thop": 0, "torchinfo": 0},
    "pool": {"paper": 0, "torch": 0, "fvcore": 0, "ptflops": B * C * H * W,  # F.avg_pool2d: its input's elements
             "thop": 0, "torchinfo": 0},
    "embedding": {"paper": 0, "torch": 0, "fvcore": 0, "ptflops": 0, "thop": 0, "torchinfo": BUCKETS * D * B},
    "reshape": dict.fromkeys(PRESETS, 0),
}
PAIRS = [(kind, preset) for kind in CUSTOM for preset in PRESETS if preset in EXPECTED[kind]]


def spec(kind: str, definition: str | None = None) -> str:
    """A network of one custom layer of ``kind`` (``definition`` replaces its declaration)."""
    shape, text = CUSTOM[kind]
    text = definition if definition is not None else text
    name = text.split(":", 1)[0]
    return f"name: custom_{kind}\ninput: {shape}\nbatch: {B}\ncustom:\n  {text}\nlayers:\n  - {name}\n"


def total(text: str, convention: str) -> int:
    """The preset's total in its tool's unit: FLOPs for torch, MACs for the others."""
    totals = archcalc.analyze(archcalc.load(text), convention=load(convention)).totals
    return totals.flops if convention == "torch" else totals.macs


def refusal(text: str, convention: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> str:
    """The CLI's one-line refusal of ``text`` under ``convention`` (exit status 2)."""
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    assert main([str(path), "--convention", convention]) == 2
    err = capsys.readouterr().err
    assert err.startswith("archcalc: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("kind, preset", PAIRS, ids=[f"{k}-{p}" for k, p in PAIRS])
def test_each_preset_counts_a_custom_layer_by_its_kind(kind: str, preset: str) -> None:
    assert total(spec(kind), preset) == EXPECTED[kind][preset]


def test_archcalc_keeps_the_specs_own_formulas_and_reports_them_under_the_kind() -> None:
    (row,) = archcalc.analyze(archcalc.load(spec("conv"))).layers
    assert (row.kind, row.macs, row.flops, row.params) == ("conv", CONV_MACS * B, 2 * CONV_MACS * B, CONV_PARAMS)
    assert row.flops_by_kind == {"conv": 2 * CONV_MACS * B}
    (row,) = archcalc.analyze(archcalc.load(spec("attention"))).layers
    assert row.flops == (4 * T * T * D + 5 * T * T) * B and row.kind == "attention"


NO_KIND = spec("conv").replace("    kind: conv\n", "")


@pytest.mark.parametrize("preset", PRESETS)
def test_a_custom_layer_without_a_kind_is_refused_in_one_line(preset: str, tmp_path, capsys) -> None:
    err = refusal(NO_KIND, preset, tmp_path, capsys)
    assert f"convention {preset} has no rule for custom layer type 'myconv'" in err
    assert "kind: conv | linear" in err and "custom.myconv" in err and "convention file" in err
    assert "layer myconv_1" in err  # the layer's path, as every error gives it


@pytest.mark.parametrize("preset", PRESETS)
def test_kind_other_is_refused_by_every_preset(preset: str, tmp_path, capsys) -> None:
    err = refusal(spec("conv").replace("kind: conv", "kind: other"), preset, tmp_path, capsys)
    assert f"convention {preset} has no rule for custom layers of kind other ('myconv')" in err
    assert "a more specific kind" in err


def test_ptflops_refuses_a_custom_attention(tmp_path, capsys) -> None:
    """ptflops adds F.softmax's scores to torch.matmul's MACs: a custom layer's figures do not give them."""
    err = refusal(spec("attention"), "ptflops", tmp_path, capsys)
    assert "convention ptflops has no rule for custom layers of kind attention ('attend')" in err
    assert "give attend a rule in a convention file" in err


def test_the_kind_is_one_of_the_listed_kinds(tmp_path, capsys) -> None:
    err = refusal(spec("conv").replace("kind: conv", "kind: convolution"), "torch", tmp_path, capsys)
    assert "kind" in err and "'conv'" in err


# ---------------------------------------------------------------- a convention file's rule for a custom type

RULE = "macs + 10 * params + 100 * out + in0 * in1 * in2 + out0 + in_numel + out_numel + batch"


def with_rule(preset: str, rule_line: str) -> str:
    """The preset's file with one more rule (a user's copy of it)."""
    text = (HERE / f"{preset}.yaml").read_text()
    assert text.count("\nrules:\n") == 1
    return text.replace("\nrules:\n", f"\nrules:\n  {rule_line}\n")


@pytest.mark.parametrize("preset", PRESETS)
def test_a_convention_file_may_give_a_custom_type_its_own_rule(preset: str, tmp_path) -> None:
    """The rule sees the layer's figures (whole batch: macs, in_numel, out_numel), its parameters, its arguments by
    name (out) and its per-sample dimensions; it wins over the kind's rule, and needs no kind."""
    path = tmp_path / f"my_{preset}.yaml"
    path.write_text(with_rule(preset, f"myconv: {RULE}"))
    want = (CONV_MACS * B + 10 * CONV_PARAMS + 100 * 4 + C * H * W + 4 + B * C * H * W + B * 4 * H * W + B)
    for text in (spec("conv"), NO_KIND):
        totals = archcalc.analyze(archcalc.load(text), convention=load(str(path))).totals
        unit = load(str(path)).unit
        assert (totals.flops if unit == "flops" else totals.macs) == want, preset


def test_a_convention_file_of_ones_own_with_rules_and_kinds(tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("""name: mine
tool: a counter of my own
unit: macs
mac: what my counter counts
flop: 2 x that
rules:
  gram: 2 * macs
kinds:
  conv linear: macs + params
  elementwise: in_numel
""")
    mine = load(str(path))
    assert total(spec("conv"), str(path)) == CONV_MACS * B + CONV_PARAMS
    assert total(spec("linear"), str(path)) == LINEAR_MACS * B + LINEAR_PARAMS
    assert total(spec("elementwise"), str(path)) == B * C * H * W
    assert total(spec("matmul"), str(path)) == 2 * GRAM_MACS * B
    assert mine.rules()["custom kind elementwise"] == "in_numel"  # stated with the report's convention
    with pytest.raises(ArchcalcError) as info:
        total(spec("norm"), str(path))
    assert "convention mine has no rule for custom layers of kind norm ('rms')" in info.value.format()


@pytest.mark.parametrize("kinds, words", [
    ("kinds: [conv]", "kinds must be a mapping"),
    ("kinds: {convolution: macs}", "'convolution' is not a kind of custom layer"),
    ("kinds: {conv: true}", "the rule for kind conv must be an expression or a number"),
])
def test_a_bad_kinds_mapping_is_one_line(kinds: str, words: str, tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\ntool: t\nunit: macs\nmac: m\nflop: f\nrules: {{relu: 0}}\n{kinds}\n")
    with pytest.raises(ArchcalcError) as info:
        load(str(path))
    message = info.value.format()
    assert words in message and "\n" not in message


def test_a_rule_that_fails_names_the_kind_and_the_layer(tmp_path) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text("name: wrong\ntool: t\nunit: macs\nmac: m\nflop: f\nrules: {relu: 0}\n"
                    "kinds: {conv: no_such_name}\n")
    with pytest.raises(ArchcalcError) as info:
        total(spec("conv"), str(path))
    assert "convention wrong, rule for kind conv (custom layer myconv)" in info.value.format()


# ---------------------------------------------------------------- Kaplan's convention

def test_kaplan_counts_a_custom_layer_by_its_kind_and_refuses_one_without() -> None:
    """Kaplan counts linear and attention work only, per token: a linear-kind layer's 2 x MACs / T FLOPs and its
    weights; an elementwise one nothing."""
    linear = archcalc.analyze(archcalc.load(spec("linear")), convention=KAPLAN).totals
    assert (linear.params, linear.flops) == (LINEAR_PARAMS, 2 * LINEAR_MACS // T)
    norm = archcalc.analyze(archcalc.load(spec("norm")), convention=KAPLAN).totals
    assert (norm.params, norm.flops) == (0, 0)
    with pytest.raises(ArchcalcError) as info:
        archcalc.analyze(archcalc.load(spec("linear").replace("    kind: linear\n", "")), convention=KAPLAN)
    message = info.value.format()
    assert "custom layer type 'scaled_linear' does not say what it is" in message and "kind:" in message


# ---------------------------------------------------------------- the tools on the PyTorch form of each kind

def modules():
    """Each kind written in PyTorch as the presets' comments describe, with the example input of its spec."""
    torch = pytest.importorskip("torch")
    nn, F = torch.nn, torch.nn.functional

    class CustomConv(nn.Module):  # torchinfo looks for "Conv" in the class name
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.randn(4, C, 3, 3))

        def forward(self, x):
            return F.conv2d(x, self.weight, padding=1)

    class ScaledLinear(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.randn(12, D))

        def forward(self, x):
            return F.linear(x, self.weight) * 0.5

    class Gram(nn.Module):
        def forward(self, x):
            return torch.matmul(x, x.transpose(-1, -2))

    class Attend(nn.Module):
        def forward(self, x):
            return torch.matmul(F.softmax(torch.matmul(x, x.transpose(-1, -2)) / math.sqrt(D), dim=-1), x)

    class RMS(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(D))

        def forward(self, x):
            return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-6) * self.weight

    class Mish(nn.Module):
        def forward(self, x):
            return x * torch.tanh(F.softplus(x))

    class LayerScale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(C, 1, 1))

        def forward(self, x):
            return x * self.weight

    class TemperatureSoftmax(nn.Module):
        def forward(self, x):
            return F.softmax(x / 2, dim=-1)

    class GeM(nn.Module):
        def forward(self, x):
            return F.avg_pool2d(x.clamp(min=1e-6) ** 3, (H, W)) ** (1 / 3)

    class HashedEmbedding(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.randn(BUCKETS, D))

        def forward(self, x):
            return F.embedding(x % BUCKETS, self.weight)

    class SpaceToDepth(nn.Module):
        def forward(self, x):
            return F.pixel_unshuffle(x, 2)

    image, sequence = torch.randn(B, C, H, W), torch.randn(B, T, D)
    return {"conv": (CustomConv, image), "linear": (ScaledLinear, sequence), "matmul": (Gram, sequence),
            "attention": (Attend, sequence), "norm": (RMS, sequence), "activation": (Mish, image),
            "elementwise": (LayerScale, image), "softmax": (TemperatureSoftmax, sequence), "pool": (GeM, image.abs()),
            "embedding": (HashedEmbedding, torch.randint(0, 1000, (B, T))), "reshape": (SpaceToDepth, image)}


@contextlib.contextmanager
def quiet():
    sink, fvcore = io.StringIO(), logging.getLogger("fvcore")
    level = fvcore.level
    fvcore.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        fvcore.setLevel(level)


def measure(tool: str, model, x) -> int:
    """The tool's total, called as tests/test_peers.py calls it."""
    import torch
    if tool == "torch":
        from torch.utils.flop_counter import FlopCounterMode
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
        return counter.get_total_flops()
    pytest.importorskip(tool)
    if tool == "fvcore":
        from fvcore.nn import FlopCountAnalysis
        return FlopCountAnalysis(model, (x,)).unsupported_ops_warnings(False).uncalled_modules_warnings(False).total()
    if tool == "ptflops":
        from ptflops import get_model_complexity_info
        return get_model_complexity_info(model, tuple(x.shape[1:]), input_constructor=lambda _: x, as_strings=False,
                                         print_per_layer_stat=False, backend="pytorch")[0]
    if tool == "thop":
        import thop
        return thop.profile(model, inputs=(x,), verbose=False)[0]
    import torchinfo
    return torchinfo.summary(model, input_data=x, verbose=0).total_mult_adds


TOOL_PAIRS = [(kind, tool) for kind in CUSTOM for tool in PRESETS if tool != "paper"]


@pytest.mark.parametrize("kind, tool", TOOL_PAIRS, ids=[f"{k}-{t}" for k, t in TOOL_PAIRS])
def test_the_tool_counts_the_pytorch_form_of_each_kind_as_its_preset(kind: str, tool: str) -> None:
    torch = pytest.importorskip("torch")
    cls, x = modules()[kind]
    torch.manual_seed(0)
    model = torch.nn.Sequential(cls()).eval()  # the custom op as one layer of a network
    report = archcalc.analyze(archcalc.load(spec(kind)))
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    with torch.no_grad():
        assert tuple(model(x).shape) == tuple(report.output_shape)
    with quiet():
        got = measure(tool, copy.deepcopy(model), x)
    if (kind, tool) == ("attention", "ptflops"):  # why that preset refuses it: the scores come on top
        assert got == ATTENTION_MACS * B + B * T * T
        return
    assert got == EXPECTED[kind][tool] == total(spec(kind), tool)


def test_the_readme_table_is_the_presets_kinds() -> None:
    """README's table of what each preset counts per kind states each preset's ``kinds:`` rule (or its refusal)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("<!-- custom-kinds -->", 1)[1].strip().split("\n\n", 1)[0]
    header, _, *lines = block.splitlines()
    presets = [c.strip().split("`")[1] for c in header.strip("|").split("|")[1:]]
    assert tuple(presets) == PRESETS
    seen = set()
    for line in lines:
        kinds, *cells = (c.strip() for c in line.strip("|").split("|"))
        for kind in kinds.split(", "):
            seen.add(kind)
            for preset, cell in zip(presets, cells):
                rule = load(preset).per_kind.get(kind)
                assert cell == ("refused" if rule is None else f"`{rule}`"), (kind, preset)
    assert seen == set(CUSTOM) and set(CUSTOM) | {"other"} == set(CUSTOM_KINDS)
