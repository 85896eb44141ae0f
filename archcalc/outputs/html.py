"""A report as one self-contained HTML page: summary, sortable layer table, charts, convention and spec.

Everything is inline (CSS, JS, SVG charts); the page loads nothing when opened, and a Content-Security-Policy
forbids it from trying. Exact figures sit in ``data-`` attributes; the cells show them with thousands separators.
"""
from __future__ import annotations

import io
import os
import re
from html import escape
from typing import Any

from ..core.errors import ArchcalcError
from ..core.metrics import COLUMNS, IN_BYTES, LISTED
from ..core.num import fmt_exact, is_concrete
from ..core.units import exact, human
from ..walk.report import BlockResult, LayerResult, Report
from .html_assets import CSS, JS
from .html_values import attr, axes, flatten, generic, num_cell, num_class, value_html
from .render import field_lines, rf_text, shape_text

# Charts drawn by archcalc.outputs.plot, in page order: (kind, caption).
CHARTS = (("summary", "Parameters, FLOPs and receptive field per layer"),
          ("cumulative", "Running totals of parameters and MACs"),
          ("layers", "Parameters and MACs per layer (per block in deep networks)"))
CHART_LAYERS = 60  # above this many layers, the per-layer bar chart collapses blocks below depth 2
PLOT_NOTE = "Charts are not included: matplotlib is not installed. pip install 'archcalc[plot]' adds them."

# (header, data attribute sorted on, kind) for the per-layer table; kind: num, text, or axes (per-axis "x"-list).
_COLUMNS = (("#", "index", "num"), ("name", "name", "text"), ("type", "type", "text"),
            ("output shape", "activations", "num"), *((m.title, m.name, "num") for m in COLUMNS),
            ("RF size", "rf-size", "axes"), ("RF jump", "rf-jump", "axes"))


def write_report(report: Report, spec_text: str, path: str | os.PathLike[str]) -> None:
    """Write ``report`` (and the spec it came from) to ``path`` as one self-contained HTML file, whole or not at
    all (``archcalc.outputs.files.write_file``)."""
    from .files import write_file
    write_file(path, render_html(report, spec_text))


def render_html(report: Report, spec_text: str) -> str:
    """The page as a string."""
    from ..core.version import __version__
    name = escape(report.name)
    sections = [_summary(report), _charts(report), _layers(report), _blocks(report),
                *(_extra_section(key, value) for key, value in report.extra.items()),
                _convention(report), _spec(spec_text)]
    nav = [("summary", "Summary"), ("charts", "Charts"), ("layers", "Layers"), ("blocks", "Blocks"),
           *((_anchor(key), key) for key in report.extra), ("convention", "Convention"), ("spec", "Spec")]
    nav_html = " ".join(f'<a href="#{a}">{escape(label)}</a>' for a, label in nav if not
                        (a == "blocks" and not report.blocks))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; \
