"""The torch oracle's measurement, shared by the tests that hold archcalc against torch modules written by hand.

One eval-mode forward pass under no_grad on a zeros input: params = sum of parameters().numel(), buffers = sum of
buffers().numel(), macs = torch.utils.flop_counter.FlopCounterMode total // 2 (2 FLOPs per multiply-accumulate of
the mm, addmm, bmm and convolution kernels; nothing else), and the output shape; per module besides, what forward
hooks see. ``check_zoo_model`` holds a zoo spec against such a module and torchvision's reference figures.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import archcalc


def count_macs(fn: Callable[[], Any]) -> int:
    """FlopCounterMode's total / 2 for one call of ``fn``, under no_grad (inference, as archcalc counts)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn()
    flops = counter.get_total_flops()
    assert flops % 2 == 0  # FlopCounterMode counts 2 FLOPs per multiply-accumulate
    return flops // 2


def leaves(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if not list(m.children())]


def measure(model: nn.Module, input_shape: tuple[int, ...]) -> dict:
    """Totals and output shape of one forward pass on zeros; ``layers``: per module that holds parameters of its
    own, by name, its output shape, params and buffers; ``calls``: per leaf module in call order, its output shape
    and parameter count."""
    layers: dict[str, tuple] = {}
    calls: list[tuple[tuple[int, ...], int]] = []

    def own(name: str) -> Callable:
        def record(module: nn.Module, args: tuple, out: Any) -> None:
            layers[name] = (tuple(out.shape), sum(p.numel() for p in module.parameters(recurse=False)),
                            sum(b.numel() for b in module.buffers(recurse=False)))
        return record

    def called(module: nn.Module, args: tuple, out: Any) -> None:
        calls.append((tuple(out.shape), sum(p.numel() for p in module.parameters())))

    hooks = [m.register_forward_hook(own(name)) for name, m in model.named_modules()
             if list(m.parameters(recurse=False))]
    hooks += [m.register_forward_hook(called) for m in leaves(model)]
    model.eval()
    out: list[torch.Tensor] = []
    try:
        macs = count_macs(lambda: out.append(model(torch.zeros(input_shape))))
    finally:
        for h in hooks:
            h.remove()
    return {"params": sum(p.numel() for p in model.parameters()),
            "buffers": sum(b.numel() for b in model.buffers()),
            "macs": macs, "output_shape": tuple(out[0].shape), "layers": layers, "calls": calls}


SPECS = Path(__file__).resolve().parent.parent / "specs"
REFERENCE = json.loads((Path(__file__).parent / "data" / "torchvision_reference.json").read_text())["models"]


def check_zoo_model(name: str, model: nn.Module, rename: Callable[[str], str]) -> dict:
    """specs/<name>.yaml against ``model``, a hand-written mirror of torchvision's class, and the module against
    tests/data/torchvision_reference.json (torchvision 0.29.1 itself); ``rename`` maps a torch module name to
    archcalc's layer path. Returns the measurement."""
    report = archcalc.analyze(archcalc.load(SPECS / f"{name}.yaml"))
    got = measure(model, tuple(int(d) for d in report.input_shape))
    # the torch oracle against archcalc: totals and output shape
    assert report.totals.params == got["params"]
    assert report.totals.buffers == got["buffers"]
    assert report.totals.macs == got["macs"]
    assert tuple(report.output_shape) == got["output_shape"] == (1, 1000)
    # ... and every layer that holds parameters (conv, batch norm, linear), by name
    archcalc_layers = {row.name: (tuple(row.output_shape), row.params, row.buffers)
                       for row in report.layers if row.params}
    assert archcalc_layers == {rename(name): value for name, value in got["layers"].items()}
    # the reference JSON (torchvision 0.29.1 itself) against the hand-written module
    ref = REFERENCE[name]
    assert list(report.input_shape) == [1, *ref["input"]]
    assert (got["params"], got["buffers"], got["macs"]) == (ref["params"], ref["buffers"], ref["macs"])
    return got
