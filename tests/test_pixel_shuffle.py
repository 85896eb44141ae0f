"""pixel_shuffle and pixel_unshuffle against torch.nn.PixelShuffle / PixelUnshuffle.

Where the expected numbers come from: torch modules written here (conv before and after), measured as in the other
oracle tests (tests/torch_measure.py: params, buffers, FlopCounterMode // 2, every leaf's output shape); the shapes
of the symbolic and channels-last cases are arithmetic written in the test, and torch's own pixel_(un)shuffle on a
permuted tensor. The receptive fields are checked against the gradient-support oracle in tests/test_rf_oracle.py;
the export round trip and every tool's count in tests/test_export.py and tests/test_peers.py (tests/layer_specs.py).
"""
from __future__ import annotations

import pytest

import archcalc
from archcalc.core.errors import ArchcalcError

torch = pytest.importorskip("torch")
nn = torch.nn
from torch_measure import measure  # noqa: E402  (after the importorskip)


def spec(r: int, c: int = 2, h: int = 6, w: int = 5, batch: int = 1) -> str:
    return f"""name: shuffle
input: [3, {h}, {w}]
batch: {batch}
layers:
  - conv2d: {{out_channels: {c * r * r}, kernel_size: 3, padding: 1}}
  - pixel_shuffle: {{upscale_factor: {r}}}
  - conv2d: {{out_channels: 4, kernel_size: 3, padding: 1}}
  - pixel_unshuffle: {{downscale_factor: {r}}}
  - conv2d: {{out_channels: 5, kernel_size: 1}}
"""


def torch_model(r: int, c: int = 2) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, c * r * r, 3, padding=1), nn.PixelShuffle(r), nn.Conv2d(c, 4, 3, padding=1),
                         nn.PixelUnshuffle(r), nn.Conv2d(4 * r * r, 5, 1))


@pytest.mark.parametrize("r", [1, 2, 3, 4])
@pytest.mark.parametrize("batch", [1, 2])
def test_matches_torch(r: int, batch: int) -> None:
    report = archcalc.analyze(archcalc.load(spec(r, batch=batch)))
    got = measure(torch_model(r), (batch, 3, 6, 5))
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == \
           (got["params"], got["buffers"], got["macs"])
    assert tuple(report.output_shape) == got["output_shape"]
    assert [(tuple(row.output_shape), row.params) for row in report.layers] == got["calls"]
    for row in report.layers:
        if row.type.startswith("pixel_"):
            assert (row.params, row.buffers, row.macs, row.flops) == (0, 0, 0, 0)


def test_shapes_are_torchs_rule() -> None:
    # [C r^2, H, W] -> [C, H r, W r] and back: 18 = 2 * 3^2 channels at 4 x 7 give 2 at 12 x 21
    text = "name: s\ninput: [18, 4, 7]\nlayers:\n  - pixel_shuffle: {upscale_factor: 3}\n" \
           "  - pixel_unshuffle: {downscale_factor: 3}\n  - pixel_unshuffle: {downscale_factor: 2}\n"
    with pytest.raises(ArchcalcError, match="does not divide the height, 4|does not divide the width, 7"):
        archcalc.analyze(archcalc.load(text))
    report = archcalc.analyze(archcalc.load(text.replace("[18, 4, 7]", "[18, 4, 6]")))
    assert [tuple(r.output_shape) for r in report.layers] == [(1, 2, 12, 18), (1, 18, 4, 6), (1, 72, 2, 3)]


@pytest.mark.parametrize("shape, layer, message", [
    ("[6, 8, 8]", "pixel_shuffle: {upscale_factor: 2}",
     "upscale_factor=2 needs channels divisible by 2^2, the input has 6"),
    ("[6, 10, 8]", "pixel_unshuffle: {downscale_factor: 4}", "downscale_factor=4 does not divide the height, 10"),
    ("[6, 9, 8]", "pixel_unshuffle: {downscale_factor: 3}", "downscale_factor=3 does not divide the width, 8"),
])
def test_refusals_are_one_line_and_name_the_layer(shape: str, layer: str, message: str) -> None:
    with pytest.raises(ArchcalcError) as e:
        archcalc.analyze(archcalc.load(f"name: s\ninput: {shape}\nlayers:\n  - {layer}\n"))
    assert message in str(e.value) and "\n" not in str(e.value)
    assert f"layer {layer.split(':')[0]}_1: " in str(e.value)


def test_rank_other_than_three_is_refused() -> None:
    with pytest.raises(ArchcalcError, match=r"rank-3 input \[channels, height, width\]"):
        archcalc.analyze(archcalc.load("name: s\ninput: [4, 2, 6, 6]\nlayers:\n  - pixel_shuffle: {upscale_factor: 2}"))


SYMBOLIC = """name: s
symbols: {H: {multiple_of: 4}, W: {multiple_of: 4}}
input: [4, H, W]
layers:
  - pixel_unshuffle: {downscale_factor: 2}
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - pixel_shuffle: {upscale_factor: 2}
  - pixel_unshuffle: {downscale_factor: 4}
"""


def test_symbolic_shapes_are_exact_and_equal_the_numeric_ones() -> None:
    import sympy
    report = archcalc.analyze(archcalc.load(SYMBOLIC))
    h, w = (sympy.Symbol(n, integer=True, positive=True) for n in "HW")
    # multiples of 4: [16, H/2, W/2], [8, H/2, W/2], [2, H, W], [32, H/4, W/4], no floor left
    want = [(1, 16, h / 2, w / 2), (1, 8, h / 2, w / 2), (1, 2, h, w), (1, 32, h / 4, w / 4)]
    assert [tuple(row.output_shape) for row in report.layers] == want
    for hv, wv in [(4, 8), (12, 20), (32, 16)]:
        numeric = archcalc.analyze(archcalc.load(SYMBOLIC, H=hv, W=wv))
        values = {h: hv, w: wv}
        assert [tuple(int(sympy.sympify(d).subs(values)) for d in row.output_shape) for row in report.layers] == \
               [tuple(row.output_shape) for row in numeric.layers]
        # conv 3 x 3, 16 channels to 8, at H/2 x W/2: 16 * 9 * 8 MACs per position
        assert int(report.totals.macs.subs(values)) == numeric.totals.macs == 16 * 9 * 8 * (hv // 2) * (wv // 2)


def test_channels_last_is_torchs_order_on_the_permuted_tensor() -> None:
    """layout: channels_last holds [H, W, C]; the layer is torch's on [C, H, W] (Keras has no such layer)."""
    text = "name: s\nlayout: channels_last\ninput: [8, 6, 4]\nlayers:\n  - pixel_unshuffle: {downscale_factor: 2}\n" \
           "  - pixel_shuffle: {upscale_factor: 2}\n  - pixel_shuffle: {upscale_factor: 2}\n"
    report = archcalc.analyze(archcalc.load(text))
    x = torch.zeros(1, 8, 6, 4)
    a = torch.nn.functional.pixel_unshuffle(x.movedim(-1, 1), 2)
    b = torch.nn.functional.pixel_shuffle(a, 2)
    c = torch.nn.functional.pixel_shuffle(b, 2)
    assert [tuple(row.output_shape) for row in report.layers] == \
           [tuple(t.movedim(1, -1).shape) for t in (a, b, c)] == [(1, 4, 3, 16), (1, 8, 6, 4), (1, 16, 12, 1)]
