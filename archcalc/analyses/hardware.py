"""Devices for the roofline: the built-in datasheet figures (devices.yaml) and a user's own hardware file.

``--hardware`` takes a built-in name (``archcalc SPEC --hardware list``), or a YAML file of your own entries::

    my-gpu:                          # --hardware my.yaml (one entry), or --hardware my.yaml:my-gpu
      peak_flops: {fp32: 19.5e12, bf16: 312 T}    # dense FLOP/s per dtype (int8: operations/s)
      bandwidth: 2039 G                           # bytes/s
      source: where the figures come from         # optional, like title
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from pydantic_core import ValidationError

from ..core.declare import TEXT, Model, checked, maybe, nested
from ..core.declare import field as declare
from ..core.errors import SpecError
from ..core.fields import fail
from ..core.metrics import DTYPES
from ..core.num import LIMIT_HINT, MAX_BITS, TooLarge, bits, decimal_number, fmt_number

MEGA, GIGA, TERA = 10**6, 10**9, 10**12
DATASHEETS = Path(__file__).with_name("devices.yaml")  # the built-in devices, with their sources


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


def rate_text(value: int, unit: str) -> str:
    for size, prefix in ((TERA, "T"), (GIGA, "G"), (MEGA, "M")):
        if value >= size:
            return f"{fmt_number(Fraction(value, size), '.4g')} {prefix}{unit}"
    return f"{value:,} {unit}"


def listing() -> str:
    """The built-in devices, their figures and sources (``--hardware list``)."""
    head = ("name", *(f"{d} peak" for d in DTYPES), "bandwidth")
    rows = [head] + [(d.name, *(rate_text(d.peak_flops[t], "OPS" if t == "int8" else "FLOP/s")
                                if t in d.peak_flops else "-" for t in DTYPES), rate_text(d.bandwidth, "B/s"))
                     for d in builtin().values()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    for d in builtin().values():
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
    from ..read.validation import reword
    errors = error.errors(include_url=False)
    first = min(errors, key=lambda e: {"extra_forbidden": 0, "missing": 2}.get(e["type"], 1))  # as reword picks
    inner = len(first["loc"]) > 1 and first["loc"][0] == "peak_flops"
    return reword(error, body, PeakFlops if inner else HardwareEntry)


def load_file(path: str, notes: bool = False) -> dict[str, Device]:
    """The entries of a hardware YAML file, validated; errors are one-line ``SpecError``s with file and line.
    ``notes``: the built-in file, whose entries may carry a ``note`` and name no file of their own."""
    from ..read.spec import read_text
    from ..read.yamlio import line_of, load_yaml
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
        note = ""
        if notes and "note" in body:
            body = dict(body)
            note = str(body.pop("note"))
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
                               entry.source or f"user entry in {shown}", note,
                               file=None if notes else shown, line=None if notes else peak_line)
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
    known = builtin()
    if _key(text) in known:
        return known[_key(text)]
    found = _file_and_entry(text)
    if found is None:
        key = _key(text)
        close = [n for n in known if key and key in n]
        if not close:
            from difflib import get_close_matches
            close = get_close_matches(key, list(known), 1)
        hint = f"did you mean {close[0]!r}?" if close else f"built-in: {', '.join(known)}"
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


@cache
def builtin() -> dict[str, Device]:
    """The built-in devices by name, read from devices.yaml on first use (the same objects afterwards)."""
    return load_file(str(DATASHEETS), notes=True)


def __getattr__(name: str) -> Any:
    if name == "BUILTIN":  # the built-in devices, read when first asked for
        return builtin()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
