"""Working with formulas and with runs at many values: print a formula, tabulate totals over a grid, size a
variable to budgets.

``formula`` needs a symbolic report (sympy is imported there, never on the numeric path). ``sweep`` and ``solve``
run the network at every value they report (``Runs``): each value passes every check a run makes, and the totals
are a run's own exact integers.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import ArchcalcError, SpecError
from ..core.metrics import LISTED_NAMES
from ..core.num import LIMIT_HINT, TooLarge, decimal_number, fmt_exact, whole_number

METRICS = LISTED_NAMES  # the totals sweep and solve take
_SUFFIX = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
MAX_POINTS = 100_000  # grid points of a sweep, refused before anything is built
MAX_SWEEP_LAYERS = 200_000  # layers a sweep analyses in all (points x layers): each takes ~50 µs, ~10 s in all
MAX_SEARCH = 10**18  # the largest --max: a search then takes at most ~125 runs (2 log2(10**18) + a few)


def formula(report: Any, metric: str, latex: bool = False) -> str:
    """One total as a formula (or the receptive field of the output)."""
    from ..core.symbolic import latex as to_latex
    if metric == "rf":
        rf = report.rf.to_dict() if report.rf else {}
        return "; ".join(f"{k} = {v}" for k, v in rf.items())
    value = getattr(report.totals, metric)
    return to_latex(value) if latex else str(fmt_exact(value))


class Runs:
    """Numeric runs of one network at values of some of its names (variables, symbols, batch), built again from
    its spec with the values it was built with, then these: every check of a run applies."""

    def __init__(self, network: Any, convention: Any = None) -> None:
        from ..count.convention import ARCHCALC
        self.network = network
        self.convention = convention or ARCHCALC
        self.runs = 0  # how many were made

    @classmethod
    def of(cls, report: Any) -> Runs:
        """Runs of the network a report analysed, under its convention."""
        if getattr(report, "network", None) is None:
            raise SpecError("this report does not say which network it analysed", hint="use archcalc.analyze")
        return cls(report.network, report.convention)

    def __call__(self, values: Mapping[str, int]) -> Any:
        from ..read.spec import build
        from ..walk.engine import analyze
        self.runs += 1
        net = self.network
        network = build(net.raw, net.file, {**net.overrides, **values})
        if network.symbols is not None:
            names = ", ".join(network.symbols.names)
            raise SpecError(f"the totals still depend on {names}", hint="give those a value with --set")
        return analyze(network, convention=self.convention)

    def names(self) -> list[str]:
        """What a run can be given a value for."""
        raw = self.network.raw
        variables = raw.get("variables") if isinstance(raw.get("variables"), Mapping) else {}
        symbols = raw.get("symbols") if isinstance(raw.get("symbols"), (list, Mapping)) else []
        return list(dict.fromkeys(["batch", *variables, *(s for s in symbols if isinstance(s, str))]))

    def check_name(self, name: str, flag: str) -> None:
        if name not in self.names():
            from difflib import get_close_matches
            close = get_close_matches(name, self.names(), 1)
            raise SpecError(f"{flag} {name}: no such variable or symbol",
                            hint=f"did you mean {close[0]!r}?" if close else f"names: {', '.join(self.names())}")

    def multiple_of(self, name: str) -> int:
        """The spec's assumption ``symbols: {NAME: {multiple_of: m}}`` (1 without one)."""
        from ..read.yamlio import line_of
        declared = self.network.raw.get("symbols")
        assumption = declared.get(name) if isinstance(declared, Mapping) else None
        if not isinstance(assumption, Mapping) or "multiple_of" not in assumption:
            return 1
        m = assumption["multiple_of"]
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise SpecError(f"symbol {name}: multiple_of must be a positive integer, got {m!r}",
                            file=self.network.file, line=line_of(declared, name))
        return m


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


