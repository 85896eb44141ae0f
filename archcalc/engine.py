"""The engine: walk the layers, apply each formula to the incoming shape, compose receptive fields,
scale by the batch and sum. Formulas never see the batch; the engine never sees a formula's maths."""
from __future__ import annotations

from typing import Any

from .convention import ARCHCALC
from .errors import ArchcalcError
from .layers import REGISTRY
from .num import prod
from .report import LayerResult, Report, Totals
from .rf import RF
from .spec import Network, build


def analyze(network: Network, **overrides: Any) -> Report:
    """Analyse a loaded network; keyword overrides replace variables, ``batch`` or ``input`` first."""
    if overrides:
        network = build(network.raw, network.file, overrides)
    batch = network.batch
    shape = network.input
    rf = RF.of_input(len(shape) - 1)
    rows: list[LayerResult] = []
    totals = Totals()
    for layer in network.layers:
        try:
            cost = REGISTRY[layer.spec.type].formula(layer.spec, shape)
        except ArchcalcError as e:
            raise e.locate(path=layer.name, file=network.file, line=layer.line) from None
        shape = tuple(cost.shape)
        rf = rf.then(cost.rf)
        flops_by_kind = {k: v * batch for k, v in cost.flops.items() if not (isinstance(v, int) and v == 0)}
        row = LayerResult(
            name=layer.name, type=layer.spec.type, kind=layer.spec.kind,
            output_shape=(batch, *shape), params=cost.params, buffers=cost.buffers,
            macs=cost.macs * batch, flops=sum(flops_by_kind.values()), flops_by_kind=flops_by_kind,
            activations=prod(shape) * batch, rf=rf, line=layer.line,
        )
        rows.append(row)
        totals.add(row)
    return Report(network.name, (batch, *network.input), rows, totals, ARCHCALC, (batch, *shape), rf)
