"""MobileNetV2, MobileNetV3 (large and small), MNASNet, EfficientNet-B0, ShuffleNet V2 and RegNetX-400MF specs
against PyTorch.

Where the expected numbers come from:
- torch oracle: each network below is an nn.Module written by hand (torchvision is not a dependency),
  mirroring torchvision 0.29.1's torchvision/models/mobilenetv2.py, mobilenetv3.py, mnasnet.py, efficientnet.py,
  shufflenetv2.py, regnet.py and torchvision/ops/misc.py (Conv2dNormActivation, SqueezeExcitation). It is
  measured in eval mode under no_grad on a zeros input of batch 1: params = sum of parameters().numel(),
  buffers = sum of buffers().numel(), macs = torch.utils.flop_counter.FlopCounterMode(display=False) total // 2,
  and the output shape. archcalc's analysis of specs/<model>.yaml must equal all of them, and so must every
  layer with parameters (conv, batch norm, linear: output shape, params, buffers), matched by name.
- reference JSON: tests/data/torchvision_reference.json (copied from shared/reference/torchvision.json, measured
  with torchvision 0.29.1 itself, same conventions). The hand-written modules must reproduce its params, buffers
  and macs, which shows that they do mirror torchvision.
- _make_divisible and the RegNet width rule (BlockParams.from_init_params) are re-implemented below from
  torchvision's code, so the channel counts written by hand in the specs are checked, not copied.
"""
from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

import archcalc

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
from torch_measure import check_zoo_model  # noqa: E402  (after the importorskip)

SPECS = Path(__file__).resolve().parent.parent / "specs"


# ---- torchvision/models/_utils.py and torchvision/ops/misc.py, by hand ----

