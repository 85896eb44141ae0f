"""Output formats: table (human units), json (the machine contract), csv and markdown (exact).

Names from a spec reach csv, markdown and latex through ``escape`` (one rule per format); json escapes by
construction.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import escape
from ..core.metrics import COLUMNS, IN_BYTES, LISTED
from ..core.num import fmt_exact, is_concrete
from ..core.units import exact, human
from ..walk.report import BlockResult, LayerResult, Report
from ..walk.rf import RF, AxisRF, varies


def shape_text(shape: tuple[Any, ...]) -> str:
    return "[" + ", ".join(str(fmt_exact(d)) for d in shape) + "]"


def inputs_text(report: Any) -> str:
    """"input [1, 3, 224, 224]", or with several network inputs "inputs ids [1, S], audio [1, 80, 3000]"."""
    inputs = getattr(report, "inputs", {})
    if len(inputs) < 2:
        return f"input {shape_text(report.input_shape)}"
    return "inputs " + ", ".join(f"{name} {shape_text(shape)}" for name, shape in inputs.items())


PHASE_MARK = "~"  # after a size that varies by phase (the largest is shown)


def rf_text(rf: RF, key: str, mark: bool = False) -> str:
    """One RF quantity per axis, 'x'-joined; a single value when all axes agree. ``mark``: a size that varies by
    phase (units of an upsampled map see different numbers of positions) ends in PHASE_MARK."""
    values = [str(fmt_exact(getattr(a, key))) + (PHASE_MARK if mark and key == "size" and varies(a) else "")
              if isinstance(a, AxisRF) else a for a in rf.axes]
    if not values:
        return "-"
    return values[0] if len(set(values)) == 1 else "x".join(values)


def _totals_lines(report: Report, num: Callable[[Any], str]) -> list[str]:
    t = report.totals
    active = [] if t.active_params == t.params else \
        [f"active       {num(t.active_params)}  params one token uses (mixture of experts)"]
    keras = []
    if report.layout == "channels_last":  # Keras' split: its total is trainable + non-trainable
        frozen = num(t.non_trainable)
        keras = [f"trainable    {num(t.trainable)}  Keras' trainable params",
                 f"non-trainable{frozen if frozen[:1] == ' ' else ' ' + frozen}  Keras' non-trainable params "
                 "(moving statistics, also in buffers)"]
    lines = []
    for m in LISTED:
        lines.append(f"{m.title:<13}{num(getattr(t, m.name))}")
        if m.name == "params":  # its parts follow it
            lines += [*active, *keras]
    return lines


def _outputs_lines(report: Report, name: Callable[[str], str] = str) -> list[str]:
    """One line per output of an ``outputs:`` header: its name, shape, the tensor it is, its receptive field."""
    return [f"output {name(out.name)}: {shape_text(out.output_shape)} from {name(out.ref)}, RF size "
            f"{rf_text(out.rf, 'size', mark=True)}, jump {rf_text(out.rf, 'jump')}" for out in report.outputs]


def field_lines(report: Report, name: Callable[[str], str] = str) -> list[str]:
    """The network's receptive field (that of the last layer whose field is local, named), and with --at the
    layer the figures stop at."""
    from ..walk.at import local, network_field
    lines = []
    at = report.extra.get("at")
    if at:
        lines.append(f"at {name(at['name'])}: every figure up to and including {name(at['layer'])} "
                     f"({at['layers']} of {at['of']} layers, in walk order)")
    field = network_field(report, report.rf_view)
    if field:
        where = name(field.name) + ("" if field.name == field.layer.name else f" ({name(field.layer.name)})")
        then = "at the output" if field.then is None else f"then {name(field.then.name)}: " + (
            "its units mix positions" if local(_shown(field.then, report.rf_view)) or
            all(isinstance(a, AxisRF) for a in _shown(field.then, report.rf_view).axes)
            else rf_text(_shown(field.then, report.rf_view), "size"))
        lines.append(f"receptive field {rf_text(field.rf, 'size', mark=True)}, jump {rf_text(field.rf, 'jump')}: "
                     f"{where}, the last layer whose field is local; {then}")
    return lines


def _outline(report: Report, depth: int | None) -> list[LayerResult | BlockResult]:
    """Rows to show: blocks and layers above ``depth`` (a collapsed block keeps its subtotal)."""
    return [r for r in report.outline if depth is None or r.depth < depth]


def _cells(r: LayerResult | BlockResult, num: Callable[[Any], str], indent: str = "  ",
           view: str = "field") -> tuple[str, ...]:
    """name, type, shape, the COLUMNS metrics (params, MACs, FLOPs), RF size, RF jump; a block shows its
    subtotals. ``view``: the field, or the field of the windows alone."""
    t = r.totals if isinstance(r, BlockResult) else r
    kind = r.type + (" *" if isinstance(r, LayerResult) and r.user_defined else "")
    rf = _shown(r, view)
    return (indent * r.depth + r.name, kind, shape_text(r.output_shape),
            *(num(getattr(t, m.name)) for m in COLUMNS),
            rf_text(rf, "size", mark=True) if rf else "-", rf_text(rf, "jump") if rf else "-")


def _shown(r: LayerResult | BlockResult, view: str) -> RF | None:
    return r.rf_windows if view == "windows" else r.rf


def _rf_notes(report: Report, outline: list[LayerResult | BlockResult]) -> list[str]:
    """What the RF columns show: the windows alone (when asked), and the phase mark (when used)."""
    notes = []
    if report.rf_view == "windows":
        notes.append("RF: the field of the convolution and pooling windows alone (normalisation statistics and "
                     "broadcast gates ignored); --rf field shows the full one")
    if any(any(varies(a) for a in rf.axes) for rf in (_shown(r, report.rf_view) for r in outline) if rf):
        notes.append(f"{PHASE_MARK} units differ by phase (after upsampling or a transposed convolution) and see "
                     "fields of different sizes: the largest is shown (JSON rf.phases gives every phase)")
    return notes


MAX_CELL = 36  # table view only: a long formula is cut; the totals and other formats give it whole


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


def _roofline(report: Report) -> Any:
    """Per-row roofline cells (intensity, bound, time) when the report has been annotated, else None."""
    if "roofline" not in report.extra:
        return None
    from ..analyses.roofline import row_cells
    return row_cells(report)


def table(report: Report, depth: int | None = None) -> str:
    head = ("name", "type", "output shape", *(m.title for m in COLUMNS), "RF size", "RF jump")
    roof = _roofline(report)
    outline = _outline(report, depth)
    rows = [head] + [tuple(_cut(c) for c in _cells(r, human, view=report.rf_view)) for r in outline]
    numeric = set(range(3, 3 + len(COLUMNS)))
    if roof:
        rows = [rows[0] + ("intensity", "bound", "time")] + [row + roof(r) for row, r in zip(rows[1:], outline)]
        numeric |= {len(head), len(head) + 2}
    mem = "memory" in report.extra  # per-row memory cells (live, KV cache) when the report has been annotated
    if mem:
        from ..analyses.memory_text import bytes_text, columns, row_cells
        cells = row_cells(report, lambda v: _cut(bytes_text(v)))
        n = len(rows[0])
        rows = [rows[0] + columns(report)] + [row + cells(r) for row, r in zip(rows[1:], outline)]
        numeric |= set(range(n, len(rows[0])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"{report.name}  {inputs_text(report)}"]
    for j, row in enumerate(rows):
        cells = [c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines += _totals_lines(report, lambda n: f"{exact(n):>20}  ({human(n)})" if is_concrete(n) else str(n))
    lines += _outputs_lines(report)
    lines += field_lines(report)
    if report.symbols:
        lines.append("symbols: " + ", ".join(report.symbols) + " (positive integers"
                     + "".join(f"; {n} a multiple of {m}" for n, m in (report.assumptions or {}).items()) + ")")
    if any(r.user_defined for r in report.layers):
        lines.append("* user-defined layer type: its figures are the spec's own formulas")
    lines += _rf_notes(report, outline)
    if roof:
        from ..analyses.roofline import summary
        lines += ["", *summary(report)]
    if mem:
        from ..analyses.memory_text import summary as memory_summary
        lines += ["", *memory_summary(report)]
    lines.append("")
    lines.append(report.convention.summary())
    return "\n".join(lines)


def to_json(report: Report, depth: int | None = None) -> str:
    """Indented JSON with one line per layer; the C encoder writes the lines (the indenting one is Python)."""
    import json

    def member(key: str, value: Any) -> str:
        if key == "layers" and value:
            return f"  {json.dumps(key)}: [\n    " + ",\n    ".join(map(json.dumps, value)) + "\n  ]"
        return f"  {json.dumps(key)}: " + json.dumps(value, indent=2).replace("\n", "\n  ")  # no raw \n in JSON

    return "{\n" + ",\n".join(member(k, v) for k, v in report.to_dict().items()) + "\n}"


_COLUMNS = ("name", "type", "output_shape", *(m.name for m in LISTED), "rf_size", "rf_jump", "rf_padding")


def _plain_row(r: LayerResult, view: str = "field") -> list[str]:
    rf = _shown(r, view)
    return [r.name, r.type, "x".join(str(fmt_exact(d)) for d in r.output_shape),
            *(str(fmt_exact(getattr(r, m.name))) for m in LISTED),
            rf_text(rf, "size"), rf_text(rf, "jump"), rf_text(rf, "padding")]


def csv(report: Report, depth: int | None = None) -> str:
    import csv as _csv
    import io
    buf = io.StringIO()
    writer = _csv.writer(buf, lineterminator="\n")
    roof = report.extra.get("roofline")
    if roof:  # exact, as in JSON: ints, rationals as "p/q"
        from ..analyses.roofline import csv_columns, csv_values
    mem = "memory" in report.extra
    if mem:
        from ..analyses import memory_text
    def row(cells: list[str]) -> None:  # a name such as =cmd|... shows as text in a spreadsheet; numbers stay
        writer.writerow([escape.csv_cell(c, text=i < 2) for i, c in enumerate(cells)])  # name, type: text
    row([*_COLUMNS, *(csv_columns() if roof else ()), *(memory_text.csv_columns() if mem else ())])
    for r in report.layers:
        row([*_plain_row(r, report.rf_view), *(csv_values(r.extra.get("roofline")) if roof else ()),
             *(memory_text.csv_values(r.extra.get("memory")) if mem else ())])
    t = report.totals
    row(["total", "", "x".join(str(fmt_exact(d)) for d in report.output_shape),
         *(str(fmt_exact(getattr(t, m.name))) for m in LISTED),
         "", "", "", *(csv_values(roof["totals"]) if roof else ()), *(memory_text.csv_totals(report) if mem else ())])
    buf.write("".join(f"# {escape.printable(line)}\n" for line in [*_outputs_lines(report), *field_lines(report)]))
    buf.write(f"# {escape.printable(report.convention.summary())}\n")
    if report.rf_view == "windows":
        buf.write("# rf_*: the field of the convolution and pooling windows alone\n")
    if mem:
        buf.write("".join(f"# {escape.printable(line)}\n" for line in memory_text.csv_notes(report)))
    return buf.getvalue()


def markdown(report: Report, depth: int | None = None) -> str:
    roof = _roofline(report)
    if roof:
        from ..analyses.roofline import summary, total_cells

    def num(v: Any) -> str:
        return exact(v) if is_concrete(v) else f"`{v}`"
    mem = "memory" in report.extra  # exact bytes in the memory columns
    if mem:
        from ..analyses import memory_text
        mem_cells, mem_heads = memory_text.row_cells(report, num), memory_text.columns(report)
    head = "| name | type | output shape |" + "".join(f" {m.title} |" for m in COLUMNS) + " RF size | RF jump |" + (
        " intensity | bound | time |" if roof else "") + ("".join(f" {h} (bytes) |" for h in mem_heads) if mem else "")
    given = f"Input `{shape_text(report.input_shape)}`" if len(report.inputs) < 2 else "Inputs " + ", ".join(
        f"{escape.markdown(k)} `{shape_text(v)}`" for k, v in report.inputs.items())
    lines = [f"### {escape.markdown(report.name)}", "", given, "", head,
             "|" + "---|" * 2 + "---|" + "---:|" * len(COLUMNS) + "---|---|" + ("---:|---|---:|" if roof else "")
             + ("---:|" * len(mem_heads) if mem else "")]
    for r in _outline(report, depth):
        name, kind, shape, *rest = _cells(r, num, indent="", view=report.rf_view)
        name, kind = "&nbsp;&nbsp;" * r.depth + escape.markdown(name), escape.markdown(kind)
        if isinstance(r, BlockResult):
            name = f"**{name}**"
        lines.append("| " + " | ".join([name, kind, f"`{shape}`", *rest, *(roof(r) if roof else ()),
                                        *(mem_cells(r) if mem else ())]) + " |")
    t = report.totals
    lines.append(f"| **total** | | `{shape_text(report.output_shape)}` |"
                 + "".join(f" **{num(getattr(t, m.name))}** |" for m in COLUMNS) + " | |"
                 + (" **{}** | **{}** | **{}** |".format(*total_cells(report)) if roof else "")
                 + ("".join(f" **{c}** |" for c in memory_text.total_cells(report, num)) if mem else ""))
    lines += ["", " ".join(f"{m.title.capitalize()}: {num(getattr(t, m.name))}." for m in LISTED if not m.column)]
    if report.layout == "channels_last":
        lines[-1] += (f" Keras: {num(t.trainable)} trainable, {num(t.non_trainable)} non-trainable params (the "
                      "moving statistics, also in buffers).")
    lines += [f"{line}." for line in _outputs_lines(report, escape.markdown)]
    lines += [f"{line[0].upper()}{line[1:]}." for line in field_lines(report, escape.markdown)]
    lines += [f"{note}." for note in _rf_notes(report, _outline(report, depth))]
    if roof:
        lines += ["", *summary(report, markdown=True)]
    if mem:
        lines += ["", *memory_text.summary(report, markdown=True)]
    lines += ["", f"*{escape.markdown(report.convention.summary())}*"]
    return "\n".join(lines)


def _tex(v: Any) -> str:
    if isinstance(v, int):
        return f"{v:,}".replace(",", r"\,")
    if is_concrete(v):
        return str(fmt_exact(v))
    from .tex import tex
    return tex(v)  # a formula, its integers grouped as the numbers are


def _sides(report: Report, label: str, value: Any) -> tuple[str, str]:
    """A total's equation as ``formula --latex`` writes it: arguments, integer coefficients (``tex.sides``)."""
    if is_concrete(value):
        return label, _tex(value)
    from .tex import sides
    return sides(report, label, value)


