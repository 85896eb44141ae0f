"""Assumptions that make symbolic formulas polynomials: the zoo's vision specs declare the multiple of their total
stride, --assume states one on the command line, and a formula that stays piecewise says so in one line.

Expected values: ResNet-18's MACs at 224x224 from tests/data/torchvision_reference.json (torchvision 0.29.1,
FlopCounterMode / 2), split as arithmetic: the classifier 512 x 1000 MACs whatever the size, the rest proportional to
H x W when H and W are multiples of the total stride 32 (every feature map is then H/2^k x W/2^k).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import archcalc
from archcalc.cli import main
from archcalc.core.symbolic import is_piecewise

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = json.loads((Path(__file__).parent / "data" / "torchvision_reference.json").read_text())["models"]
FC = 512 * 1000
PER_PIXEL = (REFERENCE["resnet18"]["macs"] - FC) // (224 * 224)
ASSUME = ["--assume", "H=multiple_of:32", "--assume", "W=multiple_of:32"]
# Valid convolutions: their sizes are H - 2k, no multiple makes the floors vanish (U-Net needs H = 16k + 12).
# Published sizes that are not multiples of what would remove the floors: EfficientNet-B1's 240 x 240 (its spec
# assumes 16, not its total stride 32); LeViT-128's 224 (timm's (r - 1) // 2 + 1 token grids need 64); Swin-T pads
# each stage to whole 7 x 7 windows (ceilings, gone only for multiples of 224).
PIECEWISE = {"inception_v3", "unet", "efficientnet_b1", "levit_128", "swin_t"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_assume_on_the_command_line_gives_the_polynomial(tmp_path, capsys):
    assert (REFERENCE["resnet18"]["macs"] - FC) % (224 * 224) == 0
    spec = tmp_path / "r18.yaml"  # the zoo spec without its symbols: line
    spec.write_text("\n".join(line for line in (ROOT / "specs" / "resnet18.yaml").read_text().splitlines()
                              if not line.startswith("symbols:")))
    assert run(capsys, "formula", str(spec), "--symbolic", "H", "W", *ASSUME) == (
        0, f"{PER_PIXEL}*H*W + {FC}\n", "")


def test_a_piecewise_formula_says_which_assumption_simplifies_it(tmp_path, capsys):
    spec = tmp_path / "r18.yaml"
    spec.write_text("\n".join(line for line in (ROOT / "specs" / "resnet18.yaml").read_text().splitlines()
                              if not line.startswith("symbols:")))
    status, out, err = run(capsys, "formula", str(spec), "--symbolic", "H", "W")
    assert status == 0 and "floor" in out
    assert err == ("archcalc: note: the macs formula is piecewise in H, W (floors of strided sizes); "
                   "--assume H=multiple_of:32 --assume W=multiple_of:32 (the total stride) may make it a polynomial\n")


@pytest.mark.parametrize(("argv", "expected"), [
    (["--symbolic", "H", "--assume", "W=multiple_of:32"],
     "archcalc: --assume: --assume W: W is not a symbol of this run (make it one with --symbolic W, or leave "
     "--assume out)\n"),
    (["--symbolic", "H", "--assume", "H=multiple:32"],
     "archcalc: --assume: --assume 'H=multiple:32' is not NAME=multiple_of:M (e.g. --assume H=multiple_of:32 (M a "
     "positive integer))\n"),
    (["--symbolic", "H", "--assume", "H=multiple_of:0"], None),
])
def test_bad_assumptions_are_one_line(capsys, argv, expected):
    status, out, err = run(capsys, "formula", str(ROOT / "specs" / "resnet18.yaml"), *argv)
    assert status == 2 and out == "" and err.count("\n") == 1 and err.startswith("archcalc: --assume: ")
    assert expected is None or err == expected


VISION = [p for p in sorted((ROOT / "specs").glob("*.yaml"))
          if any(line.startswith("input: [") and line.rstrip().endswith(("H, W]", "image, image]"))
                 for line in p.read_text().splitlines())]


@pytest.mark.parametrize("path", VISION, ids=lambda p: p.stem)
def test_every_vision_spec_gives_polynomial_macs(path):
    names = ["image"] if "image, image]" in path.read_text() else ["H", "W"]
    report = archcalc.analyze(archcalc.load(path, symbolic=names))
    assert is_piecewise(report.totals.macs) == (path.stem in PIECEWISE)
    if path.stem not in PIECEWISE:
        assert report.assumptions  # stated: the report names the multiples it assumes
