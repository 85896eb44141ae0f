"""The torch oracle's measurement, shared by the tests that hold archcalc against torch modules written by hand.

One eval-mode forward pass under no_grad on a zeros input: params = sum of parameters().numel(), buffers = sum of
buffers().numel(), macs = torch.utils.flop_counter.FlopCounterMode total // 2 (2 FLOPs per multiply-accumulate of
the mm, addmm, bmm and convolution kernels; nothing else), and the output shape; per module besides, what forward
hooks see.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


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
