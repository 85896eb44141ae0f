"""ResNet, ResNeXt, Wide ResNet, DenseNet and SqueezeNet specs against PyTorch, and receptive fields of
residual blocks worked out by hand.

Where the expected numbers come from:
- torch oracle: each network below is an nn.Module written by hand (torchvision is not a dependency),
  mirroring torchvision 0.29.1's torchvision/models/resnet.py, densenet.py and squeezenet.py. It is measured
  in eval mode under no_grad on a zeros input of batch 1: params = sum of parameters().numel(), buffers = sum
  of buffers().numel(), macs = torch.utils.flop_counter.FlopCounterMode(display=False) total // 2, and the
  output shape. archcalc's analysis of specs/<model>.yaml must equal all of them, and so must every layer with
  parameters, matched by name.
- reference JSON: tests/data/torchvision_reference.json (copied from shared/reference/torchvision.json,
  measured with torchvision 0.29.1 itself, same conventions). The hand-written modules must reproduce its
  params, buffers and macs, which shows that they do mirror torchvision.
- receptive fields: the arithmetic of Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional
  Neural Networks", Distill 2019, written out in the comments next to each expected value.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import pytest

import archcalc

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
from torch_measure import check_zoo_model  # noqa: E402  (after the importorskip)

SPECS = Path(__file__).resolve().parent.parent / "specs"


# ---- torchvision/models/resnet.py, by hand ----

def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64) -> None:
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block: type, layers: list[int], num_classes: int = 1000, groups: int = 1,
                 width_per_group: int = 64) -> None:
        super().__init__()
        self.inplanes, self.groups, self.base_width = 64, groups, width_per_group
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block: type, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, groups=self.groups, base_width=self.base_width)
                   for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ---- torchvision/models/densenet.py, by hand (memory_efficient=False, drop_rate=0) ----

class _DenseLayer(nn.Module):
    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1, stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1, padding=1, bias=False)

    def forward(self, inputs: list):
        bottleneck = self.conv1(self.relu1(self.norm1(torch.cat(inputs, 1))))
        return self.conv2(self.relu2(self.norm2(bottleneck)))


class _DenseBlock(nn.ModuleDict):
    def __init__(self, num_layers: int, num_input_features: int, bn_size: int, growth_rate: int) -> None:
        super().__init__()
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}", _DenseLayer(num_input_features + i * growth_rate, growth_rate,
                                                              bn_size))

    def forward(self, init_features):
        features = [init_features]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class _Transition(nn.Sequential):
    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    def __init__(self, growth_rate: int, block_config: tuple[int, ...], num_init_features: int, bn_size: int = 4,
                 num_classes: int = 1000) -> None:
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3, bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}", _DenseBlock(num_layers, num_features, bn_size, growth_rate))
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", _Transition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)

    def forward(self, x):
        out = F.adaptive_avg_pool2d(F.relu(self.features(x), inplace=True), (1, 1))
        return self.classifier(torch.flatten(out, 1))


# ---- torchvision/models/squeezenet.py, by hand ----

class Fire(nn.Module):
    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int, expand3x3_planes: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    def __init__(self, version: str, num_classes: int = 1000) -> None:
        super().__init__()
        pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)  # noqa: E731
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2), nn.ReLU(inplace=True), pool(),
                Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128), pool(),
                Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
                pool(), Fire(512, 64, 256, 256))
        else:  # "1_1"
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2), nn.ReLU(inplace=True), pool(),
                Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
                Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(),
                Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256))
        self.classifier = nn.Sequential(nn.Dropout(p=0.5), nn.Conv2d(512, num_classes, kernel_size=1),
                                        nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


# ---- torch module names -> archcalc layer names ----

def resnet_name(name: str) -> str:
    # the specs' residual shortcut plays torchvision's downsample: layer2.0.downsample.0 -> layer2.0.shortcut.0
    return name.replace(".downsample.", ".shortcut.")


def densenet_name(name: str) -> str:
    # a dense layer is a parallel (identity | new features) repeated from 0:
    # features.denseblock1.denselayer3.conv1 -> features.denseblock1.denselayer.2.new.conv1
    return re.sub(r"\.denselayer(\d+)\.", lambda m: f".denselayer.{int(m[1]) - 1}.new.", name)


def same_name(name: str) -> str:
    return name


# One network per kind of block; the deeper or wider siblings (resnet34/101/152, wide_resnet50_2, densenet161)
# reuse these blocks with other arguments and are checked against the reference JSON by tests/test_zoo.py,
# which keeps this file's forward passes to a few seconds on CPU.
ZOO: dict[str, tuple[Callable[[], nn.Module], Callable[[str], str]]] = {
    "resnet18": (lambda: ResNet(BasicBlock, [2, 2, 2, 2]), resnet_name),
    "resnet50": (lambda: ResNet(Bottleneck, [3, 4, 6, 3]), resnet_name),
    "resnext50_32x4d": (lambda: ResNet(Bottleneck, [3, 4, 6, 3], groups=32, width_per_group=4), resnet_name),
    "densenet121": (lambda: DenseNet(32, (6, 12, 24, 16), 64), densenet_name),
    "squeezenet1_0": (lambda: SqueezeNet("1_0"), same_name),
    "squeezenet1_1": (lambda: SqueezeNet("1_1"), same_name),
}


@pytest.mark.parametrize("model", ZOO)
def test_spec_matches_torch(model: str) -> None:
    make, rename = ZOO[model]
    check_zoo_model(model, make(), rename)


# ---- receptive fields by hand ----
# Per axis, the state after a layer is (r, j, P): size, jump, effective padding; output position 0 sees input
# positions [-P, -P + r - 1]. A layer with kernel k, stride s, padding p gives r' = r + (k - 1) j, j' = j s,
# P' = P + p j. The input is (1, 1, 0). Two branches with equal jumps merge as the union of their intervals.

RESIDUAL = """
name: rf_residual
input: [3, 32, 32]
layers:
  - conv2d: {name: stem, out_channels: 8, kernel_size: 3, stride: 2, padding: 1}
  - residual:
      name: res
      body:
        - conv2d: {name: conv1, out_channels: 8, kernel_size: 3, padding: 1}
        - conv2d: {name: conv2, out_channels: 8, kernel_size: 3, padding: 1}
      shortcut:
        - conv2d: {name: proj, out_channels: 8, kernel_size: 1}
