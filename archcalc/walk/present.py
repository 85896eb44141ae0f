"""Symbolic mode's last step: every figure of a report rewritten in the user's symbols and simplified as asked.

Kept apart from ``symbolic`` (the symbols and the metering of symbolic work), which the report imports.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..core import symbolic  # symbolic.spend looked up at each call, as the metering is
from ..core.errors import SpecError
from ..core.metrics import METRICS, TOTALLED
from ..core.symbolic import FIGURE_WORK, SIMPLIFY, TERM_WORK, Symbols, is_symbolic, to_python
from .report import Report, Totals
from .rf import RF, AxisRF


def present(report: Report, symbols: Symbols, mode: str, by: Iterable[str] = ()) -> None:
    """Rewrite every figure of a report in the user's symbols, simplified (in place)."""
    if mode not in SIMPLIFY:
        raise SpecError(f"unknown simplification {mode!r}", hint=f"use one of {', '.join(SIMPLIFY)}")

    seen: dict[Any, Any] = {}  # a figure repeats across layers (DenseNet: 890 distinct among 3,957): show it once

    def show(v: Any) -> Any:
        if not is_symbolic(v):
            return v
        if v not in seen:
            shown = symbols.show(v, mode, by)
            symbolic.spend(FIGURE_WORK + TERM_WORK * (len(shown.args) if getattr(shown, "is_Add", False) else 1))
            seen[v] = to_python(shown)
        return seen[v]

    def show_rf(rf: RF | None) -> RF | None:
        if rf is None:
            return None
        return RF(tuple(AxisRF(show(a.size), show(a.jump), show(a.padding), show_phases(a.phases))
                        if isinstance(a, AxisRF) else a for a in rf.axes), rf.dims)

    def show_phases(m: Any) -> Any:
        if m is None:
            return None
        return m._replace(shift=show(m.shift), first=tuple(None if v is None else show(v) for v in m.first),
                          last=tuple(None if v is None else show(v) for v in m.last))

    def show_figures(t: Any, metrics: Iterable[Any]) -> None:
        for m in metrics:
            setattr(t, m.name, show(getattr(t, m.name)))
        t.flops_by_kind = {k: show(v) for k, v in t.flops_by_kind.items()}

    def resum(t: Totals, rows: list[Any]) -> None:
        """Totals as the sum of rows already shown: a sum of expanded figures is expanded, and adding them is
        linear where expanding every block's sum again is not (DenseNet: 70 nested blocks)."""
        symbolic.spend(len(rows))  # nested blocks sum their rows again: rows x depth
        new = Totals.of(rows)
        for m in TOTALLED:
            setattr(t, m.name, to_python(getattr(new, m.name)))
        t.flops_by_kind = {k: to_python(v) for k, v in new.flops_by_kind.items()}

    for row in report.layers:
        try:
            show_figures(row, METRICS)
            row.output_shape = tuple(show(d) for d in row.output_shape)
            row.rf, row.rf_windows = show_rf(row.rf), show_rf(row.rf_windows)
        except SpecError as e:
            raise e.locate(path=row.name, line=row.line) from None
    by_name = {row.name: row for row in report.layers}
    stack = list(report.blocks)
    while stack:
        block = stack.pop()
        if mode == "expand":
            resum(block.totals, [by_name[name] for name in block.layers])
        else:
            show_figures(block.totals, TOTALLED)
        block.output_shape = tuple(show(d) for d in block.output_shape)
        block.rf, block.rf_windows = show_rf(block.rf), show_rf(block.rf_windows)
        stack.extend(block.children)
    if mode == "expand":
        resum(report.totals, report.layers)
    else:
        show_figures(report.totals, TOTALLED)
    report.input_shape = tuple(show(d) for d in report.input_shape)
    report.inputs = {name: tuple(show(d) for d in shape) for name, shape in report.inputs.items()}
    report.output_shape = tuple(show(d) for d in report.output_shape)
    report.rf, report.rf_windows = show_rf(report.rf), show_rf(report.rf_windows)
    for out in report.outputs:
        out.output_shape = tuple(show(d) for d in out.output_shape)
        out.rf, out.rf_windows = show_rf(out.rf), show_rf(out.rf_windows)
    report.symbols = {name: str(sym) for name, sym in symbols.names.items()}
    report.assumptions = dict(symbols.multiple_of)
