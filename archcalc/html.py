"""A report as one self-contained HTML page: summary, sortable layer table, charts, convention and spec.

Everything is inline (CSS, JS, SVG charts); the page loads nothing when opened, and a Content-Security-Policy
forbids it from trying. Exact figures sit in ``data-`` attributes; the cells show them with thousands separators.
"""
from __future__ import annotations

import io
import json
import os
import re
from fractions import Fraction
from html import escape
from typing import Any

from .errors import ArchcalcError
from .num import as_float, fmt_exact, fmt_number, is_concrete
from .render import rf_text, shape_text
from .report import BlockResult, LayerResult, Report
from .rf import RF, AxisRF
from .units import exact, human

# Charts drawn by archcalc.plot, in page order: (kind, caption).
CHARTS = (("summary", "Parameters, FLOPs and receptive field per layer"),
          ("cumulative", "Running totals of parameters and MACs"),
          ("layers", "Parameters and MACs per layer (per block in deep networks)"))
CHART_LAYERS = 60  # above this many layers, the per-layer bar chart collapses blocks below depth 2
PLOT_NOTE = "Charts are not included: matplotlib is not installed. pip install 'archcalc[plot]' adds them."

# (header, data attribute sorted on, kind) for the per-layer table; kind: num, text, or axes (per-axis "x"-list).
_COLUMNS = (("#", "index", "num"), ("name", "name", "text"), ("type", "type", "text"),
            ("output shape", "activations", "num"), ("params", "params", "num"), ("MACs", "macs", "num"),
            ("FLOPs", "flops", "num"), ("RF size", "rf-size", "axes"), ("RF jump", "rf-jump", "axes"))


def write_report(report: Report, spec_text: str, path: str | os.PathLike[str]) -> None:
    """Write ``report`` (and the spec it came from) to ``path`` as one self-contained HTML file, whole or not at
    all (``archcalc.output.write_file``)."""
    from .output import write_file
    write_file(path, render_html(report, spec_text))


