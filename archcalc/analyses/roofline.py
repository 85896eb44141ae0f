"""Roofline bounds: the least time each layer can take on a device, from its peak FLOP/s and memory bandwidth.

The roofline model (Williams, Waterman & Patterson, CACM 2009), applied to every leaf layer:

    bytes       = traffic x bytes per value of the dtype      (metrics.py: traffic = params + buffers
                                                               + input_elements + activations)
    intensity   = FLOPs / bytes                                  FLOP per byte
    ridge point = peak FLOP/s / bandwidth                        FLOP per byte
    bound       = "compute" if intensity >= ridge point else "memory"
    lower bound = max(FLOPs / peak, bytes / bandwidth)           seconds
    at E        = lower bound / E                                E = --efficiency, in (0, 1]

The network's bound is the sum of its layers' bounds (layers run one after another). Everything is exact:
peaks and bandwidths are integers (FLOP/s, bytes/s) and times are ``Fraction``s of a second. In JSON (and
CSV) they follow archcalc's rule for exact values: ints stay ints, other rationals are strings ``"p/q"``.
Only the table and markdown views print decimals.

``--hardware``: a built-in device or a hardware file of your own (archcalc.analyses.hardware).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..core.errors import SpecError
from ..core.metrics import BYTES_PER_VALUE, DTYPES
from ..core.num import fmt_exact, fmt_number, is_concrete
from .hardware import Device, builtin, device, listing, load_file, rate_text

__all__ = ["BYTES_PER_VALUE", "DTYPES", "Device", "annotate", "builtin", "device", "listing", "load_file"]

ASSUMPTIONS = (
    "every value (weights, buffers, inputs, outputs) is stored in the chosen dtype: fp32 4 bytes, bf16 and fp16 2, "
    "int8 1",
    "each layer reads its weights and buffers once and its inputs once, and writes its output once, at the batch "
    "declared",
    "no reuse across layers: every output goes to memory and is read back by the next layer (no fusion, no cache "
    "hits); reshape-like layers (flatten, reshape, identity, dropout) count as copies",
    "layers run one after another: the network's bound is the sum of its layers' bounds",
    "peak is the dense datasheet figure for the dtype (no sparsity); int8 peaks are operations per second, set "
    "against the FLOPs counted here",
    "nothing else takes time: no kernel launches, synchronisation, host transfers or communication",
)
NOTE = ("These are lower bounds, not predictions: no real run is faster than the bound at efficiency 1, and "
        "the time at a lower efficiency only scales that bound; measure to know the actual time.")


# ---------------------------------------------------------------- the bounds

def _efficiency(value: Any) -> Fraction:
    """A fraction of peak in (0, 1], exact: 0.3 means 3/10 (its decimal form), not the nearest binary float."""
    exact: Fraction | None = None
    try:
        if isinstance(value, float):
            exact = Fraction(repr(value))
        elif isinstance(value, (int, Fraction)) and not isinstance(value, bool):
            exact = Fraction(value)
        elif isinstance(value, str):
            exact = Fraction(value.strip())
    except (ValueError, ZeroDivisionError):
        exact = None
    if exact is None or not 0 < exact <= 1:
        raise SpecError(f"efficiency {value!r} is not in (0, 1]", file="--efficiency",
                        hint="the fraction of peak assumed, e.g. --efficiency 0.5")
    return exact


@dataclass(frozen=True)
class _Figures:
    flops: int
    bytes: int
    compute_time: Fraction
    memory_time: Fraction

    @property
    def lower_bound(self) -> Fraction:
        return max(self.compute_time, self.memory_time)

    @property
    def intensity(self) -> Fraction | None:
        return Fraction(self.flops, self.bytes) if self.bytes else None

    def bound(self, ridge: Fraction) -> str:
        intensity = self.intensity
        return "compute" if intensity is None or intensity >= ridge else "memory"

    def to_dict(self, ridge: Fraction, efficiency: Fraction) -> dict[str, Any]:
        intensity = self.intensity
        return {"bytes": self.bytes, "flops": self.flops,
                "intensity": None if intensity is None else fmt_exact(intensity), "bound": self.bound(ridge),
                "compute_time_s": fmt_exact(self.compute_time), "memory_time_s": fmt_exact(self.memory_time),
                "time_lower_bound_s": fmt_exact(self.lower_bound),
                "time_at_efficiency_s": fmt_exact(self.lower_bound / efficiency)}


def annotate(report: Any, hardware: str | Device, dtype: str = "fp32", efficiency: Any = 1) -> Any:
    """Add roofline bounds to ``report``: ``row.extra["roofline"]`` per leaf layer, ``report.extra["roofline"]``
    for the device, the assumptions and the totals. Returns the report.

    ``hardware``: a built-in name, a YAML file (``FILE`` or ``FILE:NAME``) or a ``Device``.
    """
    if getattr(report, "symbols", None):
        raise SpecError("roofline bounds are not supported for a symbolic report", file="--hardware",
                        hint="give every symbol a value with --set NAME=VALUE and drop --symbolic")
    if dtype not in BYTES_PER_VALUE:
        raise SpecError(f"unknown dtype {dtype!r}", file="--dtype", hint=f"one of {', '.join(DTYPES)}")
    eff = _efficiency(efficiency)
    dev = device(hardware)
    peak, bandwidth, size = dev.peak(dtype), dev.bandwidth, BYTES_PER_VALUE[dtype]
    ridge = Fraction(peak, bandwidth)

    def figures(flops: int, moved: int) -> _Figures:
        return _Figures(flops, moved, Fraction(flops, peak), Fraction(moved, bandwidth))

    total_flops = total_bytes = 0
    total_time = Fraction(0)
    counts = {"compute": 0, "memory": 0}
    for row in report.layers:
        if not all(is_concrete(v) and isinstance(v, int) for v in (row.traffic, row.flops)):
            raise SpecError(f"layer {row.name} has non-integer figures", file="--hardware",
                            hint="roofline bounds need a numeric report")
        moved = row.traffic * size  # the memory traffic
        f = figures(row.flops, moved)
        row.extra["roofline"] = f.to_dict(ridge, eff)
        counts[f.bound(ridge)] += 1
        total_flops, total_bytes, total_time = total_flops + row.flops, total_bytes + moved, total_time + f.lower_bound
    whole = figures(total_flops, total_bytes)
    totals = {"bytes": total_bytes, "flops": total_flops,
              "intensity": None if whole.intensity is None else fmt_exact(whole.intensity),
              "bound": whole.bound(ridge),
              "time_lower_bound_s": fmt_exact(total_time), "time_at_efficiency_s": fmt_exact(total_time / eff),
              "compute_bound_layers": counts["compute"], "memory_bound_layers": counts["memory"]}
    report.extra["roofline"] = {
        "device": {"name": dev.name, "title": dev.title, "source": dev.source,
                   "peak_flops": dict(dev.peak_flops), "bandwidth": dev.bandwidth},
        "dtype": dtype, "bytes_per_value": size, "peak_flops": peak, "bandwidth": bandwidth,
        "ridge_point": fmt_exact(ridge), "efficiency": fmt_exact(eff),
        "formulas": {"bytes": "(params + buffers + input_elements + activations) x bytes_per_value",
                     "intensity": "flops / bytes", "ridge_point": "peak_flops / bandwidth",
                     "bound": "compute if intensity >= ridge_point else memory",
                     "time_lower_bound_s": "max(flops / peak_flops, bytes / bandwidth)",
                     "time_at_efficiency_s": "time_lower_bound_s / efficiency",
                     "totals.time_lower_bound_s": "sum of the layers' time_lower_bound_s",
                     "totals.intensity": "totals.flops / totals.bytes"},
        "units": "FLOP/s (int8: operations/s), bytes/s, bytes, FLOP per byte, seconds; exact: ints, or rationals "
                 "as strings 'p/q'",
        "assumptions": list(ASSUMPTIONS),
        "totals": totals,
        "note": NOTE,
    }
    return report


# ---------------------------------------------------------------- display helpers (table, markdown, csv)

def seconds_text(t: Any) -> str:
    """A time for people: three significant digits in s, ms, µs or ns."""
    t = Fraction(t)
    for scale, unit in ((1, "s"), (Fraction(1, 10**3), "ms"), (Fraction(1, 10**6), "µs"), (Fraction(1, 10**9), "ns")):
        if t >= scale:
            return f"{fmt_number(t / scale, '.3g')} {unit}"  # no float: a time may pass 1e308 s
    return "0 s" if t == 0 else f"{fmt_number(t * 10**9, '.3g')} ns"


def intensity_text(value: Any) -> str:
    if value is None:
        return "-"
    v = Fraction(value)
    return fmt_number(v, ",.2f") if v >= Fraction(1, 100) or v == 0 else fmt_number(v, ".2e")


def row_cells(report: Any) -> Callable[[Any], tuple[str, str, str]]:
    """(intensity, bound, time at the efficiency) for a table row: a leaf layer, or a block's layers summed (its
    bound is "mixed" when its layers differ)."""
    by_name = {row.name: row.extra.get("roofline") for row in report.layers}

    def cells(r: Any) -> tuple[str, str, str]:
        names = getattr(r, "layers", None)  # a block lists its leaf layers by name
        figs = [f for f in ([by_name.get(n) for n in names] if isinstance(names, list) else [r.extra.get("roofline")])
                if f]
        if not figs:
            return "-", "-", "-"
        flops, moved = sum(f["flops"] for f in figs), sum(f["bytes"] for f in figs)
        time = sum(Fraction(f["time_at_efficiency_s"]) for f in figs)
        bounds = {f["bound"] for f in figs}
        bound = bounds.pop() if len(bounds) == 1 else "mixed"
        return intensity_text(Fraction(flops, moved) if moved else None), bound, seconds_text(time)
    return cells


def total_cells(report: Any) -> tuple[str, str, str]:
    """(intensity, bound, time at the efficiency) of the whole network."""
    t = report.extra["roofline"]["totals"]
    return intensity_text(t["intensity"]), t["bound"], seconds_text(t["time_at_efficiency_s"])


def csv_columns() -> tuple[str, ...]:
    return ("bytes", "intensity", "bound", "time_lower_bound_s", "time_at_efficiency_s")


def csv_values(figures: Mapping[str, Any] | None) -> list[str]:
    if not figures:
        return [""] * len(csv_columns())
    return [str("" if figures.get(k) is None else figures[k]) for k in csv_columns()]


def summary(report: Any, markdown: bool = False) -> list[str]:
    """The closing block: device, dtype, ridge point, totals, source, assumptions, and the "lower bounds, not
    predictions" statement; aligned text for the table view, a bullet list for markdown."""
    s = report.extra["roofline"]
    dev, t = s["device"], s["totals"]
    eff = Fraction(s["efficiency"])
    unit = "OPS" if s["dtype"] == "int8" else "FLOP/s"
    time = f">= {seconds_text(t['time_lower_bound_s'])} (the sum of the layers' lower bounds)"
    if eff != 1:
        time += f"; {seconds_text(t['time_at_efficiency_s'])} at efficiency {float(eff):g} (the time column)"
    from ..core.escape import markdown as markdown_text
    show = markdown_text if markdown else str  # a device's texts may come from a hardware file
    items = [
        ("roofline", f"{show(dev['title'])} ({show(dev['name'])}), {s['dtype']} at {s['bytes_per_value']} bytes "
                     "per value: "
                     f"peak {rate_text(s['peak_flops'], unit)}, bandwidth {rate_text(s['bandwidth'], 'B/s')}, "
                     f"ridge point {intensity_text(s['ridge_point'])} FLOP/byte"),
        ("bytes moved", f"{t['bytes']:,}"),
        ("intensity", f"{intensity_text(t['intensity'])} FLOP/byte for the whole network ({t['bound']}-bound); "
                      f"layers: {t['compute_bound_layers']} compute-bound, {t['memory_bound_layers']} memory-bound"),
        ("time", time),
        ("source", show(dev["source"])),
    ]
    if markdown:
        return [*(f"- {label.capitalize()}: {text}" for label, text in items), "- Assumptions:",
                *(f"  - {a}" for a in s["assumptions"]), "", f"**{NOTE}**"]
    return [*(f"{label:<12} {text}" for label, text in items),
            *(f"{'assumptions' if i == 0 else '':<12} - {a}" for i, a in enumerate(s["assumptions"])), NOTE]


def __getattr__(name: str) -> Any:
    if name == "BUILTIN":  # the built-in devices (archcalc.analyses.hardware), read when first asked for
        return builtin()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
