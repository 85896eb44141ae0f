"""The zoo against torchvision's own model classes: every spec in specs/ named like a torchvision classification
builder is checked against that builder's model.

Where the expected numbers come from: torchvision 0.28.0's model code (loaded by tests/torchvision_oracle.py, which
works around its C extension), built with random weights (weights=None: nothing is downloaded) and measured by
torch: params = sum of numel over parameters(), buffers = the same over buffers(), the output shape, and MACs =
torch.utils.flop_counter.FlopCounterMode total / 2 of one eval-mode forward under no_grad at batch 1, at the
spec's input size. Each must equal archcalc's figure to the unit.

- The models are built and run on the meta device (shapes only: no weight initialisation, no arithmetic), which
  changes no count (tests/test_export.py: test_meta_device_counts_like_cpu). RegNet is the exception: its builder
  computes the stage widths with torch tensors (BlockParams.from_init_params) and reads them back with .tolist(),
  which a meta tensor cannot do, so the RegNets are built and run on the CPU (they are small).
- googlenet and inception_v3 are built with aux_logits=False and init_weights=False: the specs leave out the
  auxiliary classifiers (AuxLogits, aux1/aux2), which only run in training; torchvision's published num_params
  includes inception_v3's AuxLogits (27,161,264), its model without them has the spec's 23,834,568.
- ViT: in eval mode under no_grad, nn.MultiheadAttention runs torch's fused fast path, which FlopCounterMode does
  not see (projections included); the README's Zoo section states the consequence: the eval-mode figure is exactly
  archcalc's MACs without the multihead_attention layers. The fast path only runs on CPU or CUDA tensors, so on the
  meta device the counter sees the slow path's projections and its scaled_dot_product_attention (counted there as
  the QK^T and AV matmuls), and the total is archcalc's whole figure. The ViTs are also built on the CPU and run in
  eval mode under no_grad, to check the README's relation exactly.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from torchvision_oracle import models

import archcalc

torch = pytest.importorskip("torch")
tv = models()
if tv is None:
    pytest.skip("torchvision's model code is not importable (pip install --no-deps torchvision==0.28.0)",
                allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
CLASSIFICATION = set(tv.list_models(module=tv))
COUNTERPARTS = [s for s in SPECS if s in CLASSIFICATION]

# Builder keyword arguments beyond weights=None (why: the module docstring).
KWARGS = {"googlenet": {"aux_logits": False, "init_weights": False},
          "inception_v3": {"aux_logits": False, "init_weights": False}}
ON_CPU = {"regnet_x_400mf", "regnet_y_400mf"}  # their builders call .tolist() on tensors they make

# The zoo's classic torchvision models: the parametrised test must not silently run on fewer.
EXPECTED = {
    "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
    "wide_resnet50_2", "wide_resnet101_2", "densenet121", "densenet161", "densenet169", "densenet201",
    "squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
    "mnasnet0_5", "mnasnet1_0", "efficientnet_b0", "efficientnet_b1", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0",
    "regnet_x_400mf", "regnet_y_400mf", "googlenet", "inception_v3", "convnext_tiny", "vit_b_16", "vit_b_32",
}


def build(name: str, device: str | None = None):
    """torchvision's model for a spec (random weights, eval mode) and a zero input of the spec's shape."""
    report = archcalc.analyze(archcalc.load(ROOT / "specs" / f"{name}.yaml"))
    device = device or ("cpu" if name in ON_CPU else "meta")
    with torch.device(device):
        model = getattr(tv, name)(weights=None, **KWARGS.get(name, {})).eval()
    return report, model, torch.zeros(tuple(report.input_shape), device=device)


def macs(model, x) -> tuple[int, tuple[int, ...]]:
    """FlopCounterMode total / 2 of one forward (the caller sets the grad mode), and the output shape."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        y = model(x)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2, tuple(y.shape)


def test_every_classic_model_has_its_spec():
    assert EXPECTED <= set(COUNTERPARTS), sorted(EXPECTED - set(COUNTERPARTS))


@pytest.mark.parametrize("name", COUNTERPARTS)
def test_spec_is_torchvisions_model(name: str):
    report, model, x = build(name)
    assert report.input_shape[0] == 1
    # exact integers, not numbers that merely compare equal (a float variable once made them sympy Floats)
    assert all(type(v) is int for v in (report.totals.params, report.totals.buffers, report.totals.macs))
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    assert sum(b.numel() for b in model.buffers()) == report.totals.buffers
    with torch.no_grad():
        counted, shape = macs(model, x)
    assert shape == tuple(report.output_shape)
    assert counted == report.totals.macs


@pytest.mark.parametrize("name", [s for s in COUNTERPARTS if s.startswith("vit_")])
def test_vit_fast_path_hides_exactly_the_attention_layers(name: str):
    """On the CPU, eval mode under no_grad: FlopCounterMode sees everything but the multihead_attention layers."""
    report, model, x = build(name, "cpu")
    attention = sum(row.macs for row in report.layers if row.type == "multihead_attention")
    assert attention > 0
    with torch.no_grad():
        counted, _ = macs(model, x)
    assert counted == report.totals.macs - attention