def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """The nearest multiple of divisor, at least min_value, and not more than 10% below v."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Conv2dNormActivation(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, groups: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU) -> None:
        layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, (kernel_size - 1) // 2,
                                             groups=groups, bias=norm_layer is None)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer(inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    def __init__(self, input_channels: int, squeeze_channels: int, activation: Callable[..., nn.Module] = nn.ReLU,
                 scale_activation: Callable[..., nn.Module] = nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth; the identity in eval mode, which is all these tests run."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        assert not self.training
        return x


# ---- torchvision/models/mobilenetv2.py ----

V2_SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
              (6, 320, 1, 1)]  # t, c, n, s


class InvertedResidualV2(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden_dim, kernel_size=1, activation_layer=nn.ReLU6))
        layers += [Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim,
                                        activation_layer=nn.ReLU6),
                   nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
                   nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        input_channel, last_channel = _make_divisible(32, 8), _make_divisible(1280, 8)
        features: list[nn.Module] = [Conv2dNormActivation(3, input_channel, stride=2, activation_layer=nn.ReLU6)]
        for t, c, n, s in V2_SETTING:
            output_channel = _make_divisible(c, 8)
            for i in range(n):
                features.append(InvertedResidualV2(input_channel, output_channel, s if i == 0 else 1, t))
                input_channel = output_channel
        features.append(Conv2dNormActivation(input_channel, last_channel, kernel_size=1, activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=0.2), nn.Linear(last_channel, num_classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


# ---- torchvision/models/mobilenetv3.py ----

# bneck_conf(input_channels, kernel, expanded_channels, out_channels, use_se, activation, stride)
V3_LARGE = [(16, 3, 16, 16, False, "RE", 1), (16, 3, 64, 24, False, "RE", 2), (24, 3, 72, 24, False, "RE", 1),
            (24, 5, 72, 40, True, "RE", 2), (40, 5, 120, 40, True, "RE", 1), (40, 5, 120, 40, True, "RE", 1),
            (40, 3, 240, 80, False, "HS", 2), (80, 3, 200, 80, False, "HS", 1), (80, 3, 184, 80, False, "HS", 1),
            (80, 3, 184, 80, False, "HS", 1), (80, 3, 480, 112, True, "HS", 1), (112, 3, 672, 112, True, "HS", 1),
            (112, 5, 672, 160, True, "HS", 2), (160, 5, 960, 160, True, "HS", 1), (160, 5, 960, 160, True, "HS", 1)]
V3_SMALL = [(16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2), (24, 3, 88, 24, False, "RE", 1),
            (24, 5, 96, 40, True, "HS", 2), (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
            (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1), (48, 5, 288, 96, True, "HS", 2),
            (96, 5, 576, 96, True, "HS", 1), (96, 5, 576, 96, True, "HS", 1)]


class InvertedResidualV3(nn.Module):
    def __init__(self, inp: int, kernel: int, expanded: int, out: int, use_se: bool, activation: str, stride: int,
                 norm_layer: Callable[..., nn.Module]) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and inp == out
        act = nn.Hardswish if activation == "HS" else nn.ReLU
        layers: list[nn.Module] = []
        if expanded != inp:
            layers.append(Conv2dNormActivation(inp, expanded, kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=act))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel_size=kernel, stride=stride, groups=expanded,
                                           norm_layer=norm_layer, activation_layer=act))
        if use_se:
            layers.append(SqueezeExcitation(expanded, _make_divisible(expanded // 4, 8),
                                            scale_activation=nn.Hardsigmoid))
        layers.append(Conv2dNormActivation(expanded, out, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        result = self.block(x)
        return result + x if self.use_res_connect else result


class MobileNetV3(nn.Module):
    def __init__(self, setting: list[tuple], last_channel: int, num_classes: int = 1000) -> None:
        super().__init__()
        norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        layers: list[nn.Module] = [Conv2dNormActivation(3, setting[0][0], stride=2, norm_layer=norm_layer,
                                                        activation_layer=nn.Hardswish)]
        layers += [InvertedResidualV3(*cnf, norm_layer=norm_layer) for cnf in setting]
        lastconv_input_channels = setting[-1][3]
        lastconv_output_channels = 6 * lastconv_input_channels
        layers.append(Conv2dNormActivation(lastconv_input_channels, lastconv_output_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(lastconv_output_channels, last_channel), nn.Hardswish(inplace=True),
                                        nn.Dropout(p=0.2, inplace=True), nn.Linear(last_channel, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# ---- torchvision/models/mnasnet.py (alpha 1.0) ----

class _InvertedResidualMnas(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int, expansion_factor: int) -> None:
        super().__init__()
        mid_ch = in_ch * expansion_factor
        self.apply_residual = in_ch == out_ch and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_ch, mid_ch, 1, bias=False), nn.BatchNorm2d(mid_ch), nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, mid_ch, kernel_size, padding=kernel_size // 2, stride=stride, groups=mid_ch, bias=False),
            nn.BatchNorm2d(mid_ch), nn.ReLU(inplace=True),
            nn.Conv2d(mid_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch))

    def forward(self, x):
        return self.layers(x) + x if self.apply_residual else self.layers(x)


def _stack(in_ch: int, out_ch: int, kernel_size: int, stride: int, exp_factor: int, repeats: int) -> nn.Sequential:
    return nn.Sequential(_InvertedResidualMnas(in_ch, out_ch, kernel_size, stride, exp_factor),
                         *[_InvertedResidualMnas(out_ch, out_ch, kernel_size, 1, exp_factor)
                           for _ in range(1, repeats)])


class MNASNet(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        d = [32, 16, 24, 40, 80, 96, 192, 320]  # _get_depths(1.0)
        self.layers = nn.Sequential(
            nn.Conv2d(3, d[0], 3, padding=1, stride=2, bias=False), nn.BatchNorm2d(d[0]), nn.ReLU(inplace=True),
            nn.Conv2d(d[0], d[0], 3, padding=1, stride=1, groups=d[0], bias=False), nn.BatchNorm2d(d[0]),
            nn.ReLU(inplace=True),
            nn.Conv2d(d[0], d[1], 1, padding=0, stride=1, bias=False), nn.BatchNorm2d(d[1]),
            _stack(d[1], d[2], 3, 2, 3, 3), _stack(d[2], d[3], 5, 2, 3, 3), _stack(d[3], d[4], 5, 2, 6, 3),
            _stack(d[4], d[5], 3, 1, 6, 2), _stack(d[5], d[6], 5, 2, 6, 4), _stack(d[6], d[7], 3, 1, 6, 1),
            nn.Conv2d(d[7], 1280, 1, padding=0, stride=1, bias=False), nn.BatchNorm2d(1280), nn.ReLU(inplace=True))
        self.classifier = nn.Sequential(nn.Dropout(p=0.2, inplace=True), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(self.layers(x).mean([2, 3]))


# ---- torchvision/models/efficientnet.py (B0: width and depth multipliers 1.0, stochastic depth 0.2) ----

# MBConvConfig(expand_ratio, kernel, stride, input_channels, out_channels, num_layers)
B0_SETTING = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
              (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]


class MBConv(nn.Module):
    def __init__(self, expand_ratio: int, kernel: int, stride: int, input_channels: int, out_channels: int,
                 stochastic_depth_prob: float) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and input_channels == out_channels
        expanded = _make_divisible(input_channels * expand_ratio, 8)
        layers: list[nn.Module] = []
        if expanded != input_channels:
            layers.append(Conv2dNormActivation(input_channels, expanded, kernel_size=1, activation_layer=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel_size=kernel, stride=stride, groups=expanded,
                                           activation_layer=nn.SiLU))
        layers.append(SqueezeExcitation(expanded, max(1, input_channels // 4),
                                        activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded, out_channels, kernel_size=1, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, x):
        result = self.block(x)
        return self.stochastic_depth(result) + x if self.use_res_connect else result


class EfficientNetB0(nn.Module):
    def __init__(self, num_classes: int = 1000, stochastic_depth_prob: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = [Conv2dNormActivation(3, 32, stride=2, activation_layer=nn.SiLU)]
        total_blocks, block_id = sum(cnf[-1] for cnf in B0_SETTING), 0
        for t, k, s, inp, out, n in B0_SETTING:
            stage = []
            for i in range(n):
                stage.append(MBConv(t, k, s if i == 0 else 1, inp if i == 0 else out, out,
                                    stochastic_depth_prob * block_id / total_blocks))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        layers.append(Conv2dNormActivation(320, 4 * 320, kernel_size=1, activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=0.2, inplace=True), nn.Linear(4 * 320, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# ---- torchvision/models/shufflenetv2.py (x1.0) ----

def channel_shuffle(x, groups: int):
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w)
    return torch.transpose(x, 1, 2).contiguous().view(b, c, h, w)


def depthwise_conv(i: int, o: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(i, o, 3, stride, 1, bias=False, groups=i)


class InvertedResidualShuffle(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        branch_features = oup // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                depthwise_conv(inp, inp, stride), nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch_features, 1, 1, 0, bias=False), nn.BatchNorm2d(branch_features),
                nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else branch_features, branch_features, 1, 1, 0, bias=False),
            nn.BatchNorm2d(branch_features), nn.ReLU(inplace=True),
            depthwise_conv(branch_features, branch_features, stride), nn.BatchNorm2d(branch_features),
            nn.Conv2d(branch_features, branch_features, 1, 1, 0, bias=False), nn.BatchNorm2d(branch_features),
            nn.ReLU(inplace=True))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, stages_repeats: list[int], stages_out_channels: list[int], num_classes: int = 1000) -> None:
        super().__init__()
        input_channels, output_channels = 3, stages_out_channels[0]
        self.conv1 = nn.Sequential(nn.Conv2d(input_channels, output_channels, 3, 2, 1, bias=False),
                                   nn.BatchNorm2d(output_channels), nn.ReLU(inplace=True))
        input_channels = output_channels
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for name, repeats, output_channels in zip(["stage2", "stage3", "stage4"], stages_repeats,
                                                  stages_out_channels[1:]):
            seq = [InvertedResidualShuffle(input_channels, output_channels, 2)]
            seq += [InvertedResidualShuffle(output_channels, output_channels, 1) for _ in range(repeats - 1)]
            setattr(self, name, nn.Sequential(*seq))
            input_channels = output_channels
        output_channels = stages_out_channels[-1]
        self.conv5 = nn.Sequential(nn.Conv2d(input_channels, output_channels, 1, 1, 0, bias=False),
                                   nn.BatchNorm2d(output_channels), nn.ReLU(inplace=True))
        self.fc = nn.Linear(output_channels, num_classes)

    def forward(self, x):
        x = self.stage4(self.stage3(self.stage2(self.maxpool(self.conv1(x)))))
        return self.fc(self.conv5(x).mean([2, 3]))


# ---- torchvision/models/regnet.py (RegNetX: no SE, bottleneck multiplier 1) ----

def regnet_stages(depth: int, w_0: int, w_a: float, w_m: float, group_width: int) -> tuple[list[int], list[int],
                                                                                          list[int]]:
    """BlockParams.from_init_params: (stage widths, stage depths, group widths)."""
    widths_cont = torch.arange(depth) * w_a + w_0
    block_capacity = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
    block_widths = (torch.round(torch.divide(w_0 * torch.pow(w_m, block_capacity), 8)) * 8).int().tolist()
    splits = [w != wp for w, wp in zip(block_widths + [0], [0] + block_widths)]
    stage_widths = [w for w, t in zip(block_widths, splits[:-1]) if t]
    stage_depths = torch.diff(torch.tensor([d for d, t in enumerate(splits) if t])).int().tolist()
    # _adjust_widths_groups_compatibilty with bottleneck multiplier 1
    group_widths = [min(group_width, w) for w in stage_widths]
    stage_widths = [_make_divisible(w, g) for w, g in zip(stage_widths, group_widths)]
    return stage_widths, stage_depths, group_widths


class ResBottleneckBlock(nn.Module):
    def __init__(self, width_in: int, width_out: int, stride: int, group_width: int) -> None:
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = Conv2dNormActivation(width_in, width_out, kernel_size=1, stride=stride, activation_layer=None)
        self.f = nn.Sequential(OrderedDict([
            ("a", Conv2dNormActivation(width_in, width_out, kernel_size=1)),
            ("b", Conv2dNormActivation(width_out, width_out, stride=stride, groups=width_out // group_width)),
            ("c", Conv2dNormActivation(width_out, width_out, kernel_size=1, activation_layer=None)),
        ]))
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.activation((self.proj(x) if self.proj is not None else x) + self.f(x))


class RegNet(nn.Module):
    def __init__(self, depth: int, w_0: int, w_a: float, w_m: float, group_width: int, num_classes: int = 1000,
                 stem_width: int = 32) -> None:
        super().__init__()
        self.stem = Conv2dNormActivation(3, stem_width, stride=2)
        blocks, current_width = [], stem_width
        for i, (width_out, depth_i, g) in enumerate(zip(*regnet_stages(depth, w_0, w_a, w_m, group_width)), 1):
            stage = nn.Sequential(OrderedDict(
                (f"block{i}-{j}", ResBottleneckBlock(current_width if j == 0 else width_out, width_out,
                                                     2 if j == 0 else 1, g)) for j in range(depth_i)))
            blocks.append((f"block{i}", stage))
            current_width = width_out
        self.trunk_output = nn.Sequential(OrderedDict(blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(current_width, num_classes)

    def forward(self, x):
        return self.fc(self.avgpool(self.trunk_output(self.stem(x))).flatten(start_dim=1))


# ---- torch module names -> archcalc layer names (each spec's header comment states the same mapping) ----

def _v2_units() -> dict[int, tuple[int, int, int]]:
    """features index of torchvision's MobileNetV2 blocks -> (row of the setting from 1, index in the row, t)."""
    units, index = {}, 1
    for row, (t, _, n, _) in enumerate(V2_SETTING, 1):
        for i in range(n):
            units[index] = (row, i, t)
            index += 1
    return units


