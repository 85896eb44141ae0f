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


def timm_layers():
    from torchvision_oracle import register_bare_package
    register_bare_package()
    return pytest.importorskip("timm.layers")


def test_grn_is_timms_global_response_norm() -> None:
    timm_layers()
    from timm.layers import grn
    model = nn.Sequential(nn.Conv2d(3, 16, 1), grn.GlobalResponseNorm(16, channels_last=False),
                          nn.Conv2d(16, 4, 1))
    report = analyze("  - conv2d: {out_channels: 16, kernel_size: 1}\n  - grn\n"
                     "  - conv2d: {out_channels: 4, kernel_size: 1}\n", "[3, 5, 7]", batch=2)
    got = measure(model, (2, 3, 5, 7))
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == \
           (got["params"], got["buffers"], got["macs"])
    assert tuple(report.output_shape) == got["output_shape"]
    row = report.layers[1]
    # weight and bias of 16; square, sum, x * n, weight, bias, + x: 6 FLOPs on each of 2 * 16 * 5 * 7 elements
    assert (row.params, row.flops) == (2 * 16, 6 * 2 * 16 * 5 * 7)
    assert report.layers[1].rf.axes == ("global", "global")  # the L2 norm reads every position


def test_grn_channels_last_is_timms() -> None:
    """timm's default GlobalResponseNorm (channels_last=True) on a map permuted to [N, H, W, C], as ConvNeXt V2-T's
    MLP runs it: grn with dim -1."""
    timm_layers()
    from timm.layers import grn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.grn, self.fc2 = nn.Linear(8, 32), grn.GlobalResponseNorm(32), nn.Linear(32, 8)

        def forward(self, x):
            return self.fc2(self.grn(self.fc1(x.permute(0, 2, 3, 1)))).permute(0, 3, 1, 2)

    report = analyze("  - permute: {dims: [0, 2, 3, 1]}\n  - linear: {out_features: 32}\n  - grn: {dim: -1}\n"
                     "  - linear: {out_features: 8}\n  - permute: {dims: [0, 3, 1, 2]}\n", "[8, 5, 6]", batch=2)
    got = measure(Block(), (2, 8, 5, 6))
    assert (report.totals.params, report.totals.macs) == (got["params"], got["macs"])
    assert tuple(report.output_shape) == got["output_shape"]
    row = report.layers[2]
    assert (row.params, row.flops) == (2 * 32, 6 * 2 * 5 * 6 * 32)  # weight and bias of the 32 channels
    assert row.rf.axes == ("global", "global")
    exported = exported_module("name: g\ninput: [5, 6, 32]\nlayers:\n  - grn: {dim: -1, eps: 1.0e-6}\n")
    reference = grn.GlobalResponseNorm(32)
    with torch.no_grad():
        for p in (reference.weight, reference.bias, exported.grn_1.weight, exported.grn_1.bias):
            p.fill_(0.5)
        x = torch.randn(2, 5, 6, 32)
        assert torch.allclose(exported(x), reference(x))


@pytest.mark.parametrize("gain", [False, True])
def test_std_conv2d_is_timms(gain: bool) -> None:
    layers = timm_layers()
    conv = layers.ScaledStdConv2d(4, 6, 3, stride=2, groups=2, eps=1e-5) if gain else \
        layers.StdConv2d(4, 6, 3, stride=2, padding=1, groups=2, bias=False)
    report = analyze(f"  - std_conv2d: {{out_channels: 6, kernel_size: 3, stride: 2, padding: 1, groups: 2, "
                     f"{'gain: true, eps: 1.0e-5' if gain else 'bias: false'}}}\n", "[4, 9, 8]", batch=3)
    got = measure(conv, (3, 4, 9, 8))
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == \
           (got["params"], got["buffers"], got["macs"])
    assert tuple(report.output_shape) == got["output_shape"]
    # weight 6 x 2 x 3 x 3 = 108, + bias 6 + gain 6 with the gain; MACs 3 samples x 6 x 5 x 4 outputs x 18 taps
    assert report.totals.params == (108 + 12 if gain else 108)
    assert report.totals.macs == 3 * 6 * 5 * 4 * 18


