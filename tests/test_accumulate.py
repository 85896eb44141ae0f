"""`accumulate: NAME`, a running sum over the items that name it (WaveNet's skip sum over its repeated layers).

Expected figures are written out: n items of shape [C, T] summed take n - 1 adds of C x T elements, and an oracle in
torch computes the same sum from the exported module's own convolutions.
"""
from __future__ import annotations

import pytest

import archcalc

SKIPS = """name: skips
variables: {T: 16, n: 4}
input: [3, T]
layers:
  - sequential:
      name: stack
      repeat: n
      layers:
        - conv1d: {name: skip, out_channels: 5, kernel_size: 1, accumulate: total}
        - conv1d: {name: res, out_channels: 3, kernel_size: 3, padding: 1, from: skip}
  - relu: {from: total}
"""


def rows(report: archcalc.Report, suffix: str) -> list[archcalc.LayerResult]:
    return [r for r in report.layers if r.name.endswith(suffix)]


def test_a_sum_over_a_repeat_adds_every_item_after_the_first() -> None:
    report = archcalc.analyze(archcalc.load(SKIPS))
    adds = rows(report, "accumulate_total")
    # the first copy's skip starts the sum; copies 1..3 each add theirs: 3 adds of [5, 16]
    assert [r.name for r in adds] == ["stack.1.accumulate_total", "stack.2.accumulate_total",
                                      "stack.3.accumulate_total"]
    assert all(r.type == "add" and r.flops == 5 * 16 and r.output_shape == (1, 5, 16) for r in adds)
    assert report.output_shape == (1, 5, 16)  # relu reads the sum by its name
    # the flow goes on from each item's own output: res reads skip, the next copy reads res
    assert rows(report, "stack.1.skip")[0].input_shape == (3, 16)
    # the sum's field is the union of its terms': the last skip sees 1 + 3 * 2 = 7 positions
    assert report.rf.axes[0].size == 7


def test_the_sum_is_what_torch_computes() -> None:
    torch = pytest.importorskip("torch")
    import re

    from archcalc.export import export
    network = archcalc.load(SKIPS)
    source = export(network)
    namespace: dict = {"__name__": "accumulate_oracle"}
    exec(compile(source, "<archcalc export>", "exec"), namespace)
    torch.manual_seed(0)
    model = namespace[re.search(r"model = (\w+)\(\)\.eval\(\)", source).group(1)]().eval()
    skips = [m for name, m in model.named_children() if name.endswith("skip")]
    res = [m for name, m in model.named_children() if name.endswith("res")]
    assert len(skips) == len(res) == 4
    x = torch.randn(1, 3, 16)
    with torch.no_grad():
        total, h = 0, x
        for s, r in zip(skips, res):  # total = skip_0(x) + skip_1(h_1) + ...: the oracle's own loop
            out = s(h)
            total, h = total + out, r(out)
        assert torch.allclose(model(x), torch.relu(total))


def test_a_sum_started_before_a_symbolic_repeat_scales_with_it() -> None:
    pytest.importorskip("sympy")
    text = SKIPS.replace("  - sequential:", "  - conv1d: {name: first, out_channels: 5, kernel_size: 1, "
                                            "accumulate: total}\n  - conv1d: {out_channels: 3, kernel_size: 1}\n"
                                            "  - sequential:")
    symbolic = archcalc.analyze(archcalc.load(text, symbolic=["n"]))
    for n in (1, 4):
        numeric = archcalc.analyze(archcalc.load(text, n=n))
        assert len(rows(numeric, "accumulate_total")) == n  # every copy adds to the sum begun before the repeat
        assert symbolic.totals.flops.subs({s: n for s in symbolic.totals.flops.free_symbols}) == numeric.totals.flops


@pytest.mark.parametrize("text, message", [
    (SKIPS.replace("input: [3, T]", "input: [3, T]\nsymbols: [n]"), "starts inside a repeat with a symbolic count"),
    (SKIPS.replace("accumulate: total", "accumulate: skip"), "also the name of this item's own output"),
    (SKIPS.replace("  - relu: {from: total}", "  - relu: {save: total}"), "'total' is the name of a running sum"),
    (SKIPS.replace("  - sequential:", "  - identity: {name: total}\n  - sequential:"),
     "already the name of a layer or saved tensor"),
    (SKIPS.replace("accumulate: total", "accumulate: a.b"), "accumulate must be a plain name"),
    (SKIPS.replace("kernel_size: 1, accumulate", "kernel_size: 1, out_channels: 6, accumulate").replace(
        "out_channels: 5, kernel_size: 1, out_channels: 6", "out_channels: \"5 + i\", kernel_size: 1"),
     "cannot merge the sum .total. \\[5, 16\\] and this output \\[6, 16\\]"),
])
def test_refusals_are_one_line(text: str, message: str) -> None:
    with pytest.raises(archcalc.ArchcalcError, match=message) as e:
        network = archcalc.load(text, symbolic=["n"]) if "symbols" in text else archcalc.load(text)
        archcalc.analyze(network)
    assert "\n" not in str(e.value.message)