V2_UNITS = _v2_units()


def mobilenet_v2_name(name: str) -> str:
    # features.3.conv.1.0 -> features.stage2.1.conv.1.0; features.1.conv.0.0 -> features.stage1.0.conv.1.0
    # (the t = 1 block has no expansion conv; the spec keeps the depthwise conv at conv.1)
    m = re.fullmatch(r"features\.(\d+)\.conv\.(\d+)(.*)", name)
    if not m:
        return name
    row, i, t = V2_UNITS[int(m[1])]
    return f"features.stage{row}.{i}.conv.{int(m[2]) + (t == 1)}{m[3]}"


def se_name(name: str) -> str:
    # the SE convs sit under the spec's parallel: features.4.block.2.fc1 -> features.4.block.2.se.scale.fc1
    return re.sub(r"\.(fc[12])$", r".se.scale.\1", name)


def shufflenet_name(name: str) -> str:
    # stage2.0.branch1.0 -> stage2.0.branches.branch1.0
    return re.sub(r"\.(branch[12])\.", r".branches.\1.", name)


def regnet_name(name: str) -> str:
    # trunk_output.block2.block2-1.f.a.0 -> trunk_output.block2.1.f.a.0; ...proj.0 -> ...shortcut.proj.0
    return re.sub(r"\.block\d+-(\d+)\.", r".\1.", name).replace(".proj.", ".shortcut.proj.")


