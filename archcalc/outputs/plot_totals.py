"""The totals chart: the network's parameters, FLOPs and receptive field in one small figure, each bar
labelled with its exact figure (grouped digits), the convention under it. The chart a blog post draws by hand
for ResNet-18, with figures that are right."""
from __future__ import annotations

from typing import Any

from ..core.escape import mathtext
from ..core.units import exact
from ..walk.at import network_field
from ..walk.report import Report
from ..walk.rf import AxisRF
from .plot_rf import axis_names, spatial_sizes
from .plot_style import footnote, header, new_figure


def _bar(ax: Any, labels: list[str], values: list[Any], colour: str, title: str) -> None:
    xs = list(range(len(values)))
    ax.bar(xs, [float(v) for v in values], color=colour, width=0.6)
    ax.set_xticks(xs)
    ax.set_xticklabels(labels)
    for x, v in zip(xs, values):
        # grouped digits; a rational figure as n/d, never truncated
        ax.annotate(exact(v), xy=(x, float(v)), xytext=(0, 3), textcoords="offset points", ha="center",
                    va="bottom", fontsize=8)
    top = max((float(v) for v in values), default=0.0)
    ax.set_ylim(0, top * 1.18 or 1)
    ax.set_xlim(-0.9, len(values) - 0.1)
    ax.set_title(title)
    ax.tick_params(axis="y", labelleft=False, left=False)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


def totals_chart(report: Report, depth: int | None) -> Any:
    """Three panels: total parameters, total FLOPs (batch of the input), and the network's receptive field
    (the last layer whose field is local, per spatial axis; "global" when no layer's is). ``depth`` is unused."""
    fig = new_figure(9.0, 4.2)
    gs = fig.add_gridspec(2, 3, height_ratios=[1, 0.16])
    t = report.totals
    _bar(fig.add_subplot(gs[0, 0]), ["parameters"], [t.params], "#1f77b4", "parameters (count)")
    _bar(fig.add_subplot(gs[0, 1]), ["FLOPs"], [t.flops], "#d62728", f"FLOPs (batch {report.input_shape[0]})")
    ax_r = fig.add_subplot(gs[0, 2])
    field = network_field(report, report.rf_view)
    if field is None:  # no layer's field is local: say so, never a bar of zero
        ax_r.axis("off")
        what = "global" if spatial_sizes(report) else "none: the input\nhas no spatial axes"
        ax_r.text(0.5, 0.5, f"receptive field:\n{what}", ha="center", va="center", transform=ax_r.transAxes)
    else:
        axes = [a for a in field.rf.axes if isinstance(a, AxisRF)]
        _bar(ax_r, list(axis_names(len(axes))), [a.size for a in axes], "#2ca02c",
             f"receptive field (input positions)\nat {mathtext(field.name)}")
    footnote(fig, fig.add_subplot(gs[1, :]), report)
    header(fig, report, "totals")
    return fig
