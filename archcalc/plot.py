"""Charts of a report: per-layer bars, cumulative totals, receptive-field growth, and a summary.

    archcalc plot SPEC -o FILE.(png|svg|pdf) --kind layers|cumulative|rf|summary [--depth N]

matplotlib is an optional extra (``pip install 'archcalc[plot]'``), imported only here and only when a
chart is drawn. Figures are built on the Agg canvas without pyplot, so drawing one neither changes the
caller's backend nor leaves figures open. The plotted data are the report's exact figures (as floats,
exact below 2**53); only the tick labels use human units. Text from the spec (the network's and layers' names)
and the convention goes through ``escape.mathtext``: no ``$`` in it starts mathtext, and TeX is never used.
"""
from __future__ import annotations

import textwrap
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path
from typing import Any

from .errors import SpecError
from .escape import mathtext
from .num import FLOAT_RANGE, as_float, fmt_number, is_concrete
from .report import BlockResult, LayerResult, Report
from .rf import GLOBAL, AxisRF

KINDS = ("layers", "cumulative", "rf", "summary")
FORMATS = ("png", "svg", "pdf")
NAMED_TICKS = 60  # up to this many layers, the layer axis is labelled with their names
_UNITS = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
_AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
# Colours by op kind (matplotlib's tab10), fixed so that every chart uses the same ones.
_KIND_COLOURS = {"conv": "#1f77b4", "linear": "#ff7f0e", "norm": "#2ca02c", "activation": "#d62728",
                 "softmax": "#d62728", "pool": "#9467bd", "elementwise": "#8c564b", "resize": "#e377c2",
                 "other": "#7f7f7f"}
_BLOCK_COLOUR = "#4d4d4d"
_COVER_COLOUR = "#c0392b"
# Text is drawn as matplotlib reads it by default: mathtext only between unescaped dollars (escape.mathtext
# escapes them), never through TeX (a user's rc file may turn on text.usetex).
TEXT = {"text.usetex": False, "text.parse_math": True}
_STYLE = {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
          "legend.fontsize": 7, "figure.titlesize": 11, "axes.grid": False, **TEXT}


def plot(report: Report, kind: str = "summary", path: str | Path | None = None, depth: int | None = None) -> Any:
    """Draw one chart of ``report`` and save it to ``path`` (.png, .svg or .pdf) when given.

    ``kind``: ``layers`` (params and MACs per layer; with ``depth``, blocks below it collapse to their
    subtotals), ``cumulative`` (running totals), ``rf`` (receptive-field size per spatial axis) or
    ``summary`` (params, FLOPs and RF size per layer); ``depth`` only affects ``layers``. Returns the
    matplotlib ``Figure``. A symbolic report cannot be drawn (``archcalc sweep --plot`` draws formulas).
    """
    if kind not in KINDS:
        raise SpecError(f"unknown plot kind {kind!r}", hint=f"use one of {', '.join(KINDS)}")
    fmt = _format(path) if path is not None else None
    if depth is not None and depth < 1:
        raise SpecError(f"--depth {depth}: must be at least 1", hint="1 shows the top level only")
    _check_numeric(report)
    _check_drawable(report, kind)
    if not report.layers:
        raise SpecError("nothing to plot: the network has no layers")
    if kind == "rf" and not rf_series(report):
        raise SpecError("the input has no spatial axes, so there is no receptive field to plot",
                        hint="--kind layers, cumulative or summary")
    mpl = _matplotlib()
    with mpl.rc_context(_STYLE):
        fig = _DRAW[kind](report, depth)
        if path is not None:
            save(fig, path, fmt)
    return fig


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401  (the Agg backend)
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        raise SpecError("plotting needs matplotlib", hint="pip install 'archcalc[plot]'") from None
    return matplotlib


