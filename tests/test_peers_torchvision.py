"""The counting presets against the tools they describe, run on the code a spec describes: torchvision's and Hugging
Face's own model classes, not archcalc's export (tests/test_peers.py checks the export).

For every zoo spec that has a torchvision counterpart, torchvision's model (weights=None: random weights, nothing
downloaded; eval mode; built and run on the CPU) is measured by each of the five tools, run as tests/peer_tools.py
runs them on exports, and each total must equal the spec's total under that tool's preset, to the unit. The spec
says how torchvision computes each op (its layers' `call`: an nn module, the torch function, x.mean, a plain
parameter), and the presets count what each tool sees of that form.

- Sizes: those of tests/test_peers.py (peer_tools.SIZES), passed to both sides: 64 x 64 where a spec has variables H
  and W (inception_v3 107 x 107, above its 75-pixel minimum), AlexNet and VGG at 224 x 224 (their adaptive pool an
  identity, as at full size), ResNet-50 at 224 x 224, and densenet121 once more at 224 x 224 (FULL). A reduced size
  changes the shapes each layer sees, never which op computes it or which rule counts it. ViT runs at 64 x 64
  (image_size=64 for torchvision's builder, image: 64 for the spec), all 12 layers. Two models run at batch 2 as
  well (BATCHED): ptflops divides module counts by the batch, not functions'.
- Builders: googlenet and inception_v3 with aux_logits=False (their specs leave the training-only auxiliary
  classifiers out) and init_weights=False; every other builder with weights=None only.
- Hugging Face BERT: transformers' BertModel built from a BertConfig in code (2 layers, hidden 128, 2 heads,
  intermediate 512, 64 positions, vocabulary 500, eager attention; a wrapper returns the pooler output) at T = 16,
  against specs/bert_base.yaml at those sizes, as written (qkv: fused) and with qkv: separate: both specs' preset
  totals equal each tool's total on the one model.
"""
from __future__ import annotations

import functools
from pathlib import Path

import pytest
from peer_tools import IMAGE, SIZES, TOOLS, check, measure, preset_total
from torchvision_oracle import models

import archcalc