def exported_module(text: str):
    import re

    from archcalc.export import export
    source = export(archcalc.load(text))
    namespace: dict = {"__name__": "archcalc_cnn_ops"}
    exec(compile(source, "<archcalc export>", "exec"), namespace)
    torch.manual_seed(0)
    return namespace[re.search(r"model = (\w+)\(\)\.eval\(\)", source).group(1)]().eval()


@pytest.mark.parametrize("call", ["module", "function"])
def test_smooth_activations_compute_torchs(call: str) -> None:
    from transformers.activations import QuickGELUActivation
    text = (f"name: a\ninput: [3, 4]\nlayers:\n  - quick_gelu: {{call: {call}}}\n  - mish: {{call: {call}}}\n"
            f"  - softplus: {{beta: 2, threshold: 1, call: {call}}}\n  - softplus: {{call: {call}}}\n")
    x = torch.randn(2, 3, 4)
    with torch.no_grad():
        want = nn.Softplus()(nn.Softplus(beta=2, threshold=1)(nn.Mish()(QuickGELUActivation()(x))))
        assert torch.allclose(exported_module(text)(x), want)
    report = archcalc.analyze(archcalc.load(text))
    # per element: quick_gelu 5 (mul, exp, add, div, mul); mish 5 (exp, add, log, tanh, mul); softplus 4 (exp, add,
    # log, the threshold's comparison), + 2 with beta != 1 (multiply by beta, divide by it)
    assert [row.flops for row in report.layers] == [5 * 12, 5 * 12, 6 * 12, 4 * 12]


class PieceModule(nn.Module):
    """Written here: pool(x) - x (PoolFormer), torch.split with unequal sizes, x[:, :, ::2], narrow and a subtract."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.head = nn.Conv2d(5, 3, 1)

    def forward(self, x):
        y = self.conv(x)
        y = self.pool(y) - y
        y = torch.split(y, [2, 5, 1], dim=1)[1]
        y = y[:, :, ::2].narrow(3, 1, 4)
        return self.head(y) - x[:, :, ::2, 2:6]


PIECES = """name: pieces
input: [3, 9, 8]
batch: 2
layers:
  - identity: {name: x0}
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - parallel:
      branches: {pool: [{avgpool2d: {kernel_size: 3, stride: 1, padding: 1, count_include_pad: false}}], id: []}
      merge: sub
  - split: {split_size_or_sections: [2, 5, 1], index: 1}
  - slice: {dim: 2, step: 2}
  - slice: {dim: 3, start: 1, length: 4}
  - conv2d: {name: head, out_channels: 3, kernel_size: 1}
  - slice: {name: rows, dim: 2, step: 2, from: x0}
  - slice: {name: cols, dim: -1, start: 2, end: -2}
  - sub: {inputs: [head, cols]}
"""


def test_sub_split_and_slices_are_torchs() -> None:
    report = archcalc.analyze(archcalc.load(PIECES))
    torch.manual_seed(0)
    model = PieceModule().eval()
    got = measure(model, (2, 3, 9, 8))
    assert (report.totals.params, report.totals.macs) == (got["params"], got["macs"])
    assert tuple(report.output_shape) == got["output_shape"] == (2, 3, 5, 4)
    shapes = {row.name: tuple(row.output_shape) for row in report.layers}
    assert shapes["split_1"] == (2, 5, 9, 8) and shapes["slice_1"] == (2, 5, 5, 8)
    assert shapes["slice_2"] == (2, 5, 5, 4) and shapes["rows"] == (2, 3, 5, 8) and shapes["cols"] == (2, 3, 5, 4)
    rows = {row.name: row for row in report.layers}
    # one subtraction per output element: 2 x 8 x 9 x 8 in the pool mixer, 2 x 3 x 5 x 4 at the end
    assert rows["parallel_1.sub"].flops == 2 * 8 * 9 * 8 and rows["sub_1"].flops == 2 * 3 * 5 * 4
    exported = exported_module(PIECES)  # the same weights: the export computes the module's values
    exported.load_state_dict({k.replace("conv.", "conv2d_1."): v for k, v in model.state_dict().items()})
    x = torch.randn(2, 3, 9, 8)
    with torch.no_grad():
        assert torch.allclose(exported(x), model(x))


SIZE_OF = """name: size_of
input: [2, 96, 88]
layers:
  - conv2d: {name: c1, out_channels: 3, kernel_size: 3, stride: 2, padding: 1}
  - relu
  - conv2d: {out_channels: 3, kernel_size: 3, stride: 2, padding: 1}
  - slice: {dim: 2, start: 1, step: 2}
  - split: {split_size_or_sections: [1, 20, 1], index: 1, dim: 3}
  - conv2d: {out_channels: 2, kernel_size: 3, padding: 1}
  - upsample: {size_of: c1, mode: MODE}
