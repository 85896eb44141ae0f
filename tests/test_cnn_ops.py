"""The small ops of convolutional networks (issue 15): frozen_batchnorm2d, grn, std_conv2d, quick_gelu, softplus,
mish, sub, split, slice and upsample to another tensor's size.

Where the expected numbers come from: torch modules written here, or torchvision / timm classes, measured as in the
other oracle tests (tests/torch_measure.py: params, buffers, FlopCounterMode // 2, output shape); FLOPs from
arithmetic written out in the test. The export round trip and every tool's count are in tests/test_export.py and
tests/test_peers.py (tests/layer_specs.py).
"""
from __future__ import annotations

import pytest

import archcalc

torch = pytest.importorskip("torch")
nn = torch.nn
from torch_measure import measure  # noqa: E402  (after the importorskip)


def analyze(layers: str, input_shape: str, batch: int = 1):
    return archcalc.analyze(archcalc.load(f"name: t\ninput: {input_shape}\nbatch: {batch}\nlayers:\n{layers}"))


def test_frozen_batchnorm2d_is_torchvisions() -> None:
    from torchvision_oracle import models
    models()
    from torchvision.ops import FrozenBatchNorm2d
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), FrozenBatchNorm2d(8), nn.ReLU())
    report = analyze("  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1, bias: false}\n"
                     "  - frozen_batchnorm2d\n  - relu\n", "[3, 7, 6]", batch=2)
    got = measure(model, (2, 3, 7, 6))
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == \
           (got["params"], got["buffers"], got["macs"])
    assert tuple(report.output_shape) == got["output_shape"]
    bn = report.layers[1]
    # 4 buffers of 8 channels, no parameters; x * scale + shift: 2 FLOPs on each of 2 * 8 * 7 * 6 elements
    assert (bn.params, bn.buffers, bn.flops) == (0, 4 * 8, 2 * 2 * 8 * 7 * 6)
