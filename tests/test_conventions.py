"""Counting conventions: the presets reproduce what each tool reports, and conventions are data.

Where the expected numbers come from:
- ResNet-50 (torchvision): the counts the conventions issue quotes, measured with each tool on torchvision's
  resnet50: fvcore 4,111,512,576; ptflops 4,132,436,968; thop 4,133,742,592; torchinfo 4,089,238,376;
  FlopCounterMode 8,178,368,512 FLOPs; and tests/data/torchvision_reference.json. The per-kind amounts are
  the arithmetic written out next to them (ResNet-50's 53 batch norms hold 11,113,984 elements, its 49
  ReLUs 9,608,704, its max pool reads 802,816 and its average pool 100,352: sums of the layer shapes);
- ViT-B/16: FlopCounterMode / 2 = 11,271,124,992 in tests/data/torchvision_reference.json;
- the tools run on archcalc's exported modules in tests/test_peers.py.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import archcalc
from archcalc.cli import main
from archcalc.core.errors import ArchcalcError
from archcalc.count.preset import available, load

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = json.loads((Path(__file__).parent / "data" / "torchvision_reference.json").read_text())["models"]
MACS = 4_089_184_256  # torchvision's ResNet-50, FlopCounterMode / 2 (the reference file)
BN, RELU, MAXPOOL_IN, AVGPOOL_IN = 11_113_984, 9_608_704, 802_816, 100_352


def totals(spec: str, convention: str, **overrides) -> archcalc.Totals:
    return archcalc.analyze(archcalc.load(ROOT / "specs" / f"{spec}.yaml", **overrides),
                            convention=load(convention)).totals


@pytest.mark.parametrize("convention, expected", [
    ("fvcore", 4_111_512_576),
    ("ptflops", 4_132_436_968),
    ("thop", 4_133_742_592),
    ("torchinfo", 4_089_238_376),
    ("torch", 8_178_368_512 // 2),
    ("paper", MACS),
])
def test_resnet50_as_each_tool_reports_it(convention, expected):
    assert totals("resnet50", convention).macs == expected


def test_resnet50_differences_by_arithmetic():
    assert totals("resnet50", "fvcore").macs == MACS + 2 * BN + AVGPOOL_IN  # BN 2 per element (affine)
    assert totals("resnet50", "thop").macs == MACS + 4 * BN + (49 + 1) * 2048  # BN 4; avg pool (k + 1) per out
    # ptflops: BN 2 per element; ReLU and pools counted twice (module hook + patched function); fc bias
    assert totals("resnet50", "ptflops").macs == MACS + 2 * BN + 2 * RELU + 2 * MAXPOOL_IN + 2 * AVGPOOL_IN + 1000
    assert totals("resnet50", "torchinfo").macs == MACS + 53_120 + 1000  # BN weights and biases, fc bias
    assert totals("resnet50", "torch").flops == 2 * MACS


def test_vit_b_16_under_torch_is_the_reference():
    """FlopCounterMode does not see eval-mode nn.MultiheadAttention: the torch preset says so."""
    assert totals("vit_b_16", "torch").macs == REFERENCE["vit_b_16"]["macs"] == 11_271_124_992
    assert totals("vit_b_32", "torch").macs == REFERENCE["vit_b_32"]["macs"]


def test_the_presets_name_their_tool_and_version():
    for name in ("torch", "fvcore", "ptflops", "thop", "torchinfo", "paper"):
        convention = load(name)
        assert any(n.startswith("tool: ") for n in convention.notes), name
    assert {"fvcore", "ptflops", "thop", "torchinfo", "torch", "paper", "archcalc", "kaplan"} <= set(available())


def test_every_preset_has_a_rule_for_every_layer_type():
    from archcalc.layers import LAYER_TYPES
    for name in ("torch", "fvcore", "ptflops", "thop", "torchinfo", "paper"):
        missing = set(LAYER_TYPES) - set(load(name).per_type)
        assert not missing, (name, sorted(missing))


def test_a_convention_file_of_ones_own(tmp_path, capsys):
    conv = tmp_path / "mine.yaml"
    conv.write_text("name: mine\ntool: by hand\nunit: macs\nmac: conv only\nflop: 2 x MACs\n"
                    "rules:\n  conv2d: macs\n  relu batchnorm2d maxpool2d add global_avgpool linear: 0\n")
    rep = archcalc.analyze(archcalc.load(ROOT / "specs" / "resnet50.yaml"), convention=load(str(conv)))
    assert rep.totals.macs == MACS - 2048 * 1000  # the fc layer's MACs left out
    assert "convention mine" in rep.convention.summary()
    assert main([str(ROOT / "specs" / "resnet50.yaml"), "--convention", str(conv), "-f", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["totals"]["macs"] == MACS - 2_048_000 and out["convention"]["name"] == "mine"


def test_a_convention_missing_a_layer_type_is_an_error(tmp_path):
    conv = tmp_path / "partial.yaml"
    conv.write_text("name: partial\ntool: x\nunit: macs\nmac: m\nflop: f\nrules:\n  conv2d: macs\n")
    with pytest.raises(ArchcalcError, match="convention partial has no rule for layer type 'batchnorm2d'"):
        archcalc.analyze(archcalc.load(ROOT / "specs" / "resnet50.yaml"), convention=load(str(conv)))


@pytest.mark.parametrize("text, words", [
    ("name: x\ntool: x\nunit: joules\nmac: m\nflop: f\nrules: {conv2d: macs}\n", "unit 'joules'"),
    ("name: x\ntool: x\nunit: macs\nmac: m\nflop: f\nrules: [conv2d]\n", "rules must be a dict"),
    ("name: x\ntool: x\nunit: macs\nmac: m\nflop: f\nrules: {conv2d: [1]}\n", "must be an expression"),
    ("name: x\ntool: x\nunit: macs\nmac: m\nflop: f\nrules: {conv2d: \"__import__('os')\"}\n", "only"),
])
def test_bad_convention_files(tmp_path, capsys, text, words):
    conv = tmp_path / "bad.yaml"
    conv.write_text(text)
    status = main([str(ROOT / "specs" / "lenet5.yaml"), "--convention", str(conv)])
    err = capsys.readouterr().err
    assert status == 2 and len(err.splitlines()) == 1 and words in err, err


def test_unknown_convention_name(capsys):
    assert main([str(ROOT / "specs" / "lenet5.yaml"), "--convention", "thopp"]) == 2
    err = capsys.readouterr().err
    assert "no such convention or file" in err and "ptflops" in err


def test_compare_shows_every_preset_and_explains(capsys):
    assert main(["compare", str(ROOT / "specs" / "resnet50.yaml")]) == 0
    out = capsys.readouterr().out
    for figure in ("4,111,512,576 flops", "4,132,436,968 MACs", "4,133,742,592 MACs", "4,089,238,376 mult-adds",
                   "8,178,368,512 FLOPs", "4,089,184,256"):
        assert figure in out
    assert "batchnorm2d +22,227,968" in out  # fvcore: BN at 2 per element
    assert "relu +19,217,408" in out  # ptflops: ReLU counted twice
    assert "add 5,519,360 FLOPs" in out  # the residual adds: counted by no tool


def test_compare_json(capsys):
    assert main(["compare", str(ROOT / "specs" / "lenet5.yaml"), "-f", "json", "--metric", "flops"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["convention"] for r in rows[:7]] == ["archcalc", "paper", "torch", "fvcore", "ptflops", "thop",
                                                   "torchinfo"]


def test_presets_in_every_output_format(capsys):
    for fmt in ("table", "json", "csv", "markdown", "latex"):
        assert main([str(ROOT / "specs" / "resnet50.yaml"), "--convention", "fvcore", "-f", fmt]) == 0
        out = capsys.readouterr().out
        assert "fvcore" in out, fmt
        assert "4111512576" in out.replace("\\,", "").replace(",", ""), fmt


def test_presets_work_symbolically():
    rep = archcalc.analyze(archcalc.load(ROOT / "specs" / "resnet50.yaml", symbolic=["H", "W"]),
                           convention=load("fvcore"))
    import sympy
    h, w = sympy.symbols("H W", integer=True, positive=True)
    assert rep.totals.macs.subs({h: 224, w: 224}) == 4_111_512_576


# ---------------------------------------------------------------- how the reference code computes an op (call)

ENCODER = """name: encoder
variables: {T: 128, d: 256}
input: [T, d]
layers:
  - multihead_attention: {num_heads: 4, qkv: QKV CALL}
  - layernorm
  - linear: {out_features: 1024}
  - gelu
  - linear: {out_features: 256}
