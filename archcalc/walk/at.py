"""Figures where a user asks: the network's receptive field (the last layer whose field is local), and the report
cut at a named layer (``--at``), every figure summed up to and including it in walk order."""
from __future__ import annotations

import copy
from difflib import get_close_matches
from typing import NamedTuple

from ..core.errors import SpecError
from .report import BlockResult, LayerResult, Report, Totals
from .rf import RF, AxisRF


class Field(NamedTuple):
    """The network's receptive field: that of ``layer``, the last layer in walk order whose field is local on
    every axis; ``name`` is the outermost block ending with it (or the layer); ``then`` is the layer after it
    (None when the field is the output's)."""

    name: str
    layer: LayerResult
    rf: RF
    then: LayerResult | None


def local(rf: RF | None) -> bool:
    """A field of finite size and jump on every axis (not global, not a marker), each axis still indexed by a
    dimension of its own (a flatten or reshape mixes them: its units have no one position); no axes, no field."""
    if rf is None or not rf.axes or not all(isinstance(a, AxisRF) for a in rf.axes):
        return False
    return all(sum(dims == (a,) for dims in rf.dims) == 1 for a in range(len(rf.axes)))


def placed(row: LayerResult, view: str = "field") -> bool:
    """Its units have local fields, each at one position: not a layer that flattens channels into positions
    (fewer dimensions out than in, every field unchanged: a flatten of [C, L])."""
    rf = row.rf_windows if view == "windows" else row.rf
    flattened = len(row.output_shape) - 1 < len(row.input_shape) and all(d for d in rf.dims)
    return local(rf) and not flattened


def network_field(report: Report, view: str = "field") -> Field | None:
    """The last layer whose field (``view``: "field", or "windows" for the windows alone) is local."""
    rows = report.layers
    for i in range(len(rows) - 1, -1, -1):
        rf = rows[i].rf_windows if view == "windows" else rows[i].rf
        if not placed(rows[i], view):
            continue
        then = rows[i + 1] if i + 1 < len(rows) else None
        repeats = [p for p in _symbolic_repeats(getattr(report.network, "nodes", ()))
                   if rows[i].name.startswith(p + ".")]
        if not repeats:
            return Field(_outermost(report, rows[i]), rows[i], rf, then)
        # inside a repeat of symbolic count a row's field is one copy's: the repeat's own, when it ends there
        block = {b.name: b for b in _every_block(report.blocks)}.get(repeats[0])
        if block is None or block.layers[-1] != rows[i].name:
            return None  # a field within the last copy: not known in closed form
        return Field(block.name, rows[i], block.rf_windows if view == "windows" else block.rf, then)
    return None


def _outermost(report: Report, row: LayerResult) -> str:
    """The outermost block whose last layer is ``row`` (a block ends with its last leaf), else the layer."""
    cut = set(report.extra.get("at", {}).get("cut", ()))  # blocks --at cuts do not end with the layer
    ends = [b for b in _every_block(report.blocks) if b.layers and b.layers[-1] == row.name and b.name not in cut]
    return min(ends, key=lambda b: b.depth).name if ends else row.name


def _every_block(blocks: list[BlockResult]) -> list[BlockResult]:
    found = []
    for b in blocks:
        found += [b, *_every_block(b.children)]
    return found


def at(report: Report, name: str) -> Report:
    """The report cut after the layer ``name`` (a block: its last layer): its leaf rows up to and including it,
    the totals of those rows, its output shape and receptive field; blocks it cuts show the part before the cut."""
    index = {row.name: i for i, row in enumerate(report.layers)}
    blocks = {b.name: b for b in _every_block(report.blocks)}
    if name in index:
        last = index[name]
    elif name in blocks and blocks[name].layers:
        last = max(index[n] for n in blocks[name].layers)
    else:
        close = get_close_matches(name, [*index, *blocks], 3, 0.5)
        raise SpecError(f"no layer or block named {name!r}", file="--at",
                        hint=f"closest: {', '.join(close)}" if close else "name a layer or block of the table")
    rows = report.layers[:last + 1]
    target = rows[-1]
    inside = [p for p in _symbolic_repeats(getattr(report.network, "nodes", ())) if name.startswith(p + ".")]
    if inside:  # its rows stand for every copy, and their fields are one copy's
        raise SpecError(f"{name!r} is inside the repeat {inside[0]!r}, whose symbolic count makes one unit stand "
                        "for every copy", file="--at", hint=f"name the repeat itself ({inside[0]}), or give its "
                        "count a value (--set)")
    cut = copy.copy(report)
    cut.layers = rows
    cut.totals = Totals.of(rows)
    end = blocks[name] if name not in index else target  # a block's output: a symbolic repeat's field is its own
    cut.output_shape, cut.rf, cut.rf_windows = end.output_shape, end.rf, end.rf_windows
    cut.outputs = []
    kept = {row.name for row in rows}
    cut_blocks: dict[int, BlockResult] = {}  # id of a block -> its part before the cut
    cut.blocks = _cut(report.blocks, kept, rows, target, cut_blocks)
    cut.outline = [cut_blocks.get(id(r), r) if isinstance(r, BlockResult) else r for r in report.outline
                   if (r.name in kept if isinstance(r, LayerResult) else id(r) in cut_blocks)]
    cut.extra = {**report.extra, "at": {"name": name, "layer": target.name, "layers": len(rows),
                                        "of": len(report.layers),
                                        "cut": [b.name for b in cut_blocks.values() if b.name not in blocks
                                                or b is not blocks[b.name]]}}
    return cut


def _cut(blocks: list[BlockResult], kept: set[str], rows: list[LayerResult], target: LayerResult,
         done: dict[int, BlockResult]) -> list[BlockResult]:
    """The blocks holding a kept layer; one the cut goes through gets the subtotals of its kept layers."""
    out = []
    for b in blocks:
        inside = [n for n in b.layers if n in kept]
        if not inside:
            continue
        if len(inside) == len(b.layers):  # wholly before the cut: as it is, with its blocks
            part = b
            done.update((id(c), c) for c in _every_block(b.children))
        else:
            part = BlockResult(b.name, b.type, b.depth)
            names = set(inside)
            part.finish([r for r in rows if r.name in names], target.output_shape, target.rf, target.rf_windows)
            part.children = _cut(b.children, kept, rows, target, done)
        done[id(b)] = part
        out.append(part)
    return out


def _symbolic_repeats(nodes: object) -> list[str]:
    """The paths of the repeats whose count is a symbol, nested ones included."""
    found: list[str] = []
    for node in nodes if isinstance(nodes, (list, tuple)) else ():
        if getattr(node, "count", None) is not None and not isinstance(node.count, int):
            found.append(node.path)
        found += _symbolic_repeats(getattr(node, "children", ()))
        for _, branch in getattr(node, "branches", None) or ():
            found += _symbolic_repeats(branch)
    return found