def _tex_shape(shape: tuple[Any, ...]) -> str:
    return "$[" + ", ".join(_tex(d) for d in shape) + "]$"


def latex(report: Report, depth: int | None = None) -> str:
    """A booktabs table of per-layer figures (formulas in symbolic mode) and an align block of the totals; with a
    memory report, the metrics shown in bytes too. The caption is short (the network's name); the convention is
    the table's note, marked from the caption."""
    t = report.totals
    size = report.extra["memory"]["bytes_per_value"] if "memory" in report.extra else None
    shown = [(m, 1) for m in COLUMNS] + [(m, size) for m in IN_BYTES if size]  # (metric, bytes per unit)
    heads = [m.title[0].upper() + m.title[1:] + (" (bytes)" if m.in_bytes else "") for m, k in shown]
    title = f"{escape.latex(report.name)}: cost by layer"
    lines = [r"% archcalc: needs \usepackage{booktabs} and \usepackage{amsmath}", r"\begin{table}[t]",
             r"\centering", f"\\caption[{title}]{{{title}$^{{\\dagger}}$}}",
             r"\begin{tabular}{lll" + "r" * len(shown) + "}", r"\toprule",
             " & ".join(["Layer", "Type", "Output shape", *heads]) + r" \\", r"\midrule"]
    for r in _outline(report, depth):
        figures = r.totals if isinstance(r, BlockResult) else r
        name = r"\quad " * r.depth + escape.latex(r.name)
        cells = [name, escape.latex(r.type), _tex_shape(r.output_shape),
                 *(f"${_tex(getattr(figures, m.name) * k)}$" for m, k in shown)]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\midrule", f"Total & & {_tex_shape(report.output_shape)} & "
              + " & ".join(f"${_tex(getattr(t, m.name) * k)}$" for m, k in shown) + r" \\",
              r"\bottomrule", r"\end{tabular}",
              f"\\par\\smallskip{{\\raggedright\\footnotesize $^{{\\dagger}}$\\,"
              f"{escape.latex(report.convention.summary())}\\par}}", r"\end{table}", "", r"\begin{align}"]
    totals = [(m.tex, getattr(t, m.name) * k) for m, k in shown]
    lines += ["{} &= {}".format(*_sides(report, label, value)) + (r" \\" if i < len(totals) - 1 else "")
              for i, (label, value) in enumerate(totals)]
    lines.append(r"\end{align}")
    return "\n".join(lines)


FORMATS: dict[str, Callable[[Report, int | None], str]] = {
    "table": table, "json": to_json, "csv": csv, "markdown": markdown, "latex": latex}
