"""GoogLeNet against PyTorch, and receptive fields through Inception-style concatenations worked out by hand.

Where the expected numbers come from:
- torch oracle: GoogLeNet below is an nn.Module written by hand (torchvision is not a dependency), mirroring
  torchvision 0.29.1's torchvision/models/googlenet.py with aux_logits=False (BasicConv2d = conv without bias,
  BatchNorm eps 0.001, ReLU; ceil-mode max pools; the "5x5" branch with its 3x3 kernel, as torchvision has it).
  It is measured in eval mode under no_grad on a zeros input of batch 1: params = sum of parameters().numel(),
  buffers = sum of buffers().numel(), macs = torch.utils.flop_counter.FlopCounterMode(display=False) total // 2,
  and the output shape. archcalc's analysis of specs/googlenet.yaml must equal all of them, and so must every
  layer with parameters (conv, batch norm, linear: output shape, params, buffers), matched by name.
- reference JSON: tests/data/torchvision_reference.json (copied from shared/reference/torchvision.json, measured
  with torchvision 0.29.1 itself, same conventions). The hand-written module must reproduce its params, buffers
  and macs, which shows that it does mirror torchvision.
- receptive fields: the arithmetic of Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural
  Networks", Distill 2019 (doi:10.23915/distill.00021), written out next to each expected value.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import archcalc

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
from torch_measure import check_zoo_model  # noqa: E402  (after the importorskip)

SPECS = Path(__file__).resolve().parent.parent / "specs"
REFERENCE = json.loads((Path(__file__).parent / "data" / "torchvision_reference.json").read_text())["models"]


# ---- torchvision/models/googlenet.py, by hand (aux_logits=False, transform_input=False) ----

class BasicConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        # torchvision: "Here, kernel_size=3 instead of kernel_size=5 is a known bug."
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=0.2)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        for name in ("inception4a", "inception4b", "inception4c", "inception4d", "inception4e"):
            x = getattr(self, name)(x)
        x = self.inception5b(self.inception5a(self.maxpool4(x)))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))


def googlenet_name(name: str) -> str:
    # a module's four branches sit under <module>.branches: inception3a.branch2.1.conv ->
    # inception3a.branches.branch2.1.conv
    return re.sub(r"^(inception\w+)\.(branch\d)\.", r"\1.branches.\2.", name)


def test_googlenet_spec_matches_torch() -> None:
    check_zoo_model("googlenet", GoogLeNet(), googlenet_name)
    ref = REFERENCE["googlenet"]
    assert (ref["params"], ref["buffers"], ref["macs"]) == (6_624_904, 14_617, 1_498_376_192)


# ---- receptive fields by hand ----
# Per axis, the state after a layer is (r, j, P): size, jump, effective padding; output position 0 sees input
# positions [-P, -P + r - 1]. A layer with kernel k, stride s, padding p gives r' = r + (k - 1) j, j' = j s,
# P' = P + p j. The input is (1, 1, 0). Branches with equal jumps merge as the union of their intervals.

def rf(size: int, jump: int, padding: int) -> dict:
    return {"size": [size, size], "jump": [jump, jump], "padding": [padding, padding]}


INCEPTION = """
name: rf_inception
input: [3, 32, 32]
layers:
  - conv2d: {name: stem, out_channels: 8, kernel_size: 3, stride: 2, padding: 1}
  - parallel:
      name: mixed
      branches:
        b1:
          - conv2d: {name: conv, out_channels: 4, kernel_size: 1}
        b2:
          - conv2d: {name: reduce, out_channels: 4, kernel_size: 1}
          - conv2d: {name: conv, out_channels: 4, kernel_size: 3, padding: 1}
        b3:
          - maxpool2d: {name: pool, kernel_size: 3, stride: 1, padding: 1}
          - conv2d: {name: conv, out_channels: 4, kernel_size: 1}
      merge: concat
