"""The receptive-field chart: RF size per layer for each group of spatial axes that agree, the input size it
grows towards, and the first layer whose RF covers the input."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.escape import mathtext
from ..walk.report import Report
from ..walk.rf import GLOBAL, AxisRF
from .plot_style import NAMED_TICKS, footnote, formatter, header, layer_axis, new_figure, shade_bands, short

_AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
_COVER_COLOUR = "#c0392b"  # the mark of the layer whose RF covers the input


def spatial_sizes(report: Report) -> list[Any]:
    """Input size per spatial axis (the report's input shape is batch first, then as the layout shows it)."""
    rank = len(report.layers[0].rf.axes) if report.layers else 0
    shape = list(report.input_shape[1:])  # per sample
    if getattr(report, "layout", "channels_first") == "channels_last":
        return shape[:rank]
    return shape[len(shape) - rank:]


def axis_names(rank: int) -> tuple[str, ...]:
    return _AXIS_NAMES.get(rank, tuple(f"axis {i}" for i in range(rank)))


def _position_unit(rank: int) -> str:
    return {1: "input samples", 2: "input pixels", 3: "input voxels"}.get(rank, "input positions")


def rf_series(report: Report) -> list[tuple[str, Any, list[float], list[int]]]:
    """(label, input size, RF size per layer, axes) for each group of spatial axes that agree all along;
    "global" counts as the input size, "non-uniform" and "unaligned" are gaps (NaN)."""
    sizes = spatial_sizes(report)
    names = axis_names(len(sizes))
    columns: list[tuple[Any, list[float]]] = []
    for i, n in enumerate(sizes):
        ys = []
        for row in report.layers:
            a = row.rf.axes[i]
            ys.append(float(a.size) if isinstance(a, AxisRF) else float(n) if a == GLOBAL else float("nan"))
        columns.append((n, ys))
    groups: list[tuple[list[str], Any, list[float], list[int]]] = []
    for i, (name, (n, ys)) in enumerate(zip(names, columns)):
        same = next((g for g in groups if g[1] == n and _same(g[2], ys)), None)
        if same:
            same[0].append(name)
            same[3].append(i)
        else:
            groups.append(([name], n, ys, [i]))
    return [(" and ".join(g[0]), g[1], g[2], g[3]) for g in groups]


def _same(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x == y or (x != x and y != y) for x, y in zip(a, b))


def _covers(ys: Sequence[float], size: Any) -> int | None:
    return next((i for i, y in enumerate(ys) if y == y and y >= size), None)


def _mark_covers(ax: Any, xs: Sequence[int], series: Sequence[tuple[str, Any, list[float], list[int]]],
                 report: Report) -> set[int]:
    """Circle, per axis group, the first layer whose RF reaches the input size, and name it (one note per
    layer). Returns the layer indices marked."""
    at: dict[int, list[tuple[str, float, int]]] = {}
    for label, size, ys, axes in series:
        i = _covers(ys, size)
        if i is not None:
            at.setdefault(i, []).append((label, ys[i], axes[0]))
    n = len(xs)
    for k, (i, hits) in enumerate(sorted(at.items())):
        row = report.layers[i]
        for _, y, _ in hits:
            ax.plot([xs[i]], [y], marker="o", ms=7, mfc="none", mec=_COVER_COLOUR, mew=1.5, zorder=5)
        which = f" ({' and '.join(h[0] for h in hits)})" if len(series) > 1 else ""
        reach = "global,\ndrawn at the input size" if row.rf.axes[hits[0][2]] == GLOBAL else short(hits[0][1])
        y = min(h[1] for h in hits)
        right = n - xs[i] > 0.25 * n  # below the curve, on the side with room: the curve rises left to right
        ax.annotate(f"covers the input{which} at {mathtext(row.name)}\n(layer {xs[i]}, RF {reach})", xy=(xs[i], y),
                    xytext=(xs[i] + (1 if right else -1) * max(0.04 * n, 1.2), y * (0.42 - 0.14 * k)),
                    textcoords="data", ha="left" if right else "right", va="top", fontsize=7, color=_COVER_COLOUR,
                    arrowprops={"arrowstyle": "->", "color": _COVER_COLOUR, "lw": 0.8},
                    bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": _COVER_COLOUR, "lw": 0.5, "alpha": 0.9})
    return set(at)


def draw_rf(ax: Any, report: Report) -> None:
    xs = list(range(1, len(report.layers) + 1))
    series = rf_series(report)
    if not series:  # e.g. an MLP on a flat input
        ax.text(0.5, 0.5, "the input has no spatial axes: no receptive field", transform=ax.transAxes,
                ha="center", va="center", color="#555555")
        ax.set_yticks([])
        ax.set_ylabel("receptive field size")
        return
    styles = ("-", "--", ":")
    colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")
    for k, (label, size, ys, _) in enumerate(series):
        c = colours[k % len(colours)]
        ax.plot(xs, ys, styles[k % len(styles)], color=c, lw=1.5, marker="." if len(xs) <= NAMED_TICKS else None,
                ms=4, label=f"RF size, {label}")
        ax.axhline(float(size), color=c, lw=0.9, ls=(0, (4, 3)), alpha=0.8, label=f"input {label} = {size}")
    marked = _mark_covers(ax, xs, series, report)
    first_global = next((i for i, row in enumerate(report.layers) if GLOBAL in row.rf.axes), None)
    if first_global is not None:
        ax.axvline(xs[first_global] - 0.5, color="#555555", lw=0.6, ls=":")
        if first_global not in marked:  # else the note there says so
            right = first_global > 0.75 * len(xs)  # write on the side with room
            ax.text(xs[first_global] + (-0.8 if right else 0.3), 0.02,
                    f"global from {mathtext(report.layers[first_global].name)}\n(drawn at the input size)",
                    transform=ax.get_xaxis_transform(), ha="right" if right else "left", va="bottom", fontsize=6.5,
                    color="#555555")
    ys_all = [y for _, _, ys, _ in series for y in ys if y == y]
    ax.set_ylim(0, max([float(s[1]) for s in series] + ys_all) * 1.08)
    ax.yaxis.set_major_formatter(formatter())
    ax.set_ylabel(f"receptive field size\n({_position_unit(len(spatial_sizes(report)))})")
    ax.legend(loc="upper left")


def rf_chart(report: Report, depth: int | None) -> Any:
    """Receptive-field size per layer, against the input size."""
    fig = new_figure(10.0, 5.5)
    gs = fig.add_gridspec(2, 1, height_ratios=[1, 0.1])
    ax = fig.add_subplot(gs[0])
    draw_rf(ax, report)
    ax.grid(lw=0.4, alpha=0.5)
    ax.set_axisbelow(True)
    layer_axis(ax, report)
    shade_bands([ax], report, ax)
    sizes = "×".join(str(s) for s in spatial_sizes(report))
    ax.set_title(f"receptive field size per layer (input {sizes}; global = every input position)",
                 pad=14 if len(report.layers) > NAMED_TICKS else 6)
    footnote(fig, fig.add_subplot(gs[1]), report)
    header(fig, report, "receptive field growth")
    return fig
