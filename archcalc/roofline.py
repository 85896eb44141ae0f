"""Roofline bounds: the least time each layer can take on a device, from its peak FLOP/s and memory bandwidth.

The roofline model (Williams, Waterman & Patterson, CACM 2009), applied to every leaf layer:

    bytes       = (params + buffers + input_elements + activations) x bytes per value of the dtype
    intensity   = FLOPs / bytes                                  FLOP per byte
    ridge point = peak FLOP/s / bandwidth                        FLOP per byte
    bound       = "compute" if intensity >= ridge point else "memory"
    lower bound = max(FLOPs / peak, bytes / bandwidth)           seconds
    at E        = lower bound / E                                E = --efficiency, in (0, 1]

The network's bound is the sum of its layers' bounds (layers run one after another). Everything is exact:
peaks and bandwidths are integers (FLOP/s, bytes/s) and times are ``Fraction``s of a second. In JSON (and
CSV) they follow archcalc's rule for exact values: ints stay ints, other rationals are strings ``"p/q"``.
Only the table and markdown views print decimals.

``--hardware`` takes a built-in name (``archcalc SPEC --hardware list``), or a YAML file of your own entries::

    my-gpu:                          # --hardware my.yaml (one entry), or --hardware my.yaml:my-gpu
      peak_flops: {fp32: 19.5e12, bf16: 312 T}    # dense FLOP/s per dtype (int8: operations/s)
      bandwidth: 2039 G                           # bytes/s
      source: where the figures come from         # optional, like title
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from pydantic_core import ValidationError

from .declare import TEXT, Model, checked, maybe, nested
from .declare import field as declare
from .errors import SpecError
from .fields import fail
from .num import LIMIT_HINT, MAX_BITS, TooLarge, bits, decimal_number, fmt_exact, fmt_number, is_concrete

BYTES_PER_VALUE = {"fp32": 4, "bf16": 2, "fp16": 2, "int8": 1}
DTYPES = tuple(BYTES_PER_VALUE)

MEGA, GIGA, TERA = 10**6, 10**9, 10**12

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


@dataclass(frozen=True)
class Device:
    """A device's peak dense throughput per dtype (FLOP/s; operations/s for int8) and memory bandwidth (bytes/s)."""

    name: str
    title: str
    peak_flops: Mapping[str, int]
    bandwidth: int
    source: str
    note: str = ""
    file: str | None = field(default=None, compare=False)  # a user entry: where it was declared
    line: int | None = field(default=None, compare=False)  # the line of its peak_flops

    def peak(self, dtype: str) -> int:
        if dtype in self.peak_flops:
            return self.peak_flops[dtype]
        known = ", ".join(self.peak_flops)
        if self.file:
            raise SpecError(f"peak_flops has no {dtype} figure", file=self.file, line=self.line, path=self.name,
                            what="hardware entry", hint=f"add {dtype}: <FLOP/s> under peak_flops, or use --dtype "
                                                        f"{next(iter(self.peak_flops))}")
        raise SpecError(f"{self.name} has no published {dtype} peak (it has {known})", file="--dtype",
                        hint=f"use --dtype {next(iter(self.peak_flops))}, or give your own figures in a YAML file: "
                             "--hardware my.yaml")


# ---------------------------------------------------------------- built-in figures (public datasheets)
#
# Peaks are dense (no 2:4 sparsity). Where a datasheet quotes a figure "with sparsity" only, it is halved here.
# "fp32" is plain FP32 arithmetic (CUDA cores), not TF32 tensor cores: PyTorch does not use TF32 for fp32
# matmuls unless asked (torch.backends.cuda.matmul.allow_tf32 is False by default).