"""


def encoder(qkv: str, call: str = "") -> archcalc.Network:
    return archcalc.load(ENCODER.replace("QKV", qkv).replace("CALL", f", call: {call}" if call else ""))


@pytest.mark.parametrize("convention", available())
def test_qkv_changes_no_count_under_any_convention(convention):
    """One fused Q/K/V projection or three: the same counts under every convention, as the README says; whether
    a tool sees nn.MultiheadAttention follows the layer's call, not qkv."""
    for call in ("", "module", "explicit"):
        fused, separate = (archcalc.analyze(encoder(qkv, call), convention=load(convention)).totals
                           for qkv in ("fused", "separate"))
        assert (fused.macs, fused.flops, fused.params) == (separate.macs, separate.flops, separate.params)


def test_attention_call_under_the_torch_preset():
    """FlopCounterMode sees explicit matmuls, not nn.MultiheadAttention's eval fast path (4 heads, even): explicit
    counts archcalc's MACs (no mask: every score is computed); module all but the attention layer's."""
    report = archcalc.analyze(encoder("separate"))
    attention = report.layers[0].macs
    # projections 4 x T x d^2, plus QK^T and AV 2 x T^2 x d
    assert attention == 4 * 128 * 256 ** 2 + 2 * 128 ** 2 * 256
    for qkv in ("fused", "separate"):
        assert archcalc.analyze(encoder(qkv, "explicit"), convention=load("torch")).totals.macs == report.totals.macs
        for call in ("", "module"):  # the default: torch can compute this layer
            macs = archcalc.analyze(encoder(qkv, call), convention=load("torch")).totals.macs
            assert macs == report.totals.macs - attention