def render_html(report: Report, spec_text: str) -> str:
    """The page as a string."""
    from .version import __version__
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
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>{name}</h1>
<p class="sub">archcalc {escape(__version__)} report &middot;
input <code>{escape(shape_text(report.input_shape))}</code>
&rarr; output <code>{escape(shape_text(report.output_shape))}</code> &middot; {len(report.layers)} layers</p>
<nav>{nav_html}</nav>
</header>
<main>
{"".join(s for s in sections if s)}
</main>
<script>{_JS}</script>
</body>
</html>
"""


# ---- sections ------------------------------------------------------------------------------------------------

def _summary(report: Report) -> str:
    t = report.totals
    rows = []
    for label, value in (("params", t.params), ("buffers", t.buffers), ("MACs", t.macs), ("FLOPs", t.flops),
                         ("activations", t.activations)):
        unit = f"({human(value)})" if is_concrete(value) else ""
        rows.append(f'<tr><th scope="row">{label}</th><td class="num" data-value="{_attr(value)}">'
                    f'{escape(exact(value))}</td><td class="unit">{escape(unit)}</td></tr>')
    rows += _memory_totals(report)
    notes = []
    if report.rf is not None and report.rf.axes:
        notes.append(f"Receptive field at the output: size {escape(rf_text(report.rf, 'size'))}, "
                     f"jump {escape(rf_text(report.rf, 'jump'))}.")
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
    from .memory import bytes_text
    inf, train = m["inference"], m["training"]
    figures = [("parameter bytes", m["param_bytes"]), ("peak activations", inf["peak_activation_bytes"]),
               ("KV cache", inf["kv_cache_bytes"]), ("inference memory", inf["total_bytes"]),
               *([(f"training memory ({m['optimizer']})", train["total_bytes"])] if train else [])]
    return [f'<tr><th scope="row">{escape(label)} <span class="unit">({escape(m["dtype"])})</span></th>'
            f'<td class="num" data-value="{_attr(value)}">{escape(exact(value))}</td>'
            f'<td class="unit">{escape(f"({bytes_text(value)})" if is_concrete(value) else "bytes")}</td></tr>'
            for label, value in figures if not (label == "KV cache" and value == 0)]


def _charts(report: Report) -> str:
    figures, notes = chart_svgs(report)
    body = "".join(f'<figure class="chart">{svg}<figcaption>{escape(caption)}</figcaption></figure>'
                   for caption, svg in figures)
    body += "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
    return f'<section id="charts"><h2>Charts</h2><div class="charts">{body}</div></section>'


def chart_svgs(report: Report) -> tuple[list[tuple[str, str]], list[str]]:
    """[(caption, inline SVG)] drawn by archcalc.plot, and notes on the charts left out."""
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
            + "".join(f'<td class="num">{escape(exact(v))}</td>' for v in (t.params, t.macs, t.flops))
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
    flat = _flatten(r.extra)
    data = {"index": i, "name": r.name, "type": r.type, "shape": "x".join(str(fmt_exact(d)) for d in r.output_shape),
            "params": r.params, "buffers": r.buffers, "macs": r.macs, "flops": r.flops,
            "activations": r.activations, "rf-size": _axes(r.rf, "size"), "rf-jump": _axes(r.rf, "jump"),
            "rf-padding": _axes(r.rf, "padding"), "depth": r.depth,
            **{f"x{j}": flat.get(key, "") for j, key in enumerate(extra_keys)}}
    attrs = " ".join(f'data-{k}="{_attr(v)}"' for k, v in data.items())
    name = escape(r.name)
    if r.line:
        name = f'<a href="#L{r.line}">{name}</a>'
    badge = ' <span class="badge" title="user-defined layer type">user</span>' if r.user_defined else ""
    cells = [f'<td class="num idx">{i + 1}</td>',
             f'<td class="name" style="--depth:{r.depth}">{name}</td>',
             f"<td>{escape(r.type)}{badge}</td>", f"<td><code>{escape(shape_text(r.output_shape))}</code></td>",
             *(_num_cell(v) for v in (r.params, r.macs, r.flops)),
             f'<td class="num">{escape(rf_text(r.rf, "size"))}</td>',
             f'<td class="num">{escape(rf_text(r.rf, "jump"))}</td>',
             *(f"<td{_num_class(flat.get(key))}>{_value(flat.get(key), key)}</td>" for key in extra_keys)]
    return f"<tr {attrs}>{''.join(cells)}</tr>"


def _blocks(report: Report) -> str:
    blocks = [b for b in report.outline if isinstance(b, BlockResult)]
    if not blocks:
        return ""
    rows = "".join(
        f'<tr><td class="name" style="--depth:{b.depth}">{escape(b.name)}</td><td>{escape(b.type)}</td>'
        f"<td><code>{escape(shape_text(b.output_shape))}</code></td>"
        + "".join(_num_cell(v) for v in (b.totals.params, b.totals.macs, b.totals.flops))
        + f'<td class="num">{len(b.layers)}</td></tr>' for b in blocks)
    return ('<section id="blocks"><h2>Blocks</h2><details><summary>Subtotals of the '
            f"{len(blocks)} blocks, repeats and branches</summary>"
            '<div class="scroll"><table class="layers"><thead><tr><th>name</th><th>type</th><th>output shape</th>'
            '<th class="num">params</th><th class="num">MACs</th><th class="num">FLOPs</th>'
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
    return f'<section id="{_anchor(key)}"><h2>{escape(str(key))}</h2>{_generic(value)}</section>'


def _spec(spec_text: str) -> str:
    lines = spec_text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    body = "".join(f'<span class="line" id="L{n}">{escape(line.rstrip(chr(13)))}\n</span>'
                   for n, line in enumerate(lines, 1))
    return f'<section id="spec"><h2>Spec</h2><pre class="spec"><code>{body}</code></pre></section>'


# ---- values --------------------------------------------------------------------------------------------------

def _generic(value: Any, depth: int = 0, key: str = "") -> str:
    """A dict as a key/value table, a list of dicts as a table with a column per key, a list as a list."""
    if depth > 4:
        return f"<code>{escape(json.dumps(value, default=str))}</code>"
    if isinstance(value, dict):
        if not value:
            return "(empty)"
        rows = "".join(f'<tr><th scope="row">{escape(str(k))}</th><td{_num_class(v)}>{_generic(v, depth + 1, k)}'
                       "</td></tr>" for k, v in value.items())
        return f'<table class="kv"><tbody>{rows}</tbody></table>'
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f"<th>{escape(str(k))}</th>" for k in keys)
            rows = "".join("<tr>" + "".join(f"<td{_num_class(v.get(k))}>{_generic(v.get(k), depth + 1, k)}</td>"
                                            for k in keys) + "</tr>" for v in value)
            return f'<table class="kv"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
        if len(value) > 1 and all(isinstance(v, str) and len(v) > 40 for v in value):  # sentences
            return "<ul>" + "".join(f"<li>{escape(v)}</li>" for v in value) + "</ul>"
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            return ", ".join(_value(v, key) for v in value)
        return "<ul>" + "".join(f"<li>{_generic(v, depth + 1, key)}</li>" for v in value) + "</ul>"
    return _value(value, key)


_RATIO = re.compile(r"-?\d+/\d+")


def _number(v: Any) -> int | float | Fraction | None:
    """The number a value stands for (exact rationals may come as "p/q" strings), or None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, Fraction)):
        return v
    if isinstance(v, str) and _RATIO.fullmatch(v):
        return Fraction(v)
    return None