_A100 = Device(
    "a100-80gb-sxm", "NVIDIA A100 80GB SXM",
    {"fp32": 19_500 * GIGA,   # 19.5 TFLOPS
     "bf16": 312 * TERA,      # BFLOAT16 Tensor Core 312 TFLOPS (624 with sparsity)
     "fp16": 312 * TERA,      # FP16 Tensor Core 312 TFLOPS (624 with sparsity)
     "int8": 624 * TERA},     # INT8 Tensor Core 624 TOPS (1,248 with sparsity)
    2_039 * GIGA,             # GPU memory bandwidth, A100 80GB SXM: 2,039 GB/s
    "NVIDIA A100 Tensor Core GPU datasheet (nvidia-a100-datasheet-us-nvidia-1758950-r4-web), A100 80GB SXM column")

# H100 SXM datasheet: BF16/FP16 Tensor Core 1,979 TFLOPS and INT8 3,958 TOPS, both marked "with sparsity"; the dense
# figures are half. (The Hopper whitepaper's dense FP16 is 989.4 TFLOPS: 132 SMs x 4 tensor cores x 512 FMA x 2 FLOP
# x 1.83 GHz; the datasheet's rounded 1,979 / 2 = 989.5 is used here, the figure NVIDIA publishes for the product.)
_HOPPER_PEAKS = {
    "fp32": 67 * TERA,             # FP32 67 TFLOPS
    "bf16": 1_979 * TERA // 2,     # 989.5 TFLOPS dense
    "fp16": 1_979 * TERA // 2,     # 989.5 TFLOPS dense
    "int8": 3_958 * TERA // 2,     # 1,979 TOPS dense
}
_H100 = Device(
    "h100-sxm", "NVIDIA H100 SXM", _HOPPER_PEAKS,
    3_350 * GIGA,                  # GPU memory bandwidth 3.35 TB/s (80 GB HBM3)
    "NVIDIA H100 Tensor Core GPU datasheet, H100 SXM column (sparsity figures halved)")
_H200 = Device(
    "h200-sxm", "NVIDIA H200 SXM", _HOPPER_PEAKS,  # same GH100 compute as H100 SXM
    4_800 * GIGA,                  # GPU memory bandwidth 4.8 TB/s (141 GB HBM3e)
    "NVIDIA H200 Tensor Core GPU datasheet, H200 SXM column (sparsity figures halved)")

# GeForce tensor cores run FP16 with FP16 accumulation at 330.3 TFLOPS but with FP32 accumulation at half that rate,
# and BF16 only with FP32 accumulation. Frameworks (PyTorch through cuBLAS/cuDNN) accumulate fp16 and bf16 products
# in FP32, so the FP32-accumulate figure, 165.2 TFLOPS, is the one taken for both.
_RTX4090 = Device(
    "rtx-4090", "NVIDIA GeForce RTX 4090",
    {"fp32": 82_600 * GIGA,        # peak FP32 TFLOPS (non-tensor) 82.6
     "bf16": 165_200 * GIGA,       # peak BF16 Tensor TFLOPS with FP32 accumulate 165.2 (330.4 with sparsity)
     "fp16": 165_200 * GIGA,       # peak FP16 Tensor TFLOPS with FP32 accumulate 165.2 (330.4 with sparsity)
     "int8": 660_600 * GIGA},      # peak INT8 Tensor TOPS 660.6 (1,321.2 with sparsity)
    1_008 * GIGA,                  # 1,008 GB/s: 21 Gbps GDDR6X x 384-bit bus / 8
    "NVIDIA Ada GPU Architecture whitepaper, GeForce RTX 4090 specifications table (FP32-accumulate tensor rate)")