script-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="archcalc {escape(__version__)}">
<title>{name} - archcalc report</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{name}</h1>
<p class="sub">archcalc {escape(__version__)} report &middot;
{_inputs_html(report)}
&rarr; output <code>{escape(shape_text(report.output_shape))}</code> &middot; {len(report.layers)} layers</p>
<nav>{nav_html}</nav>
</header>
<main>
{"".join(s for s in sections if s)}
</main>
<script>{JS}</script>
</body>
</html>
"""


# ---- sections ------------------------------------------------------------------------------------------------

def _summary(report: Report) -> str:
    t = report.totals
    rows = []
    for label, value in ((m.title, getattr(t, m.name)) for m in LISTED):
        unit = f"({human(value)})" if is_concrete(value) else ""
        rows.append(f'<tr><th scope="row">{label}</th><td class="num" data-value="{attr(value)}">'
                    f'{escape(exact(value))}</td><td class="unit">{escape(unit)}</td></tr>')
    rows += _memory_totals(report)
    notes = []
    if report.outputs:  # an outputs: header: each output's shape and field
        notes += [f"Output <code>{escape(o.name)}</code> ({escape(o.ref)}): <code>{escape(shape_text(o.output_shape))}"
                  f"</code>, receptive field size {escape(rf_text(o.rf, 'size'))}, "
                  f"jump {escape(rf_text(o.rf, 'jump'))}."
                  for o in report.outputs]
    elif report.rf is not None and report.rf.axes:
        notes.append(f"Receptive field at the output: size {escape(rf_text(report.rf, 'size'))}, "
                     f"jump {escape(rf_text(report.rf, 'jump'))}.")
    notes += [escape(line[0].upper() + line[1:]) + "." for line in field_lines(report)]  # the network's field
    if report.symbols:
        assumed = "".join(f"; {escape(n)} a multiple of {m}" for n, m in (report.assumptions or {}).items())
        notes.append(f"Symbolic: figures are formulas in {escape(', '.join(report.symbols))} "
                     f"(positive integers{assumed}).")
    if any(r.user_defined for r in report.layers):
        notes.append('<span class="badge">user</span> marks a user-defined layer type: its figures are the '
                     "spec's own formulas.")
    return ('<section id="summary"><h2>Summary</h2><table class="totals"><tbody>' + "".join(rows)
            + "</tbody></table>" + "".join(f"<p>{n}</p>" for n in notes) + "</section>")


def _memory_totals(report: Report) -> list[str]:
    """Summary rows for the memory section's totals (bytes, with decimal units), when the report has one."""
    m = report.extra.get("memory")
    if not m:
        return []
    from ..analyses.memory_text import bytes_text
    inf, train = m["inference"], m["training"]
    figures = [("parameter bytes", m["param_bytes"]), ("peak activations", inf["peak_activation_bytes"]),
               ("KV cache", inf["kv_cache_bytes"]),
               *((f"memory {metric.title}", m[f"{metric.name}_bytes"]) for metric in IN_BYTES),
               ("inference memory", inf["total_bytes"]),
               *([(f"training memory ({m['optimizer']})", train["total_bytes"])] if train else [])]
    return [f'<tr><th scope="row">{escape(label)} <span class="unit">({escape(m["dtype"])})</span></th>'
            f'<td class="num" data-value="{attr(value)}">{escape(exact(value))}</td>'
            f'<td class="unit">{escape(f"({bytes_text(value)})" if is_concrete(value) else "bytes")}</td></tr>'
            for label, value in figures if not (label == "KV cache" and value == 0)]


def _charts(report: Report) -> str:
    figures, notes = chart_svgs(report)
    body = "".join(f'<figure class="chart">{svg}<figcaption>{escape(caption)}</figcaption></figure>'
                   for caption, svg in figures)
    body += "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
    return f'<section id="charts"><h2>Charts</h2><div class="charts">{body}</div></section>'


def chart_svgs(report: Report) -> tuple[list[tuple[str, str]], list[str]]:
    """[(caption, inline SVG)] drawn by archcalc.outputs.plot, and notes on the charts left out."""
    if report.symbols:
        return [], ["Charts are not included: the figures of a symbolic report are formulas "
                    "(archcalc sweep --plot draws the totals against a symbol)."]
    try:
        import matplotlib

        from .plot import TEXT, plot
    except (ImportError, AttributeError):
        return [], [PLOT_NOTE]
    figures: list[tuple[str, str]] = []
    notes: list[str] = []
    for n, (kind, caption) in enumerate(CHARTS):
        # A per-layer bar chart of a deep network is very tall: show blocks below depth 2 as subtotals.
        depth = 2 if kind == "layers" and len(report.layers) > CHART_LAYERS else None
        try:
            fig = plot(report, kind, None, depth)
        except (ArchcalcError, ImportError, AttributeError) as e:  # e.g. a matplotlib too old: the page all the same
            notes.append(f"{caption}: chart not drawn ({e}).")
            continue
        buf = io.StringIO()
        with matplotlib.rc_context({"svg.hashsalt": "archcalc", **TEXT}):  # the same page for the same report
            fig.savefig(buf, format="svg", metadata={"Date": None})
        figures.append((caption, _inline_svg(buf.getvalue(), f"c{n}-")))
    return figures, notes


