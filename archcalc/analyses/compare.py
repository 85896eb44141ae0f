"""``archcalc compare``: one spec under every counting convention, split by op kind, with the rules that
make the presets part from archcalc's own count."""
from __future__ import annotations

from typing import Any

from ..core.errors import ArchcalcError
from ..core.units import exact as _n
from ..count.convention import ARCHCALC, Convention

PRESETS = ("archcalc", "paper", "torch", "fvcore", "ptflops", "thop", "torchinfo")
# Columns: op kinds of archcalc's layers, grouped as the counters' users think of them.
COLUMNS = {"conv": ("conv",), "linear": ("linear",), "attention": ("attention", "matmul"), "norm": ("norm",),
           "activation": ("activation", "softmax"), "pool": ("pool",), "elementwise": ("elementwise",),
           "other": ("recurrent", "embedding", "resize", "other")}


def compare(network: Any, metric: str = "macs") -> list[dict[str, Any]]:
    """Per preset: its name, tool, total and per-column amounts of ``metric``, and the layers it counts
    differently from archcalc (with the rule that does it)."""
    from ..count.preset import load
    from ..walk.engine import analyze
    base = analyze(network)
    rows = []
    for name in PRESETS:
        convention = load(name)
        try:
            report = base if convention is ARCHCALC else analyze(network, convention=convention)
        except ArchcalcError as e:
            rows.append({"convention": name, "error": e.message})
            continue
        reported = report.totals.flops if convention.unit == "flops" else report.totals.macs
        rows.append({"convention": name, "tool": _tool(convention), "reported": f"{_n(reported)} {convention.label}",
                     "total": getattr(report.totals, metric),
                     "by_kind": _by_kind(report, metric), "departs": _departures(base, report, convention)})
    rows.append({"convention": "archcalc only", "uncounted": _uncounted(base, rows)})
    return rows


def _uncounted(base: Any, rows: list[dict[str, Any]]) -> dict[str, tuple[Any, str]]:
    """Layer types whose work archcalc's FLOPs count beyond 2 x MACs and that no preset counts at all."""
    seen = {t for r in rows for t, _, _ in r.get("departs", ())}
    rules = ARCHCALC.rules()
    out: dict[str, tuple[Any, str]] = {}
    for row in base.layers:
        extra = row.flops - 2 * row.macs
        if row.type not in seen and extra != 0:
            rule = next((v for k, v in rules.items() if row.type in k.split("/")), None)
            if rule is None:  # a type listed inside another's rule (positional_embedding, under embedding)
                rule = next((v for v in rules.values() if row.type in v.replace(";", " ").split()), "")
            before = out.get(row.type, (0, rule))[0]
            out[row.type] = (before + extra, rule)
    return out


def _by_kind(report: Any, metric: str) -> dict[str, Any]:
    out = dict.fromkeys(COLUMNS, 0)
    column = {kind: col for col, kinds in COLUMNS.items() for kind in kinds}
    for row in report.layers:
        out[column.get(row.kind, "other")] += getattr(row, metric)
    return out


def _departures(base: Any, report: Any, convention: Convention) -> list[tuple[str, Any, str]]:
    """(layer type, MACs added (+) or left out (-) against archcalc's MACs, the rule) per layer type."""
    if convention is ARCHCALC:
        return []
    delta: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    for mine, theirs in zip(base.layers, report.layers):
        delta[mine.type] = delta.get(mine.type, 0) + theirs.macs - mine.macs
        kinds[mine.type] = mine.kind
    rules = convention.rules()  # a custom layer without a rule of its own is counted by its kind's
    return [(t, d, rules.get(t, convention.per_kind.get(kinds[t], ""))) for t, d in delta.items() if d != 0]


def _tool(convention: Convention) -> str:
    tool = next((n for n in convention.notes if n.startswith("tool: ")), None)
    return tool[len("tool: "):] if tool else f"archcalc's {convention.name} convention"


def table(rows: list[dict[str, Any]], metric: str, markdown: bool = False) -> str:
    """The comparison as text (or a Markdown table), then where each preset departs from archcalc."""
    extra = rows[-1]["uncounted"]
    rows = rows[:-1]
    from ..core.escape import markdown as markdown_text
    name = markdown_text if markdown else str  # layer types: a custom type's name comes from the spec
    head = ["convention", "the tool's own figure", metric, *COLUMNS]
    body = [[r["convention"], "-", "-", *["-"] * len(COLUMNS)] if "error" in r else
            [r["convention"], r["reported"], _n(r["total"]), *(_n(r["by_kind"][c]) for c in COLUMNS)]
            for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
        lines += ["| " + " | ".join(f"`{c}`" if i == 0 else c for i, c in enumerate(row)) + " |" for row in body]
    else:
        widths = [max(len(str(row[i])) for row in [head, *body]) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                 for row in [head, *body]]
        lines.insert(1, "  ".join("-" * w for w in widths))
    lines += ["", "Where each preset departs from archcalc's MACs (conv, linear and matmul multiply-accumulates):"]
    for r in rows:
        if "error" in r:
            lines.append(f"- {r['convention']}: not applicable ({r['error']})")
        elif r["convention"] != "archcalc":
            parts = [f"{name(t)} {'+' if d > 0 else '-'}{_n(abs(d))} ({rule})" for t, d, rule in r["departs"]]
            lines.append(f"- {r['convention']} ({r['tool']}): " + ("; ".join(parts) if parts else "the same"))
    if extra:
        lines.append("- counted by none of the presets, only by archcalc's FLOPs: " + "; ".join(
            f"{name(t)} {_n(v)} FLOPs ({rule})" for t, (v, rule) in extra.items()))
    return "\n".join(lines)

