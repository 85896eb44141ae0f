"""The report page's inline style sheet and script (sorting and filtering the layer table)."""

CSS = """
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

JS = r"""
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
