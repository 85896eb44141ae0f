"""scalar_mul (x * factor ** exponent) against torch modules written here: Gemma's embed_scale (a 0-d buffer of
sqrt(width), as transformers' GemmaTextScaledWordEmbedding holds it) and a plain multiply by 1/2 (DeiT's average).
Measured: parameters().numel(), buffers().numel(), FlopCounterMode / 2 (an elementwise aten.mul: 0), the output,
and the values the exported module computes."""
from __future__ import annotations

import math

import pytest

import archcalc

torch = pytest.importorskip("torch")
nn = torch.nn
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402  (after the importorskip)

SPEC = """name: scaled
variables: {width: 12}
input: [5, width]
layers:
  - scalar_mul: {name: embed_scale, factor: width, exponent: 0.5, buffer: true}
  - scalar_mul: {name: half, factor: 1 / 2}
"""


class Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("embed_scale", torch.tensor(12 ** 0.5), persistent=False)

    def forward(self, x):
        return x * self.embed_scale * 0.5


def test_scalar_mul_against_a_torch_module():
    model, x = Scaled().eval(), torch.randn(1, 5, 12)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(x)
    report = archcalc.analyze(archcalc.load(SPEC))
    assert report.totals.params == sum(p.numel() for p in model.parameters()) == 0
    assert report.totals.buffers == sum(b.numel() for b in model.buffers()) == 1
    assert report.totals.macs == counter.get_total_flops() // 2 == 0
    assert tuple(report.output_shape) == tuple(y.shape)
    assert report.totals.flops == 2 * 5 * 12  # one multiply per element, per layer


def test_exported_scalar_mul_computes_the_constant():
    from archcalc.export import export
    namespace: dict = {"__name__": "scalar_mul_export"}
    exec(compile(export(archcalc.load(SPEC)), "<export>", "exec"), namespace)
    model = namespace["Scaled"]().eval()
    x = torch.randn(2, 5, 12)
    torch.testing.assert_close(model(x), x * math.sqrt(12) / 2)
    assert sum(b.numel() for b in model.buffers()) == 1


def test_factor_must_be_a_number():
    with pytest.raises(archcalc.ArchcalcError) as e:
        archcalc.load(SPEC.replace("factor: 1 / 2", "factor: [1, 2]"))
    assert "factor" in str(e.value) and "\n" not in e.value.message
