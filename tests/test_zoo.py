"""The model zoo in specs/: every spec analyses, and the figures match published or hand-derived values.

Where the expected numbers come from:
- params, buffers, macs of the torchvision models: tests/data/torchvision_reference.json, copied from
  shared/reference/torchvision.json (measured with torchvision 0.29.1: numel sums over parameters() and
  buffers(); macs = torch.utils.flop_counter.FlopCounterMode total / 2, batch 1, at the listed input size).
- VGG-16 receptive fields: the table of Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional
  Neural Networks", Distill 2019 (doi:10.23915/distill.00021).
- LeNet-5 and convnet1d params: the per-layer arithmetic written out next to each literal below.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import archcalc

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
REFERENCE = json.loads((Path(__file__).parent / "data" / "torchvision_reference.json").read_text())["models"]

# A spec maps to the reference entry named like its file stem (specs/vgg16.yaml -> "vgg16").
WITH_REFERENCE = [p for p in SPECS if p.stem in REFERENCE]


def analyze(path: Path) -> archcalc.Report:
    return archcalc.analyze(archcalc.load(path))


def layer(report: archcalc.Report, name: str) -> archcalc.LayerResult:
    return next(row for row in report.layers if row.name == name)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_spec_loads_and_analyzes(path: Path) -> None:
    report = analyze(path)
    assert report.layers
    assert report.to_dict()["totals"]["params"] == report.totals.params


def test_zoo_specs_are_present() -> None:
    # Guards against the parametrised tests silently running on nothing (a renamed or deleted spec).
    stems = {p.stem for p in SPECS}
    assert {"vgg11", "vgg16", "vgg19", "alexnet", "lenet5", "convnet1d"} <= stems
    assert {"vgg11", "vgg16", "vgg19", "alexnet"} <= {p.stem for p in WITH_REFERENCE}


@pytest.mark.parametrize("path", WITH_REFERENCE, ids=lambda p: p.stem)
def test_matches_torchvision_reference(path: Path) -> None:
    ref = REFERENCE[path.stem]
    report = analyze(path)
    assert list(report.input_shape) == [1, *ref["input"]]  # the reference is measured at batch 1
    assert report.totals.params == ref["params"]
    assert report.totals.buffers == ref["buffers"]
    # FlopCounterMode does not see eval-mode nn.MultiheadAttention (torch's fused fast path; shown in
    # tests/test_torch_transformer.py), so for the ViTs the reference is the MACs outside attention layers
    attention = sum(r.macs for r in report.layers if r.type == "multihead_attention")
    assert report.totals.macs - attention == ref["macs"]


def test_vgg16_headline_figures() -> None:
    # torchvision.models.VGG16_Weights.IMAGENET1K_V1 metadata: num_params 138,357,544, 15.47 GMACs.
    report = analyze(ROOT / "specs" / "vgg16.yaml")
    assert report.totals.params == 138_357_544
    assert report.totals.macs == 15_470_264_320


# Araujo, Norris & Sim, Distill 2019, VGG-16 receptive field table: (size, effective stride, effective padding).
VGG16_RF = {
    "conv1_1": (3, 1, 1),
    "pool1": (6, 2, 2),
    "pool2": (16, 4, 6),
    "pool3": (44, 8, 18),
    "pool4": (100, 16, 42),
    "conv5_2": (164, 16, 74),
    "pool5": (212, 32, 90),
}


@pytest.mark.parametrize("name", VGG16_RF)
def test_vgg16_receptive_field_matches_distill(name: str) -> None:
    size, jump, padding = VGG16_RF[name]
    rf = layer(analyze(ROOT / "specs" / "vgg16.yaml"), name).rf
    assert rf.to_dict() == {"size": [size, size], "jump": [jump, jump], "padding": [padding, padding]}
    assert len(rf.axes) == 2
    for axis in rf.axes:  # height and width
        assert (axis.size, axis.jump, axis.padding) == (size, jump, padding)


def test_lenet5_params() -> None:
    report = analyze(ROOT / "specs" / "lenet5.yaml")
    # c1: 1*6*5*5 + 6 = 156; c3: 6*16*5*5 + 16 = 2416; c5: 400*120 + 120 = 48120;
    # f6: 120*84 + 84 = 10164; output: 84*10 + 10 = 850.  156 + 2416 + 48120 + 10164 + 850 = 61706
    assert report.totals.params == 156 + 2416 + 48120 + 10164 + 850 == 61_706
    assert report.totals.buffers == 0
    # shapes: 32 -c1-> 28 -s2-> 14 -c3-> 10 -s4-> 5, so 16*5*5 = 400 features reach c5
    assert layer(report, "flatten_1").output_shape == (1, 400)
    assert report.output_shape == (1, 10)


def test_convnet1d_params() -> None:
    report = analyze(ROOT / "specs" / "convnet1d.yaml")
    # conv1: 1*16*3 + 16 = 64; conv2: 16*32*3 + 32 = 1568; fc1: 800*128 + 128 = 102528;
    # fc2: 128*10 + 10 = 1290.  64 + 1568 + 102528 + 1290 = 105450
    assert report.totals.params == 64 + 1568 + 102528 + 1290 == 105_450
    assert report.totals.buffers == 0
    # length: 100 -conv1 (p1)-> 100 -pool1-> 50 -conv2 (p1)-> 50 -pool2-> 25, so 32*25 = 800 features
    assert layer(report, "flatten_1").output_shape == (1, 800)
    assert report.output_shape == (1, 10)