# Apple states the M2 Max's GPU core count and memory bandwidth but no FLOP/s. The FP32 figure is the usual derived
# one: 38 GPU cores x 128 FP32 ALUs x 2 FLOP per FMA x 1.398 GHz = 13.6 TFLOPS. Apple publishes no bf16, fp16 or
# int8 GPU peak (the Neural Engine's TOPS are another unit's), so only fp32 is given.
_M2_MAX = Device(
    "m2-max", "Apple M2 Max (38-core GPU)",
    {"fp32": 38 * 128 * 2 * 1_398 * MEGA},  # 13,599,744,000,000 FLOP/s
    400 * GIGA,                    # 400 GB/s unified memory bandwidth
    "Apple Newsroom, 'Apple unveils M2 Pro and M2 Max' (17 Jan 2023): 38-core GPU, 400GB/s; FP32 derived from the "
    "core count and the 1.398 GHz GPU clock",
    note="GPU only; the FP32 peak is derived, not stated by Apple")

# Not a product: an illustrative 16-core desktop CPU with AVX-512 at a 3.0 GHz all-core clock, two 512-bit FMA
# units per core, and dual-channel DDR5-5600.
#   fp32: 16 cores x 2 FMA units x 16 lanes x 2 FLOP x 3.0 GHz                  =  3.072 TFLOP/s
#   bf16: 16 cores x 2 units x 32 products (AVX512_BF16 VDPBF16PS) x 2 x 3.0 GHz =  6.144 TFLOP/s
#   fp16: 16 cores x 2 units x 32 lanes (AVX512_FP16 VFMADDPH) x 2 x 3.0 GHz     =  6.144 TFLOP/s
#   int8: 16 cores x 2 units x 64 products (AVX512_VNNI VPDPBUSD) x 2 x 3.0 GHz  = 12.288 TOPS
#   bandwidth: 2 channels x 8 bytes x 5,600 MT/s                                 = 89.6 GB/s
_CPU = Device(
    "generic-cpu-avx512", "Generic 16-core AVX-512 desktop CPU (illustrative)",
    {"fp32": 16 * 2 * 16 * 2 * 3_000 * MEGA,
     "bf16": 16 * 2 * 32 * 2 * 3_000 * MEGA,
     "fp16": 16 * 2 * 32 * 2 * 3_000 * MEGA,
     "int8": 16 * 2 * 64 * 2 * 3_000 * MEGA},
    2 * 8 * 5_600 * MEGA,
    "illustrative arithmetic, not a datasheet: 16 cores, 3.0 GHz, 2 x 512-bit FMA per core, dual-channel DDR5-5600",
    note="a generic figure for orientation; use a YAML entry for a real CPU")

BUILTIN: dict[str, Device] = {d.name: d for d in (_A100, _H100, _H200, _RTX4090, _M2_MAX, _CPU)}


def _rate_text(value: int, unit: str) -> str:
    for size, prefix in ((TERA, "T"), (GIGA, "G"), (MEGA, "M")):
        if value >= size:
            return f"{fmt_number(Fraction(value, size), '.4g')} {prefix}{unit}"
    return f"{value:,} {unit}"


