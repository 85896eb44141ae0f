"""Zoo networks with several outputs or generated branches, exact against their oracles: specs/resnet50_fpn.yaml
against torchvision's resnet_fpn_backbone("resnet50") (params, buffers, MACs = FlopCounterMode / 2, every output's
shape, and the receptive field of every level by the gradient-support oracle of tests/test_rf_oracle.py), and
specs/hrnet_w18_small.yaml against timm's hrnet_w18_small. Random weights, nothing downloaded."""
from __future__ import annotations

from pathlib import Path

import pytest
from torchvision_oracle import models

import archcalc

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parent.parent
FPN_SPEC = ROOT / "specs" / "resnet50_fpn.yaml"


def fpn_oracle():
    if models() is None:
        pytest.skip("torchvision 0.28.0 is not installed (pip install --no-deps torchvision==0.28.0)")
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
    torch.manual_seed(0)
    return resnet_fpn_backbone(backbone_name="resnet50", weights=None).eval()


def measure(model, shape: tuple[int, ...]) -> dict:
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(torch.zeros(shape))
    outputs = list(y.items()) if isinstance(y, dict) else [("output", y)]
    return {"params": sum(p.numel() for p in model.parameters()), "buffers": sum(b.numel() for b in model.buffers()),
            "macs": counter.get_total_flops() // 2, "outputs": [(k, tuple(v.shape)) for k, v in outputs]}


def figures(report) -> dict:
    return {"params": report.totals.params, "buffers": report.totals.buffers, "macs": report.totals.macs,
            "outputs": [(o.name, tuple(o.output_shape)) for o in report.outputs]}


@pytest.mark.parametrize("h, w", [(224, 224), (320, 256), (200, 272)])  # 200 x 272: levels that do not halve
def test_resnet50_fpn_is_torchvisions_backbone(h: int, w: int) -> None:
    model = fpn_oracle()
    got = measure(model, (1, 3, h, w))
    report = archcalc.analyze(archcalc.load(FPN_SPEC, H=h, W=w))
    assert figures(report) == got
    if (h, w) == (224, 224):  # the header comment's figures
        assert (got["params"], got["buffers"], got["macs"]) == (26_799_296, 106_240, 6_929_104_896)
        assert [k for k, _ in got["outputs"]] == ["0", "1", "2", "3", "pool"]
    # the spec's names are torchvision's module paths (state_dict keys without .weight / .bias)
    torch_paths = {name for name, m in model.named_modules() if not list(m.children())}
    spec_paths = {row.name for row in report.layers if row.type in ("conv2d", "frozen_batchnorm2d", "maxpool2d")}
    assert spec_paths == {p for p in torch_paths if not p.endswith("relu")}  # torchvision's ReLU modules are shared


def test_resnet50_fpn_symbolic_in_h_and_w() -> None:
    sym = archcalc.analyze(archcalc.load(FPN_SPEC, symbolic=["H", "W"]))
    assert str(sym.totals.macs) == "138096*H*W"
    # 6,929,104,896 at 224 x 224 (the oracle above): 138096 * 224 * 224
    assert 138096 * 224 * 224 == 6_929_104_896
    assert [str(d) for d in sym.outputs[4].output_shape[2:]] == ["floor(H/64 - 1/2) + 1", "floor(W/64 - 1/2) + 1"]


def test_resnet50_fpn_receptive_field_of_every_level() -> None:
    """Each of the five outputs against the gradient support of torchvision's backbone, along H (W narrow)."""
    from test_rf_oracle import Oracle, check, linearise, positive
    model = positive(linearise(fpn_oracle()))
    h, w = 640, 32  # 640 rows hold the largest field (P5 and pool: 491) around the centre
    report = archcalc.analyze(archcalc.load(FPN_SPEC, H=h, W=w))
    oracle = Oracle(model, (3, h, w))
    sizes = {}
    for out in report.outputs:
        record = check(f"ResNet-50-FPN {out.name}", oracle, out.rf, pick=lambda y, key=out.name: y[key], axes=(0,))
        sizes[out.name] = record[0]
    # P2..P4 see 459 (the measurement); P5: the ResNet-50 field at layer4 (427) + 2 * 32 for its 3x3;
    # pool keeps P5's field (a 1x1 window)
    assert sizes == {"0": (459, 459), "1": (459, 459), "2": (459, 459), "3": (491, 491), "pool": (491, 491)}


HRNET_SPEC = ROOT / "specs" / "hrnet_w18_small.yaml"


def hrnet_oracle():
    pytest.importorskip("timm")  # tests/conftest.py registers torchvision's bare package, which timm imports
    import timm
    torch.manual_seed(0)
    return timm.create_model("hrnet_w18_small", pretrained=False).eval()


@pytest.mark.parametrize("h, w", [(224, 224), (256, 192)])
def test_hrnet_w18_small_is_timms(h: int, w: int) -> None:
    model = hrnet_oracle()
    got = measure(model, (1, 3, h, w))
    report = archcalc.analyze(archcalc.load(HRNET_SPEC, H=h, W=w))
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == (
        got["params"], got["buffers"], got["macs"])
    assert [("output", tuple(report.output_shape))] == got["outputs"]
    if (h, w) == (224, 224):  # the header comment's figures
        assert (got["params"], got["buffers"], got["macs"]) == (13_187_464, 24_123, 1_601_508_352)
    # every weight's module is at the spec's path (timm's parameter-free ReLUs are shared modules, named here)
    weights = {name.rpartition(".")[0] for name, _ in [*model.named_parameters(), *model.named_buffers()]}
    spec = {row.name for row in report.layers if row.params or row.buffers}
    assert spec == weights


def test_hrnet_w18_small_symbolic_in_h_and_w() -> None:
    sym = archcalc.analyze(archcalc.load(HRNET_SPEC, symbolic=["H", "W"]))
    assert str(sym.totals.macs) == "31877*H*W + 2048000"
    assert 31877 * 224 * 224 + 2048000 == 1_601_508_352  # timm's FlopCounterMode figure above


def test_hrnet_w18_small_receptive_fields() -> None:
    """The four resolutions stage 4 outputs and the head's final map, against the gradient support of timm's
    model, along H (W narrow)."""
    from test_rf_oracle import Oracle, check, linearise, positive
    from torch import nn
    h, w = 768, 32

    class Features(nn.Module):
        def __init__(self, net) -> None:
            super().__init__()
            self.net = net

        def forward(self, x):
            n = self.net
            x = n.act2(n.bn2(n.conv2(n.act1(n.bn1(n.conv1(x))))))
            return {f"stage4.0.fuse_act.{i}": y for i, y in enumerate(n.stages(x))}

    model = positive(linearise(hrnet_oracle()))
    stages = Features(model)
    report = archcalc.analyze(archcalc.load(HRNET_SPEC, H=h, W=w))
    rows = {row.name: row for row in report.layers}
    oracle = Oracle(stages, (3, h, w))
    sizes = {name: check(f"HRNet-W18-Small {name}", oracle, rows[name].rf, pick=lambda y, key=name: y[key],
                         axes=(0,))[0] for name in oracle.y}
    assert sizes == {f"stage4.0.fuse_act.{i}": (519, 519) for i in range(4)}
    final = Oracle(lambda x: model.forward_features(x), (3, h, w))
    assert check("HRNet-W18-Small final_layer", final, rows["final_layer.2"].rf, axes=(0,)) == [(583, 583)]
