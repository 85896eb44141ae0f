"""A sweep: the totals of a network over a grid of values of its names, each point a numeric run (``Runs``)."""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from ..core.errors import ArchcalcError, SpecError
from ..core.num import LIMIT_HINT, TooLarge, fmt_exact, whole_number
from .explore import METRICS, Runs

MAX_POINTS = 100_000  # grid points of a sweep, refused before anything is built
MAX_SWEEP_LAYERS = 200_000  # layers a sweep analyses in all (points x layers): each takes ~50 µs, ~10 s in all


def _point(names: Sequence[str], values: Sequence[int]) -> str:
    return ", ".join(f"{n} = {v:,}" for n, v in zip(names, values))


def _refused(e: ArchcalcError, where: str) -> ArchcalcError:
    """A run's error, saying at which values it was made (its location kept)."""
    e.message = f"at {where} a run refuses: {e.message}"
    return e


def parse_axis(text: str) -> tuple[str, Sequence[int]]:
    """``H=32:1024:32`` (stop included), ``H=32:1024`` (step 1) or ``H=224,256,288``: integers of at most
    ``num.MAX_BITS`` bits, at most ``MAX_POINTS`` of them; a range is kept as a ``range`` (nothing allocated)."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    usage = SpecError(f"--vary {text!r} is not NAME=START:STOP:STEP or NAME=v1,v2,...", hint="e.g. --vary H=32:1024:32")
    if not sep or not name.isidentifier():
        raise usage
    try:
        parts = [whole_number(p) for p in spec.split(":" if ":" in spec else ",")]
    except TooLarge:
        raise SpecError(f"--vary {name}: a value is too large", hint=LIMIT_HINT) from None
    if any(p is None for p in parts) or ":" in spec and len(parts) not in (2, 3):
        raise usage
    values: Sequence[int]
    if ":" in spec:
        start, stop, step = (parts + [1])[:3]
        if step < 1:
            raise SpecError(f"--vary {text}: the step must be a positive integer, got {step}", hint="e.g. H=32:1024:32")
        if stop < start:
            raise SpecError(f"--vary {text} is empty: the stop {stop:,} is below the start {start:,}",
                            hint=f"e.g. --vary {name}={stop}:{start}")
        values = range(start, stop + 1, step)
    else:
        values = parts
    if len(values) > MAX_POINTS:
        raise SpecError(f"--vary {name} has {len(values):,} values, above the limit of {MAX_POINTS:,}",
                        hint="take a coarser step")
    return name, values


def sweep(source: Any, axes: Sequence[tuple[str, Sequence[int]]], metrics: Sequence[str]) -> dict[str, list[Any]]:
    """Columns: each axis, then each metric total, over the full grid. ``source`` is a report (its network is
    run again) or ``Runs``. Every point is a numeric run: a point a run refuses refuses the sweep, naming it."""
    runs = source if isinstance(source, Runs) else Runs.of(source)
    names = [n for n, _ in axes]
    for name in names:
        runs.check_name(name, "--vary")
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice:
        raise SpecError(f"--vary {twice} is given twice", hint=f"one --vary per name; list values as {twice}=8,16,32")
    points = 1
    for _, values in axes:
        points *= len(values)  # a range's length costs nothing: checked before any value is read
    if points > MAX_POINTS:
        raise SpecError(f"the grid has {points:,} points, above the limit of {MAX_POINTS:,}",
                        hint="narrow the ranges or take coarser steps")
    for name, values in axes:
        m = runs.multiple_of(name)
        bad = next((v for v in values if v % m), None) if m > 1 else None
        if bad is not None:
            raise SpecError(f"--vary {name}: the spec assumes {name} is a multiple of {m} ({bad:,} is not)",
                            hint=f"use a step and start that are multiples of {m}")
    for metric in metrics:
        if metric not in METRICS:
            raise SpecError(f"unknown metric {metric!r}", hint=f"one of {', '.join(METRICS)}")
    columns: dict[str, list[Any]] = {n: [] for n in [*names, *metrics]}
    analysed = 0  # layers, over the points run so far
    for index, point in enumerate(itertools.product(*(v for _, v in axes))):
        try:
            report = runs(dict(zip(names, point)))
        except ArchcalcError as e:
            raise _refused(e, _point(names, point)) from None
        analysed += len(report.layers)
        expected = analysed * points // (index + 1)  # the first point says how large each one is
        if expected > MAX_SWEEP_LAYERS:
            raise SpecError(f"the sweep would analyse about {expected:,} layers ({points:,} points of "
                            f"{analysed // (index + 1):,}), above the limit of {MAX_SWEEP_LAYERS:,}",
                            hint="narrow the grid or take coarser steps")
        totals = report.totals
        for name, v in zip(names, point):
            columns[name].append(v)
        for metric in metrics:
            value = getattr(totals, metric)
            columns[metric].append(value if isinstance(value, int) else fmt_exact(value))
    return columns


def write_sweep(columns: dict[str, list[Any]], fmt: str) -> str:
    keys = list(columns)
    rows = list(zip(*columns.values()))
    if fmt == "json":
        import json
        return json.dumps([dict(zip(keys, r)) for r in rows], indent=1) + "\n"
    if fmt == "table":
        cells = [keys] + [[f"{v:,}" if isinstance(v, int) else str(v) for v in r] for r in rows]
        widths = [max(len(c[i]) for c in cells) for i in range(len(keys))]
        return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells) + "\n"
    return "\n".join(",".join(str(v) for v in r) for r in [keys, *rows]) + "\n"

