"""The bounds every figure of a report is held to while the engine walks: a size in bits per number and for the
whole report, and in symbolic mode the budget of symbolic work (symbolic.py)."""
from __future__ import annotations

from typing import Any

from ..core.errors import ShapeError
from ..core.metrics import METRICS
from ..core.num import LIMIT_HINT, MAX_BITS, bits
from ..core.symbolic import SymbolicTooLarge, charge
from .report import LayerResult
from .rf import RF, AxisRF

# All the numbers of one report: at most 2**26 bits, about 20 million digits (an output of tens of megabytes). A
# network at the node limit with 64-bit figures everywhere (20,000 layers x 15 figures) needs 19 million bits.
MAX_REPORT_BITS = 2**26


class Bounds:
    """The bits of every number checked so far, for one walk of a network with ``symbols`` (None: numeric)."""

    def __init__(self, symbols: Any) -> None:
        self.symbols = symbols
        self.bits = 0

    def check(self, figures: list[tuple[str, Any]], rf: RF | None = None, fixed: int | None = 0) -> None:
        """Every figure within bounds, so that nothing downstream meets a number too large to print or convert
        quickly: at most ``MAX_BITS`` bits; in symbolic mode, formulas within the budget of symbolic work, which
        each layer's formula spends ``fixed`` more of (``None``: numbers only, for the sums of figures already
        weighed)."""
        for what, value in figures:
            size = bits(value)
            if size > MAX_BITS:
                raise ShapeError(f"{what} has more than {MAX_BITS:,} bits", hint=LIMIT_HINT)
            self.bits += size
        if self.bits > MAX_REPORT_BITS:
            raise ShapeError(f"the numbers of the report pass {MAX_REPORT_BITS:,} bits (about 20 million digits) "
                             "in all", hint=LIMIT_HINT)
        if self.symbols is None or fixed is None:
            return
        try:
            charge(figures, fixed)
        except SymbolicTooLarge as e:
            e.hint = e.hint or self.budget_hint(rf)
            raise

    def check_row(self, row: LayerResult, fixed: int) -> None:
        """``check(figures(row), row.rf, fixed)``, without labelling every figure when they are all plain ints
        within bounds (a numeric walk: the labels are only needed for an error)."""
        if self.symbols is None:
            size = 0
            for value in _values(row):
                n = value.bit_length() if type(value) is int else bits(value)
                if n > MAX_BITS:
                    break
                size += n
            else:
                self.bits += size
                if self.bits <= MAX_REPORT_BITS:
                    return
                self.bits -= size  # check() weighs them again, and says which bound they pass
        self.check(figures(row), row.rf, fixed)

    def budget_hint(self, rf: RF | None) -> str:
        """What to do when the formulas grow too large: assume the symbols are multiples of the stride so far
        (strided floors then simplify), or give them values."""
        names = list(self.symbols.names) if self.symbols else []
        jumps = [a.jump for a in (rf.axes if rf else ()) if isinstance(a, AxisRF) and isinstance(a.jump, int)]
        stride = max(jumps, default=1)
        known = self.symbols.multiple_of if self.symbols else {}
        wanted = [n for n in names if known.get(n, 1) % stride]
        if stride > 1 and wanted:
            multiples = ", ".join(f"{n}: {{multiple_of: {stride}}}" for n in wanted)
            return (f"declare symbols: {{{multiples}}} (the total stride here) so that strided floors simplify, "
                    f"or give {' and '.join(wanted)} a value with --set")
        return f"give {' and '.join(names) or 'the symbols'} a value with --set, or analyse fewer layers symbolically"


CHECKED = tuple(m for m in METRICS if m.name != "live")  # live is set, and checked, after the walk


def _values(row: LayerResult) -> list[Any]:
    """The figures of ``figures(row)``, in the same order, without their labels."""
    out = [*row.output_shape, *[getattr(row, m.name) for m in CHECKED], *row.flops_by_kind.values()]
    for axis in row.rf.axes if row.rf else ():
        if isinstance(axis, AxisRF):
            out += (axis.size, axis.jump, axis.padding)
    return out


def figures(row: LayerResult) -> list[tuple[str, Any]]:
    """(what, value) of every figure of a row: its shape, counts and receptive field."""
    out = [("its output shape", d) for d in row.output_shape]
    out += [(m.name, getattr(row, m.name)) for m in CHECKED]
    out += [(f"its {kind} FLOPs", v) for kind, v in row.flops_by_kind.items()]
    for axis in row.rf.axes if row.rf else ():
        if isinstance(axis, AxisRF):
            out += [("its receptive field", axis.size), ("its receptive field's jump", axis.jump),
                    ("its receptive field's padding", axis.padding)]
    return out
