"""Cross-checks against PyTorch, the independent oracle: params, buffers, MACs and every layer's output shape.

Each torch module is written here by hand (torchvision is not a dependency), mirroring torchvision's
definitions for the VGGs and AlexNet. MACs on the torch side are torch.utils.flop_counter.FlopCounterMode's
total / 2, the convention of tests/data/torchvision_reference.json: multiply-accumulates of convolutions,
linear layers and matmuls only (FlopCounterMode counts no norm, pooling, activation or resampling work, and
archcalc reports no MACs for them either).
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pytest

import archcalc

torch = pytest.importorskip("torch")
nn = torch.nn
from torch_measure import measure  # noqa: E402  (after the importorskip)

SPECS = Path(__file__).resolve().parent.parent / "specs"


def check(model: nn.Module, spec: str | Path) -> archcalc.Report:
    """archcalc's analysis of ``spec`` (a path or inline YAML) agrees with torch on ``model``, which must
    have exactly one leaf module per spec layer, in the same order."""
    report = archcalc.analyze(archcalc.load(spec))
    got = measure(model, tuple(int(d) for d in report.input_shape))
    assert report.totals.params == got["params"]
    assert report.totals.buffers == got["buffers"]
    assert report.totals.macs == got["macs"]
    assert tuple(report.output_shape) == got["output_shape"]
    assert len(got["calls"]) == len(report.layers)
    for row, (shape, params) in zip(report.layers, got["calls"]):
        assert (row.name, tuple(row.output_shape), row.params) == (row.name, shape, params)
    return report


# ---- the zoo, as torchvision defines it (torchvision/models/vgg.py and alexnet.py) ----

VGG_CFGS = {  # torchvision.models.vgg.cfgs
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],  # "A"
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],  # "D"
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],  # "E"
}


def vgg(cfg: list, num_classes: int = 1000) -> nn.Module:
    """torchvision's VGG(make_layers(cfg, batch_norm=False)); its forward's torch.flatten is nn.Flatten here."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(OrderedDict(
        features=nn.Sequential(*layers),
        avgpool=nn.AdaptiveAvgPool2d((7, 7)),
        flatten=nn.Flatten(),
        classifier=nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=0.5),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=0.5),
            nn.Linear(4096, num_classes),
        ),
    ))


def alexnet(num_classes: int = 1000) -> nn.Module:
    """torchvision.models.AlexNet, with its forward's torch.flatten as nn.Flatten."""
    return nn.Sequential(OrderedDict(
        features=nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        ),
        avgpool=nn.AdaptiveAvgPool2d((6, 6)),
        flatten=nn.Flatten(),
        classifier=nn.Sequential(
            nn.Dropout(p=0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        ),
    ))


def lenet5() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10),
    )


def convnet1d() -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
        nn.Flatten(),
        nn.Linear(800, 128), nn.ReLU(), nn.Linear(128, 10),
    )


ZOO = {
    "vgg11": lambda: vgg(VGG_CFGS["vgg11"]),
    "vgg16": lambda: vgg(VGG_CFGS["vgg16"]),
    "vgg19": lambda: vgg(VGG_CFGS["vgg19"]),
    "alexnet": alexnet,
    "lenet5": lenet5,
    "convnet1d": convnet1d,
}


@pytest.mark.parametrize("name", ZOO)
def test_zoo_matches_torch(name: str) -> None:
    check(ZOO[name](), SPECS / f"{name}.yaml")


# ---- single layer types, on small inline specs ----

