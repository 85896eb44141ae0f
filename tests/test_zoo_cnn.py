"""The CNN zoo specs of issue 15 against their oracles: timm 1.0.31's convnextv2_atto, nfnet_l0 and poolformer_s12,
and torchvision 0.28.0's deeplabv3_resnet50.

Where the expected numbers come from: each model built by its library with random weights (nothing is downloaded)
on the meta device (shapes only; no count changes there, tests/test_export.py: test_meta_device_counts_like_cpu),
measured by torch: params = sum of numel over parameters(), buffers = the same over buffers(), the output shape,
and MACs = torch.utils.flop_counter.FlopCounterMode total / 2 of one eval-mode forward under no_grad at batch 1.
Each must equal archcalc's figure to the unit, at 224 x 224 and at a second size (the specs' H and W), and the
symbolic form evaluated at that size must equal archcalc's numeric figure. Published counts: timm's convnextv2_atto
has 3,708,400 parameters (the task brief; timm's model card).
"""
from __future__ import annotations

from pathlib import Path

import pytest

import archcalc

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parent.parent
TIMM = ("convnextv2_atto", "nfnet_l0", "poolformer_s12")
SIZES = ((224, 224), (160, 192))


def timm_model(name: str):
    from torchvision_oracle import register_bare_package
    register_bare_package()
    timm = pytest.importorskip("timm")
    with torch.device("meta"):
        return timm.create_model(name).eval()


def measured(model, h: int, w: int) -> tuple[int, int, int, tuple[int, ...]]:
    from torch.utils.flop_counter import FlopCounterMode
    x = torch.zeros(1, 3, h, w, device="meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(x)
    y = y["out"] if isinstance(y, dict) else y
    return (sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers()),
            counter.get_total_flops() // 2, tuple(y.shape))


def figures(name: str, h: int, w: int) -> tuple[int, int, int, tuple[int, ...]]:
    report = archcalc.analyze(archcalc.load(ROOT / "specs" / f"{name}.yaml", H=h, W=w))
    t = report.totals
    return t.params, t.buffers, t.macs, tuple(report.output_shape)


@pytest.mark.parametrize("name", TIMM)
@pytest.mark.parametrize("h, w", SIZES)
def test_timm_models(name: str, h: int, w: int) -> None:
    assert figures(name, h, w) == measured(timm_model(name), h, w)


def test_convnextv2_atto_published_params() -> None:
    assert figures("convnextv2_atto", 224, 224)[0] == 3_708_400


@pytest.mark.parametrize("name", [*TIMM, "deeplabv3_resnet50"])
def test_symbolic_in_h_and_w(name: str) -> None:
    import sympy
    report = archcalc.analyze(archcalc.load(ROOT / "specs" / f"{name}.yaml", symbolic=["H", "W"]))
    h, w = SIZES[1]
    for total, figure in zip((report.totals.params, report.totals.macs), figures(name, h, w)[::2]):
        names = {s: {"H": h, "W": w}[s.name] for s in sympy.sympify(total).free_symbols}
        assert sympy.sympify(total).subs(names) == figure


def deeplab(device: str | None = None):
    from torchvision_oracle import models
    if models() is None:
        pytest.skip("torchvision 0.28.0 is not installed (pip install --no-deps torchvision==0.28.0)")
    from torchvision.models.segmentation import deeplabv3_resnet50
    with torch.device(device or "meta"):
        return deeplabv3_resnet50(weights=None, weights_backbone=None).eval()  # 21 classes, no aux classifier


@pytest.mark.parametrize("h, w", SIZES)
def test_deeplabv3_resnet50(h: int, w: int) -> None:
    assert figures("deeplabv3_resnet50", h, w) == measured(deeplab(), h, w)


def test_deeplabv3_resnet50_receptive_fields_on_the_gradient_oracle() -> None:
    """The backbone's output (dilated layer4) along H is exact; ASPP's image pooling makes the logits' field global:
    every output reads the whole input."""
    from test_rf_oracle import Oracle, check, linearise, positive
    report = archcalc.analyze(archcalc.load(ROOT / "specs" / "deeplabv3_resnet50.yaml", H=480, W=16))
    torch.manual_seed(0)
    model = positive(linearise(deeplab("cpu")))
    layer4 = [row for row in report.layers if row.name.startswith("backbone.layer4.")][-1]  # its last ReLU
    # along H: 480 rows hold the field of 427 around the centre; 16 columns are enough to measure the rows
    assert check("DeepLabV3 layer4", Oracle(model.backbone, (3, 480, 16)), layer4.rf, pick=lambda y: y["out"],
                 axes=(0,)) == [(427, 427)]
    assert report.rf.axes == ("global", "global")
    check("DeepLabV3", Oracle(model, (3, 64, 48)), report.rf, pick=lambda y: y["out"])
