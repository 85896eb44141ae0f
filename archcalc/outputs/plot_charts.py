"""The charts of figures per layer: parameters and MACs per layer (or per block, collapsed at a depth),
their running totals, and the summary (parameters, FLOPs and receptive field)."""
from __future__ import annotations

from itertools import accumulate
from typing import Any

from ..core.escape import mathtext
from ..core.units import human
from ..walk.report import BlockResult, LayerResult, Report
from .plot_rf import draw_rf, spatial_sizes
from .plot_style import (
    NAMED_TICKS,
    bar_colour,
    figures_of,
    footnote,
    formatter,
    header,
    kind_legend,
    layer_axis,
    log_if_spread,
    new_figure,
    scale_note,
    shade_bands,
)


def _rows(report: Report, depth: int | None) -> list[LayerResult | BlockResult]:
    """The bars of the layers chart: every leaf layer, or with ``depth`` the layers above it and the blocks
    collapsed at it (a block of depth N - 1 stands for its contents). Blocks that stay open are not bars:
    their contents are, and the bars always add up to the totals."""
    if depth is None:
        return list(report.layers)
    return [r for r in report.outline if r.depth < depth and (isinstance(r, LayerResult) or r.depth == depth - 1)]


def layers_chart(report: Report, depth: int | None) -> Any:
    """Parameters and MACs per layer (or per row of the outline at ``depth``), as horizontal bars."""
    rows = _rows(report, depth)
    n = len(rows)
    names = [mathtext(r.name + (f"  [{r.type}, {len(r.layers)} layers]" if isinstance(r, BlockResult) else ""))
             for r in rows]
    longest = max((len(s) for s in names), default=10)
    row_in = 0.15 if n > 20 else 0.22  # inches per bar
    body, note = row_in * max(n, 6), 0.75
    fig = new_figure(max(10.0, 7.0 + 0.05 * longest), body + note + 1.6)
    gs = fig.add_gridspec(2, 2, height_ratios=[body, note])
    ax_p = fig.add_subplot(gs[0, 0])
    ax_m = fig.add_subplot(gs[0, 1], sharey=ax_p)
    ys = list(range(n))
    colours = [bar_colour(r) for r in rows]
    params = [figures_of(r).params for r in rows]
    macs = [figures_of(r).macs for r in rows]
    ax_p.barh(ys, params, color=colours, height=0.75)
    ax_m.barh(ys, macs, color=colours, height=0.75)
    ax_p.set_yticks(ys)
    ax_p.set_yticklabels(names, fontsize=6 if n > 60 else 7)
    ax_p.set_ylim(n - 0.4, -0.6)  # first layer on top
    ax_m.tick_params(labelleft=False)
    batch = report.input_shape[0]
    log = log_if_spread(ax_p, params, "x")
    ax_p.set_xlabel(f"parameters (count{scale_note(log)})")
    log = log_if_spread(ax_m, macs, "x")
    ax_m.set_xlabel(f"MACs (multiply-accumulates, batch {batch}{scale_note(log)})")
    ax_p.set_ylabel("layer (execution order)" if depth is None else "layer, or block (subtotal)")
    tall = n > 40
    each = "layer" if depth is None else "row"
    ax_p.set_title(f"parameters per {each} (total {human(report.totals.params)})", pad=16 if tall else 6)
    ax_m.set_title(f"MACs per {each} (total {human(report.totals.macs)})", pad=16 if tall else 6)
    for ax in (ax_p, ax_m):
        ax.grid(axis="x", which="major", lw=0.4, alpha=0.5)
        ax.set_axisbelow(True)
        if tall:  # repeat the scale on top
            ax.tick_params(axis="x", labeltop=True, top=True)
    note_ax = fig.add_subplot(gs[1, :])
    footnote(fig, note_ax, report)
    kind_legend(note_ax, [r.kind for r in rows if isinstance(r, LayerResult) and (r.params or r.macs)],
                 blocks=any(isinstance(r, BlockResult) for r in rows), loc="upper center", ncol=10,
                 bbox_to_anchor=(0.5, 1.0), frameon=False, title=None)
    what = "parameters and MACs per layer" + (f", blocks below depth {depth} collapsed" if depth else "")
    header(fig, report, what)
    return fig


