"""specs/unet.yaml, the original U-Net (Ronneberger, Fischer & Brox 2015, Fig. 1), by hand and against PyTorch.

Where the expected numbers come from:
- shapes: Fig. 1 of the paper (572x572 input tile, 388x388 output map, 2 classes), and the arithmetic of unpadded
  3x3 convs (n - 2), 2x2 pools (n / 2) and 2x2 stride-2 up-convolutions (2n) written out below.
- params: per conv, c_in * c_out * k * k weights + c_out biases, written out below.
- torch oracle: the network written below as an nn.Module (center crop by slicing, torch.cat([crop, up], 1)),
  measured in eval mode under no_grad on a zeros input of batch 1, on torch's meta device (shapes only):
  params = sum of parameters().numel(), buffers = sum of buffers().numel(),
  macs = torch.utils.flop_counter.FlopCounterMode(display=False) total // 2, and the output shape.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import archcalc

SPEC = Path(__file__).resolve().parent.parent / "specs" / "unet.yaml"


def analyze() -> archcalc.Report:
    return archcalc.analyze(archcalc.load(SPEC))


def conv(c_in: int, c_out: int, k: int) -> int:
    """Parameters of a conv (or transposed conv) with bias: weights c_in * c_out * k * k, biases c_out."""
    return c_in * c_out * k * k + c_out


# Per level: two 3x3 convs; the expanding path starts each level with a 2x2 up-convolution and its first conv reads
# the concatenation of the cropped skip and the up-convolved map (2x the level's channels).
UNET_PARAMS = (
    conv(1, 64, 3) + conv(64, 64, 3)  # enc1: 640 + 36,928
    + conv(64, 128, 3) + conv(128, 128, 3)  # enc2: 73,856 + 147,584
    + conv(128, 256, 3) + conv(256, 256, 3)  # enc3: 295,168 + 590,080
    + conv(256, 512, 3) + conv(512, 512, 3)  # enc4: 1,180,160 + 2,359,808
    + conv(512, 1024, 3) + conv(1024, 1024, 3)  # bottom: 4,719,616 + 9,438,208
    + conv(1024, 512, 2) + conv(1024, 512, 3) + conv(512, 512, 3)  # up4, dec4: 2,097,664 + 4,719,104 + 2,359,808
    + conv(512, 256, 2) + conv(512, 256, 3) + conv(256, 256, 3)  # up3, dec3: 524,544 + 1,179,904 + 590,080
    + conv(256, 128, 2) + conv(256, 128, 3) + conv(128, 128, 3)  # up2, dec2: 131,200 + 295,040 + 147,584
    + conv(128, 64, 2) + conv(128, 64, 3) + conv(64, 64, 3)  # up1, dec1: 32,832 + 73,792 + 36,928
    + conv(64, 2, 1)  # final 1x1: 130
)


def test_params_by_hand() -> None:
    assert UNET_PARAMS == 31_030_658
    report = analyze()
    assert report.totals.params == UNET_PARAMS
    assert report.totals.buffers == 0


def test_shapes_follow_figure_1() -> None:
    report = analyze()
    assert tuple(report.input_shape) == (1, 1, 572, 572)
    assert tuple(report.output_shape) == (1, 2, 388, 388)
    shapes = {row.name: tuple(row.output_shape[1:]) for row in report.layers}
    # contracting path: 572 - 2 - 2 = 568, / 2 = 284 - 4 = 280, / 2 = 140 - 4 = 136, / 2 = 68 - 4 = 64,
    # / 2 = 32 - 4 = 28 at the bottom
    assert shapes["enc1.conv2"] == (64, 568, 568)
    assert shapes["enc2.conv2"] == (128, 280, 280)
    assert shapes["enc3.conv2"] == (256, 136, 136)
    assert shapes["enc4.conv2"] == (512, 64, 64)
    assert shapes["bottom.conv2"] == (1024, 28, 28)
    # expanding path: up-conv 2 * 28 = 56 (the skip 64 is cropped to 56), - 4 = 52; 2 * 52 = 104 (136 -> 104),
    # - 4 = 100; 2 * 100 = 200 (280 -> 200), - 4 = 196; 2 * 196 = 392 (568 -> 392), - 4 = 388
    assert shapes["up4"] == shapes["crop4"] == (512, 56, 56)
    assert shapes["cat4"] == (1024, 56, 56)
    assert shapes["dec4.conv2"] == (512, 52, 52)
    assert shapes["crop3"] == (256, 104, 104)
    assert shapes["dec3.conv2"] == (256, 100, 100)
    assert shapes["crop2"] == (128, 200, 200)
    assert shapes["dec2.conv2"] == (128, 196, 196)
    assert shapes["crop1"] == (64, 392, 392)
    assert shapes["cat1"] == (128, 392, 392)
    assert shapes["final"] == (2, 388, 388)
    # the crops are the built-in crop by a margin per side: (64 - 56) / 2 = 4, (136 - 104) / 2 = 16, ...
    assert [row.name for row in report.layers if row.type == "crop"] == ["crop4", "crop3", "crop2", "crop1"]


# ---- the torch oracle ----

def _torch_unet():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    def double_conv(c_in: int, c_out: int):
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3), nn.ReLU(inplace=True),
                             nn.Conv2d(c_out, c_out, 3), nn.ReLU(inplace=True))

    def center_crop(x, size: int):
        offset = (x.shape[-1] - size) // 2  # the sizes differ by an even number at every level
        return x[..., offset:offset + size, offset:offset + size]

    class UNet(nn.Module):
        def __init__(self, in_channels: int = 1, classes: int = 2) -> None:
            super().__init__()
            widths = [64, 128, 256, 512]
            self.encoders = nn.ModuleList()
            c = in_channels
            for w in widths:
                self.encoders.append(double_conv(c, w))
                c = w
            self.pool = nn.MaxPool2d(2)
            self.bottom = double_conv(512, 1024)
            self.ups = nn.ModuleList(nn.ConvTranspose2d(2 * w, w, kernel_size=2, stride=2) for w in reversed(widths))
            self.decoders = nn.ModuleList(double_conv(2 * w, w) for w in reversed(widths))
            self.final = nn.Conv2d(64, classes, kernel_size=1)

        def forward(self, x):
            skips = []
            for encoder in self.encoders:
                x = encoder(x)
                skips.append(x)
                x = self.pool(x)
            x = self.bottom(x)
            for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips)):
                x = up(x)
                x = decoder(torch.cat([center_crop(skip, x.shape[-1]), x], 1))
            return self.final(x)

    with torch.device("meta"):  # shapes only: no weights are allocated or initialised
        return torch, UNet()


def test_spec_matches_torch() -> None:
    torch, model = _torch_unet()
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    # on the meta device: shapes and the FLOP count without computing (the full pass takes ~150 GMACs)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(torch.zeros(1, 1, 572, 572, device="meta"))
    flops = counter.get_total_flops()
    assert flops % 2 == 0  # FlopCounterMode counts 2 FLOPs per multiply-accumulate
    report = analyze()
    assert report.totals.params == sum(p.numel() for p in model.parameters()) == UNET_PARAMS
    assert report.totals.buffers == sum(b.numel() for b in model.buffers()) == 0
    assert report.totals.macs == flops // 2
    assert tuple(report.output_shape) == tuple(y.shape) == (1, 2, 388, 388)