def _value(v: Any, key: Any = "") -> str:
    """One value as HTML: integers with thousands separators; rationals and floats as decimals (seconds, for a
    key ending in ``_s``, in s/ms/µs/ns), with the exact value as a tooltip; anything else as text."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v).lower()
    n = _number(v)
    if n is None:
        return escape(str(fmt_exact(v)))
    if isinstance(n, int):
        return f"{n:,}"
    x = as_float(n)
    if x is None:  # beyond float range: the decimal digits of the exact value
        text = fmt_number(n, ".3g") + (" s" if str(key).endswith("_s") else "")
    else:
        text = _seconds(x) if str(key).endswith("_s") else f"{x:.4g}"
    return f'<span title="{_attr(v)}">{escape(text)}</span>'


def _seconds(x: float) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x:.3g} s"


def _num_class(v: Any) -> str:
    return ' class="num"' if _number(v) is not None else ""


def _num_cell(v: Any) -> str:
    tip = f' title="{escape(human(v))}"' if is_concrete(v) else ""
    return f'<td class="num"{tip}>{escape(exact(v))}</td>'


def _attr(v: Any) -> str:
    """An exact value for a data attribute: 1234, 1/2, a formula, or text; escaped."""
    if isinstance(v, float):
        return escape(repr(v))
    return escape(str(fmt_exact(v)) if not isinstance(v, str) else v)


def _axes(rf: RF, key: str) -> str:
    """Per-axis values of one RF quantity, 'x'-joined (7x7), or the marker (global)."""
    values = [str(fmt_exact(getattr(a, key))) if isinstance(a, AxisRF) else str(a) for a in rf.axes]
    if values and len(set(values)) == 1 and not isinstance(rf.axes[0], AxisRF):
        return values[0]
    return "x".join(values)


def _flatten(extra: dict[str, Any]) -> dict[str, Any]:
    """A layer's extra figures, one level of dicts flattened to dotted keys; deeper values as JSON."""
    out: dict[str, Any] = {}
    for key, value in extra.items():
        items = value.items() if isinstance(value, dict) else [("", value)]
        for sub, v in items:
            name = f"{key}.{sub}" if sub else str(key)
            out[name] = v if isinstance(v, (int, float, str)) or is_concrete(v) else json.dumps(v, default=str)
    return out