LAYERS = {
    "conv2d_strided_dilated_grouped": (
        lambda: nn.Conv2d(8, 12, kernel_size=(3, 2), stride=2, dilation=(2, 1), groups=4, padding=(1, 2),
                          bias=True),
        """
        name: conv2d
        batch: 2
        input: [8, 17, 20]
        layers:
          - conv2d: {out_channels: 12, kernel_size: [3, 2], stride: 2, dilation: [2, 1], groups: 4,
                     padding: [1, 2], bias: true}
        """),
    "conv_transpose2d_output_padding_groups": (
        lambda: nn.ConvTranspose2d(6, 9, kernel_size=3, stride=(2, 3), padding=(1, 0), output_padding=(1, 2),
                                   groups=3, dilation=(1, 2)),
        """
        name: conv_transpose2d
        input: [6, 7, 9]
        layers:
          - conv_transpose2d: {out_channels: 9, kernel_size: 3, stride: [2, 3], padding: [1, 0],
                               output_padding: [1, 2], groups: 3, dilation: [1, 2]}
        """),
    "conv3d": (
        lambda: nn.Conv3d(4, 8, kernel_size=3, stride=(1, 2, 2), padding=1),
        """
        name: conv3d
        input: [4, 6, 10, 11]
        layers:
          - conv3d: {out_channels: 8, kernel_size: 3, stride: [1, 2, 2], padding: 1}
        """),
    "batchnorm2d": (  # buffers: running_mean [16] + running_var [16] + num_batches_tracked [] = 2*16 + 1
        lambda: nn.BatchNorm2d(16),
        """
        name: batchnorm2d
        input: [16, 8, 8]
        layers: [batchnorm2d]
        """),
    "layernorm": (
        lambda: nn.LayerNorm([8, 9]),
        """
        name: layernorm
        input: [16, 8, 9]
        layers:
          - layernorm: {normalized_shape: [8, 9]}
        """),
    "groupnorm": (
        lambda: nn.GroupNorm(4, 16),
        """
        name: groupnorm
        input: [16, 8, 8]
        layers:
          - groupnorm: {num_groups: 4}
        """),
    "maxpool2d_ceil_mode_padding": (  # height 5: ceil gives 3 windows, torch drops the one starting in padding
        lambda: nn.MaxPool2d(kernel_size=3, stride=3, padding=1, ceil_mode=True),
        """
        name: maxpool2d
        input: [3, 5, 8]
        layers:
          - maxpool2d: {kernel_size: 3, stride: 3, padding: 1, ceil_mode: true}
        """),
    "avgpool1d": (
        lambda: nn.AvgPool1d(kernel_size=3, stride=2, padding=1),
        """
        name: avgpool1d
        input: [4, 11]
        layers:
          - avgpool1d: {kernel_size: 3, stride: 2, padding: 1}
        """),
    "upsample_bilinear": (
        lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        """
        name: upsample
        input: [3, 5, 7]
        layers:
          - upsample: {scale_factor: 2, mode: bilinear, align_corners: false}
        """),
    "conv_bn_relu_linear": (  # a short chain: conv without bias into batch norm, then a linear head
        lambda: nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                              nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5)),
        """
        name: chain
        input: [3, 12, 12]
        layers:
          - conv2d: {out_channels: 8, kernel_size: 3, padding: 1, bias: false}
          - batchnorm2d
          - relu
          - adaptive_avgpool2d: {output_size: 1}
          - flatten
          - linear: {out_features: 5}
        """),
}


@pytest.mark.parametrize("name", LAYERS)
def test_layer_matches_torch(name: str) -> None:
    make, spec = LAYERS[name]
    module = make()
    check(module if isinstance(module, nn.Sequential) else nn.Sequential(module), spec)


def test_batchnorm2d_buffers_count_num_batches_tracked() -> None:
    report = archcalc.analyze(archcalc.load(LAYERS["batchnorm2d"][1]))
    assert report.totals.buffers == 2 * 16 + 1 == sum(b.numel() for b in nn.BatchNorm2d(16).buffers())


@pytest.mark.parametrize("n", range(3, 12))
@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (2, 2, 1), (3, 2, 1), (3, 3, 1), (3, 2, 0), (4, 3, 2)])
def test_maxpool1d_ceil_mode_lengths(n: int, k: int, s: int, p: int) -> None:
    """torch's ceil_mode rule (the last window must start inside the input or left padding), over a grid."""
    spec = f"name: pool\ninput: [2, {n}]\nlayers:\n  - maxpool1d: {{kernel_size: {k}, stride: {s}, padding: {p}, " \
           "ceil_mode: true}\n"
    check(nn.Sequential(nn.MaxPool1d(k, s, padding=p, ceil_mode=True)), spec)