"""


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_receptive_fields_of_slices_and_upsample_to_a_size_on_the_gradient_oracle(mode: str) -> None:
    from test_rf_oracle import spec_check
    text = SIZE_OF.replace("MODE", mode)
    report = archcalc.analyze(archcalc.load(text))
    assert tuple(report.output_shape) == (1, 2, 48, 44)  # c1's size: 96 / 2 x 88 / 2
    spec_check(f"size_of {mode}", text)


def test_upsample_size_of_in_symbolic_mode() -> None:
    text = SIZE_OF.replace("MODE", "nearest").replace("input: [2, 96, 88]",
                                                      "variables: {H: 96, W: 88}\ninput: [2, H, W]")
    report = archcalc.analyze(archcalc.load(text, symbolic=["H", "W"]))
    h, w = report.output_shape[2:]  # c1's size, ceil(H / 2) x ceil(W / 2), in closed form
    for H, W in ((96, 88), (97, 89), (160, 90)):
        values = {s: {"H": H, "W": W}[s.name] for s in h.free_symbols | w.free_symbols}
        assert (h.subs(values), w.subs(values)) == (-(-H // 2), -(-W // 2))


@pytest.mark.parametrize("layers, message", [
    ("  - upsample: {size_of: nowhere}\n", "unknown name 'nowhere'"),
    ("  - identity: {name: a}\n  - upsample: {size_of: a, size: 4}\n", "exactly one of scale_factor, size and size_of"),
    ("  - split: {split_size_or_sections: [1, 1]}\n", r"add up to 2, but dimension 1 has 3"),
    ("  - split: {split_size_or_sections: [1, 2], index: 2}\n", "index 2 is out of range for 2 pieces"),
    ("  - slice: {dim: 2, start: 6}\n", "would be empty"),
    ("  - slice: {dim: 2, start: 2, length: 4}\n", "runs past the 5 positions"),
    ("  - slice: {dim: 2, end: 2, length: 1}\n", "end or length, not both"),
    ("  - identity: {name: a}\n  - sub: {inputs: [a, a, a]}\n", "sub takes two inputs"),
    ("  - std_conv2d: {out_channels: 2, kernel_size: 1, gamma: 2}\n", "needs gain: true"),
])
def test_errors_name_the_problem(layers: str, message: str) -> None:
    from archcalc.core.errors import ArchcalcError
    with pytest.raises(ArchcalcError, match=message):
        analyze(layers, "[3, 5, 4]")


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsampling_a_single_position_reads_it_alone(mode: str) -> None:
    """From size 1, every output reads the one input (bilinear's second tap is clamped onto it): the field of every
    output is that of the input position, [2, 4] here (a 3x3 conv around position 3, kept by the slices)."""
    from test_rf_oracle import spec_check
    text = f"""name: one
input: [2, 9, 9]
layers:
  - conv2d: {{out_channels: 2, kernel_size: 3, padding: 1}}
  - slice: {{dim: 2, start: 3, length: 1}}
  - slice: {{dim: 3, start: 3, end: 4}}
  - upsample: {{size: [6, 5], mode: {mode}}}
"""
    record, report = spec_check(f"one position {mode}", text)
    assert record == [(3, 3), (3, 3)]
    assert report.rf.axes[0].size == 3 and report.rf.axes[0].jump == 0