"""


def rf(size: int, jump: int, padding: int) -> dict:
    return {"size": [size, size], "jump": [jump, jump], "padding": [padding, padding]}


def test_residual_block_receptive_field_by_hand() -> None:
    report = archcalc.analyze(archcalc.load(RESIDUAL))
    layers = {row.name: row.rf.to_dict() for row in report.layers}
    # stem  k3 s2 p1 on (1, 1, 0): r = 1 + 2*1 = 3,  j = 1*2 = 2, P = 0 + 1*1 = 1  -> sees [-1, 1]
    assert layers["stem"] == rf(3, 2, 1)
    # conv1 k3 s1 p1:              r = 3 + 2*2 = 7,  j = 2,       P = 1 + 1*2 = 3  -> [-3, 3]
    assert layers["res.conv1"] == rf(7, 2, 3)
    # conv2 k3 s1 p1:              r = 7 + 2*2 = 11, j = 2,       P = 3 + 1*2 = 5  -> [-5, 5]
    assert layers["res.conv2"] == rf(11, 2, 5)
    # shortcut 1x1 s1 p0:          r = 3 + 0*2 = 3,  j = 2,       P = 1 + 0*2 = 1  -> [-1, 1]
    assert layers["res.shortcut.proj"] == rf(3, 2, 1)
    # add: [-5, 5] U [-1, 1] = [-5, 5]: r = 11, j = 2, P = 5
    assert layers["res.add"] == rf(11, 2, 5)
    block = next(b for b in report.blocks if b.name == "res")
    assert block.type == "residual"
    assert block.rf.to_dict() == rf(11, 2, 5)
    assert report.rf.to_dict() == rf(11, 2, 5)


def test_residual_merge_is_the_union_of_offset_intervals() -> None:
    # Branches padded on opposite sides, so neither interval contains the other.
    spec = """
name: rf_union
input: [3, 32, 32]
layers:
  - conv2d: {name: stem, out_channels: 8, kernel_size: 3, stride: 2, padding: 1}
  - residual:
      name: res
      body:
        - pad: {padding: [[2, 0], [2, 0]]}
        - conv2d: {name: conv, out_channels: 8, kernel_size: 3}
      shortcut:
        - pad: {padding: [[0, 2], [0, 2]]}
        - conv2d: {name: conv, out_channels: 8, kernel_size: 3}
"""
    report = archcalc.analyze(archcalc.load(spec))
    layers = {row.name: row.rf.to_dict() for row in report.layers}
    # stem as above: (3, 2, 1), [-1, 1]; both branches keep 16x16 (pad 2 on one side, then a valid 3x3)
    # body:     pad before 2 (k1 s1 p2): r = 3, j = 2, P = 1 + 2*2 = 5; conv k3 p0: r = 3 + 2*2 = 7, P = 5
    #           -> [-5, 1]
    assert layers["res.conv"] == rf(7, 2, 5)
    # shortcut: pad after 2 (k1 s1 p0): (3, 2, 1);                      conv k3 p0: r = 7, P = 1
    #           -> [-1, 5]
    assert layers["res.shortcut.conv"] == rf(7, 2, 1)
    # add: [-5, 1] U [-1, 5] = [-5, 5]: r = 11, j = 2, P = 5
    assert layers["res.add"] == rf(11, 2, 5)
    assert tuple(report.output_shape) == (1, 8, 16, 16)


def test_resnet18_stage_receptive_fields_by_hand() -> None:
    report = archcalc.analyze(archcalc.load(SPECS / "resnet18.yaml"))
    units = {child.name: child.rf.to_dict() for stage in report.blocks for child in stage.children}
    # conv1 k7 s2 p3:   r = 7,              j = 2, P = 3
    # maxpool k3 s2 p1: r = 7 + 2*2 = 11,   j = 4, P = 3 + 1*2 = 5
    # layer1.0: two 3x3 s1 p1 convs add 2*4 to r and 1*4 to P each: r = 11 + 16 = 27, P = 5 + 8 = 13;
    #           the identity shortcut sees [-5, 5], inside [-13, 13]
    assert units["layer1.0"] == rf(27, 4, 13)
    # layer1.1: r = 27 + 16 = 43, P = 13 + 8 = 21
    assert units["layer1.1"] == rf(43, 4, 21)
    # layer2.0: conv1 k3 s2 p1: r = 43 + 2*4 = 51, j = 8, P = 21 + 1*4 = 25; conv2 k3 s1 p1: r = 51 + 2*8 = 67,
    #           P = 25 + 8 = 33; the 1x1 s2 shortcut: r = 43, j = 8, P = 21 -> [-21, 21], inside [-33, 33]
    assert units["layer2.0"] == rf(67, 8, 33)