def without_call(text: str) -> str:
    """A spec's text without its comments and with every `call:` removed (each layer back to its default form)."""
    return re.sub(r"\{call: \w+\}", "{}", re.sub(r", call: \w+", "", re.sub(r"#.*", "", text)))


@pytest.mark.parametrize("spec", sorted(p.stem for p in (ROOT / "specs").glob("*.yaml")
                                        if "call:" in p.read_text()))
def test_call_changes_no_count_of_archcalcs(spec):
    """How the reference code computes an op changes none of archcalc's own figures, only the tool presets'."""
    text = (ROOT / "specs" / f"{spec}.yaml").read_text()
    assert "call:" in re.sub(r"#.*", "", text) and "call:" not in without_call(text)
    marked, plain = (archcalc.analyze(archcalc.load(t)) for t in (text, without_call(text)))
    for name in ("params", "buffers", "macs", "flops", "activations", "cache", "flops_by_kind"):
        assert getattr(marked.totals, name) == getattr(plain.totals, name), name
    assert [(row.macs, row.flops, row.rf.to_dict()) for row in marked.layers] == \
        [(row.macs, row.flops, row.rf.to_dict()) for row in plain.layers]


@pytest.mark.parametrize("text, words", [
    ("relu: {call: reduction}", "call: 'reduction' is not a form this layer type has (one of module, function, bound)"),
    ("global_avgpool: {call: explicit}", "(one of module, function, reduction)"),
    ("multihead_attention: {num_heads: 2, call: function}", "(one of module, explicit)"),
    ("scale: {call: function}", "(one of module, parameter)"),
    ("maxpool2d: {kernel_size: 2, call: {a: 1}}", "call: {'a': 1} is not a form this layer type has"),
    ("flatten: {call: [module]}", "call: ['module'] is not a form this layer type has (one of module, function)"),
    ("batchnorm1d: {call: function}", "unknown field 'call'"),
    ("multihead_attention: {num_heads: 2, causal: true, call: module}",
     "call: module, but torch.nn.MultiheadAttention cannot compute this layer (causal: true) "
     "(call: explicit writes it out with projections and matmuls)"),
    ("multihead_attention: {num_heads: 2, kv_heads: 1, call: module}", "(kv_heads other than num_heads)"),
])
def test_a_form_a_layer_type_does_not_have_is_one_line(tmp_path, capsys, text, words):
    path = tmp_path / "spec.yaml"
    path.write_text(f"name: a\ninput: [4, 6]\nlayers:\n  - {text}\n")
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"archcalc: {path}:4: layer ") and words in err