def _inline_svg(svg: str, prefix: str) -> str:
    """Matplotlib's SVG document as an element of the page: no XML prolog or metadata (which name web
    addresses), no namespace declarations (HTML does not need them), ids prefixed (and made unique) so that
    several charts can share a page."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    head_end = svg.index(">")
    head = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg[:head_end])
    svg = head + svg[head_end:]
    seen: dict[str, int] = {}

    def unique(m: re.Match[str]) -> str:  # a gid set on every bar repeats; references name the first
        n = seen[m.group(1)] = seen.get(m.group(1), 0) + 1
        return f'id="{prefix}{m.group(1)}{"" if n == 1 else f"-{n}"}"'
    svg = re.sub(r'\bid="([^"]+)"', unique, svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    return svg.strip()


def _layers(report: Report) -> str:
    extra_keys = _extra_columns(report.layers)
    heads = [*((label, label, attr, kind) for label, attr, kind in _COLUMNS),
             *((key.split(".", 1)[-1], key, f"x{i}", "num") for i, key in enumerate(extra_keys))]
    th = "".join(f'<th scope="col" data-attr="{attr}" data-kind="{kind}" aria-sort="none"'
                 f'{" class=right" if kind != "text" and attr != "activations" else ""} title="sort by '
                 f'{escape(full)}">{escape(label)}</th>' for label, full, attr, kind in heads)
    rows = [_layer_row(i, r, extra_keys) for i, r in enumerate(report.layers)]
    t = report.totals
    foot = (f'<tr><td></td><th scope="row">total</th><td></td><td>{escape(shape_text(report.output_shape))}</td>'
            + "".join(f'<td class="num">{escape(exact(getattr(t, m.name)))}</td>' for m in COLUMNS)
            + "<td></td>" * (2 + len(extra_keys)) + "</tr>")
    count = len(report.layers)
    # extra columns may not fit: scroll sideways (the header then no longer sticks to the window's top)
    wrap = ('<div class="scroll">', "</div>") if extra_keys else ("", "")
    return (f'<section id="layers"><h2>Layers</h2>'
            f'<div class="tools"><p class="hint">Click a column header to sort (again to reverse; <b>#</b> '
            f"restores the spec order). Names link to their line in the spec.</p>"
            f'<p><label>Filter <input type="search" id="filter" placeholder="name or type"></label> '
            f'<span id="shown" class="hint">{count} of {count} layers</span></p></div>'
            f'{wrap[0]}<table id="layer-table" class="layers"><thead><tr>{th}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody><tfoot>{foot}</tfoot></table>{wrap[1]}</section>')


def _layer_row(i: int, r: LayerResult, extra_keys: list[str]) -> str:
    flat = flatten(r.extra)
    data = {"index": i, "name": r.name, "type": r.type, "shape": "x".join(str(fmt_exact(d)) for d in r.output_shape),
            **{m.name: getattr(r, m.name) for m in LISTED},
            "rf-size": axes(r.rf, "size"), "rf-jump": axes(r.rf, "jump"), "rf-padding": axes(r.rf, "padding"),
            "depth": r.depth,
            **{f"x{j}": flat.get(key, "") for j, key in enumerate(extra_keys)}}
    attrs = " ".join(f'data-{k}="{attr(v)}"' for k, v in data.items())
    name = escape(r.name)
    if r.line:
        name = f'<a href="#L{r.line}">{name}</a>'
    badge = ' <span class="badge" title="user-defined layer type">user</span>' if r.user_defined else ""
    cells = [f'<td class="num idx">{i + 1}</td>',
             f'<td class="name" style="--depth:{r.depth}">{name}</td>',
             f"<td>{escape(r.type)}{badge}</td>", f"<td><code>{escape(shape_text(r.output_shape))}</code></td>",
             *(num_cell(getattr(r, m.name)) for m in COLUMNS),
             f'<td class="num">{escape(rf_text(r.rf, "size"))}</td>',
             f'<td class="num">{escape(rf_text(r.rf, "jump"))}</td>',
             *(f"<td{num_class(flat.get(key))}>{value_html(flat.get(key), key)}</td>" for key in extra_keys)]
    return f"<tr {attrs}>{''.join(cells)}</tr>"


def _blocks(report: Report) -> str:
    blocks = [b for b in report.outline if isinstance(b, BlockResult)]
    if not blocks:
        return ""
    rows = "".join(
        f'<tr><td class="name" style="--depth:{b.depth}">{escape(b.name)}</td><td>{escape(b.type)}</td>'
        f"<td><code>{escape(shape_text(b.output_shape))}</code></td>"
        + "".join(num_cell(getattr(b.totals, m.name)) for m in COLUMNS)
        + f'<td class="num">{len(b.layers)}</td></tr>' for b in blocks)
    return ('<section id="blocks"><h2>Blocks</h2><details><summary>Subtotals of the '
            f"{len(blocks)} blocks, repeats and branches</summary>"
            '<div class="scroll"><table class="layers"><thead><tr><th>name</th><th>type</th><th>output shape</th>'
            + "".join(f'<th class="num">{m.title}</th>' for m in COLUMNS) +
            f'<th class="num">layers</th></tr></thead><tbody>{rows}</tbody></table></div></details></section>')


def _convention(report: Report) -> str:
    conv = report.convention.to_dict()
    rules = "".join(f"<tr><th scope=\"row\">{escape(str(k))}</th><td>{escape(str(v))}</td></tr>"
                    for k, v in conv.get("rules", {}).items())
    notes = "".join(f"<li>{escape(str(n))}</li>" for n in conv.get("notes", []))
    return (f'<section id="convention"><h2>Convention</h2><p class="convention">'
            f"{escape(report.convention.summary())}</p>"
            f'<table class="kv"><thead><tr><th>op</th><th>FLOPs</th></tr></thead><tbody>{rules}'
            f"</tbody></table>" + (f"<ul>{notes}</ul>" if notes else "") + "</section>")


def _extra_section(key: str, value: Any) -> str:
    return f'<section id="{_anchor(key)}"><h2>{escape(str(key))}</h2>{generic(value)}</section>'


def _spec(spec_text: str) -> str:
    lines = spec_text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    body = "".join(f'<span class="line" id="L{n}">{escape(line.rstrip(chr(13)))}\n</span>'
                   for n, line in enumerate(lines, 1))
    return f'<section id="spec"><h2>Spec</h2><pre class="spec"><code>{body}</code></pre></section>'


def _extra_columns(layers: list[LayerResult]) -> list[str]:
    """Columns for the layers' extra figures, less those repeating a column shown (a roofline's flops)."""
    flat = [flatten(r.extra) for r in layers]
    keys = list(dict.fromkeys(k for f in flat for k in f))

    def repeats(key: str) -> bool:
        core = key.rsplit(".", 1)[-1]
        return core in {m.name for m in COLUMNS} and all(
            key not in f or str(f[key]) == str(fmt_exact(getattr(r, core))) for f, r in zip(flat, layers))
    return [k for k in keys if not repeats(k)]


def _anchor(key: str) -> str:
    return "x-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", str(key)).strip("-") or "section")


def _inputs_html(report: Any) -> str:
    """The network input's shape, or with several inputs each one's name and shape."""
    if len(report.inputs) < 2:
        return f"input <code>{escape(shape_text(report.input_shape))}</code>"
    return "inputs " + ", ".join(f"{escape(k)} <code>{escape(shape_text(v))}</code>" for k, v in report.inputs.items())