def cumulative_chart(report: Report, depth: int | None) -> Any:
    """Running totals of parameters and MACs, layer by layer."""
    n = len(report.layers)
    fig = new_figure(10.0, 7.0)
    gs = fig.add_gridspec(3, 1, height_ratios=[1, 1, 0.12])
    ax_p = fig.add_subplot(gs[0])
    ax_m = fig.add_subplot(gs[1], sharex=ax_p)
    xs = list(range(1, n + 1))
    batch = report.input_shape[0]
    marker = "." if n <= NAMED_TICKS else None
    for ax, key, label, colour in ((ax_p, "params", "cumulative parameters\n(count)", "#1f77b4"),
                                   (ax_m, "macs", f"cumulative MACs\n(multiply-accumulates, batch {batch})",
                                    "#ff7f0e")):
        ys = list(accumulate(getattr(r, key) for r in report.layers))
        ax.plot(xs, ys, color=colour, lw=1.6, marker=marker, ms=4)
        ax.fill_between(xs, ys, color=colour, alpha=0.12, lw=0)
        total = getattr(report.totals, key)
        ax.axhline(total, color=colour, lw=0.7, ls=":")
        ax.annotate(f"total {human(total)}", xy=(xs[-1], total), xytext=(-4, 4), textcoords="offset points",
                    ha="right", va="bottom", fontsize=7, color=colour)
        ax.set_ylim(0, float(total) * 1.12 or 1)
        ax.yaxis.set_major_formatter(formatter())
        ax.set_ylabel(label)
        ax.grid(lw=0.4, alpha=0.5)
        ax.set_axisbelow(True)
    ax_p.tick_params(labelbottom=False)
    ax_p.set_title("running total of parameters, layer by layer", pad=14 if n > NAMED_TICKS else 6)
    ax_m.set_title("running total of MACs, layer by layer")
    layer_axis(ax_m, report)
    shade_bands([ax_p, ax_m], report, ax_p)
    footnote(fig, fig.add_subplot(gs[2]), report)
    header(fig, report, "cumulative parameters and MACs")
    return fig


def summary_chart(report: Report, depth: int | None) -> Any:
    """Parameters, FLOPs and receptive-field size per layer, on one layer axis."""
    n = len(report.layers)
    fig = new_figure(11.0, 9.5)
    gs = fig.add_gridspec(4, 1, height_ratios=[1, 1, 1, 0.12])
    ax_p = fig.add_subplot(gs[0])
    ax_f = fig.add_subplot(gs[1], sharex=ax_p)
    ax_r = fig.add_subplot(gs[2], sharex=ax_p)
    xs = list(range(1, n + 1))
    colours = [bar_colour(r) for r in report.layers]
    width = 0.8 if n <= NAMED_TICKS else 0.9
    params = [r.params for r in report.layers]
    flops = [r.flops for r in report.layers]
    ax_p.bar(xs, params, color=colours, width=width)
    ax_f.bar(xs, flops, color=colours, width=width)
    batch = report.input_shape[0]
    log = log_if_spread(ax_p, params, "y")
    ax_p.set_ylabel(f"parameters\n(count{scale_note(log)})")
    log = log_if_spread(ax_f, flops, "y")
    ax_f.set_ylabel(f"FLOPs\n(batch {batch}{scale_note(log)})")
    ax_p.set_title(f"parameters per layer (total {human(report.totals.params)}; layers with none have no bar)",
                   pad=14 if n > NAMED_TICKS else 6)
    ax_f.set_title(f"FLOPs per layer (total {human(report.totals.flops)})")
    draw_rf(ax_r, report)
    sizes = "×".join(str(s) for s in spatial_sizes(report))
    ax_r.set_title(f"receptive field size per layer (input {sizes}; global = every input position)")
    for ax in (ax_p, ax_f, ax_r):
        ax.grid(axis="y", lw=0.4, alpha=0.5)
        ax.set_axisbelow(True)
    for ax in (ax_p, ax_f):
        ax.tick_params(labelbottom=False)
    layer_axis(ax_r, report)
    shade_bands([ax_p, ax_f, ax_r], report, ax_p)
    kind_legend(ax_p, [r.kind for r in report.layers if r.params or r.flops], loc="upper left",
                 bbox_to_anchor=(1.005, 1.0), frameon=False)
    footnote(fig, fig.add_subplot(gs[3]), report)
    header(fig, report, "parameters, FLOPs and receptive field per layer")
    return fig
