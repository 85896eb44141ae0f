"""The chart of a sweep (``archcalc sweep --plot``): its metric totals against its first axis, one line per
metric and per value of any further axis."""
from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..analyses.explore import METRICS
from ..core.errors import SpecError
from ..core.escape import mathtext as text
from ..core.num import FLOAT_RANGE, as_float, fmt_number
from .plot_style import TEXT, decade_below, formatter, image_format, load_matplotlib, new_figure, save


def plot_sweep(columns: dict[str, list[Any]], path: str, name: str | None = None) -> Any:
    """Draw the metric totals of a sweep against its first axis (one line per metric, and per value of any
    further axis), log scale; saved by extension (.png, .svg, .pdf). Returns the matplotlib Figure."""
    fmt = image_format(path)
    mpl = load_matplotlib()
    metrics = [k for k in columns if k in METRICS]
    axes = [k for k in columns if k not in METRICS]
    x_name, others = axes[0], axes[1:]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i in range(len(columns[x_name])):
        groups.setdefault(tuple(columns[o][i] for o in others), []).append(i)
    with mpl.rc_context({"font.size": 8, "axes.titlesize": 9, "legend.fontsize": 7, **TEXT}):
        fig = new_figure(7.0, 4.5)
        ax = fig.add_subplot()
        styles = ("-", "--", ":", "-.")
        for m, metric in enumerate(metrics):
            for g, (key, rows) in enumerate(groups.items()):
                label = metric + (" (" + ", ".join(f"{o}={v}" for o, v in zip(others, key)) + ")" if others else "")
                ax.plot([_drawable(columns, x_name, i, x_name) for i in rows],
                        [_drawable(columns, metric, i, x_name) for i in rows],
                        styles[g % len(styles)], color=f"C{m}", marker="." if len(rows) <= 40 else None,
                        label=text(label))
        ax.set_yscale("log")
        low = min((y for line in ax.get_lines() for y in line.get_ydata() if y > 0), default=None)
        if low is not None:
            ax.set_ylim(bottom=decade_below(low))
        ax.yaxis.set_major_formatter(formatter())
        ax.set_xlabel(text(x_name))
        ax.set_ylabel("total (count, log scale)")
        ax.set_title(text(f"{name + ': ' if name else ''}totals against {x_name}"
                          + (f" (one line per {', '.join(others)})" if others else "")))
        ax.grid(lw=0.4, alpha=0.5)
        ax.legend(handlelength=3.5)
        save(fig, path, fmt)
    return fig


def _drawable(columns: dict[str, list[Any]], key: str, i: int, x_name: str) -> float:
    """A value of the sweep as the float a chart draws; refused beyond float range (or rounding to 0)."""
    value = columns[key][i]
    exact = value if isinstance(value, int) else Fraction(str(value))
    f = as_float(exact)
    if f is None and exact != 0:
        raise SpecError(f"--plot: {key} = {fmt_number(exact, '.3g')} at {x_name} = {columns[x_name][i]} is beyond "
                        f"the range of a float ({FLOAT_RANGE}), which a chart cannot draw",
                        hint="the sweep's table gives it exactly; drop --plot")
    return f or 0.0