def parse_budget(text: str) -> tuple[str, int]:
    """``macs=4e9`` or ``params=25M``: a metric and a whole budget (rounded down), at most ``num.MAX_BITS`` bits."""
    metric, sep, value = text.partition("=")
    metric, value = metric.strip(), value.strip()
    factor = _SUFFIX.get(value[-1:].upper(), 1) if value else 1
    number = value[:-1] if factor > 1 else value
    try:
        exact = decimal_number(number)
    except TooLarge:
        raise SpecError(f"--budget {text[:40]!r}: the number is too large", hint=LIMIT_HINT) from None
    if not sep or metric not in METRICS or exact is None:
        raise SpecError(f"--budget {text!r} is not METRIC=NUMBER", hint="e.g. --budget macs=4e9 or params=25M")
    budget = int(exact * factor)
    if budget < 1:
        raise SpecError(f"--budget {text!r}: a budget is at least 1", hint="e.g. --budget macs=4e9")
    return metric, budget


def parse_max(text: str) -> int:
    """``--max``: a positive whole number (``1000000``, ``1e6``, ``10G``), at most ``MAX_SEARCH``."""
    value = text.strip()
    factor = _SUFFIX.get(value[-1:].upper(), 1) if value else 1
    try:
        exact = decimal_number(value[:-1] if factor > 1 else value)
    except TooLarge:
        exact = MAX_SEARCH + 1
    if exact is None or exact * factor != int(exact * factor) or exact * factor < 1:
        raise SpecError(f"--max {text!r} is not a positive whole number", hint="e.g. --max 4096")
    if exact * factor > MAX_SEARCH:
        raise SpecError(f"--max {text} is above the limit of {MAX_SEARCH:.0e}".replace("e+", "e"),
                        hint="the search probes up to --max; 1e18 covers any size")
    return int(exact * factor)


@dataclass
class Answer:
    """The largest value of ``name`` a run accepts within every budget, and what shaped it."""

    name: str
    value: int
    totals: dict[str, Any]  # each budgeted metric at the value
    budgets: list[tuple[str, int]]
    step: int  # the spec's multiple_of (1: none)
    maximum: int
    bound: str  # what stopped the search just above the value
    smallest: int  # the smallest value a run accepts (the search starts there)
    below: str = ""  # why smaller values fail, when they do
    runs: int = 0

    def lines(self) -> list[str]:
        from ..core.units import exact
        within = "; ".join(f"{m} = {exact(self.totals[m])} <= {b:,}" for m, b in self.budgets)
        n = self.name
        domain = f"{n} a multiple of {self.step} (the spec's symbols: {{{n}: {{multiple_of: {self.step}}}}})" \
            if self.step > 1 else f"{n} a positive integer"
        out = [f"{n} = {self.value}  ({within})",
               f"  searched: {domain}, from {self.smallest:,} to {self.maximum:,} (--max); each value tried is a "
               f"numeric run ({self.runs} runs)"]
        if self.below:
            out.append(f"  below {self.smallest:,}: {self.below}")
        out.append(f"  bound by: {self.bound}")
        return out


