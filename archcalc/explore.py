"""Working with formulas: print one, tabulate totals over a grid, size a variable to a budget.

These need a symbolic report (``analyze`` with symbols); sympy is imported here, never on the numeric path.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from .errors import SpecError
from .num import fmt_exact

EXACT_FLOAT = 2**53  # float64 evaluation is exact below this (results are then checked and made int)
_SUFFIX = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def formula(report: Any, metric: str, latex: bool = False) -> str:
    """One total as a formula (or the receptive field of the output)."""
    from .symbolic import latex as to_latex
    if metric == "rf":
        rf = report.rf.to_dict() if report.rf else {}
        return "; ".join(f"{k} = {v}" for k, v in rf.items())
    value = getattr(report.totals, metric)
    return to_latex(value) if latex else str(fmt_exact(value))


def parse_axis(text: str) -> tuple[str, list[int]]:
    """``H=32:1024:32`` (stop included) or ``H=224,256,288``."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    try:
        if not sep or not name.isidentifier():
            raise ValueError
        if ":" in spec:
            parts = [int(p) for p in spec.split(":")]
            start, stop, step = (parts + [1])[:3] if len(parts) == 2 else parts
            if step < 1 or stop < start:
                raise ValueError
            values = list(range(start, stop + 1, step))
        else:
            values = [int(v) for v in spec.split(",")]
    except ValueError:
        raise SpecError(f"--vary {text!r} is not NAME=START:STOP:STEP or NAME=v1,v2,...",
                        hint="e.g. --vary H=32:1024:32") from None
    if not values or min(values) < 1:
        raise SpecError(f"--vary {name}: values must be positive integers")
    return name, values


def _compile(expr: Any, names: Sequence[str], numpy: bool) -> Any:
    import sympy
    symbols = [sympy.Symbol(n, integer=True, positive=True) for n in names]
    modules = ["numpy"] if numpy else ["math"]
    return sympy.lambdify(symbols, sympy.sympify(expr), modules=modules)


def _check_multiples(report: Any, axes: Sequence[tuple[str, list[int]]]) -> None:
    for name, values in axes:
        m = (report.assumptions or {}).get(name)
        if m and any(v % m for v in values):
            raise SpecError(f"--vary {name}: the spec assumes {name} is a multiple of {m}",
                            hint=f"use a step and start that are multiples of {m}")


def sweep(report: Any, axes: Sequence[tuple[str, list[int]]], metrics: Sequence[str]) -> dict[str, list[Any]]:
    """Columns: each axis, then each metric total, over the full grid (exact integers)."""
    _check_multiples(report, axes)
    names = [n for n, _ in axes]
    try:
        import numpy as np
    except ImportError:
        return _sweep_python(report, axes, metrics)
    grids = np.meshgrid(*(np.asarray(v, dtype=np.int64) for _, v in axes), indexing="ij")
    points = [g.ravel() for g in grids]
    columns: dict[str, list[Any]] = {n: p.tolist() for n, p in zip(names, points)}
    floats = [p.astype(np.float64) for p in points]
    for metric in metrics:
        expr = getattr(report.totals, metric)
        values = np.broadcast_to(np.asarray(_compile(expr, names, True)(*floats), dtype=np.float64),
                                 points[0].shape)
        exact = np.abs(values) < EXACT_FLOAT
        exact &= values == np.round(values)
        if exact.all():
            columns[metric] = values.astype(np.int64).tolist()
        else:  # beyond float64's exact range: recompute those points exactly
            out = values.astype(object)
            for k in np.flatnonzero(~exact):
                out[k] = _exact(expr, names, [int(p[k]) for p in points])
            columns[metric] = [int(v) if isinstance(v, float) else v for v in out.tolist()]
    return columns


def _sweep_python(report: Any, axes: Sequence[tuple[str, list[int]]], metrics: Sequence[str]
                  ) -> dict[str, list[Any]]:
    names = [n for n, _ in axes]
    grid = list(itertools.product(*(v for _, v in axes)))
    columns: dict[str, list[Any]] = {n: [p[i] for p in grid] for i, n in enumerate(names)}
    for metric in metrics:
        expr = getattr(report.totals, metric)
        f = _compile(expr, names, False)
        columns[metric] = [_exact(expr, names, p) if abs(v := f(*p)) >= EXACT_FLOAT or v != int(v) else int(v)
                           for p in grid]
    return columns


def _exact(expr: Any, names: Sequence[str], point: Sequence[int]) -> Any:
    import sympy
    value = sympy.sympify(expr).subs({sympy.Symbol(n, integer=True, positive=True): v for n, v in zip(names, point)})
    return int(value) if value.is_integer else fmt_exact(value)


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