def listing() -> str:
    """The built-in devices, their figures and sources (``--hardware list``)."""
    head = ("name", *(f"{d} peak" for d in DTYPES), "bandwidth")
    rows = [head] + [(d.name, *(_rate_text(d.peak_flops[t], "OPS" if t == "int8" else "FLOP/s")
                                if t in d.peak_flops else "-" for t in DTYPES), _rate_text(d.bandwidth, "B/s"))
                     for d in BUILTIN.values()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    for d in BUILTIN.values():
        lines.append(f"{d.name}: {d.title}. Source: {d.source}." + (f" Note: {d.note}." if d.note else ""))
    lines += ["", "Peaks are dense (no sparsity); int8 in operations per second. Your own device: "
                  "--hardware FILE.yaml with name: {peak_flops: {fp32: ..., bf16: ...}, bandwidth: ...}."]
    return "\n".join(lines)


# ---------------------------------------------------------------- user entries (YAML), declared models

_RATE_TEXT = re.compile(r"([+-]?\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*([kKMGTP]?)")
_PREFIX = {"": 1, "k": 10**3, "K": 10**3, "M": MEGA, "G": GIGA, "T": TERA, "P": 10**15}


def _rate(value: Any, info: Any) -> int:
    """A positive whole number per second: 19500000000000, 19.5e12, '19.5e12' or '19.5 T'."""
    hint = "write e.g. 2.039e12 or '2039 G'; SI prefixes k, M, G, T, P"
    exact: Fraction | None = None
    try:
        if isinstance(value, bool):
            pass
        elif isinstance(value, int):
            exact = Fraction(value)
        elif isinstance(value, float):
            exact = Fraction(repr(value)) if value == value and abs(value) != float("inf") else None
        elif isinstance(value, str):
            m = _RATE_TEXT.fullmatch(value.strip())
            if m:  # digits capped before anything is computed: Fraction("1e999999999") takes minutes
                number = decimal_number(m.group(1).replace("_", ""))
                exact = None if number is None else number * _PREFIX[m.group(2)]
    except TooLarge:
        raise fail(f"the number {_short(value)} is too large", LIMIT_HINT) from None
    if exact is not None and bits(exact) > MAX_BITS:
        raise fail(f"the number {_short(value)} is too large", LIMIT_HINT)
    if exact is None:
        raise fail(f"expected a number per second, got {value!r}", hint)
    if exact <= 0:
        raise fail(f"expected a positive number per second, got {value!r}", hint)
    if exact.denominator != 1:
        raise fail(f"expected a whole number per second, got {value!r}")
    return int(exact)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


RATE = checked(_rate, {"anyOf": [{"type": "number", "exclusiveMinimum": 0},
                                 {"type": "string", "pattern": _RATE_TEXT.pattern}]})


class PeakFlops(Model):
    """Peak dense throughput per dtype (no sparsity): FLOP/s, or operations per second for int8."""

    fp32 = declare(maybe(RATE), None, "Peak dense fp32 FLOP/s.")
    bf16 = declare(maybe(RATE), None, "Peak dense bf16 FLOP/s.")
    fp16 = declare(maybe(RATE), None, "Peak dense fp16 FLOP/s.")
    int8 = declare(maybe(RATE), None, "Peak dense int8 operations per second.")


class HardwareEntry(Model):
    """A device of your own, for --hardware FILE: peak FLOP/s per dtype and memory bandwidth."""

    peak_flops = declare(nested(lambda: PeakFlops), description="Peak dense FLOP/s per dtype: fp32, bf16, fp16, "
                                                                "int8 (operations/s); give at least one.")
    bandwidth = declare(RATE, description="Memory bandwidth in bytes per second.")
    title = declare(maybe(TEXT), None, "Display name (default: the entry's key).")
    source = declare(maybe(TEXT), None, "Where the figures come from: a datasheet, a measurement.")


def _reword(error: ValidationError, body: Any) -> SpecError:
    from .validation import reword
    errors = error.errors(include_url=False)
    first = min(errors, key=lambda e: {"extra_forbidden": 0, "missing": 2}.get(e["type"], 1))  # as reword picks
    inner = len(first["loc"]) > 1 and first["loc"][0] == "peak_flops"
    return reword(error, body, PeakFlops if inner else HardwareEntry)


def load_file(path: str) -> dict[str, Device]:
    """The entries of a hardware YAML file, validated; errors are one-line ``SpecError``s with file and line."""
    from .spec import read_text
    from .yamlio import line_of, load_yaml
    text, shown = read_text(path)
    raw = load_yaml(text, shown)
    example = "write my-gpu: {peak_flops: {fp32: 19.5e12}, bandwidth: 2.039e12}"
    if raw is None:
        raise SpecError("the hardware file is empty", file=shown, line=1, hint=example)
    if not isinstance(raw, Mapping) or not raw:
        raise SpecError("a hardware file is a mapping of device names to entries", file=shown, line=line_of(raw),
                        hint=example)
    devices: dict[str, Device] = {}
    for name, body in raw.items():
        line = line_of(raw, name)
        if not isinstance(name, str) or not name.strip() or name.strip().lower() == "list":
            raise SpecError(f"device name {name!r} must be a non-empty text other than 'list'", file=shown, line=line)
        where = {"file": shown, "path": name, "what": "hardware entry"}
        if not isinstance(body, Mapping):
            raise SpecError(f"an entry is a mapping with peak_flops and bandwidth, got {body!r}", line=line,
                            hint=example, **where)
        try:
            entry = HardwareEntry.validate(body)
        except ValidationError as e:
            raise _reword(e, body).locate(line=line, **where) from None
        peaks = {t: getattr(entry.peak_flops, t) for t in DTYPES if getattr(entry.peak_flops, t) is not None}
        peak_line = line_of(body, "peak_flops")
        if not peaks:
            raise SpecError("peak_flops gives no figure", line=peak_line,
                            hint=f"give at least one of {', '.join(DTYPES)}", **where)
        devices[name] = Device(name, entry.title or name, peaks, entry.bandwidth,
                               entry.source or f"user entry in {shown}", file=shown, line=peak_line)
    return devices


def _key(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip().lower())


def _file_and_entry(text: str) -> tuple[str, str | None] | None:
    """``FILE`` or ``FILE:NAME`` when ``text`` names a file (existing, or ending in .yaml/.yml/.json)."""
    def looks(p: str) -> bool:
        return Path(p).is_file() or p.lower().endswith((".yaml", ".yml", ".json"))
    if looks(text):
        return text, None
    stem, sep, entry = text.rpartition(":")
    if sep and stem and looks(stem):
        return stem, entry
    if "/" in text or "\\" in text:
        return text, None  # a path that does not exist: read_text says so
    return None


def device(hardware: str | Device) -> Device:
    """A built-in device by name, or an entry of a YAML file (``FILE`` with one entry, or ``FILE:NAME``)."""
    if isinstance(hardware, Device):
        return hardware
    text = str(hardware).strip()
    if _key(text) in BUILTIN:
        return BUILTIN[_key(text)]
    found = _file_and_entry(text)
    if found is None:
        key = _key(text)
        close = [n for n in BUILTIN if key and key in n]
        if not close:
            from difflib import get_close_matches
            close = get_close_matches(key, list(BUILTIN), 1)
        hint = f"did you mean {close[0]!r}?" if close else f"built-in: {', '.join(BUILTIN)}"
        raise SpecError(f"unknown device {text!r}", file="--hardware",
                        hint=hint + "; --hardware list shows the built-in devices, a YAML file gives your own")
    path, entry = found
    devices = load_file(path)
    if entry is None:
        if len(devices) == 1:
            return next(iter(devices.values()))
        raise SpecError(f"the file holds {len(devices)} devices ({', '.join(devices)})", file=path,
                        hint=f"pick one: --hardware {path}:{next(iter(devices))}")
    if entry not in devices:
        raise SpecError(f"no device {entry!r} in the file", file=path, hint=f"devices: {', '.join(devices)}")
    return devices[entry]


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
        values = (row.params, row.buffers, row.input_elements, row.activations, row.flops)
        if not all(is_concrete(v) and isinstance(v, int) for v in values):
            raise SpecError(f"layer {row.name} has non-integer figures", file="--hardware",
                            hint="roofline bounds need a numeric report")
        moved = (row.params + row.buffers + row.input_elements + row.activations) * size
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
    from .escape import markdown as markdown_text
    show = markdown_text if markdown else str  # a device's texts may come from a hardware file
    items = [
        ("roofline", f"{show(dev['title'])} ({show(dev['name'])}), {s['dtype']} at {s['bytes_per_value']} bytes "
                     "per value: "
                     f"peak {_rate_text(s['peak_flops'], unit)}, bandwidth {_rate_text(s['bandwidth'], 'B/s')}, "
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