def same_name(name: str) -> str:
    return name


ZOO: dict[str, tuple[Callable[[], nn.Module], Callable[[str], str]]] = {
    "mobilenet_v2": (MobileNetV2, mobilenet_v2_name),
    "mobilenet_v3_large": (lambda: MobileNetV3(V3_LARGE, _make_divisible(1280, 8)), se_name),
    "mobilenet_v3_small": (lambda: MobileNetV3(V3_SMALL, _make_divisible(1024, 8)), se_name),
    "mnasnet1_0": (MNASNet, same_name),
    "efficientnet_b0": (EfficientNetB0, se_name),
    "shufflenet_v2_x1_0": (lambda: ShuffleNetV2([4, 8, 4], [24, 116, 232, 464, 1024]), shufflenet_name),
    "regnet_x_400mf": (lambda: RegNet(depth=22, w_0=24, w_a=24.48, w_m=2.54, group_width=16), regnet_name),
}


@pytest.mark.parametrize("model", ZOO)
def test_spec_matches_torch(model: str) -> None:
    make, rename = ZOO[model]
    check_zoo_model(model, make(), rename)


def test_regnet_x_400mf_stage_widths() -> None:
    # torchvision's rule (re-implemented above) gives the widths and depths written by hand in the spec's header
    assert regnet_stages(depth=22, w_0=24, w_a=24.48, w_m=2.54, group_width=16) == (
        [32, 64, 160, 400], [1, 2, 7, 12], [16, 16, 16, 16])


def test_mobilenet_v3_se_width_is_make_divisible() -> None:
    # The specs' se block computes _make_divisible(channels // 4, 8) as block-argument expressions; compare it
    # with torchvision's function (above) for every width from 8 to 1024, one se call per width in one spec
    # (each after a 1x1 conv to that width).
    widths = range(8, 1025)
    calls = "\n".join(f"  - conv2d: {{out_channels: {c}, kernel_size: 1}}\n  - se: {{name: w{c}, channels: {c}}}"
                      for c in widths)
    spec = f"""
name: se_widths
input: [3, 1, 1]
blocks:
{_block(SPECS / "mobilenet_v3_small.yaml", "se")}
layers:
{calls}
"""
    report = archcalc.analyze(archcalc.load(spec))
    fc1 = {row.name: row.output_shape[1] for row in report.layers if row.name.endswith(".fc1")}
    assert fc1 == {f"w{c}.se.scale.fc1": _make_divisible(c // 4, 8) for c in widths}


def _block(path: Path, name: str) -> str:
    """One block definition, as written in a spec file (indented two spaces under blocks:)."""
    lines = path.read_text().splitlines()
    start = lines.index(f"  {name}:")
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("    "))
    return "\n".join(lines[start:end])