def _extra_columns(layers: list[LayerResult]) -> list[str]:
    """Columns for the layers' extra figures, less those repeating a column shown (a roofline's flops)."""
    flat = [_flatten(r.extra) for r in layers]
    keys = list(dict.fromkeys(k for f in flat for k in f))

    def repeats(key: str) -> bool:
        core = key.rsplit(".", 1)[-1]
        return core in ("params", "macs", "flops") and all(
            key not in f or str(f[key]) == str(fmt_exact(getattr(r, core))) for f, r in zip(flat, layers))
    return [k for k in keys if not repeats(k)]


def _anchor(key: str) -> str:
    return "x-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", str(key)).strip("-") or "section")


_CSS = """
:root { --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --alt: #f6f8fa; --line: #d1d9e0; --accent: #0969da; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --alt: #151b23; --line: #3d444d; --accent: #4493f8; }
  .chart svg { background: #ffffff; border-radius: 4px; }
}
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header, main { max-width: 1200px; margin: 0 auto; padding: 0 1.25rem; }
header { padding-top: 1.5rem; }
h1 { margin: 0 0 .25rem; font-size: 1.8rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .75rem; padding-bottom: .3rem; border-bottom: 1px solid var(--line); }
.sub, .hint, .note, figcaption { color: var(--muted); }
nav { margin: .75rem 0 0; display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, td.num { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: .88em; }
table { border-collapse: collapse; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
.num, .right { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.totals th { font-weight: 600; padding-right: 2rem; }
.totals td { font-size: 1.05rem; }
.unit { color: var(--muted); }
.scroll { overflow-x: auto; max-width: 100%; }
table.layers { width: 100%; }
table.layers thead th { position: sticky; top: 0; background: var(--alt); z-index: 1; white-space: nowrap;
  border-bottom: 2px solid var(--line); }
#layer-table thead th { cursor: pointer; user-select: none; }
#layer-table thead th:hover { color: var(--accent); }
#layer-table thead th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: .75em; }
#layer-table thead th[aria-sort="descending"]::after { content: " \\25BC"; font-size: .75em; }
table.layers tbody tr:nth-child(even) { background: var(--alt); }
table.layers tbody tr:hover { background: rgba(9, 105, 218, .08); }
table.layers tfoot td, table.layers tfoot th { font-weight: 600; border-top: 2px solid var(--line); }
.name { white-space: nowrap; padding-left: calc(.6rem + var(--depth, 0) * 1.2em); }
table.sorted .name { padding-left: .6rem; }
.tools { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: baseline; gap: 0 2rem; }
.tools p { margin: .25rem 0 .75rem; }
.name a { color: inherit; }
.idx { color: var(--muted); }
.badge { font-size: .72em; padding: 0 .35em; border-radius: 3px; background: #fff1c2; color: #6b4e00; }
input[type=search] { font: inherit; padding: .15rem .4rem; border: 1px solid var(--line); border-radius: 4px;
  background: var(--bg); color: var(--fg); }
.chart { margin: 0 0 1.5rem; }
.chart svg { width: 100%; height: auto; display: block; }
figcaption { text-align: center; font-size: .9rem; }
table.kv td, table.kv th { font-size: .92rem; }
table.kv th[scope=row] { white-space: nowrap; font-weight: 600; }
table.kv td.num { text-align: left; }
td code { white-space: nowrap; }
.convention { font-style: italic; }
pre.spec { background: var(--alt); border: 1px solid var(--line); border-radius: 6px; padding: .75rem 0;
  overflow-x: auto; counter-reset: line; }
pre.spec .line { display: block; padding: 0 1rem 0 0; }
pre.spec .line::before { counter-increment: line; content: counter(line); display: inline-block; width: 3.5em;
  padding-right: 1em; margin-right: .75em; text-align: right; color: var(--muted); border-right: 1px solid var(--line);
  user-select: none; }
pre.spec .line:target { background: #fff8c5; color: #1f2328; }
main { padding-bottom: 3rem; }
"""

