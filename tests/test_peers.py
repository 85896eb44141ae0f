"""The counting presets against the tools they describe, run on archcalc's own exports.

For every spec in specs/ (and the cases below): export it (archcalc export --to pytorch), build the module (seeded,
eval mode), check that its parameters, buffers and output shape are archcalc's, then run each counter on it and
assert that archcalc's total under the matching preset equals the tool's total exactly. How each tool is run, and
the reduced sizes the zoo runs at (SIZES), are in tests/peer_tools.py, which tests/test_peers_torchvision.py shares.

archcalc's side is archcalc.analyze(network, convention=archcalc.count.preset.load(tool)) on the very network that was
exported (same overrides). The input is the export's example_input() (random token ids for a token input).

The cases:
- every zoo spec, at batch 1;
- four of them at batch 2 or 3 (ptflops divides module counts by the batch but not functional ones);
- LAYERS: the small specs of tests/layer_specs.py (PEERS), which use every layer type and option the zoo does not,
  and every form a layer's `call` can name (module, function, reduction, parameter, explicit), so that every rule
  of every preset is exercised. Every layer's output reaches the network output there: fvcore counts from a JIT
  trace, which drops dead code.
Not described by the presets, so not in the cases (the preset notes say why; tests/layer_specs.py lists the specs
left out): Keras' "same" pooling (exported with F.pad or a helper function), fractional upsampling factors under
ptflops, broadcast matmuls and non-bmm einsums under fvcore.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from layer_specs import PEERS, spec_text
from peer_tools import IMAGE, SIZES, TOOLS, check, measure, preset_total, quiet
from torchvision_oracle import models

import archcalc
from archcalc.count.preset import load

torch = pytest.importorskip("torch")
# ptflops imports torchvision.ops when torchvision is installed, and torchvision 0.28.0's package __init__ raises
# against this torch (tests/torchvision_oracle.py says why): register its bare package first, as the oracle does.
models()

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))

# Beyond the zoo: the small specs of tests/layer_specs.py that the presets describe (PEERS), which use every layer
# type and option the zoo does not.
LAYERS = PEERS

# At batch > 1 as well: ptflops divides its module counts by the batch but not its functional ones.
BATCHED = {"resnet18": {**IMAGE, "batch": 2}, "vit_b_16": {**SIZES["vit_b_16"], "batch": 2},
           "gpt2": {**SIZES["gpt2"], "B": 2}, "lstm_lm": {**SIZES["lstm_lm"], "batch": 3}}

CASES = [*SPECS, *(f"{spec}@batch" for spec in BATCHED), *(f"layers:{name}" for name in LAYERS)]


def test_every_zoo_spec_has_a_size():
    assert set(SIZES) == set(SPECS)


def test_every_layer_type_is_checked():
    """Each layer type of the catalogue is in a case above, so every rule of every preset is exercised."""
    from archcalc.layers import LAYER_TYPES
    seen = {row.type for case in CASES for row in archcalc.analyze(network(case)).layers}
    assert set(LAYER_TYPES) - seen == set()


def test_every_call_form_is_checked():
    """Each form a layer type's `call` names (module, function, ...) is in a case above, so that every preset's rule
    is checked on each form of the op the export writes."""
    from archcalc.layers import LAYER_TYPES
    forms = {(name, form) for name, entry in LAYER_TYPES.load_all().items() if "call" in entry.model.FIELDS
             for form in call_forms(entry.model)}
    assert len(forms) > 40  # activations, pools, norms, dropout, flatten, upsample, parameters, attention
    seen = set()
    for case in CASES:
        for row in archcalc.analyze(network(case)).layers:
            if "call" in type(row.spec).FIELDS:
                form = row.spec.call or ("module" if row.spec.torch_native else "explicit")  # attention's default
                seen.add((row.type, form))
    assert forms - seen == set()


def call_forms(model) -> list[str]:
    json = model.FIELDS["call"].kind.json
    return json.get("enum") or next(a["enum"] for a in json["anyOf"] if "enum" in a)


def network(case: str):
    if case.startswith("layers:"):
        name = case.removeprefix("layers:")
        return archcalc.load(spec_text(name))
    spec, batched = case.removesuffix("@batch"), case.endswith("@batch")
    return archcalc.load(ROOT / "specs" / f"{spec}.yaml", **(BATCHED[spec] if batched else SIZES[spec]))


@functools.lru_cache(maxsize=1)  # the cases run one after another: one pristine module at a time
def prepared(case: str):
    """(network, pristine eval-mode module, example input) for a case."""
    from archcalc.export import export
    net = network(case)
    source = export(net)
    namespace: dict = {"__name__": "archcalc_peers_test"}
    exec(compile(source, f"<archcalc export {case}>", "exec"), namespace)
    cls = namespace[re.search(r"model = (\w+)\(\)\.eval\(\)", source).group(1)]
    torch.manual_seed(0)
    model = cls().eval()
    return net, model, namespace["example_input"]()


@pytest.mark.parametrize("case", CASES)
def test_module_is_archcalcs(case):
    """The exported module has archcalc's parameters (a tied weight once), buffers and output shape."""
    net, model, x = prepared(case)
    report = archcalc.analyze(net)
    with torch.no_grad(), quiet():
        y = model(*x) if isinstance(x, tuple) else model(x)  # a tuple: several inputs (inputs:)
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    assert sum(b.numel() for b in model.buffers()) == report.totals.buffers
    if report.outputs:  # several outputs: the module returns them as a tuple
        assert [tuple(t.shape) for t in y] == [tuple(o.output_shape) for o in report.outputs]
    else:
        assert tuple(y.shape) == tuple(report.output_shape)


PAIRS = [(case, tool) for case in CASES for tool in TOOLS]


# fvcore counts from a JIT trace, which drops dead code: layers whose output reaches no later layer nor the network
# output. WaveNet's last residual 1x1 conv is one (the network's output is the skip sum's); the model computes it, and
# FlopCounterMode and the hooking tools count it.
DEAD = {"wavenet": ("dilated_stack.49.dense",)}


@pytest.mark.parametrize("case, tool", PAIRS, ids=[f"{c}-{t}" for c, t in PAIRS])
def test_tool_total_is_the_presets(case, tool):
    net, model, x = prepared(case)
    want = preset_total(net, tool)
    if tool == "fvcore" and case in DEAD:
        want -= sum(r.macs for r in archcalc.analyze(net, convention=load(tool)).layers if r.name in DEAD[case])
    check(tool, measure(tool, model, x, case), want, case)