def new_figure(width: float, height: float) -> Any:
    """A Figure on an Agg canvas (no pyplot: no global state, nothing to close)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _format(path: str | Path) -> str:
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise SpecError("cannot tell the image format from the file name", hint="name it .png, .svg or .pdf",
                        file=str(path))
    return fmt


def save(fig: Any, path: str | Path, fmt: str | None = None) -> None:
    """Save by extension; SVG and PDF carry no date, so regenerated files only change when the chart does."""
    import matplotlib
    fmt = fmt or _format(path)
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
    height = fig.get_size_inches()[1]
    dpi = min(150, max(50, int(12000 / height)))  # tall per-layer charts: keep the PNG under ~12k pixels
    import io

    from .output import write_file
    image = io.BytesIO()  # drawn whole first: a failed write leaves no half image (output.write_file)
    with matplotlib.rc_context({"svg.hashsalt": "archcalc", **TEXT}):
        fig.savefig(image, format=fmt, dpi=dpi, metadata=metadata)
    write_file(path, image.getvalue(), "the image")


# --- data -------------------------------------------------------------------------------------------------


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


def _rows(report: Report, depth: int | None) -> list[LayerResult | BlockResult]:
    """The bars of the layers chart: every leaf layer, or with ``depth`` the layers above it and the blocks
    collapsed at it (a block of depth N - 1 stands for its contents). Blocks that stay open are not bars:
    their contents are, and the bars always add up to the totals."""
    if depth is None:
        return list(report.layers)
    return [r for r in report.outline if r.depth < depth and (isinstance(r, LayerResult) or r.depth == depth - 1)]


def _figures(r: LayerResult | BlockResult) -> Any:
    return r.totals if isinstance(r, BlockResult) else r


def short(v: Any) -> str:
    """Tick label: 0, 950, 1.5 K, 25 M, 4 G."""
    v = float(v)
    for size, unit in _UNITS:
        if abs(v) >= size:
            return f"{v / size:.3g} {unit}"
    return f"{v:.3g}"


def human(v: Any) -> str:
    from .render import human as _human
    return _human(v)


def _spatial(report: Report) -> list[Any]:
    """Input size per spatial axis (the report's input shape is batch first, then as the layout shows it)."""
    rank = len(report.layers[0].rf.axes) if report.layers else 0
    shape = list(report.input_shape[1:])  # per sample
    if getattr(report, "layout", "channels_first") == "channels_last":
        return shape[:rank]
    return shape[len(shape) - rank:]


def _axis_names(rank: int) -> tuple[str, ...]:
    return _AXIS_NAMES.get(rank, tuple(f"axis {i}" for i in range(rank)))


def _position_unit(rank: int) -> str:
    return {1: "input samples", 2: "input pixels", 3: "input voxels"}.get(rank, "input positions")


def rf_series(report: Report) -> list[tuple[str, Any, list[float], list[int]]]:
    """(label, input size, RF size per layer, axes) for each group of spatial axes that agree all along;
    "global" counts as the input size, "non-uniform" and "unaligned" are gaps (NaN)."""
    sizes = _spatial(report)
    names = _axis_names(len(sizes))
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


def _bands(report: Report) -> list[tuple[str, int, int]]:
    """(name, first index, last index) of the outermost blocks; a lone wrapper block is opened."""
    blocks = list(report.blocks)
    while len(blocks) == 1 and blocks[0].children:
        blocks = list(blocks[0].children)
    index = {row.name: i for i, row in enumerate(report.layers)}
    bands = []
    for b in blocks:
        at = [index[n] for n in b.layers if n in index]
        if at:
            bands.append((b.name, min(at), max(at)))
    return bands


# --- drawing helpers --------------------------------------------------------------------------------------


def formatter() -> Any:
    """Tick labels in human units (1 K, 25 M, 4 G); the plotted values stay exact."""
    from matplotlib.ticker import FuncFormatter
    return FuncFormatter(lambda v, _: short(v))


def _log_if_spread(ax: Any, values: Sequence[Any], axis: str) -> bool:
    """Log scale when the non-zero values span more than two decades (zero bars then draw nothing); the
    range starts at the decade below the smallest value so that it gets a tick."""
    from matplotlib.ticker import NullFormatter
    positive = [float(v) for v in values if v > 0]
    log = bool(positive) and max(positive) / min(positive) > 100
    scale, lim, ax_ = (ax.set_xscale, ax.set_xlim, ax.xaxis) if axis == "x" else (ax.set_yscale, ax.set_ylim, ax.yaxis)
    if log:
        scale("log")
        lim(decade_below(min(positive)), max(positive) * 1.6)
        ax_.set_minor_formatter(NullFormatter())
    ax_.set_major_formatter(formatter())
    return log


def decade_below(v: float) -> float:
    """The power of ten at or below ``v`` (a log axis starting there has a labelled tick)."""
    from math import floor, log10
    return 10.0 ** floor(log10(v))


def _scale_note(log: bool) -> str:
    return ", log scale" if log else ""


def _kind_legend(ax: Any, kinds: Sequence[str], blocks: bool = False, **kw: Any) -> None:
    from matplotlib.patches import Patch
    seen = list(dict.fromkeys(kinds))
    handles = [Patch(color=_KIND_COLOURS.get(k, _KIND_COLOURS["other"]), label=k) for k in seen]
    if blocks:
        handles.append(Patch(color=_BLOCK_COLOUR, label="block (subtotal)"))
    ax.legend(handles=handles, **{"title": "op kind", **kw})


def _colour(r: LayerResult | BlockResult) -> str:
    return _BLOCK_COLOUR if isinstance(r, BlockResult) else _KIND_COLOURS.get(r.kind, _KIND_COLOURS["other"])


def _layer_axis(ax: Any, report: Report, label: str = "layer (execution order)") -> None:
    """The shared x axis of the per-layer charts: layer names when few, else indices and block bands."""
    n = len(report.layers)
    ax.set_xlim(0.5 - 0.02 * n, n + 0.5 + 0.02 * n)
    if n <= NAMED_TICKS:
        ax.set_xticks(range(1, n + 1))
        ax.set_xticklabels([mathtext(r.name) for r in report.layers], rotation=90, fontsize=6 if n > 30 else 7)
    ax.set_xlabel(label if n <= NAMED_TICKS else "layer index (execution order, 1 = first layer)")


def _shade_bands(axes: Sequence[Any], report: Report, label_ax: Any | None) -> None:
    n = len(report.layers)
    if n <= NAMED_TICKS:
        return
    for k, (name, lo, hi) in enumerate(_bands(report)):
        for ax in axes:
            if k % 2 == 0:
                ax.axvspan(lo + 0.5, hi + 1.5, color="#000000", alpha=0.05, lw=0, zorder=0)
        if label_ax is not None and (hi - lo + 1) >= 0.06 * n:
            label_ax.text((lo + hi) / 2 + 1, 1.0, mathtext(name), transform=label_ax.get_xaxis_transform(), ha="center",
                          va="bottom", fontsize=7, color="#333333")


def _header(fig: Any, report: Report, what: str) -> None:
    """Suptitle: the network and what is drawn, with its totals on a second line."""
    t = report.totals
    shape = "×".join(str(d) for d in report.input_shape)
    fig.suptitle(f"{mathtext(report.name)}: {what}\ninput {shape}  ·  {human(t.params)} params  ·  "
                 f"{human(t.macs)} MACs  ·  {human(t.flops)} FLOPs  (batch {report.input_shape[0]})")


def _footnote(fig: Any, ax: Any, report: Report) -> None:
    """The convention line under the chart, in an axes of its own (its row of the grid keeps the room)."""
    width = fig.get_size_inches()[0]
    text = "\n".join(textwrap.wrap(mathtext(report.convention.summary()), int(width * 72 * 0.9 / (6.5 * 0.6))))
    ax.axis("off")
    note = ax.text(0, 0, text, transform=ax.transAxes, ha="left", va="bottom", fontsize=6.5, color="#444444")
    note.set_in_layout(False)


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


def _draw_rf(ax: Any, report: Report) -> None:
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
    ax.set_ylabel(f"receptive field size\n({_position_unit(len(_spatial(report)))})")
    ax.legend(loc="upper left")


# --- charts -----------------------------------------------------------------------------------------------


def _layers(report: Report, depth: int | None) -> Any:
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
    colours = [_colour(r) for r in rows]
    params = [_figures(r).params for r in rows]
    macs = [_figures(r).macs for r in rows]
    ax_p.barh(ys, params, color=colours, height=0.75)
    ax_m.barh(ys, macs, color=colours, height=0.75)
    ax_p.set_yticks(ys)
    ax_p.set_yticklabels(names, fontsize=6 if n > 60 else 7)
    ax_p.set_ylim(n - 0.4, -0.6)  # first layer on top
    ax_m.tick_params(labelleft=False)
    batch = report.input_shape[0]
    log = _log_if_spread(ax_p, params, "x")
    ax_p.set_xlabel(f"parameters (count{_scale_note(log)})")
    log = _log_if_spread(ax_m, macs, "x")
    ax_m.set_xlabel(f"MACs (multiply-accumulates, batch {batch}{_scale_note(log)})")
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
    _footnote(fig, note_ax, report)
    _kind_legend(note_ax, [r.kind for r in rows if isinstance(r, LayerResult) and (r.params or r.macs)],
                 blocks=any(isinstance(r, BlockResult) for r in rows), loc="upper center", ncol=10,
                 bbox_to_anchor=(0.5, 1.0), frameon=False, title=None)
    what = "parameters and MACs per layer" + (f", blocks below depth {depth} collapsed" if depth else "")
    _header(fig, report, what)
    return fig


def _cumulative(report: Report, depth: int | None) -> Any:
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
    _layer_axis(ax_m, report)
    _shade_bands([ax_p, ax_m], report, ax_p)
    _footnote(fig, fig.add_subplot(gs[2]), report)
    _header(fig, report, "cumulative parameters and MACs")
    return fig


def _rf(report: Report, depth: int | None) -> Any:
    fig = new_figure(10.0, 5.5)
    gs = fig.add_gridspec(2, 1, height_ratios=[1, 0.1])
    ax = fig.add_subplot(gs[0])
    _draw_rf(ax, report)
    ax.grid(lw=0.4, alpha=0.5)
    ax.set_axisbelow(True)
    _layer_axis(ax, report)
    _shade_bands([ax], report, ax)
    sizes = "×".join(str(s) for s in _spatial(report))
    ax.set_title(f"receptive field size per layer (input {sizes}; global = every input position)",
                 pad=14 if len(report.layers) > NAMED_TICKS else 6)
    _footnote(fig, fig.add_subplot(gs[1]), report)
    _header(fig, report, "receptive field growth")
    return fig


def _summary(report: Report, depth: int | None) -> Any:
    n = len(report.layers)
    fig = new_figure(11.0, 9.5)
    gs = fig.add_gridspec(4, 1, height_ratios=[1, 1, 1, 0.12])
    ax_p = fig.add_subplot(gs[0])
    ax_f = fig.add_subplot(gs[1], sharex=ax_p)
    ax_r = fig.add_subplot(gs[2], sharex=ax_p)
    xs = list(range(1, n + 1))
    colours = [_colour(r) for r in report.layers]
    width = 0.8 if n <= NAMED_TICKS else 0.9
    params = [r.params for r in report.layers]
    flops = [r.flops for r in report.layers]
    ax_p.bar(xs, params, color=colours, width=width)
    ax_f.bar(xs, flops, color=colours, width=width)
    batch = report.input_shape[0]
    log = _log_if_spread(ax_p, params, "y")
    ax_p.set_ylabel(f"parameters\n(count{_scale_note(log)})")
    log = _log_if_spread(ax_f, flops, "y")
    ax_f.set_ylabel(f"FLOPs\n(batch {batch}{_scale_note(log)})")
    ax_p.set_title(f"parameters per layer (total {human(report.totals.params)}; layers with none have no bar)",
                   pad=14 if n > NAMED_TICKS else 6)
    ax_f.set_title(f"FLOPs per layer (total {human(report.totals.flops)})")
    _draw_rf(ax_r, report)
    sizes = "×".join(str(s) for s in _spatial(report))
    ax_r.set_title(f"receptive field size per layer (input {sizes}; global = every input position)")
    for ax in (ax_p, ax_f, ax_r):
        ax.grid(axis="y", lw=0.4, alpha=0.5)
        ax.set_axisbelow(True)
    for ax in (ax_p, ax_f):
        ax.tick_params(labelbottom=False)
    _layer_axis(ax_r, report)
    _shade_bands([ax_p, ax_f, ax_r], report, ax_p)
    _kind_legend(ax_p, [r.kind for r in report.layers if r.params or r.flops], loc="upper left",
                 bbox_to_anchor=(1.005, 1.0), frameon=False)
    _footnote(fig, fig.add_subplot(gs[3]), report)
    _header(fig, report, "parameters, FLOPs and receptive field per layer")
    return fig


_DRAW = {"layers": _layers, "cumulative": _cumulative, "rf": _rf, "summary": _summary}


__all__ = ["KINDS", "FORMATS", "decade_below", "formatter", "new_figure", "plot", "rf_series", "save", "short"]