_JS = r"""
(function () {
  "use strict";
  var table = document.getElementById("layer-table");
  if (!table) return;
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);

  // An exact value: integers and rationals compare exactly (BigInt), floats as numbers; then the
  // "global" marker (every position), then other text (formulas, markers), in natural order.
  function parse(v) {
    var m;
    if (v === null || v === "") return {k: 3, s: ""};
    if (/^-?\d+$/.test(v)) return {k: 0, n: BigInt(v), d: 1n};
    if ((m = /^(-?\d+)\/(\d+)$/.exec(v))) return {k: 0, n: BigInt(m[1]), d: BigInt(m[2])};
    if (/^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(v)) return {k: 1, f: Number(v)};
    if (v === "global") return {k: 2};
    return {k: 3, s: v};
  }
  function asNumber(a) { return a.k === 1 ? a.f : Number(a.n) / Number(a.d); }
  function cmpOne(a, b) {
    var ka = a.k === 1 ? 0 : a.k, kb = b.k === 1 ? 0 : b.k;
    if (ka !== kb) return ka - kb;
    if (ka === 0) {
      if (a.k === 0 && b.k === 0) {
        var l = a.n * b.d, r = b.n * a.d;
        return l < r ? -1 : l > r ? 1 : 0;
      }
      var x = asNumber(a), y = asNumber(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    if (ka === 3) return a.s.localeCompare(b.s, undefined, {numeric: true});
    return 0;
  }
  function key(row, attr, kind) {
    var v = row.getAttribute("data-" + attr);
    if (kind === "text") return [{k: 3, s: v || ""}];
    if (kind === "axes") return v === "" ? [] : v.split("x").map(parse);
    return [parse(v)];
  }
  function cmp(a, b) {
    for (var i = 0; i < Math.min(a.length, b.length); i++) {
      var c = cmpOne(a[i], b[i]);
      if (c) return c;
    }
    return a.length - b.length;
  }

  function sortBy(th) {
    var attr = th.getAttribute("data-attr"), kind = th.getAttribute("data-kind");
    var current = th.getAttribute("aria-sort");
    var first = (kind === "text" || attr === "index") ? "ascending" : "descending";
    var order = current === "none" ? first : (current === "ascending" ? "descending" : "ascending");
    var sign = order === "ascending" ? 1 : -1;
    var rows = Array.prototype.slice.call(body.rows).map(function (row) {
      return {row: row, key: key(row, attr, kind), index: Number(row.getAttribute("data-index"))};
    });
    rows.sort(function (a, b) { return sign * cmp(a.key, b.key) || a.index - b.index; });
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) { frag.appendChild(r.row); });
    body.appendChild(frag);
    heads.forEach(function (h) { h.setAttribute("aria-sort", h === th ? order : "none"); });
    // indentation shows the blocks, in the spec's order only
    table.classList.toggle("sorted", !(attr === "index" && order === "ascending"));
  }
  heads.forEach(function (th) { th.addEventListener("click", function () { sortBy(th); }); });

  var filter = document.getElementById("filter"), shown = document.getElementById("shown");
  if (filter) filter.addEventListener("input", function () {
    var q = filter.value.trim().toLowerCase(), n = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var hit = !q || (row.getAttribute("data-name") + " " + row.getAttribute("data-type")).toLowerCase()
        .indexOf(q) >= 0;
      row.hidden = !hit;
      if (hit) n++;
    });
    shown.textContent = n + " of " + body.rows.length + " layers";
  });
})();
"""
