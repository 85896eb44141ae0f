"""Solving: the largest value of a name that a numeric run accepts within budgets of some totals."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import ArchcalcError, SpecError
from ..core.num import LIMIT_HINT, TooLarge, decimal_number
from .explore import METRICS, Runs

_SUFFIX = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
MAX_SEARCH = 10**18  # the largest --max: a search then takes at most ~125 runs (2 log2(10**18) + a few)


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