def search(runs: Runs, name: str, budgets: Sequence[tuple[str, int]], maximum: int) -> Answer:
    """The largest value of ``name`` (a multiple of the spec's ``multiple_of``, at most ``maximum``) at which a
    numeric run succeeds and every budget holds.

    The rule, stated because a search cannot try every value: the values a run accepts are taken to form one
    range (runs fail below it, say a kernel larger than the input, or above it, say a position table too short),
    and every budgeted total to grow with the value. The search probes 1, 2, 4, ... multiples of the step for a
    value a run accepts, bisects down to the smallest, then gallops and bisects up to the last value within
    every budget. Every value it reports was checked by a run; where the rule does not hold (a run refusing
    values inside the range), it stops below the first refusal it meets and says so."""
    runs.check_name(name, "--for")
    if not budgets:
        raise SpecError("solve needs a --budget", hint="e.g. --budget macs=4e9")
    for metric, _ in budgets:
        if metric not in METRICS:
            raise SpecError(f"unknown metric {metric!r}", hint=f"one of {', '.join(METRICS)}")
    if not 1 <= maximum <= MAX_SEARCH:
        raise SpecError(f"--max {maximum} is not between 1 and {MAX_SEARCH:.0e}".replace("e+", "e"))
    step = runs.multiple_of(name)
    top = maximum // step  # the search is over k = 1..top, the value k * step
    if top < 1:
        raise SpecError(f"--max {maximum:,} is below the smallest value of {name}, {step:,} (the spec assumes {name} "
                        f"is a multiple of {step})", hint=f"use --max {step} or more")
    seen: dict[int, tuple[Any, ArchcalcError | None]] = {}

    def probe(k: int) -> tuple[Any, ArchcalcError | None]:
        if k not in seen:
            try:
                seen[k] = (runs({name: k * step}).totals, None)
            except ArchcalcError as e:
                seen[k] = (None, e)
        return seen[k]

    def within(k: int) -> bool:
        totals, error = probe(k)
        return error is None and all(getattr(totals, m) <= b for m, b in budgets)

    k, failed = 1, 0  # find a value a run accepts: 1, 2, 4, ... (x step)
    while probe(k)[1] is not None:
        failed = k
        if k == top:
            e = probe(1)[1]
            assert e is not None
            tried = ", ".join(f"{j * step:,}" for j in sorted(seen)[:4]) + (", ..." if len(seen) > 4 else "")
            raise SpecError(f"solve --for {name}: a run refuses every value tried ({name} = {tried} up to "
                            f"{top * step:,}); at {name} = {step:,}: {e.message}", hint=e.hint, path=e.path,
                            line=e.line, file=e.file, what=e.what)
        k = min(2 * k, top)
    lo, hi = failed, k  # runs fail at lo (or lo = 0), succeed at hi: bisect for the smallest success
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if probe(mid)[1] is None else (mid, hi)
    first = hi
    below = ""
    if failed:
        e = probe(first - 1)[1]
        below = f"a run refuses {name} = {(first - 1) * step:,}: {e.message}" if e else ""
    if not within(first):
        totals = probe(first)[0]
        over = [(m, b) for m, b in budgets if getattr(totals, m) > b]
        from ..core.units import exact
        m, b = over[0]
        raise SpecError(f"even {name} = {first * step:,}" + (", the smallest value a run accepts," if failed else "")
                        + f" needs {m} = {exact(getattr(totals, m))}, over the budget {b:,}",
                        hint="raise the budget" + (f", or lower {name}'s multiple_of" if step > 1 else ""))
    lo, gap = first, 1  # within at lo: gallop up, then bisect (lo within, hi not or past the maximum)
    hi = min(lo + gap, top + 1)
    while hi <= top and within(hi):
        lo, gap = hi, gap * 2
        hi = min(lo + gap, top + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if within(mid) else (lo, mid)
    totals = probe(lo)[0]
    from ..core.units import exact
    if lo == top:
        bound = f"--max {maximum:,}" + (f" (the next multiple of {step}, {(top + 1) * step:,}, is above it)"
                                        if step > 1 else "")
    else:
        after, error = probe(lo + 1)
        nxt = f"{name} = {(lo + 1) * step:,}"
        if error is not None:
            where = f"layer {error.path}: " if error.path else ""
            bound = f"a run refuses {nxt}: {where}{error.message}"
        else:
            bound = "; ".join(f"the {m} budget: at {nxt}, {m} = {exact(getattr(after, m))} > {b:,}"
                              for m, b in budgets if getattr(after, m) > b)
    return Answer(name, lo * step, {m: getattr(totals, m) for m, _ in budgets}, list(budgets), step, maximum,
                  bound, first * step, below, runs.runs)


def solve(source: Any, metric: str, budget: int, name: str, maximum: int) -> tuple[int, Any]:
    """The largest value of ``name`` within ``budget`` of ``metric`` that a run accepts, and that total (see
    ``search``, which takes several budgets and says what shaped the answer)."""
    runs = source if isinstance(source, Runs) else Runs.of(source)
    answer = search(runs, name, [(metric, budget)], maximum)
    return answer.value, answer.totals[metric]
