"""The memory figures as text: the table, markdown and CSV columns per layer and for the total, and the closing
summary (dtype and batch, peak activations, KV cache, inference and training totals, the assumptions). The
figures themselves are ``memory.annotate``'s (``report.extra["memory"]``, ``row.extra["memory"]``).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.metrics import IN_BYTES
from ..core.num import fmt_exact, is_concrete
from .memory import MIXED, peak, per_param


def bytes_text(n: Any) -> str:
    """Bytes for people, in decimal units: 512 B, 1.23 MB; a formula as it is."""
    from ..core.units import human
    text = human(n)
    if not is_concrete(n):
        return text
    return text + "B" if text[-1].isalpha() else text + " B"


def _has_cache(report: Any) -> bool:
    cache = report.totals.cache
    return not (is_concrete(cache) and cache == 0)


def columns(report: Any) -> tuple[str, ...]:
    """Table and markdown columns: live, KV cache when the network has one, and the metrics shown in bytes."""
    return ("live", *(("KV cache",) if _has_cache(report) else ()), *(m.title for m in IN_BYTES))


def row_cells(report: Any, num: Callable[[Any], str]) -> Callable[[Any], tuple[str, ...]]:
    """The ``columns`` of a table row: a leaf layer, or a block (its largest live, its summed cache)."""
    by_name = {row.name: row for row in report.layers}
    size = report.extra["memory"]["bytes_per_value"]
    with_cache = _has_cache(report)

    def cells(r: Any) -> tuple[str, ...]:
        names = getattr(r, "layers", None)  # a block lists its leaf layers by name
        rows = [by_name[n] for n in names if n in by_name] if isinstance(names, list) else [r]
        if not rows:
            return ("-",) * (1 + with_cache + len(IN_BYTES))
        live = num(peak([row.live for row in rows], report.assumptions)[0] * size)
        cache = (num(sum(row.cache for row in rows) * size),) if with_cache else ()
        return (live, *cache, *(num(sum(getattr(row, m.name) for row in rows) * size) for m in IN_BYTES))
    return cells


def total_cells(report: Any, num: Callable[[Any], str]) -> tuple[str, ...]:
    """The ``columns`` of the total row: the peak live (not a sum), the KV cache, the metrics shown in bytes."""
    m = report.extra["memory"]
    live = num(m["inference"]["peak_activation_bytes"])
    cache = (num(report.totals.cache * m["bytes_per_value"]),) if _has_cache(report) else ()
    return (live, *cache, *(num(m[f"{metric.name}_bytes"]) for metric in IN_BYTES))


def csv_columns() -> tuple[str, ...]:
    """The metrics shown in bytes (traffic), then parameters, buffers, live, output and KV cache."""
    return (*(f"{m.name}_bytes" for m in IN_BYTES), "param_bytes", "buffer_bytes", "live_bytes", "output_bytes",
            "kv_cache_bytes")


def csv_values(figures: dict[str, Any] | None) -> list[str]:
    if not figures:
        return [""] * len(csv_columns())
    return [str(figures[k]) for k in csv_columns()]


def csv_totals(report: Any) -> list[str]:
    """The total row: the sums of the metrics shown in bytes, parameters, buffers, the peak live (not a sum), all
    outputs, the KV cache."""
    m, t = report.extra["memory"], report.totals
    return [*(str(m[f"{metric.name}_bytes"]) for metric in IN_BYTES), str(m["param_bytes"]), str(m["buffer_bytes"]),
            str(m["inference"]["peak_activation_bytes"]), str(fmt_exact(t.activations * m["bytes_per_value"])),
            str(m["inference"]["kv_cache_bytes"])]


def _items(m: dict[str, Any], num: Callable[[Any], str], name: Callable[[str], str] = str) -> list[tuple[str, str]]:
    """(label, text) lines of the memory section, each figure written by ``num``, the layer's name by ``name``."""
    inf, train = m["inference"], m["training"]
    where = f"while {name(inf['peak_layer'])} runs" if inf["peak_layer"] else "at a layer that depends on the symbols"
    items = [
        ("memory", f"{m['dtype']} at {m['bytes_per_value']} byte{'s' * (m['bytes_per_value'] > 1)} per value, "
                   f"batch {m['batch']}"),
        ("parameters", num(m["param_bytes"])),
        ("buffers", num(m["buffer_bytes"])),
        ("peak activations", f"{num(inf['peak_activation_bytes'])} {where} (inference; the "
                             f"{'inputs' if m.get('inputs', 1) > 1 else 'input'} alone "
                             f"{'are' if m.get('inputs', 1) > 1 else 'is'} {num(inf['input_bytes'])})"),
        ("KV cache", num(inf["kv_cache_bytes"])),
        ("traffic", f"{num(m['traffic_bytes'])}: what the layers read and write (inputs, weights, outputs)"),
        ("inference", f"{num(inf['total_bytes'])} = parameters + buffers + peak activations + KV cache"),
    ]
    if train is None:
        return [*items, ("training", "no figures for int8 (not a training format); use --dtype fp32, bf16 or fp16")]
    parts = per_param(m["dtype"], m["optimizer"]) or {}
    fp32 = "fp32 " if m["dtype"] in MIXED else ""
    names = {"weight": "weight", "gradient": "gradient", "master_weight": "fp32 master weight",
             "optimizer_state": f"{fp32}{m['optimizer']} state"}
    per = " + ".join(f"{n} {names[part]}" for part, n in parts.items() if n)
    return [*items,
            (f"training ({m['optimizer']})", f"{num(train['total_bytes'])} = params x {train['bytes_per_param']} "
                                             "+ buffers + saved activations"),
            ("per parameter", f"{per} = {train['bytes_per_param']} bytes"),
            ("saved", f"{num(train['saved_activation_bytes'])}: the input, every layer's output and "
                      "dense attention scores")]


def summary(report: Any, markdown: bool = False) -> list[str]:
    """The closing block: dtype and batch, parameters, peak activations and where, KV cache, inference and
    training totals with their parts, and the assumptions; aligned text (human units, decimal) for the table
    view, a bullet list (exact) for markdown."""
    m = report.extra["memory"]
    if markdown:
        from ..core.escape import markdown as text
        items = _items(m, lambda v: f"{v:,} bytes" if isinstance(v, int) else f"`{v}` bytes", text)
        return [*(f"- {label[0].upper() + label[1:]}: {text}" for label, text in items), "- Memory assumptions:",
                *(f"  - {a}" for a in m["assumptions"])]
    items = _items(m, lambda v: f"{v:,} bytes ({bytes_text(v)})" if isinstance(v, int) else f"{v} bytes")
    items[0] = (items[0][0], items[0][1] + "; units are decimal (1 MB = 10^6 bytes)")
    width = max(len(label) for label, _ in items)
    return [*(f"{label:<{width}}  {text}" for label, text in items),
            *(f"{'assumptions' if i == 0 else '':<{width}}  - {a}" for i, a in enumerate(m["assumptions"]))]


def csv_notes(report: Any) -> list[str]:
    """The memory section as comment lines closing a CSV (exact bytes)."""
    m = report.extra["memory"]
    return [*(f"{label if label == 'memory' else 'memory ' + label}: {text}"
              for label, text in _items(m, lambda v: f"{v} bytes")),
            *(f"memory assumption: {a}" for a in m["assumptions"])]