torch = pytest.importorskip("torch")
tv = models()
if tv is None:
    pytest.skip("torchvision's model code is not importable (pip install --no-deps torchvision==0.28.0)",
                allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
COUNTERPARTS = [s for s in SPECS if s in set(tv.list_models(module=tv))]
# The zoo's classic torchvision models: the parametrised test must not silently run on fewer.
EXPECTED = {
    "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
    "wide_resnet50_2", "wide_resnet101_2", "densenet121", "densenet161", "densenet169", "densenet201",
    "squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
    "mnasnet0_5", "mnasnet1_0", "efficientnet_b0", "efficientnet_b1", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0",
    "regnet_x_400mf", "regnet_y_400mf", "googlenet", "inception_v3", "convnext_tiny", "vit_b_16", "vit_b_32",
}
KWARGS = {"googlenet": {"aux_logits": False, "init_weights": False},
          "inception_v3": {"aux_logits": False, "init_weights": False}}
VIT = {"image": 64}  # all 12 layers; torchvision's builder takes image_size
SIZE = {**{name: SIZES[name] for name in COUNTERPARTS}, "vit_b_16": VIT, "vit_b_32": VIT}
FULL = {"densenet121": {}}  # at 224 x 224 too (ResNet-50 runs there already)
BATCHED = {"densenet121": {**IMAGE, "batch": 2}, "inception_v3": {**SIZES["inception_v3"], "batch": 2}}
CASES = [*COUNTERPARTS, *(f"{name}@224" for name in FULL), *(f"{name}@batch" for name in BATCHED)]


def sizes(case: str) -> tuple[str, dict]:
    name, _, variant = case.partition("@")
    return name, {"": SIZE, "224": FULL, "batch": BATCHED}[variant][name]


def test_every_classic_model_is_checked():
    assert EXPECTED <= set(COUNTERPARTS), sorted(EXPECTED - set(COUNTERPARTS))


@functools.lru_cache(maxsize=1)  # the cases run one after another: one model at a time
def prepared(case: str):
    """(the spec's network at the case's sizes, torchvision's eval-mode model, a random input of the spec's shape)."""
    name, overrides = sizes(case)
    net = archcalc.load(ROOT / "specs" / f"{name}.yaml", **overrides)
    shape = tuple(archcalc.analyze(net).input_shape)
    options = {"image_size": overrides["image"]} if name.startswith("vit_") else KWARGS.get(name, {})
    torch.manual_seed(0)
    model = getattr(tv, name)(weights=None, **options).eval()
    return net, model, torch.randn(shape)


@pytest.mark.parametrize("case", CASES)
def test_model_is_the_specs(case):
    """At the reduced size too, torchvision's model has the spec's parameters, buffers and output shape."""
    net, model, x = prepared(case)
    report = archcalc.analyze(net)
    with torch.no_grad():
        y = model(x)
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    assert sum(b.numel() for b in model.buffers()) == report.totals.buffers
    assert tuple(y.shape) == tuple(report.output_shape)


PAIRS = [(case, tool) for case in CASES for tool in TOOLS]


@pytest.mark.parametrize("case, tool", PAIRS, ids=[f"{c}-{t}" for c, t in PAIRS])
def test_tool_on_torchvisions_model_is_the_presets(case, tool):
    net, model, x = prepared(case)
    check(tool, measure(tool, model, x, f"torchvision's {case}"), preset_total(net, tool), case)


# ---------------------------------------------------------------- Hugging Face BERT

BERT = {"T": 16, "vocab": 500, "max_positions": 64, "width": 128, "depth": 2, "heads": 2}  # intermediate 4 x 128


def bert_spec(qkv: str) -> archcalc.Network:
    """specs/bert_base.yaml at BERT's sizes, with its attention's qkv as given."""
    text = (ROOT / "specs" / "bert_base.yaml").read_text()
    layer = "multihead_attention: {name: attention, num_heads: heads, call: explicit}"
    assert text.count(layer) == 1  # the zoo spec says qkv: fused by its default
    return archcalc.load(text.replace(layer, layer.replace("}", f", qkv: {qkv}}}")), **BERT)


@functools.cache
def hf_bert():
    """transformers' BertModel at BERT's sizes (eager attention), returning its pooler output; random token ids."""
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(vocab_size=BERT["vocab"], hidden_size=BERT["width"],
                                     num_hidden_layers=BERT["depth"], num_attention_heads=BERT["heads"],
                                     intermediate_size=4 * BERT["width"], max_position_embeddings=BERT["max_positions"],
                                     type_vocab_size=2, attn_implementation="eager")

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = transformers.BertModel(config)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return self.bert(ids).pooler_output

    torch.manual_seed(0)
    model = Pooled().eval()
    assert model.bert.config._attn_implementation == "eager"
    return model, torch.randint(0, BERT["vocab"], (1, BERT["T"]))


@pytest.mark.parametrize("qkv", ["fused", "separate"])
def test_hf_bert_is_the_spec(qkv):
    model, x = hf_bert()
    report = archcalc.analyze(bert_spec(qkv))
    with torch.no_grad():
        y = model(x)
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    assert tuple(y.shape) == tuple(report.output_shape)


BERT_PAIRS = [(qkv, tool) for qkv in ("fused", "separate") for tool in TOOLS]


@pytest.mark.parametrize("qkv, tool", BERT_PAIRS, ids=[f"{q}-{t}" for q, t in BERT_PAIRS])
def test_tool_on_hf_bert_is_the_presets(qkv, tool):
    """Each preset's total for the spec, with qkv fused or separate, is the tool's on Hugging Face's model."""
    model, x = hf_bert()
    check(tool, measure(tool, model, x, "Hugging Face's BertModel"), preset_total(bert_spec(qkv), tool),
          f"bert ({qkv})")
