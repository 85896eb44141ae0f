"""Working with formulas and with runs at many values: print a formula; ``Runs``, the numeric runs that a sweep
(``sweep.py``) and a solve (``solve.py``) make.

``formula`` needs a symbolic report (sympy is imported there, never on the numeric path). ``sweep`` and ``solve``
run the network at every value they report (``Runs``): each value passes every check a run makes, and the totals
are a run's own exact integers.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.errors import SpecError
from ..core.metrics import LISTED_NAMES
from ..core.num import fmt_exact

METRICS = LISTED_NAMES  # the totals sweep and solve take


def formula(report: Any, metric: str) -> str:
    """One total as a formula (or the receptive field of the output); in LaTeX: ``outputs.tex.formula``."""
    if metric == "rf":
        rf = report.rf.to_dict() if report.rf else {}
        return "; ".join(f"{k} = {_listed(v)}" for k, v in rf.items())
    return str(fmt_exact(getattr(report.totals, metric)))


def _listed(value: Any) -> str:
    """A per-axis list as text, formulas unquoted: [3*k - 2, 3*k - 2]."""
    return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, list) else str(value)


def piecewise_note(report: Any, metric: str) -> str | None:
    """A one-line note when a symbolic total is piecewise (floors or ceilings of strided sizes), naming the
    assumption that lets them simplify: each symbol a multiple of the largest stride reached (None otherwise)."""
    from ..core.symbolic import is_piecewise
    from ..walk.rf import AxisRF
    value = getattr(report.totals, metric, None) if metric != "rf" else None
    if value is None or not is_piecewise(value):
        return None
    free = sorted(str(s) for s in value.free_symbols)
    # the strides reached, read off the windows' field (a gate or a statistic makes the full field global)
    stride = max((int(a.jump) for row in report.layers if row.rf_windows for a in row.rf_windows.axes
                  if isinstance(a, AxisRF) and (isinstance(a.jump, int) or getattr(a.jump, "is_Integer", False))),
                 default=1)
    assumed = report.assumptions or {}
    wanted = [n for n in free if n in (report.symbols or {}) and stride > 1 and assumed.get(n, 1) % stride]
    if not wanted:
        return f"note: the {metric} formula is piecewise in {', '.join(free)} (floors or ceilings of sizes)"
    flags = " ".join(f"--assume {n}=multiple_of:{stride}" for n in wanted)
    return (f"note: the {metric} formula is piecewise in {', '.join(free)} (floors of strided sizes); {flags} "
            f"(the total stride) may make it a polynomial")


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