def plot_sweep(columns: dict[str, list[Any]], path: str, name: str | None = None) -> Any:
    """Draw the metric totals of a sweep against its first axis (one line per metric, and per value of any
    further axis), log scale; saved by extension (.png, .svg, .pdf). Returns the matplotlib Figure."""

    from .plot import _format, _matplotlib, decade_below, formatter, new_figure, save
    fmt = _format(path)
    mpl = _matplotlib()
    metrics = [k for k in columns if k in _METRICS]
    axes = [k for k in columns if k not in _METRICS]
    x_name, others = axes[0], axes[1:]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i in range(len(columns[x_name])):
        groups.setdefault(tuple(columns[o][i] for o in others), []).append(i)
    with mpl.rc_context({"font.size": 8, "axes.titlesize": 9, "legend.fontsize": 7}):
        fig = new_figure(7.0, 4.5)
        ax = fig.add_subplot()
        styles = ("-", "--", ":", "-.")
        for m, metric in enumerate(metrics):
            for g, (key, rows) in enumerate(groups.items()):
                label = metric + (" (" + ", ".join(f"{o}={v}" for o, v in zip(others, key)) + ")" if others else "")
                ax.plot([_drawable(columns, x_name, i, x_name) for i in rows],
                        [_drawable(columns, metric, i, x_name) for i in rows],
                        styles[g % len(styles)], color=f"C{m}", marker="." if len(rows) <= 40 else None,
                        label=label)
        ax.set_yscale("log")
        low = min((y for line in ax.get_lines() for y in line.get_ydata() if y > 0), default=None)
        if low is not None:
            ax.set_ylim(bottom=decade_below(low))
        ax.yaxis.set_major_formatter(formatter())
        ax.set_xlabel(x_name)
        ax.set_ylabel("total (count, log scale)")
        ax.set_title(f"{name + ': ' if name else ''}totals against {x_name}"
                     + (f" (one line per {', '.join(others)})" if others else ""))
        ax.grid(lw=0.4, alpha=0.5)
        ax.legend(handlelength=3.5)
        save(fig, path, fmt)
    return fig


_METRICS = ("params", "buffers", "macs", "flops", "activations")


def _drawable(columns: dict[str, list[Any]], key: str, i: int, x_name: str) -> float:
    """A value of the sweep as the float a chart draws; refused beyond float range (or rounding to 0)."""
    from fractions import Fraction

    from .num import FLOAT_RANGE, as_float, fmt_number
    value = columns[key][i]
    exact = value if isinstance(value, int) else Fraction(str(value))
    f = as_float(exact)
    if f is None and exact != 0:
        raise SpecError(f"--plot: {key} = {fmt_number(exact, '.3g')} at {x_name} = {columns[x_name][i]} is beyond "
                        f"the range of a float ({FLOAT_RANGE}), which a chart cannot draw",
                        hint="the sweep's table gives it exactly; drop --plot")
    return f or 0.0


def parse_budget(text: str) -> tuple[str, int]:
    """``macs=4e9`` or ``params=25M``: a metric and an integer budget."""
    metric, sep, value = text.partition("=")
    metric, value = metric.strip(), value.strip()
    factor = _SUFFIX.get(value[-1:].upper(), 1) if value else 1
    number = value[:-1] if factor > 1 else value
    try:
        from fractions import Fraction
        budget = Fraction(number) * factor
    except (ValueError, ZeroDivisionError):
        budget = None
    if not sep or metric not in ("params", "buffers", "macs", "flops", "activations") or budget is None \
            or budget <= 0:
        raise SpecError(f"--budget {text!r} is not METRIC=NUMBER", hint="e.g. --budget macs=4e9 or params=25M")
    return metric, int(budget)


def solve(report: Any, metric: str, budget: int, name: str, maximum: int) -> tuple[int, int]:
    """The largest value of ``name`` whose total stays within ``budget`` (the total must grow with it)."""
    import sympy
    expr = sympy.sympify(getattr(report.totals, metric))
    symbol = sympy.Symbol(name, integer=True, positive=True)
    others = expr.free_symbols - {symbol}
    if others:
        raise SpecError(f"the {metric} total still depends on {', '.join(sorted(map(str, others)))}",
                        hint="give those a value with --set")
    step = (report.assumptions or {}).get(name) or 1

    def total(v: int) -> int:
        return int(expr.subs(symbol, v * step))

    if total(1) > budget:
        raise SpecError(f"even {name} = {step} needs {metric} = {total(1):,}, over the budget {budget:,}")
    lo, hi = 1, 2
    while hi * step <= maximum and total(hi) <= budget:  # grow until over budget
        lo, hi = hi, hi * 2
    hi = min(hi, maximum // step + 1)
    while hi - lo > 1:  # total(lo) <= budget < total(hi), or hi is past the maximum
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if total(mid) <= budget else (lo, mid)
    return lo * step, total(lo)