"""


def test_inception_concat_receptive_field_by_hand() -> None:
    report = archcalc.analyze(archcalc.load(INCEPTION))
    layers = {row.name: row.rf.to_dict() for row in report.layers}
    # stem k3 s2 p1 on (1, 1, 0):  r = 1 + 2*1 = 3, j = 1*2 = 2, P = 0 + 1*1 = 1  -> sees [-1, 1]
    assert layers["stem"] == rf(3, 2, 1)
    # b1: 1x1 (k1 s1 p0):          r = 3 + 0*2 = 3, j = 2,       P = 1 + 0*2 = 1  -> [-1, 1]
    assert layers["mixed.b1.conv"] == rf(3, 2, 1)
    # b2: 1x1, then k3 s1 p1:      r = 3 + 2*2 = 7, j = 2,       P = 1 + 1*2 = 3  -> [-3, 3]
    assert layers["mixed.b2.reduce"] == rf(3, 2, 1)
    assert layers["mixed.b2.conv"] == rf(7, 2, 3)
    # b3: max pool k3 s1 p1:       r = 3 + 2*2 = 7, j = 2,       P = 1 + 1*2 = 3  -> [-3, 3]; the 1x1 keeps it
    assert layers["mixed.b3.pool"] == rf(7, 2, 3)
    assert layers["mixed.b3.conv"] == rf(7, 2, 3)
    # concat: [-1, 1] U [-3, 3] U [-3, 3] = [-3, 3]: r = 3 - (-3) + 1 = 7, j = 2, P = 3
    assert layers["mixed.concat"] == rf(7, 2, 3)
    block = next(b for b in report.blocks if b.name == "mixed")
    assert block.type == "parallel"
    assert block.rf.to_dict() == rf(7, 2, 3)
    assert report.rf.to_dict() == rf(7, 2, 3)
    # channels 4 + 4 + 4; every branch keeps the stem's 16x16 ((32 + 2 - 3) // 2 + 1 = 16)
    assert tuple(report.output_shape) == (1, 12, 16, 16)


def test_inception_concat_of_offset_branches_by_hand() -> None:
    # A fourth branch padded on one side only, so its interval sticks out of the others on the left.
    spec = INCEPTION.replace("      merge: concat", """        b4:
          - pad: {name: pad, padding: [[4, 0], [4, 0]]}
          - conv2d: {name: conv, out_channels: 4, kernel_size: 5}
      merge: concat""")
    report = archcalc.analyze(archcalc.load(spec))
    layers = {row.name: row.rf.to_dict() for row in report.layers}
    # b4: pad before 4 (k1 s1 p4): r = 3, j = 2, P = 1 + 4*2 = 9; conv k5 p0: r = 3 + 4*2 = 11, P = 9
    #     -> [-9, -9 + 11 - 1] = [-9, 1]; the size stays 16 (16 + 4 - 5 + 1)
    assert layers["mixed.b4.conv"] == rf(11, 2, 9)
    # concat: [-1, 1] U [-3, 3] U [-3, 3] U [-9, 1] = [-9, 3]: r = 3 - (-9) + 1 = 13, j = 2, P = 9
    assert layers["mixed.concat"] == rf(13, 2, 9)
    assert tuple(report.output_shape) == (1, 16, 16, 16)


def test_branches_with_different_jumps_are_unaligned() -> None:
    spec = """
name: rf_unaligned
input: [3, 32, 32]
layers:
  - conv2d: {name: stem, out_channels: 8, kernel_size: 3, stride: 2, padding: 1}
  - parallel:
      name: mixed
      branches:
        strided:
          - conv2d: {name: conv, out_channels: 4, kernel_size: 3, stride: 2, padding: 1}
        wide:
          - conv2d: {name: conv, out_channels: 4, kernel_size: 9}
      merge: concat
  - conv2d: {name: head, out_channels: 4, kernel_size: 1}
"""
    report = archcalc.analyze(archcalc.load(spec))
    layers = {row.name: row.rf.to_dict() for row in report.layers}
    # stem: (3, 2, 1) and 16x16, as above
    # strided: k3 s2 p1: r = 3 + 2*2 = 7,  j = 2*2 = 4, P = 1 + 1*2 = 3; size (16 + 2 - 3) // 2 + 1 = 8
    assert layers["mixed.strided.conv"] == rf(7, 4, 3)
    # wide:    k9 s1 p0: r = 3 + 8*2 = 19, j = 2,       P = 1;         size 16 - 9 + 1 = 8
    assert layers["mixed.wide.conv"] == rf(19, 2, 1)
    # concat: the jumps differ (4 vs 2), so output positions are not spaced alike in the two branches and no
    # single (r, j, P) describes the merged tensor: every axis is "unaligned", and stays so downstream.
    unaligned = {"size": "unaligned", "jump": "unaligned", "padding": "unaligned"}
    assert layers["mixed.concat"] == unaligned
    assert layers["head"] == unaligned
    assert report.rf.to_dict() == unaligned
    concat = next(row for row in report.layers if row.name == "mixed.concat")
    assert tuple(concat.output_shape) == (1, 8, 8, 8)  # 4 + 4 channels, both branches 8x8


def test_googlenet_inception3a_receptive_field_by_hand() -> None:
    report = archcalc.analyze(archcalc.load(SPECS / "googlenet.yaml"))
    layers = {row.name: row.rf.to_dict() for row in report.layers}
    # conv1 k7 s2 p3:            r = 7,             j = 2, P = 3
    # maxpool1 k3 s2 p0 (ceil):  r = 7 + 2*2 = 11,  j = 4, P = 3 (ceil mode pads on the right only)
    # conv2 1x1:                 (11, 4, 3)
    # conv3 k3 s1 p1:            r = 11 + 2*4 = 19, j = 4, P = 3 + 1*4 = 7
    # maxpool2 k3 s2 p0 (ceil):  r = 19 + 2*4 = 27, j = 8, P = 7
    assert layers["maxpool2"] == rf(27, 8, 7)
    # branch1 1x1:               (27, 8, 7)                           -> [-7, 19]
    assert layers["inception3a.branches.branch1.conv"] == rf(27, 8, 7)
    # branch2 1x1, k3 p1:        r = 27 + 2*8 = 43, P = 7 + 1*8 = 15  -> [-15, 27]
    assert layers["inception3a.branches.branch2.1.conv"] == rf(43, 8, 15)
    # branch3 likewise (a 3x3 in torchvision, despite its name)
    assert layers["inception3a.branches.branch3.1.conv"] == rf(43, 8, 15)
    # branch4 max pool k3 s1 p1, 1x1: r = 43, P = 15                  -> [-15, 27]
    assert layers["inception3a.branches.branch4.1.conv"] == rf(43, 8, 15)
    # concat: the union [-15, 27]: r = 43, j = 8, P = 15
    assert layers["inception3a.branches.concat"] == rf(43, 8, 15)
