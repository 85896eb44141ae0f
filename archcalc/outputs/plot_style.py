"""What every chart of a report shares: matplotlib loaded on demand, a figure on the Agg canvas and its saving,
the text style, tick labels in human units, colours by op kind, the per-layer axis, the title and the footnote.
"""
from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.errors import SpecError
from ..core.escape import mathtext
from ..core.units import human
from ..walk.report import BlockResult, LayerResult, Report

FORMATS = ("png", "svg", "pdf")
NAMED_TICKS = 60  # up to this many layers, the layer axis is labelled with their names
_UNITS = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
# Colours by op kind (matplotlib's tab10), fixed so that every chart uses the same ones.
KIND_COLOURS = {"conv": "#1f77b4", "linear": "#ff7f0e", "norm": "#2ca02c", "activation": "#d62728",
                "softmax": "#d62728", "pool": "#9467bd", "elementwise": "#8c564b", "resize": "#e377c2",
                "other": "#7f7f7f"}
BLOCK_COLOUR = "#4d4d4d"
# Text is drawn as matplotlib reads it by default: mathtext only between unescaped dollars (escape.mathtext
# escapes them), never through TeX (a user's rc file may turn on text.usetex).
TEXT = {"text.usetex": False, "text.parse_math": True}
STYLE = {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
         "legend.fontsize": 7, "figure.titlesize": 11, "axes.grid": False, **TEXT}


def load_matplotlib() -> Any:
    """matplotlib, or the one-line error that names the extra to install."""
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


def image_format(path: str | Path) -> str:
    """png, svg or pdf, from the file name."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise SpecError("cannot tell the image format from the file name", hint="name it .png, .svg or .pdf",
                        file=str(path))
    return fmt


def save(fig: Any, path: str | Path, fmt: str | None = None) -> None:
    """Save by extension; SVG and PDF carry no date, so regenerated files only change when the chart does."""
    import matplotlib
    fmt = fmt or image_format(path)
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
    height = fig.get_size_inches()[1]
    dpi = min(150, max(50, int(12000 / height)))  # tall per-layer charts: keep the PNG under ~12k pixels
    import io

    from .files import write_file
    image = io.BytesIO()  # drawn whole first: a failed write leaves no half image (output.write_file)
    with matplotlib.rc_context({"svg.hashsalt": "archcalc", **TEXT}):
        fig.savefig(image, format=fmt, dpi=dpi, metadata=metadata)
    write_file(path, image.getvalue(), "the image")


def short(v: Any) -> str:
    """Tick label: 0, 950, 1.5 K, 25 M, 4 G."""
    v = float(v)
    for size, unit in _UNITS:
        if abs(v) >= size:
            return f"{v / size:.3g} {unit}"
    return f"{v:.3g}"


def formatter() -> Any:
    """Tick labels in human units (1 K, 25 M, 4 G); the plotted values stay exact."""
    from matplotlib.ticker import FuncFormatter
    return FuncFormatter(lambda v, _: short(v))


def log_if_spread(ax: Any, values: Sequence[Any], axis: str) -> bool:
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


def scale_note(log: bool) -> str:
    """The axis label's note when the axis is logarithmic."""
    return ", log scale" if log else ""


def kind_legend(ax: Any, kinds: Sequence[str], blocks: bool = False, **kw: Any) -> None:
    """A legend of the op kinds drawn (and of block subtotals, when there are any)."""
    from matplotlib.patches import Patch
    seen = list(dict.fromkeys(kinds))
    handles = [Patch(color=KIND_COLOURS.get(k, KIND_COLOURS["other"]), label=k) for k in seen]
    if blocks:
        handles.append(Patch(color=BLOCK_COLOUR, label="block (subtotal)"))
    ax.legend(handles=handles, **{"title": "op kind", **kw})


def bar_colour(r: LayerResult | BlockResult) -> str:
    """A bar's colour: its layer's op kind, or the block colour for a subtotal."""
    return BLOCK_COLOUR if isinstance(r, BlockResult) else KIND_COLOURS.get(r.kind, KIND_COLOURS["other"])


def figures_of(r: LayerResult | BlockResult) -> Any:
    """A row's figures: a layer's own, or a block's totals."""
    return r.totals if isinstance(r, BlockResult) else r


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


def layer_axis(ax: Any, report: Report, label: str = "layer (execution order)") -> None:
    """The shared x axis of the per-layer charts: layer names when few, else indices and block bands."""
    n = len(report.layers)
    ax.set_xlim(0.5 - 0.02 * n, n + 0.5 + 0.02 * n)
    if n <= NAMED_TICKS:
        ax.set_xticks(range(1, n + 1))
        ax.set_xticklabels([mathtext(r.name) for r in report.layers], rotation=90, fontsize=6 if n > 30 else 7)
    ax.set_xlabel(label if n <= NAMED_TICKS else "layer index (execution order, 1 = first layer)")


def shade_bands(axes: Sequence[Any], report: Report, label_ax: Any | None) -> None:
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


def header(fig: Any, report: Report, what: str) -> None:
    """Suptitle: the network and what is drawn, with its totals on a second line."""
    t = report.totals
    shape = "input " + "×".join(str(d) for d in report.input_shape) if len(report.inputs) < 2 else \
        "inputs " + ", ".join(f"{mathtext(k)} " + "×".join(str(d) for d in v) for k, v in report.inputs.items())
    fig.suptitle(f"{mathtext(report.name)}: {what}\n{shape}  ·  {human(t.params)} params  ·  "
                 f"{human(t.macs)} MACs  ·  {human(t.flops)} FLOPs  (batch {report.input_shape[0]})")


def footnote(fig: Any, ax: Any, report: Report) -> None:
    """The convention line under the chart, in an axes of its own (its row of the grid keeps the room)."""
    width = fig.get_size_inches()[0]
    text = "\n".join(textwrap.wrap(mathtext(report.convention.summary()), int(width * 72 * 0.9 / (6.5 * 0.6))))
    ax.axis("off")
    note = ax.text(0, 0, text, transform=ax.transAxes, ha="left", va="bottom", fontsize=6.5, color="#444444")
    note.set_in_layout(False)
