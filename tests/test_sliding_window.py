"""A causal sliding window in closed form, numeric and symbolic, against (query, key) pairs counted by brute force.

The oracle is the mask itself: query i (0-based, after `cache` earlier positions) sees key j when j <= cache + i and
j > cache + i - window; the pairs are counted by looping over (i, j), written out here.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import archcalc

sympy = pytest.importorskip("sympy")
SPECS = Path(__file__).resolve().parent.parent / "specs"


def brute_pairs(t: int, cache: int, window: int) -> int:
    return sum(1 for i in range(t) for j in range(cache + t) if cache + i - window < j <= cache + i)


LAYER = """name: window
variables: {T: 9, w: 4, c: 0}
symbols: [T, w, c]
input: [T, 16]
layers:
  - multihead_attention: {num_heads: 2, causal: true, window: w, cache: c}
"""


@pytest.mark.parametrize("t, cache, window", [(1, 0, 1), (9, 0, 4), (4, 0, 9), (9, 3, 4), (2, 7, 4), (5, 2, 7),
                                              (6, 0, 6), (1, 12, 5)])
def test_pairs_numeric_and_symbolic_agree_with_the_mask(t, cache, window):
    from archcalc.layers.attention import pairs
    want = brute_pairs(t, cache, window)
    assert pairs(t, cache, True, window) == want
    T, w, c = sympy.symbols("T w c", integer=True, positive=True)
    formula = pairs(T, c, True, w)
    assert formula.subs({T: t, w: window, c: cache}) == want


def test_symbolic_report_is_the_numeric_one_at_every_size():
    """The whole layer in T, w and the cache c: MACs, FLOPs and the K/V cache (at most w - 1
    positions: a next query's window besides its own) substitute to the numeric report, on both sides of T + c = w."""
    report = archcalc.analyze(archcalc.load(LAYER, symbolic=["T", "w", "c"]))
    names = {str(s): s for s in report.totals.macs.free_symbols | report.totals.cache.free_symbols}
    assert set(names) == {"T", "w", "c"}
    for t, window, cache in [(9, 4, 0), (3, 8, 0), (5, 5, 2), (1, 4, 9)]:
        numeric = archcalc.analyze(archcalc.load(LAYER, T=t, w=window, c=cache)).totals
        at = {names["T"]: t, names["w"]: window, names["c"]: cache}
        pairs = brute_pairs(t, cache, window)
        assert numeric.macs == t * 4 * 16 * 16 + 2 * 2 * 8 * pairs  # projections, then QK^T and AV per pair
        assert report.totals.macs.subs(at) == numeric.macs
        assert report.totals.flops.subs(at) == numeric.flops
        assert report.totals.cache.subs(at) == numeric.cache == 2 * 16 * min(window - 1, cache + t)


def test_mistral_7b_in_t_and_window():
    """specs/mistral_7b.yaml in T and window: a Min(T, window) in the formula, exact at T below and above it."""
    report = archcalc.analyze(archcalc.load(SPECS / "mistral_7b.yaml", symbolic=["T", "window"]))
    names = {str(s): s for s in report.totals.macs.free_symbols}
    assert set(names) == {"T", "window"} and report.totals.macs.has(sympy.Min)
    for t, window in [(16, 5), (5, 16), (4096, 4096), (8192, 4096)]:
        numeric = archcalc.analyze(archcalc.load(SPECS / "mistral_7b.yaml", T=t, window=window)).totals
        assert report.totals.macs.subs({names["T"]: t, names["window"]: window}) == numeric.macs
