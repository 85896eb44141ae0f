"""Charts of a report: per-layer bars, cumulative totals, receptive-field growth, a summary, and the totals.

    archcalc plot SPEC -o FILE.(png|svg|pdf) --kind layers|cumulative|rf|summary|totals [--depth N]

matplotlib is an optional extra (``pip install 'archcalc[plot]'``), imported only here and only when a
chart is drawn. Figures are built on the Agg canvas without pyplot, so drawing one neither changes the
caller's backend nor leaves figures open. The plotted data are the report's exact figures (as floats,
exact below 2**53); only the tick labels use human units. Text from the spec (the network's and layers' names)
and the convention goes through ``escape.mathtext``: no ``$`` in it starts mathtext, and TeX is never used.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.errors import SpecError
from ..core.num import FLOAT_RANGE, as_float, fmt_number, is_concrete
from ..walk.report import BlockResult, Report
from ..walk.rf import AxisRF
from .plot_charts import cumulative_chart, layers_chart, summary_chart
from .plot_rf import rf_chart, rf_series
from .plot_style import FORMATS, STYLE, TEXT, image_format, load_matplotlib, save
from .plot_totals import totals_chart

KINDS = ("layers", "cumulative", "rf", "summary", "totals")


def plot(report: Report, kind: str = "summary", path: str | Path | None = None, depth: int | None = None) -> Any:
    """Draw one chart of ``report`` and save it to ``path`` (.png, .svg or .pdf) when given.

    ``kind``: ``layers`` (params and MACs per layer; with ``depth``, blocks below it collapse to their
    subtotals), ``cumulative`` (running totals), ``rf`` (receptive-field size per spatial axis) or
    ``summary`` (params, FLOPs and RF size per layer) or ``totals`` (the network's params, FLOPs and receptive
    field, each with its exact figure); ``depth`` only affects ``layers``. Returns the
    matplotlib ``Figure``. A symbolic report cannot be drawn (``archcalc sweep --plot`` draws formulas).
    """
    if kind not in KINDS:
        raise SpecError(f"unknown plot kind {kind!r}", hint=f"use one of {', '.join(KINDS)}")
    fmt = image_format(path) if path is not None else None
    if depth is not None and depth < 1:
        raise SpecError(f"--depth {depth}: must be at least 1", hint="1 shows the top level only")
    _check_numeric(report)
    _check_drawable(report, kind)
    if not report.layers:
        raise SpecError("nothing to plot: the network has no layers")
    if kind == "rf" and not rf_series(report):
        raise SpecError("the input has no spatial axes, so there is no receptive field to plot",
                        hint="--kind layers, cumulative or summary")
    mpl = load_matplotlib()
    with mpl.rc_context(STYLE):
        fig = _DRAW[kind](report, depth)
        if path is not None:
            save(fig, path, fmt)
    return fig


def _check_numeric(report: Report) -> None:
    symbols = list(report.symbols or ())
    if not symbols:
        for row in report.layers:
            values = [row.params, row.macs, row.flops] + [a.size for a in row.rf.axes if isinstance(a, AxisRF)]
            if not all(is_concrete(v) for v in values):
                symbols = sorted({str(s) for v in values for s in getattr(v, "free_symbols", ())}) or ["symbols"]
                break
    if symbols:
        raise SpecError(f"cannot plot a symbolic report (its figures are formulas in {', '.join(symbols)})",
                        hint="give the symbols values with --set, or plot the totals against a symbol with "
                             "archcalc sweep SPEC --vary NAME=START:STOP:STEP --plot FILE")


def _check_drawable(report: Report, kind: str) -> None:
    """Charts draw floats: every figure the chart draws must have one (a count can pass 1e308)."""
    counts = () if kind == "rf" else ("params", "buffers", "macs", "flops", "activations")
    t = report.totals
    named = [("the input shape", d) for d in report.input_shape] + [(f"the total {k}", getattr(t, k)) for k in counts]
    for r in [*report.layers, *report.outline]:
        figures = r.totals if isinstance(r, BlockResult) else r
        named += [(f"{r.name}: {k}", getattr(figures, k)) for k in counts]
        named += [(f"{r.name}: receptive field", a.size) for a in (r.rf.axes if r.rf else ()) if isinstance(a, AxisRF)]
    for what, value in named:
        if as_float(value) is None and value != 0:
            raise SpecError(f"{what} = {fmt_number(value, '.3g')} is beyond the range of a float ({FLOAT_RANGE}), "
                            "which a chart cannot draw", hint="the table and -f json give it exactly")


_DRAW = {"layers": layers_chart, "cumulative": cumulative_chart, "rf": rf_chart, "summary": summary_chart,
         "totals": totals_chart}


__all__ = ["FORMATS", "KINDS", "TEXT", "plot"]
